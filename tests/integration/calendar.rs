//! The working-day calendar maintained at runtime: an admin stores next year on a running
//! gateway (API, then the command line beside it); deadlines that were provisional for lack of
//! that year are counted again at once, in the deadline's trail and the audit record; a
//! triage user may not, and an invalid year is refused with the date named and nothing stored.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Weekday};
use serde_json::{Value, json};

use super::access::account;
use super::import_export::run_beside;
use super::workflow::{call, case_in, deadline, trail};
use crate::common::{TestApp, config_text, eventually};
use complaint_gateway::calendar::{Calendar, YearDays};

/// Working days of every priority: long enough that any deadline runs past the calendar's
/// last year, whatever the day the test runs.
const WORKING_DAYS: u32 = 300;

fn config(calendar_dir: &std::path::Path) -> String {
    let mut text = format!(
        "[deadlines]\ncalendar_dir = \"{}\"\ntick_interval_secs = 1\n",
        calendar_dir.display()
    );
    for priority in ["urgent", "high", "normal", "low"] {
        text.push_str(&format!(
            "[deadlines.policies.{priority}]\nworking_days = {WORKING_DAYS}\nremind_before_minutes = 60\n"
        ));
    }
    text
}

/// A made-up year: the first three weekdays of January and 1–3 May off, the first Saturday
/// of February worked.
fn test_year(year: i32) -> YearDays {
    let weekdays = |month: u32, count: usize| {
        (1..=28)
            .map(|d| NaiveDate::from_ymd_opt(year, month, d).unwrap())
            .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
            .take(count)
            .collect::<Vec<_>>()
    };
    let mut holidays = weekdays(1, 3);
    holidays.extend((1..=3).map(|d| NaiveDate::from_ymd_opt(year, 5, d).unwrap()));
    let saturday = (1..=7)
        .map(|d| NaiveDate::from_ymd_opt(year, 2, d).unwrap())
        .find(|d| d.weekday() == Weekday::Sat)
        .unwrap();
    YearDays {
        year,
        holidays,
        working_weekends: vec![saturday],
    }
}

/// The due time and provisional year the deadline of `d` has on `calendar`.
fn expected(calendar: &Calendar, d: &Value) -> (String, Option<i64>) {
    let assigned = DateTime::parse_from_rfc3339(d["assigned_at"].as_str().unwrap()).unwrap();
    let (due, year) = calendar.add_working_days_provisional(
        assigned,
        WORKING_DAYS,
        NaiveTime::from_hms_opt(17, 30, 0).unwrap(),
    );
    (due.to_rfc3339(), year.map(i64::from))
}

fn due(d: &Value) -> String {
    DateTime::parse_from_rfc3339(d["due_at"].as_str().unwrap())
        .unwrap()
        .to_rfc3339()
}

#[tokio::test]
async fn an_admin_stores_next_year_and_provisional_deadlines_are_counted_again_at_once() {
    let files = tempfile::tempdir().unwrap();
    let app = TestApp::start_with(&config(files.path())).await;
    let data = app.data_dir();
    let known = app.get_json("/v1/calendar").await;
    let last_day: NaiveDate = known["last_day"].as_str().unwrap().parse().unwrap();
    let next = last_day.year() + 1;
    let case = case_in(
        &app,
        "cal-1",
        "路灯损坏多日无人维修，夜间出行不便。",
        "finance",
    )
    .await;
    let root = account(&data, "root", &["--role", "admin"]).await;
    let centre = account(&data, "centre", &["--role", "triage"]).await;

    let before = deadline(&app, &root, &case).await;
    assert_eq!(before["provisional_year"], next, "{before}");
    let mut calendar = Calendar::embedded();
    assert_eq!(
        expected(&calendar, &before),
        (due(&before), Some(i64::from(next)))
    );

    // Triage may read the calendar but not change it.
    let path = format!("/v1/calendar/{next}");
    let days = test_year(next);
    let body = json!({"holidays": days.holidays, "working_weekends": days.working_weekends});
    let (status, refused) = call(&app, &centre, "PUT", &path, body.clone()).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["permission"], "calendar.manage");

    // An invalid year is refused with the date named; nothing is stored or recounted.
    let stray = format!("{}-01-05", next + 1);
    let mut wrong = body.clone();
    wrong["holidays"].as_array_mut().unwrap().push(json!(stray));
    let (status, refused) = call(&app, &root, "PUT", &path, wrong).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "calendar_invalid");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&stray),
        "{refused}"
    );
    let (status, _) = call(&app, &centre, "GET", &path, Value::Null).await;
    assert_eq!(status, 404, "not stored");
    assert_eq!(due(&deadline(&app, &root, &case).await), due(&before));

    // Stored: the deadline is counted again on it before the answer comes back.
    let (status, stored) = call(&app, &root, "PUT", &path, body).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["year"], next);
    assert_eq!(stored["holidays"], days.holidays.len());
    assert_eq!(stored["replaced"], Value::Null);
    assert!(stored["recounted"].as_u64().unwrap() >= 1, "{stored}");
    calendar.add_year(&days, "test").unwrap();
    let after = deadline(&app, &root, &case).await;
    let (due_at, provisional) = expected(&calendar, &after);
    assert_eq!(due(&after), due_at, "{after}");
    assert_ne!(
        due(&after),
        due(&before),
        "the year's holidays moved the deadline"
    );
    assert_eq!(after["provisional_year"].as_i64(), provisional, "{after}");
    assert!(trail(&after).contains(&"recounted".to_string()), "{after}");
    let (status, shown) = call(&app, &centre, "GET", &path, Value::Null).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["working_weekends"], json!(days.working_weekends));
    assert!(
        shown["origin"]
            .as_str()
            .unwrap()
            .starts_with("stored by root"),
        "{shown}"
    );
    let (status, audit) = call(
        &app,
        &root,
        "GET",
        "/v1/audit?action=calendar.store_year",
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"], "root");
    assert_eq!(entries[0]["detail"]["year"], next);
    assert_eq!(entries[0]["detail"]["recounted"], stored["recounted"]);

    // The year after, from a file through the command line beside the running gateway: the
    // deadline is counted again by the command, and the gateway counts on the year from its
    // scheduler's next tick.
    let following = test_year(next + 1);
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("incoming.toml");
    std::fs::write(&file, following.to_toml("a test year")).unwrap();
    let file_arg = file.display().to_string();
    // The command counts on the deadline policies of the configuration `serve` runs with.
    let config_file = elsewhere.path().join("gateway.toml");
    std::fs::write(
        &config_file,
        config_text(app.dir.path(), &config(files.path())),
    )
    .unwrap();
    let config_arg = config_file.display().to_string();
    let (ok, out, err) = run_beside(
        &data,
        &[
            "--config",
            &config_arg,
            "calendar",
            "import",
            &file_arg,
            "--as",
            "root",
        ],
        None,
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains(&format!("stored {}", next + 1)), "{out}");
    calendar.add_year(&following, "test").unwrap();
    let last = deadline(&app, &root, &case).await;
    let (due_at, provisional) = expected(&calendar, &last);
    assert_eq!(
        (due(&last), last["provisional_year"].as_i64()),
        (due_at, provisional)
    );
    let year = (next + 1).to_string();
    eventually("the gateway counts on the imported year", || async {
        let (status, _) = call(
            &app,
            &centre,
            "GET",
            &format!("/v1/calendar/{year}"),
            Value::Null,
        )
        .await;
        (status == 200).then_some(())
    })
    .await;
    let (ok, out, err) = run_beside(&data, &["calendar", "list"], None).await;
    assert!(ok, "{err}");
    assert_eq!(out.matches("stored by root").count(), 2, "{out}");

    // A file that is not a year is refused by the command too, naming the problem.
    std::fs::write(&file, "year = 2099\nholidays = []\nworking_weekends = []\n").unwrap();
    let (ok, _, err) = run_beside(&data, &["calendar", "import", &file_arg], None).await;
    assert!(!ok);
    assert!(err.contains("lists no holidays"), "{err}");
    app.stop().await;
}

//! Routing → deadline → email, end to end through a running gateway: a routed case gets its
//! deadline and one assignment notification in the outbox, a repost joining the case does not
//! notify again, and the unit the complaint is about never sees who complained.

use chrono::DateTime;
use serde_json::{Value, json};

use crate::common::{TestApp, eventually};

/// The route key (the case) of a complaint, once routed.
async fn routed_case(app: &TestApp, id: &str) -> String {
    app.classified(id).await["route"]["route_key"]
        .as_str()
        .unwrap()
        .to_string()
}

fn delayed_permit(external_id: &str) -> Value {
    json!({
        "external_id": external_id,
        "title": "营业执照变更被拖了两个月",
        "body": "我公司两个月前在政务大厅提交营业执照变更材料，窗口一直说不予受理，审批拖延严重，\
                 投诉市监察局对此不作为，请尽快督办。",
        "complainant": {"name": "钱某某", "phone": "13700004321", "email": "qian@example.com"},
        "target_unit": "市监察局",
        "location": {"district": "城东区"}
    })
}

#[tokio::test]
async fn a_routed_case_gets_one_deadline_and_one_assignment_without_the_complainant() {
    let app = TestApp::start().await;
    let first = app.push_for_id(&delayed_permit("assign-1")).await;
    let case = routed_case(&app, &first).await;

    let deadline = eventually("deadline of the case", || async {
        let r = app.get(&format!("/v1/cases/{case}/deadline")).await;
        if r.status().is_success() {
            r.json::<Value>().await.ok()
        } else {
            None
        }
    })
    .await;
    assert_eq!(deadline["queue_key"], "supervision", "{deadline}");
    assert_eq!(deadline["priority"], "high", "{deadline}");
    let assigned = DateTime::parse_from_rfc3339(deadline["assigned_at"].as_str().unwrap()).unwrap();
    let due = DateTime::parse_from_rfc3339(deadline["due_at"].as_str().unwrap()).unwrap();
    assert_eq!(due - assigned, chrono::Duration::hours(24), "{deadline}");
    let record = app.get_json(&format!("/v1/complaints/{first}")).await;
    assert!(record["facets"]["deadline"].is_string(), "{record}");
    assert_eq!(record["facets"]["status"], "assigned", "{record}");

    // A repost joins the case: routed again, but not assigned (or mailed) a second time.
    let repost = app.push_for_id(&delayed_permit("assign-2")).await;
    assert_eq!(routed_case(&app, &repost).await, case);
    let outbox = app.get_json(&format!("/v1/outbox?case_id={case}")).await;
    let notifications = outbox["notifications"].as_array().unwrap();
    let assignments: Vec<&Value> = notifications
        .iter()
        .filter(|n| n["kind"] == "assignment")
        .collect();
    assert_eq!(assignments.len(), 1, "{outbox}");
    let recipients: Vec<&str> = assignments[0]["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        recipients,
        ["jianchaju-cases@example.org", "jianchaju-duty@example.org"]
    );

    // The queue is the unit complained about: its email carries nothing of the complainant.
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        app.data_dir().join("gateway.sqlite3").display()
    ))
    .await
    .unwrap();
    let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM outbox WHERE case_id = ?")
        .bind(&case)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(bodies.len(), notifications.len());
    for body in &bodies {
        assert!(body.contains("营业执照变更"), "{body}");
        for personal in ["钱某某", "13700004321", "qian@example.com", "4321"] {
            assert!(!body.contains(personal), "`{personal}` in {body}");
        }
    }
}

/// The accounts that work a queue get its notices too; a disabled one does not.
#[tokio::test]
async fn the_queue_s_enabled_accounts_are_notified_with_its_members() {
    let mut app = TestApp::start().await;
    let data = app.data_dir();
    for (name, email) in [
        ("jc-wang", "wang@jc.example.org"),
        ("jc-li", "li@jc.example.org"),
    ] {
        let args = [
            "user",
            "add",
            name,
            "--role",
            "investigator",
            "--queue",
            "supervision",
            "--email",
            email,
            "--no-password",
        ];
        let (ok, _, stderr) = super::import_export::run_beside(&data, &args, None).await;
        assert!(ok, "{stderr}");
    }
    let (ok, _, stderr) =
        super::import_export::run_beside(&data, &["user", "disable", "jc-li"], None).await;
    assert!(ok, "{stderr}");
    app.sign_in_as("centre", "triage").await;
    let id = app.push_for_id(&delayed_permit("notify-users-1")).await;
    let case = routed_case(&app, &id).await;
    let recipients = eventually("the assignment notice", || async {
        let outbox = app.get_json(&format!("/v1/outbox?case_id={case}")).await;
        let notice = outbox["notifications"]
            .as_array()?
            .iter()
            .find(|n| n["kind"] == "assignment")?
            .clone();
        Some(
            notice["recipients"]
                .as_array()?
                .iter()
                .map(|r| r["address"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
        )
    })
    .await;
    assert_eq!(
        recipients,
        [
            "jianchaju-cases@example.org",
            "jianchaju-duty@example.org",
            "wang@jc.example.org"
        ]
    );
}

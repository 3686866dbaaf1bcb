//! Email templates as files an admin edits: an edited copy changes the delivered email (the
//! shipped ones serve the other notices), a broken one stops `serve` and fails
//! `notify templates check` naming the file and line, and a reopened case gets its own
//! 重新办理 notice on a running gateway.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use complaint_gateway::notify::delivery::{Mailer, deliver_due};
use serde_json::{Value, json};

use super::access::account;
use super::mail_server::MailServer;
use super::notify_support::*;
use super::workflow::{call, case_in, deadline, investigator, step, trail, triage};
use crate::common::{TestApp, binary, eventually};

/// An edited 交办 template: another subject, the deadline first, the complainant section kept.
const EDITED_ASSIGNMENT: &str = "{# edited by the centre #}
subject: 【请办理】{{ case_id }} {{ short_title }}

{{ unit }}：请于{{ due }}前办结以下案件并反馈。
标题：{{ title }}
{{ complainant }}
{{ link }}
";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

fn templates_section(dir: &Path) -> String {
    format!("\n[notify]\ntemplates_dir = \"{}\"\n", dir.display())
}

#[tokio::test]
async fn an_edited_template_changes_the_delivered_email_and_the_others_stay_shipped() {
    let server = MailServer::start(0).await;
    let templates = tempfile::tempdir().unwrap();
    write(templates.path(), "assignment.txt", EDITED_ASSIGNMENT);
    let extra = server.email_section(true) + &templates_section(templates.path());
    let env = NotifyEnv::new(&extra).await;
    let a = assignment("case-edited", "normal", "2026-02-12T10:00:00+08:00");
    assign(&env, &a).await;
    let mailer = Mailer::from_config(&env.cfg.email).unwrap();
    let now = utc("2026-02-12T10:00:01+08:00");
    let report = deliver_due(&env.store, &env.cfg.email, &mailer, "w1", now)
        .await
        .unwrap();
    assert_eq!(report.failed, 0);
    let received = server.received();
    let to = |m: &super::mail_server::Received| m.envelope_to[0].clone();
    let member = received
        .iter()
        .find(|m| to(m) == "jiancha.wang@test.example.gov.cn")
        .expect("the member's email");
    assert!(
        member
            .header("subject")
            .starts_with("【请办理】case-edited "),
        "{}",
        member.header("subject")
    );
    assert!(
        member
            .body
            .starts_with("市监察局：请于2026年02月28日 17:30（北京时间，UTC+08:00）前办结"),
        "{}",
        member.body
    );
    // Still masked for this unit, still without the raw values.
    assert!(member.body.contains("138****1111"), "{}", member.body);
    for value in PII_VALUES {
        assert!(!member.body.contains(value), "{value}: {}", member.body);
        assert!(!member.header("subject").contains(value));
    }
    assert!(!member.body.contains("交办依据"), "the edit dropped it");
    // The units informed get the shipped 知会, withheld for the unit complained about.
    let informed = received
        .iter()
        .find(|m| to(m) == "renshi@test.example.gov.cn")
        .expect("the informed unit's email");
    assert!(informed.header("subject").starts_with("【知会】"));
    assert!(informed.body.contains("特此知会"), "{}", informed.body);
    assert!(informed.body.contains("依规不向被投诉单位提供投诉人信息"));
}

/// Runs the gateway's binary with `args` and a configuration whose templates are in `dir`;
/// a run that does not end within a minute is killed and fails the test.
async fn run_with_templates(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("gateway.toml");
    let text = format!(
        "data_dir = \"{}\"\nlisten = \"127.0.0.1:0\"\n[api]\ntoken_envs = []\n{}",
        work.path().join("data").display(),
        templates_section(dir)
    );
    std::fs::write(&config, text).unwrap();
    let child = tokio::process::Command::new(binary())
        .arg("--config")
        .arg(&config)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .unwrap_or_else(|_| panic!("{args:?} did not stop within a minute"))
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_string();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test]
async fn a_broken_template_stops_serve_and_fails_the_check_naming_the_file_and_line() {
    // An unknown placeholder on line 5 of reminder.txt; a block never closed in digest.txt.
    let templates = tempfile::tempdir().unwrap();
    let unknown = "{# a comment\n   of two lines #}\nsubject: 【催办通知】{{ short_title }}\n\n{{ unit }}：{{ deadline }}\n";
    write(templates.path(), "reminder.txt", unknown);
    let (ok, _, stderr) = run_with_templates(templates.path(), &["serve"]).await;
    assert!(!ok, "serve started with a broken template: {stderr}");
    assert!(stderr.contains("reminder.txt"), "{stderr}");
    assert!(stderr.contains("line 5"), "{stderr}");
    assert!(stderr.contains("`deadline`"), "{stderr}");
    let (ok, stdout, stderr) =
        run_with_templates(templates.path(), &["notify", "templates", "check"]).await;
    assert!(!ok, "the check passed a broken template: {stdout}");
    assert!(
        stderr.contains("reminder.txt") && stderr.contains("line 5"),
        "{stderr}"
    );
    // The others are listed with a rendered sample.
    assert!(stdout.contains("== assignment.txt (built in)"), "{stdout}");
    assert!(stdout.contains("sample subject: 【交办通知】"), "{stdout}");

    std::fs::remove_file(templates.path().join("reminder.txt")).unwrap();
    let unclosed = "subject: 【每日汇总】{{ queue }}\n{{ queue }}：\n{% for case in cases %}\n{{ case.title }}\n";
    write(templates.path(), "digest.txt", unclosed);
    let (ok, _, stderr) = run_with_templates(templates.path(), &["serve"]).await;
    assert!(!ok, "serve started with a broken template: {stderr}");
    assert!(stderr.contains("digest.txt"), "{stderr}");
    assert!(stderr.contains("syntax error"), "{stderr}");
    let (ok, _, stderr) =
        run_with_templates(templates.path(), &["notify", "templates", "check"]).await;
    assert!(!ok);
    assert!(stderr.contains("digest.txt"), "{stderr}");

    // Mended: the check passes and says where the edited one comes from.
    let mended = "subject: 【每日汇总】{{ queue }}\n{{ queue }}：\n{% for case in cases %}\n{{ case.title }}\n{% endfor %}\n";
    write(templates.path(), "digest.txt", mended);
    let (ok, stdout, stderr) =
        run_with_templates(templates.path(), &["notify", "templates", "check"]).await;
    assert!(ok, "{stdout}\n{stderr}");
    let edited = templates.path().join("digest.txt");
    assert!(
        stdout.contains(&format!("== digest.txt ({})", edited.display())),
        "{stdout}"
    );
    assert!(stdout.contains("== reminder.txt (built in)"), "{stdout}");
}

/// `2026年03月02日 09:00（北京时间，UTC+08:00）` of an RFC 3339 time.
fn beijing(rfc3339: &str) -> String {
    let time = DateTime::parse_from_rfc3339(rfc3339).unwrap();
    let local = time.with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap());
    format!(
        "{}（北京时间，UTC+08:00）",
        local.format("%Y年%m月%d日 %H:%M")
    )
}

#[tokio::test]
async fn a_reopened_case_gets_its_own_notice_with_the_reason_and_the_new_deadline() {
    let server = MailServer::start(0).await;
    let app = TestApp::start_with(&server.email_section(true)).await;
    let case = case_in(
        &app,
        "tpl-reopen",
        "菜市场占道经营，早高峰车辆无法通行。",
        "finance",
    )
    .await;
    let li = investigator(&app, "li", "finance", false).await;
    let centre = triage(&app, "centre").await;
    let admin = account(&app.data_dir(), "boss", &["--role", "admin"]).await;
    for action in ["accept", "start"] {
        let (status, body) = step(&app, &li, &case, json!({"action": action})).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    let answer =
        json!({"action": "answer", "finding": "substantiated", "reply": "已清理占道摊点。"});
    let (status, body) = step(&app, &li, &case, answer).await;
    assert_eq!(status, 200, "{body}");
    let answered = deadline(&app, &centre, &case).await;
    assert_eq!(answered["state"], "answered", "{answered}");

    let note = "回访不满意：摊点又回来了";
    let (status, body) = step(
        &app,
        &centre,
        &case,
        json!({"action": "reopen", "note": note}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let reopened = deadline(&app, &centre, &case).await;
    assert_eq!(
        (&reopened["queue_key"], &reopened["state"]),
        (&json!("finance"), &json!("open")),
        "{reopened}"
    );
    assert!(
        reopened["assigned_at"].as_str().unwrap() > answered["assigned_at"].as_str().unwrap(),
        "a new clock counted from the reopen: {reopened}"
    );
    // The old clock ended with the answer; the new one starts after it.
    let actions = trail(&reopened);
    let answered_at = actions
        .iter()
        .rposition(|a| a == "answered")
        .expect("answered");
    assert_eq!(actions.last().unwrap(), "assigned", "{actions:?}");
    assert!(answered_at < actions.len() - 1, "{actions:?}");

    // The outbox holds one reopen notice and no second 交办 for finance.
    let (_, outbox) = call(
        &app,
        &centre,
        "GET",
        &format!("/v1/outbox?case_id={case}"),
        Value::Null,
    )
    .await;
    let kinds: Vec<&str> = outbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "reopened").count(),
        1,
        "{kinds:?}"
    );

    // Delivered through SMTP to the unit, with the reason and the new deadline in Beijing time.
    let due = beijing(reopened["due_at"].as_str().unwrap());
    let mail = eventually("the reopen notice delivered", || async {
        server
            .received()
            .into_iter()
            .find(|m| m.header("subject").starts_with("【重新办理】"))
    })
    .await;
    assert_eq!(mail.envelope_to, ["caizhengju-cases@example.org"]);
    assert!(mail.body.starts_with("市财政局："), "{}", mail.body);
    assert!(
        mail.body.contains(&format!("重新办理原因：{note}")),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains(&format!("办理期限：{due}")),
        "{due}: {}",
        mail.body
    );
    assert!(
        mail.body.contains(&format!("/cases/{case}")),
        "{}",
        mail.body
    );

    // The audit record holds the reopen, by the centre, with the note.
    let (status, audit) = call(
        &app,
        &admin,
        "GET",
        &format!("/v1/audit?case={case}&action=case.reopen"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit.as_array().expect("a list of entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"], "centre", "{audit}");
    assert!(entries[0].to_string().contains(note), "{audit}");
    app.stop().await;
}

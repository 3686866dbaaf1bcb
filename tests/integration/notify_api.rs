//! `serve` runs the delivery worker and serves the deadline and outbox API.

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use super::mail_server::MailServer;
use super::notify_support::assignment;
use crate::common::{TestApp, eventually};

#[tokio::test]
async fn serve_delivers_the_outbox_and_serves_deadlines() {
    let server = MailServer::start(0).await;
    let app = TestApp::start_with(&server.email_section(true)).await;
    // Routing's side of the seam: an assignment committed in the gateway's store.
    let config = complaint_gateway::config::Config::from_toml(
        &crate::common::config_text(app.dir.path(), &server.email_section(true)),
        "test",
    )
    .unwrap();
    let store = complaint_gateway::store::Store::open(
        &app.data_dir(),
        complaint_gateway::store::CommitSettings::default(),
    )
    .await
    .unwrap();
    let now = Utc::now()
        .fixed_offset()
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let a = assignment("case-api", "high", &now);
    let calendar = complaint_gateway::calendar::Calendar::embedded();
    let templates = complaint_gateway::notify::templates::MailTemplates::built_in();
    let mut tx = store.begin_decision().await.unwrap();
    complaint_gateway::notify::on_assignment(&mut *tx, &a, &config, &calendar, &templates)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.close().await;

    // The worker delivers the 交办 emails without anyone asking.
    eventually("assignment emails delivered", || async {
        let n = server
            .received()
            .iter()
            .filter(|m| m.header("subject").starts_with("【交办通知】"))
            .count();
        (n == 2).then_some(())
    })
    .await;

    let deadline = app.get_json("/v1/cases/case-api/deadline").await;
    assert_eq!(deadline["queue_name"], "市监察局");
    assert_eq!(deadline["state"], "open");
    assert_eq!(deadline["audit"][0]["action"], "assigned");
    let old_due = deadline["due_at"].as_str().unwrap().to_string();

    let extended: Value = app
        .client
        .post(format!("{}/v1/cases/case-api/deadline/extend", app.base))
        .json(&json!({"requested_by": "市监察局 周某", "reason": "需补充调查", "hours": 48}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(extended["extensions"][0]["old_due_at"], old_due.as_str());
    assert_eq!(extended["extensions"][0]["reason"], "需补充调查");
    assert_ne!(extended["due_at"], old_due.as_str());

    let bad = app
        .client
        .post(format!("{}/v1/cases/case-api/deadline/extend", app.base))
        .json(&json!({"requested_by": "x", "reason": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let answer = |app: &TestApp| {
        app.client
            .post(format!("{}/v1/cases/case-api/answer", app.base))
            .json(&json!({"answered_by": "市监察局 王某", "summary": "已办结"}))
            .send()
    };
    let answered: Value = answer(&app).await.unwrap().json().await.unwrap();
    assert_eq!(answered["state"], "answered");
    assert_eq!(answer(&app).await.unwrap().status(), 409);
    let missing = app.get("/v1/cases/no-such-case/deadline").await;
    assert_eq!(missing.status(), 404);

    let outbox = eventually("outbox sent", || async {
        let page = app.get_json("/v1/outbox?case_id=case-api").await;
        let all_sent = page["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["state"] == "sent");
        all_sent.then_some(page)
    })
    .await;
    let kinds: Vec<&str> = outbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"assignment") && kinds.contains(&"informed"),
        "{kinds:?}"
    );
    assert_eq!(app.get("/v1/outbox?state=bogus").await.status(), 400);

    let openapi = app.get_json("/openapi.json").await;
    for path in [
        "/v1/cases/{id}/deadline",
        "/v1/cases/{id}/deadline/extend",
        "/v1/cases/{id}/answer",
        "/v1/outbox",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} missing in openapi"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_cli_shows_extends_and_answers_deadlines_and_lists_the_outbox() {
    use super::notify_support::{NotifyEnv, assign};
    let env = NotifyEnv::new("").await;
    assign(
        &env,
        &assignment("case-cli", "normal", "2026-02-12T10:00:00+08:00"),
    )
    .await;
    let data_dir = env.cfg.data_dir.clone();
    env.store.close().await;
    let run = |args: &[&str]| {
        let output = std::process::Command::new(crate::common::binary())
            .arg("--data-dir")
            .arg(&data_dir)
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), text)
    };
    let (ok, text) = run(&["deadline", "show", "case-cli"]);
    assert!(ok, "{text}");
    assert!(text.contains("2026-02-28T17:30:00+08:00"), "{text}");
    let (ok, text) = run(&["user", "add", "zhou", "--role", "triage", "--no-password"]);
    assert!(ok, "{text}");
    let (ok, text) = run(&[
        "deadline",
        "extend",
        "case-cli",
        "--as",
        "zhou",
        "--reason",
        "需现场核查",
        "--working-days",
        "3",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("2026-03-04T17:30:00+08:00"), "{text}");
    let (ok, text) = run(&["deadline", "answer", "case-cli", "--as", "ghost"]);
    assert!(!ok && text.contains("no such user"), "{text}");
    let (ok, text) = run(&["deadline", "answer", "case-cli"]);
    assert!(ok, "{text}");
    let (ok, text) = run(&["deadline", "show", "case-cli"]);
    assert!(
        ok && text.contains("answered") && text.contains("需现场核查"),
        "{text}"
    );
    assert!(
        text.contains("by zhou"),
        "the extension is recorded under the account: {text}"
    );
    let (ok, text) = run(&["audit", "list", "--case", "case-cli"]);
    assert!(ok, "{text}");
    let actions: Vec<(&str, &str)> = text
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            (fields[2], fields[3])
        })
        .collect();
    assert_eq!(actions.len(), 2, "{text}");
    assert_eq!(actions[0], ("zhou", "deadline.extend"));
    assert!(
        actions[1].0.starts_with("cli"),
        "the local operator: {text}"
    );
    assert_eq!(actions[1].1, "case.answer");
    let (ok, text) = run(&["outbox", "list", "--state", "pending"]);
    assert!(ok, "{text}");
    assert!(text.contains("pending: 3"), "{text}");
    assert!(text.contains("【交办通知】"), "{text}");
    let (ok, text) = run(&["deadline", "show", "no-such-case"]);
    assert!(!ok && text.contains("has no deadline"), "{text}");
}

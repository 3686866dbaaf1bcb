//! Classification and routing end to end: `classifier train/evaluate/list/activate` through
//! the binary; complaints pushed to a running gateway get a category, tags, a queue, a
//! priority and a status with why; corrections win and survive `reprocess`; export and search
//! show the facets; low confidence and unmatched go to triage.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{TestApp, binary, config_text, eventually};

const TRAIN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/routing-train.jsonl"
);
const HOLDOUT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/routing-holdout.jsonl"
);

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(binary())
        .args(args)
        .env_remove("COMPLAINT_GATEWAY_CONFIG")
        .env_remove("COMPLAINT_GATEWAY_DATA_DIR")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn train_into(data: &Path) {
    let data = data.to_str().unwrap();
    let (ok, stdout, stderr) = run(&["--data-dir", data, "classifier", "train", "--input", TRAIN]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("stored as version 1 (active)"), "{stdout}");
}

#[test]
fn train_evaluate_list_and_activate_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    train_into(&data);

    let (ok, stdout, stderr) = run(&[
        "--data-dir",
        data_arg,
        "classifier",
        "evaluate",
        "--input",
        HOLDOUT,
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let evaluation: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(evaluation["examples"], 40);
    assert!(
        evaluation["macro_f1"].as_f64().unwrap() >= 0.9,
        "{evaluation}"
    );
    assert_eq!(evaluation["per_class"].as_array().unwrap().len(), 4);
    assert_eq!(evaluation["confusion"].as_array().unwrap().len(), 4);

    let (ok, stdout, _) = run(&[
        "--data-dir",
        data_arg,
        "classifier",
        "evaluate",
        "--input",
        HOLDOUT,
    ]);
    assert!(ok);
    assert!(
        stdout.contains("macro-F1") && stdout.contains("环境保护"),
        "{stdout}"
    );

    // A second version with a hold-out split, stored without activation.
    let (ok, stdout, stderr) = run(&[
        "--data-dir",
        data_arg,
        "classifier",
        "train",
        "--input",
        TRAIN,
        "--holdout",
        "0.25",
        "--seed",
        "7",
        "--no-activate",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("stored as version 2") && stdout.contains("hold-out (25%, seed 7)"),
        "{stdout}"
    );

    // Training settings from a file, over the defaults; a misspelt setting is named.
    let settings = dir.path().join("settings.json");
    std::fs::write(
        &settings,
        r#"{"c": 1.0, "features": {"title_weight": 2.0}}"#,
    )
    .unwrap();
    let (ok, stdout, stderr) = run(&[
        "--data-dir",
        data_arg,
        "classifier",
        "train",
        "--input",
        TRAIN,
        "--no-activate",
        "--train-config",
        settings.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("stored as version 3"), "{stdout}");
    std::fs::write(&settings, r#"{"cost": 1.0}"#).unwrap();
    let (ok, _, stderr) = run(&[
        "--data-dir",
        data_arg,
        "classifier",
        "train",
        "--input",
        TRAIN,
        "--train-config",
        settings.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("cost"), "{stderr}");

    let (ok, stdout, _) = run(&["--data-dir", data_arg, "classifier", "list"]);
    assert!(ok);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("*   1"), "{stdout}");
    assert!(lines[1].starts_with("    2"), "{stdout}");

    let (ok, _, stderr) = run(&["--data-dir", data_arg, "classifier", "activate", "2"]);
    assert!(ok, "{stderr}");
    let (_, stdout, _) = run(&["--data-dir", data_arg, "classifier", "list"]);
    assert!(
        stdout.lines().nth(1).unwrap().starts_with("*   2"),
        "{stdout}"
    );
    let (ok, _, stderr) = run(&["--data-dir", data_arg, "classifier", "activate", "9"]);
    assert!(!ok && stderr.contains('9'), "{stderr}");

    let (ok, stdout, stderr) = run(&[
        "--data-dir",
        data_arg,
        "bench",
        "classify",
        "--input",
        HOLDOUT,
        "--rounds",
        "1",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("predictions/s"), "{stdout}");
}

/// Waits until the complaint is classified and returns its classification.
async fn classification(app: &TestApp, id: &str) -> Value {
    eventually(&format!("classification of {id}"), || async {
        let response = app
            .get(&format!("/v1/complaints/{id}/classification"))
            .await;
        if response.status().is_success() {
            response.json::<Value>().await.ok()
        } else {
            None
        }
    })
    .await
}

async fn push(app: &TestApp, source: &str, item: Value) -> String {
    let response = app
        .push_signed(
            source,
            item.to_string().as_bytes(),
            "application/json",
            crate::common::SECRET,
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let answer: Value = response.json().await.unwrap();
    answer["accepted"][0]["id"].as_str().unwrap().to_string()
}

fn item(external_id: &str, title: &str, body: &str) -> Value {
    json!({
        "external_id": external_id,
        "title": title,
        "body": body,
        "location": {"district": "河西区"},
    })
}

fn media_source(dir: &Path) -> String {
    format!(
        "\n[webhooks.press]\nchannel = \"media\"\nsecret_files = [\"{}\"]\n",
        dir.join("secret").display()
    )
}

#[tokio::test]
async fn complaints_are_classified_routed_corrected_and_survive_reprocess() {
    let dir = tempfile::tempdir().unwrap();
    train_into(&dir.path().join("data"));
    let text = config_text(dir.path(), &media_source(dir.path()));
    std::fs::write(dir.path().join("gateway.toml"), &text).unwrap();
    let mut app = TestApp::start_in(dir, &text).await;
    let token = app.sign_in_as("triage-01", "triage").await;

    let plain = push(
        &app,
        "demo",
        item("r-1", "河道发黑发臭", "北湖区滨江路居民反映：上游的生猪养殖场污水未经处理直接排入河道，水面漂满垃圾散发恶臭，请环保局派人夜间突击检测。"),
    )
    .await;
    let delay = push(
        &app,
        "demo",
        item(
            "r-2",
            "施工许可迟迟不批",
            "我单位三月提交的施工许可申请材料齐全，窗口一直不予受理，审批拖延已超过承诺时限。",
        ),
    )
    .await;
    let media = push(
        &app,
        "press",
        item(
            "r-3",
            "记者调查：办事大厅排长队",
            "本报记者走访发现，市民在办事大厅排队四小时仍未办完业务。",
        ),
    )
    .await;

    let c = classification(&app, &plain).await;
    assert_eq!(c["category"], "环境保护", "{c}");
    assert_eq!(c["category_source"], "model");
    assert_eq!(c["model_version"], 1);
    assert_eq!(c["top"].as_array().unwrap().len(), 3, "{c}");
    assert!(c["confidence"].as_f64().unwrap() >= 0.5, "{c}");
    assert_eq!(c["route"]["queue"], "general_office", "{c}");
    assert_eq!(c["route"]["rule"], "known_category");
    assert_eq!(c["route"]["queue_name"], "市政府办公厅");

    let c = classification(&app, &delay).await;
    assert!(
        c["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("approval_delay")),
        "{c}"
    );
    assert_eq!(c["route"]["queue"], "supervision");
    assert_eq!(c["route"]["priority"], "high");
    assert!(
        c["rules"]
            .as_array()
            .unwrap()
            .contains(&json!("tag:approval_delay")),
        "{c}"
    );
    assert!(
        c["why"]["tag_hits"][0]["evidence"]
            .as_str()
            .unwrap()
            .starts_with("keyword"),
        "{c}"
    );

    let c = classification(&app, &media).await;
    assert_eq!(c["route"]["queue"], "supervision", "{c}");
    assert_eq!(c["route"]["priority"], "high");
    assert_eq!(c["route"]["informed"], json!(["press_office"]));
    assert_eq!(c["why"]["tag_hits"][0]["evidence"], "channel media", "{c}");

    // Facets on the complaint, in search and in the queue counts.
    let record = app.get_json(&format!("/v1/complaints/{delay}")).await;
    assert_eq!(record["facets"]["queue"], "supervision", "{record}");
    assert_eq!(record["facets"]["status"], "assigned");
    let hits = eventually("search by queue", || async {
        let r = app
            .search(&[
                ("q", "施工许可"),
                ("queue", "supervision"),
                ("tag", "approval_delay"),
            ])
            .await;
        (r["total"] == 1).then_some(r)
    })
    .await;
    assert_eq!(hits["hits"][0]["id"], delay.as_str());
    assert_eq!(hits["hits"][0]["priority"], "high", "{hits}");
    let queues = app.get_json("/v1/queues").await;
    let supervision = queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["key"] == "supervision")
        .unwrap();
    assert_eq!(supervision["open_cases"], 2, "{queues}");
    assert_eq!(supervision["name"], "市监察局");
    assert!(
        supervision["supervisor"]
            .as_str()
            .unwrap()
            .ends_with("@example.org")
    );
    let openapi = app.get_json("/openapi.json").await;
    assert!(openapi["paths"]["/v1/queues"].is_object());
    assert!(openapi["paths"]["/v1/complaints/{id}/classification"]["post"].is_object());

    // A correction wins at once…
    let response = app
        .client
        .post(format!("{}/v1/complaints/{plain}/classification", app.base))
        .json(&json!({"category": "城乡建设", "queue": "establishment", "priority": "low"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let c: Value = response.json().await.unwrap();
    assert_eq!(c["category"], "城乡建设");
    assert_eq!(c["category_source"], "correction");
    assert_eq!(c["route"]["queue"], "establishment");
    assert_eq!(c["route"]["priority"], "low");
    assert_eq!(c["route"]["pinned"], true);
    assert_eq!(
        c["top"][0]["label"], "环境保护",
        "the model's opinion stays recorded"
    );
    // …and bad ones are refused.
    for (body, code) in [
        (json!({"queue": "nowhere"}), "queue_unknown"),
        (json!({"priority": "asap"}), "priority_unknown"),
        (json!({"note": "nothing else"}), "correction_empty"),
    ] {
        let response = app
            .client
            .post(format!("{}/v1/complaints/{plain}/classification", app.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{error}");
    }

    // Reprocess from the command line: the correction survives; the rest is recomputed.
    let dir = app.stop().await;
    let config = dir.path().join("gateway.toml");
    let (ok, stdout, stderr) = run(&["--config", config.to_str().unwrap(), "reprocess"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains('3'), "{stdout}");
    let (ok, stdout, stderr) = run(&["--config", config.to_str().unwrap(), "export"]);
    assert!(ok, "{stderr}");
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    let corrected = row(&plain);
    assert_eq!(corrected["category"], "城乡建设", "{corrected}");
    assert_eq!(corrected["queue"], "establishment");
    assert_eq!(corrected["priority"], "low");
    assert_eq!(corrected["status"], "assigned");
    let media_row = row(&media);
    assert_eq!(media_row["queue"], "supervision", "{media_row}");
    assert_eq!(media_row["tags"], json!(["media_exposed"]));
    assert_eq!(media_row["priority"], "high");

    // Corrections are training data.
    let (ok, stdout, stderr) = run(&[
        "--config",
        config.to_str().unwrap(),
        "classifier",
        "train",
        "--input",
        TRAIN,
        "--include-corrections",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("adding 1 corrected complaints"), "{stdout}");
    assert!(stdout.contains("trained on 161 examples"), "{stdout}");

    let mut app = TestApp::start_in(dir, &text).await;
    app.use_token(&token);
    let c = classification(&app, &plain).await;
    assert_eq!(c["category_source"], "correction");
    assert_eq!(c["route"]["queue"], "establishment");
    assert_eq!(c["correction"]["corrected_by"], "triage-01");
    app.stop().await;
}

#[tokio::test]
async fn low_confidence_and_unmatched_go_to_triage() {
    // min_confidence 1.0: no calibrated probability reaches it, so every model category is a
    // guess; a tag still routes.
    let dir = tempfile::tempdir().unwrap();
    train_into(&dir.path().join("data"));
    let routing = complaint_gateway::routing::config::EMBEDDED_ROUTING
        .replace("min_confidence = 0.5", "min_confidence = 1.0");
    let routing_path = dir.path().join("routing.toml");
    std::fs::write(&routing_path, routing).unwrap();
    let extra = format!("\n[routing]\nfile = \"{}\"\n", routing_path.display());
    let text = config_text(dir.path(), &extra);
    let app = TestApp::start_in(dir, &text).await;

    let guess = push(
        &app,
        "demo",
        item(
            "l-1",
            "餐馆油烟扰民",
            "楼下新开的烧烤店油烟直接排向居民窗户，请督促企业安装净化设备。",
        ),
    )
    .await;
    let tagged = push(
        &app,
        "demo",
        item(
            "l-2",
            "执法问题",
            "城管执法人员粗暴执法，没收了我的三轮车。",
        ),
    )
    .await;
    let c = classification(&app, &guess).await;
    assert_eq!(c["low_confidence"], true, "{c}");
    assert!(c["category"].is_string(), "the guess is recorded: {c}");
    assert_eq!(c["route"]["queue"], "triage");
    assert_eq!(c["route"]["rule"], "unmatched");
    let record = app.get_json(&format!("/v1/complaints/{guess}")).await;
    assert_eq!(record["facets"]["status"], "triage", "{record}");
    let c = classification(&app, &tagged).await;
    assert_eq!(c["route"]["queue"], "legal_affairs", "{c}");
    app.stop().await;
}

#[tokio::test]
async fn without_a_model_untagged_complaints_go_to_triage() {
    let app = TestApp::start().await;
    let id = push(
        &app,
        "demo",
        item("n-1", "路灯不亮", "小区门口的路灯坏了一个月。"),
    )
    .await;
    let c = classification(&app, &id).await;
    assert_eq!(c["category_source"], "none", "{c}");
    assert!(c["category"].is_null());
    assert_eq!(c["route"]["queue"], "triage");
    let missing = app.get("/v1/complaints/nope/classification").await;
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

//! Pull sources end to end through the gateway, `http_json` against a scripted upstream: paging
//! to the end through server errors, a timeout, a truncated body and a 429 (retried, cursor
//! unchanged, `Retry-After` honoured), GB18030 labelled GBK or not labelled, an unmappable
//! record, re-reads, a pagination loop, isolation of a failing source, `/v1/sources`, metrics,
//! and the shipped demo connectors.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::upstream::{Reply, Upstream};
use crate::common::{TestApp, config_text, eventually};

/// Writes `<dir>/connectors/<name>.toml`.
pub fn write_connector(dir: &Path, name: &str, text: &str) {
    let connectors = dir.join("connectors");
    std::fs::create_dir_all(&connectors).unwrap();
    std::fs::write(connectors.join(format!("{name}.toml")), text).unwrap();
}

/// Starts a gateway whose connector files were written by `write`.
pub async fn start_with_connectors(write: impl FnOnce(&Path)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let text = config_text(dir.path(), "");
    TestApp::start_in(dir, &text).await
}

/// Waits until the status of `source` satisfies `check`.
pub async fn wait_source(
    app: &TestApp,
    source: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(&format!("{source}: {what}"), || async {
        let status = app.get_json(&format!("/v1/sources/{source}")).await;
        check(&status).then_some(status)
    })
    .await
}

/// Waits until a search restricted to `source` has `total` hits.
pub async fn wait_stored(app: &TestApp, source: &str, total: u64) -> Value {
    eventually(
        &format!("{total} complaints of {source} searchable"),
        || async {
            let result = app.search(&[("source", source), ("limit", "50")]).await;
            (result["total"].as_u64() == Some(total)).then_some(result)
        },
    )
    .await
}

fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

fn hotline_config(base: &str, extra: &str) -> String {
    format!(
        r#"type = "http_json"
channel = "hotline"
url = "{base}/api/orders"
items_pointer = "/data/list"
timeout_secs = 1
poll_interval_secs = 3600
{extra}
[fields]
external_id = "/id"
title = "/title"
body = "/content"
submitted_at = "/time"
"complainant.phone" = "/phone"
"#
    )
}

fn order(id: &str, title: &str, content: &str) -> Value {
    json!({"id": id, "title": title, "content": content, "time": "2024-06-03 09:30:00",
           "phone": "13800000301", "channel": "电话"})
}

fn page_of(orders: &[Value]) -> String {
    json!({"code": 0, "data": {"list": orders}}).to_string()
}

#[tokio::test]
async fn http_json_pages_to_the_end_through_errors_with_the_cursor_unchanged() {
    let attempts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let upstream = Upstream::start(move |request| {
        let page = request.query("page").unwrap_or_default();
        let attempt = {
            let mut attempts = attempts.lock().unwrap();
            let n = attempts.entry(page.clone()).or_default();
            *n += 1;
            *n
        };
        let page1 = page_of(&[
            order(
                "h-1",
                "供暖费多收",
                "今年供暖费按建筑面积多收了两百元，物业说是热力公司定的。",
            ),
            order(
                "h-2",
                "路面塌陷",
                "学院路公交站旁路面塌陷一个坑，已经围了半个月没人修。",
            ),
        ]);
        let page2 = page_of(&[
            order(
                "h-3",
                "窨井盖缺失",
                "文化路口窨井盖丢失，晚上骑车很危险，请尽快补装。",
            ),
            order(
                "h-4",
                "噪音扰民",
                "楼下烧烤店营业到凌晨三点，油烟和噪音严重影响休息。",
            ),
        ]);
        let page3 = page_of(&[
            order(
                "h-5",
                "审批拖延",
                "餐饮许可证申请提交四十天仍未审批，窗口说系统在升级。",
            ),
            json!({"id": "h-6", "title": "内容缺失的工单", "time": "2024-06-03 10:00:00"}),
        ]);
        match (page.as_str(), attempt) {
            ("1", _) => Reply::json(&page1),
            ("2", 1) => Reply::status(500),
            ("2", 2) => Reply::Stall,
            ("2", 3) => Reply::truncated("application/json", page2.as_bytes()),
            // GB18030 bytes labelled GBK (a mislabelled page is in `input_honesty`).
            ("2", _) => Reply::with(
                200,
                &[("content-type", "application/json; charset=GBK")],
                gb18030(&page2),
            ),
            ("3", 1) => Reply::with(429, &[("retry-after", "2")], ""),
            // GB18030 bytes without any charset.
            ("3", _) => Reply::with(
                200,
                &[("content-type", "application/json")],
                gb18030(&page3),
            ),
            _ => Reply::json(&page_of(&[])),
        }
    })
    .await;
    let pagination = "[pagination]\ntype = \"page\"\nparam = \"page\"\npage_size = 2\npage_size_param = \"size\"\n";
    let app = start_with_connectors(|dir| {
        write_connector(
            dir,
            "hotline-paging",
            &hotline_config(&upstream.base, pagination),
        )
    })
    .await;

    let status = wait_source(&app, "hotline-paging", "caught up on page 4", |s| {
        s["cursor"] == json!({"page": 4}) && s["state"] == "ok"
    })
    .await;
    assert_eq!(
        upstream.query_log("page"),
        ["1", "2", "2", "2", "2", "3", "3", "4"],
        "every retry asked for the same page; no page was skipped or read twice after success"
    );
    let requests = upstream.requests();
    assert_eq!(requests[0].query("size").as_deref(), Some("2"));
    // Backoff after the 500 (retry_initial_ms = 100, jittered into 50..100 ms).
    assert!(requests[2].at - requests[1].at >= Duration::from_millis(50));
    // The 429 asked for two seconds; the backoff alone would have been well under one.
    let throttled = requests[6].at - requests[5].at;
    assert!(
        throttled >= Duration::from_secs(2),
        "retried after {throttled:?}"
    );

    assert_eq!(status["received"]["stored"], 5);
    assert_eq!(status["received"]["dead_lettered"], 1);
    assert_eq!(status["consecutive_failures"], 0);
    assert_eq!(status["healthy"], true);
    assert_eq!(status["last_error"]["kind"], "status");
    assert_eq!(
        status["upstream"],
        upstream.base.trim_start_matches("http://")
    );

    let hits = wait_stored(&app, "hotline-paging", 5).await;
    assert!(
        hits["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["channel"] == "hotline")
    );
    // The GB18030 pages were decoded by their label, and without one.
    assert_eq!(app.search(&[("q", "窨井盖")]).await["total"], 1);
    assert_eq!(app.search(&[("q", "餐饮许可证")]).await["total"], 1);
    let dead = app.get_json("/v1/dead-letters?source=hotline-paging").await;
    assert_eq!(dead["total"], 1);
    assert_eq!(dead["dead_letters"][0]["external_id"], "h-6");

    let metrics = app.get("/metrics").await.text().await.unwrap();
    for kind in ["timeout", "truncated", "status"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("gateway_source_errors_total")
                    && l.contains("source=\"hotline-paging\"")
                    && l.contains(&format!("kind=\"{kind}\""))),
            "no {kind} error counted:\n{metrics}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn rereading_a_page_stores_nothing_twice_and_status_survives_a_restart() {
    let served = Arc::new(Mutex::new(0usize));
    let counter = served.clone();
    let upstream = Upstream::start(move |_| {
        let n = {
            let mut n = counter.lock().unwrap();
            *n += 1;
            *n
        };
        // From the third poll on, one order has changed upstream: a revision, not a duplicate.
        let third = if n >= 3 {
            "（已补充：涉及两栋楼）"
        } else {
            ""
        };
        Reply::json(&page_of(&[
            order("r-1", "电梯停运", "小区3号楼电梯停运一周，物业称等配件。"),
            order(
                "r-2",
                "违章搭建",
                "楼顶有住户违规搭建彩钢房，存在安全隐患。",
            ),
            order("r-3", "自来水浑浊", &format!("近三天自来水发黄浑浊{third}")),
        ]))
    })
    .await;
    let config = hotline_config(&upstream.base, "")
        .replace("poll_interval_secs = 3600", "poll_interval_secs = 1");
    let app = start_with_connectors(|dir| write_connector(dir, "hotline-reread", &config)).await;
    let status = wait_source(&app, "hotline-reread", "four polls", |s| {
        s["polls"].as_u64() >= Some(4)
    })
    .await;
    assert_eq!(status["received"]["stored"], 3);
    assert_eq!(status["received"]["revisions"], 1);
    assert!(status["received"]["duplicates"].as_u64().unwrap() >= 3 + 2);
    wait_stored(&app, "hotline-reread", 3).await;

    // The counters are kept across a restart; the re-read after it only adds duplicates.
    let dir = app.stop().await;
    let text = config_text(dir.path(), "");
    let app = TestApp::start_in(dir, &text).await;
    let resumed = app.get_json("/v1/sources/hotline-reread").await;
    assert_eq!(resumed["counting_since"], status["counting_since"]);
    assert_eq!(resumed["received"]["stored"], 3);
    assert_eq!(resumed["received"]["revisions"], 1);
    wait_source(&app, "hotline-reread", "polled after the restart", |s| {
        s["last_poll_at"] != resumed["last_poll_at"]
    })
    .await;
    wait_stored(&app, "hotline-reread", 3).await;
    app.stop().await;
}

#[tokio::test]
async fn a_pagination_loop_or_a_missing_secret_fails_only_its_own_source() {
    let looping = Upstream::start(|request| {
        let (id, next) = match request.query("cursor").as_deref() {
            None => ("l-1", "c1"),
            Some("c1") => ("l-2", "c2"),
            // c2 hands back c1, already read in this run: a loop.
            Some(_) => ("l-3", "c1"),
        };
        let body = json!({"data": {"list": [order(id, "占道经营", "夜市摊位占用人行道，行人只能走机动车道。")],
                                    "next": next}});
        Reply::json(&body.to_string())
    })
    .await;
    let steady = Upstream::start(|_| {
        Reply::json(&page_of(&[
            order(
                "s-1",
                "公厕无人保洁",
                "公园东门公厕长期无人保洁，气味难闻。",
            ),
            order("s-2", "共享单车乱停", "地铁口共享单车堆满盲道。"),
        ]))
    })
    .await;
    let app = start_with_connectors(|dir| {
        let cursor =
            "[pagination]\ntype = \"cursor\"\nparam = \"cursor\"\nnext_pointer = \"/data/next\"\n";
        write_connector(dir, "loop-hotline", &hotline_config(&looping.base, cursor));
        let fast = hotline_config(&steady.base, "")
            .replace("poll_interval_secs = 3600", "poll_interval_secs = 1");
        write_connector(dir, "steady-hotline", &fast);
        let auth = "[auth]\ntype = \"bearer\"\ntoken_env = \"CG_TEST_SOURCES_TOKEN_NEVER_SET\"\n";
        write_connector(dir, "locked-hotline", &hotline_config(&steady.base, auth));
    })
    .await;

    let failed = wait_source(&app, "loop-hotline", "failed on the loop", |s| {
        s["state"] == "failed"
    })
    .await;
    assert_eq!(failed["last_error"]["kind"], "pagination_loop");
    assert_eq!(failed["last_error"]["permanent"], true);
    assert_eq!(failed["healthy"], false);
    // What was read before the loop is committed, and the cursor stays where it was committed.
    assert_eq!(failed["received"]["stored"], 2);
    assert_eq!(failed["cursor"], json!({"cursor": "c2"}));
    // c2 was asked five times in a row (a repeated page is retried first: a stale cache passes),
    // with backoff; only then was it a loop.
    assert_eq!(
        looping.query_log("cursor"),
        ["-", "c1", "c2", "c2", "c2", "c2", "c2"]
    );

    let locked = app.get_json("/v1/sources/locked-hotline").await;
    assert_eq!(locked["state"], "failed");
    assert_eq!(locked["last_error"]["kind"], "config");
    let message = locked["last_error"]["message"].as_str().unwrap();
    assert!(
        message.contains("CG_TEST_SOURCES_TOKEN_NEVER_SET"),
        "{message}"
    );

    // The healthy source keeps polling while the others are failed.
    let steady_status = wait_source(&app, "steady-hotline", "several polls", |s| {
        s["polls"].as_u64() >= Some(3)
    })
    .await;
    assert_eq!(steady_status["healthy"], true);
    assert_eq!(steady_status["received"]["stored"], 2);
    wait_stored(&app, "steady-hotline", 2).await;
    wait_stored(&app, "loop-hotline", 2).await;

    let all = app.get_json("/v1/sources").await;
    assert_eq!(all["healthy"], false);
    let names: Vec<&str> = all["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "demo",
            "hot",
            "locked-hotline",
            "loop-hotline",
            "steady-hotline"
        ]
    );
    let demo = &all["sources"][0];
    assert_eq!(
        (
            demo["kind"].as_str(),
            demo["state"].as_str(),
            demo["channel"].as_str()
        ),
        (Some("webhook"), Some("push"), Some("online"))
    );
    let missing = app.get("/v1/sources/nope").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );

    let spec = app.get_json("/openapi.json").await;
    assert!(spec["paths"]["/v1/sources"]["get"].is_object());
    assert!(spec["paths"]["/v1/sources/{name}"]["get"].is_object());
    assert!(spec["components"]["schemas"]["SourceStatus"].is_object());
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("gateway_source_up{source=\"loop-hotline\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gateway_source_up{source=\"steady-hotline\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}

#[test]
fn the_shipped_connector_files_load_and_build() {
    let config = complaint_gateway::config::Config::load(None).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let specs = complaint_gateway::sources::load::load_specs(&config, root).unwrap();
    let summary: Vec<(&str, &str, String)> = specs
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.config.kind(),
                s.config.channel().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("hotline", "http_json", "hotline".to_string()),
            ("media", "rss", "media".to_string()),
            ("online", "open311", "online".to_string()),
            ("petition", "file_drop", "petition".to_string()),
        ]
    );
    crate::common::install_tls();
    for spec in &specs {
        spec.build()
            .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        // The sample upstreams are files of the repository, resolved against its root.
        if let Some(path) = spec.config.upstream() {
            panic!("{} should read a local sample, not {path}", spec.name);
        }
    }
}

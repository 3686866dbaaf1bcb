//! `open311`, `rss` and `file_drop` end to end through the gateway: windows walked to the end
//! through errors with the cursor unchanged, `Retry-After`, truncated bodies, GB18030 without a
//! label, unmappable records dead-lettered, re-reads that store nothing twice, the
//! conditional GET of feeds, and the drop folder's `done/` and `failed/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use super::sources::{start_with_connectors, wait_source, wait_stored, write_connector};
use super::upstream::{Reply, Upstream};

fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

fn service_request(id: Value, service: &str, description: &str) -> Value {
    json!({"service_request_id": id, "status": "open", "service_name": service,
           "description": description, "agency_responsible": "市城市管理局",
           "requested_datetime": "2024-06-02T08:00:00+08:00",
           "updated_datetime": "2024-06-02T09:00:00+08:00",
           "address": " 解放路 12号 ", "lat": 30.25, "long": 120.17})
}

#[tokio::test]
async fn open311_walks_every_window_through_errors_and_rereads_the_overlap_once() {
    let start = (Utc::now() - chrono::Duration::hours(60))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let windows: Arc<Mutex<Vec<String>>> = Arc::default();
    let attempts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let upstream = Upstream::start(move |request| {
        let window_start = request.query("start_date").unwrap_or_default();
        let window = {
            let mut windows = windows.lock().unwrap();
            if !windows.contains(&window_start) {
                windows.push(window_start.clone());
            }
            windows.iter().position(|w| *w == window_start).unwrap() + 1
        };
        let attempt = {
            let mut attempts = attempts.lock().unwrap();
            let n = attempts.entry(window_start).or_default();
            *n += 1;
            *n
        };
        let o3 = service_request(
            json!("o-3"),
            "市容环境",
            "菜场门口污水横流，多次反映无人处理。",
        );
        let first = json!([
            service_request(json!(1001), "道路设施", "人行道护栏被撞倒，一直没有修复。"),
            service_request(json!("1002 "), "路灯照明", "滨河路一排路灯全部不亮。"),
        ]);
        let second = json!([o3, {"status": "open", "address": "东湖路"}]);
        let third = json!([
            o3,
            service_request(
                json!("o-4"),
                "行政审批",
                "加装电梯审批材料提交半年没有结果。"
            )
        ]);
        match (window, attempt) {
            (1, 1) => Reply::status(500),
            (1, 2) => Reply::Stall,
            (1, _) => Reply::json(&first.to_string()),
            (2, 1) => Reply::with(429, &[("retry-after", "1")], ""),
            (2, 2) => Reply::truncated("application/json", second.to_string().as_bytes()),
            // GB18030 bytes without a charset.
            (2, _) => Reply::with(
                200,
                &[("content-type", "application/json")],
                gb18030(&second.to_string()),
            ),
            _ => Reply::json(&third.to_string()),
        }
    })
    .await;
    let config = format!(
        "type = \"open311\"\nchannel = \"online\"\nbase_url = \"{}/open311/v2\"\nstart = \"{start}\"\nwindow_days = 1\ntimeout_secs = 1\npoll_interval_secs = 3600\n",
        upstream.base
    );
    let app = start_with_connectors(|dir| write_connector(dir, "portal-311", &config)).await;
    let status = wait_source(&app, "portal-311", "caught up", |s| {
        s["state"] == "ok" && s["received"]["stored"] == 4
    })
    .await;
    let starts = upstream.query_log("start_date");
    assert_eq!(starts.len(), 7, "{starts:?}");
    assert!(starts[..3].iter().all(|s| *s == start), "{starts:?}");
    assert!(starts[3..6].iter().all(|s| *s == starts[3]) && starts[3] > start);
    assert!(starts[6] > starts[3]);
    let requests = upstream.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.target.starts_with("/open311/v2/requests.json?"))
    );
    assert!(
        requests[4].at - requests[3].at >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(status["received"]["dead_lettered"], 1);
    assert_eq!(
        status["received"]["duplicates"], 1,
        "o-3 served in two windows"
    );
    assert_eq!(status["consecutive_failures"], 0);
    wait_stored(&app, "portal-311", 4).await;
    assert_eq!(
        app.search(&[("q", "污水横流"), ("channel", "online")])
            .await["total"],
        1
    );
    app.stop().await;
}

fn feed(items: &[(&str, &str, &str)], encoding: &str) -> String {
    let entries: String = items
        .iter()
        .map(|(guid, title, text)| {
            format!("<item><title>{title}</title><link>https://news.example.com/{guid}.html</link><guid isPermaLink=\"false\">{guid}</guid><pubDate>Tue, 04 Jun 2024 08:00:00 +0800</pubDate><description>{text}</description></item>")
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"{encoding}\"?><rss version=\"2.0\"><channel><title>晚报</title><link>https://news.example.com</link><description>民生</description>{entries}</channel></rss>"
    )
}

#[tokio::test]
async fn rss_keeps_watched_entries_uses_conditional_get_and_survives_bad_answers() {
    let first = [
        (
            "m-1",
            "居民投诉小区供水加压泵坏了半年",
            "六层以上住户每天只有夜里才有水，向街道投诉多次未果。",
        ),
        (
            "m-2",
            "企业开办审批拖延调查",
            "多家企业反映营业执照办理时间远超承诺时限。",
        ),
        ("m-3", "端午假期景区人流预报", "各大景区预计迎来客流高峰。"),
    ];
    let mut second = first.to_vec();
    second.push((
        "m-4",
        "停车场乱收费再遭投诉",
        "火车站周边停车场收费标准不公示。",
    ));
    let count = Arc::new(Mutex::new(0usize));
    let upstream = Upstream::start(move |request| {
        let n = {
            let mut n = count.lock().unwrap();
            *n += 1;
            *n
        };
        let etag = request.header("if-none-match").map(str::to_string);
        match (n, etag.as_deref()) {
            (1, _) => Reply::with(503, &[("retry-after", "1")], ""),
            (2, _) => Reply::truncated("application/rss+xml", feed(&first, "UTF-8").as_bytes()),
            // GB18030 bytes with no HTTP charset: the XML declaration names GB18030.
            (3, _) => Reply::with(
                200,
                &[("content-type", "application/rss+xml"), ("etag", "\"v1\"")],
                gb18030(&feed(&first, "GB18030")),
            ),
            (4, Some("\"v1\"")) => Reply::with(304, &[("etag", "\"v1\"")], ""),
            (_, Some("\"v2\"")) => Reply::with(304, &[("etag", "\"v2\"")], ""),
            _ => Reply::with(
                200,
                &[("content-type", "application/rss+xml"), ("etag", "\"v2\"")],
                feed(&second, "UTF-8"),
            ),
        }
    })
    .await;
    let config = format!(
        "type = \"rss\"\nchannel = \"media\"\nurl = \"{}/feed.xml\"\nwatch_keywords = [\"投诉\", \"拖延\"]\ntimeout_secs = 1\npoll_interval_secs = 1\n",
        upstream.base
    );
    let app = start_with_connectors(|dir| write_connector(dir, "evening-news", &config)).await;
    let status = wait_source(&app, "evening-news", "the changed feed read", |s| {
        s["received"]["stored"] == 3 && s["polls"].as_u64() >= Some(6)
    })
    .await;
    assert_eq!(
        status["skipped"], 2,
        "the travel item, once per parsed feed"
    );
    assert_eq!(status["received"]["duplicates"], 2);
    let requests = upstream.requests();
    assert!(
        requests[1].at - requests[0].at >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(requests[3].header("if-none-match"), Some("\"v1\""));
    assert!(
        requests[5..]
            .iter()
            .all(|r| r.header("if-none-match") == Some("\"v2\""))
    );

    let hits = wait_stored(&app, "evening-news", 3).await;
    let media = app.search(&[("channel", "media"), ("q", "加压泵")]).await;
    assert_eq!(media["total"], 1, "GB18030 decoded by the XML declaration");
    let id = hits["hits"][0]["id"].as_str().unwrap().to_string();
    let complaint = app.get_json(&format!("/v1/complaints/{id}")).await;
    assert_eq!(complaint["item"]["meta"]["media_exposed"], true);
    app.stop().await;
}

/// Writes `name` into `dir` the way an exporter should: under `.part`, then renamed.
fn drop_file(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    let part = dir.join(format!("{name}.part"));
    std::fs::write(&part, bytes).unwrap();
    std::fs::rename(part, dir.join(name)).unwrap();
}

#[tokio::test]
async fn file_drop_reads_gb18030_exports_once_and_sets_aside_unreadable_files() {
    let export = "编号,标题,内容,日期,电话,信访形式\r\n\
        XF-01,拆迁补偿纠纷,拆迁补偿款至今未到位，多次找街道无果。,2024-06-01 09:00,13800000401,来信\r\n\
        XF-02,,,2024-06-01 10:00,,来访\r\n\
        XF-03,医保报销材料反复退回,异地就医报销材料被退回三次，每次理由都不同。,2024-06-02 14:20,13800000402,网上信访\r\n";
    let bytes = gb18030(export);
    let temp = tempfile::tempdir().unwrap();
    let drop_dir = temp.path().join("drop");
    std::fs::create_dir_all(&drop_dir).unwrap();
    let config = format!(
        "type = \"file_drop\"\nchannel = \"petition\"\ndir = \"{}\"\npoll_interval_secs = 1\n\n[columns]\n\"编号\" = \"external_id\"\n\"标题\" = \"title\"\n\"内容\" = \"body\"\n\"日期\" = \"submitted_at\"\n\"电话\" = \"complainant.phone\"\n",
        drop_dir.display()
    );
    drop_file(&drop_dir, "register-0601.csv", &bytes);
    let app = start_with_connectors(|dir| write_connector(dir, "petition-office", &config)).await;
    wait_source(&app, "petition-office", "first export read", |s| {
        s["received"]["stored"] == 2 && s["received"]["dead_lettered"] == 1
    })
    .await;
    let done = drop_dir.join("done");
    let report: Value =
        serde_json::from_slice(&std::fs::read(done.join("register-0601.csv.report.json")).unwrap())
            .unwrap();
    assert_eq!(
        (report["stored"].as_u64(), report["dead_lettered"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        std::fs::read(done.join("register-0601.csv")).unwrap(),
        bytes
    );
    assert!(!drop_dir.join("register-0601.csv").exists());

    // The same export delivered again, and a file that is not a spreadsheet at all.
    drop_file(&drop_dir, "register-0601-resent.csv", &bytes);
    drop_file(&drop_dir, "scan.xlsx", b"%PDF-1.4 not a spreadsheet");
    let status = wait_source(&app, "petition-office", "both files handled", |s| {
        s["received"]["duplicates"] == 2 && s["received"]["dead_lettered"] == 3
    })
    .await;
    assert_eq!(status["received"]["stored"], 2);
    eventually_exists(&drop_dir.join("failed/scan.xlsx.error.txt")).await;
    assert!(done.join("register-0601-resent.csv.report.json").exists());
    wait_stored(&app, "petition-office", 2).await;
    assert_eq!(
        app.search(&[("q", "拆迁补偿"), ("channel", "petition")])
            .await["total"],
        1
    );
    let dead = app
        .get_json("/v1/dead-letters?source=petition-office")
        .await;
    assert_eq!(
        dead["total"], 2,
        "the empty row once, the unreadable file once"
    );
    app.stop().await;
}

async fn eventually_exists(path: &std::path::Path) {
    crate::common::eventually(&format!("{} exists", path.display()), || async {
        path.exists().then_some(())
    })
    .await;
}

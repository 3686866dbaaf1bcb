//! A record dated far ahead must not become the `since` cursor: every record after it would
//! be skipped for good. Run against a local server that filters by `since` like a real API.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::Channel;
use crate::testing::{Reply, TestServer};

/// 10:00 in Beijing; the records' times are Beijing local time.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 2, 0, 0).unwrap()
}

type Records = Arc<Mutex<Vec<(&'static str, &'static str)>>>;

/// Serves the records newer than `updatedAfter`, oldest first (the far-future one last, as a
/// real API sorting by time would).
async fn server(records: Records) -> TestServer {
    TestServer::start(move |request| {
        let since = request.query("updatedAfter");
        let mut list: Vec<(&str, &str)> = records
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, time)| since.as_deref().is_none_or(|s| *time > s))
            .copied()
            .collect();
        list.sort_by(|a, b| a.1.cmp(b.1));
        let list: Vec<Value> = list
            .iter()
            .map(|(id, time)| json!({"no": id, "content": format!("工单{id}：路灯不亮"), "time": time}))
            .collect();
        Reply::json(&json!({"data": list}).to_string())
    })
    .await
}

fn connector(base: &str) -> HttpJsonConnector {
    let fields = [
        ("external_id", "/no"),
        ("body", "/content"),
        ("submitted_at", "/time"),
    ];
    let config = HttpJsonConfig {
        channel: Channel::Hotline,
        url: format!("{base}/orders"),
        auth: None,
        query: BTreeMap::new(),
        items_pointer: "/data".into(),
        fields: fields
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        keep_unmapped_in_meta: false,
        pagination: Pagination::Since {
            param: "updatedAfter".into(),
            item_pointer: "/time".into(),
            initial: None,
            page_size: None,
            page_size_param: None,
        },
        poll_interval_secs: 60,
        timeout_secs: 5,
        max_body_bytes: 1 << 20,
        charset: None,
        max_requests_per_min: 60,
        callback: None,
    };
    HttpJsonConnector::new("hotline", config, &|_| None).unwrap()
}

fn ids(batch: &Batch) -> Vec<String> {
    batch
        .items
        .iter()
        .map(|i| i.parsed.as_ref().unwrap().external_id.clone())
        .collect()
}

#[tokio::test]
async fn a_far_future_record_is_delivered_but_does_not_become_the_cursor() {
    let records: Records = Arc::new(Mutex::new(vec![
        ("a", "2024-05-06 08:00:00"),
        ("future", "2034-05-06 08:00:00"),
        ("b", "2024-05-06 09:00:00"),
    ]));
    let server = server(records.clone()).await;
    let mut connector = connector(&server.base);
    let first = connector.poll(None, now()).await.unwrap();
    assert_eq!(ids(&first), ["a", "b", "future"]);
    let cursor = first.cursor.unwrap();
    assert_eq!(cursor.0, json!({"since": "2024-05-06 09:00:00"}));

    // A record written upstream afterwards is still picked up (the far-future one again too:
    // the store deduplicates it).
    records.lock().unwrap().push(("c", "2024-05-06 09:30:00"));
    let second = connector.poll(Some(&cursor), now()).await.unwrap();
    assert_eq!(ids(&second), ["c", "future"]);
    assert_eq!(
        second.cursor.unwrap().0,
        json!({"since": "2024-05-06 09:30:00"})
    );
}

#[tokio::test]
async fn the_bound_follows_the_configured_tolerance() {
    // Noon in Beijing is two hours after `now`: within the default day, past one hour.
    let records: Records = Arc::new(Mutex::new(vec![
        ("a", "2024-05-06 08:00:00"),
        ("noon", "2024-05-06 12:00:00"),
    ]));
    let server = server(records).await;
    let mut default = connector(&server.base);
    let batch = default.poll(None, now()).await.unwrap();
    assert_eq!(
        batch.cursor.unwrap().0,
        json!({"since": "2024-05-06 12:00:00"})
    );
    let mut strict = connector(&server.base);
    strict.set_parse_options(ParseOptions {
        future_tolerance: chrono::Duration::hours(1),
        ..ParseOptions::default()
    });
    let batch = strict.poll(None, now()).await.unwrap();
    assert_eq!(
        batch.cursor.unwrap().0,
        json!({"since": "2024-05-06 08:00:00"})
    );
}

#[tokio::test]
async fn a_saved_cursor_in_the_far_future_starts_over_with_a_warning() {
    let records: Records = Arc::new(Mutex::new(vec![
        ("a", "2024-05-06 08:00:00"),
        ("future", "2034-05-06 08:00:00"),
    ]));
    let server = server(records).await;
    let mut connector = connector(&server.base);
    let bent = Cursor(json!({"since": "2034-05-06 08:00:00"}));
    let batch = connector.poll(Some(&bent), now()).await.unwrap();
    assert_eq!(ids(&batch), ["a", "future"]);
    assert_eq!(batch.warnings.len(), 1, "{:?}", batch.warnings);
    assert_eq!(
        batch.cursor.unwrap().0,
        json!({"since": "2024-05-06 08:00:00"})
    );
    assert!(server.requests()[0].query("updatedAfter").is_none());
}

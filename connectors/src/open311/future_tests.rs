//! The newest `updated_datetime` kept in the cursor ignores records dated far ahead, which
//! would otherwise stand there for good. Windows follow `now`, never a record's time.

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::testing::{Reply, TestServer};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap()
}

const ANSWER: &str = r#"[
  {"service_request_id":"SR-1","status":"open","service_name":"路灯损坏",
   "description":"紫荆山路路灯不亮已一周。","requested_datetime":"2024-03-10T09:00:00+08:00",
   "updated_datetime":"2024-03-10T10:00:00+08:00"},
  {"service_request_id":"SR-2","status":"open","service_name":"占道经营",
   "description":"人民路菜市场门口流动摊贩占道经营。","requested_datetime":"2024-03-10T09:30:00+08:00",
   "updated_datetime":"2034-03-10T10:00:00+08:00"}
]"#;

fn connector(base: &str) -> Open311Connector {
    let config: Open311Config = toml::from_str(&format!(
        "channel = \"online\"\nbase_url = \"{base}/open311/v2\"\nstart = \"2024-03-09T12:00:00Z\"\n"
    ))
    .unwrap();
    Open311Connector::new("online", config, &|_| None).unwrap()
}

#[tokio::test]
async fn a_far_future_update_time_is_not_the_newest_seen() {
    let server = TestServer::start(|_| Reply::json(ANSWER)).await;
    let mut connector = connector(&server.base);
    let batch = connector.poll(None, now()).await.unwrap();
    assert_eq!(batch.items.len(), 2);
    let cursor = batch.cursor.unwrap();
    assert_eq!(cursor.0["last_updated"], "2024-03-10T10:00:00+08:00");

    // A cursor saved before the rule, already bent, is straightened at the next poll.
    let mut bent = cursor.0.clone();
    bent["last_updated"] = json!("2034-03-10T10:00:00+08:00");
    let batch = connector.poll(Some(&Cursor(bent)), now()).await.unwrap();
    assert_eq!(
        batch.cursor.unwrap().0["last_updated"],
        "2024-03-10T10:00:00+08:00"
    );
}

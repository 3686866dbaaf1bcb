use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeZone;
use serde_json::json;

use std::collections::BTreeMap;

use super::*;
use crate::Channel;
use crate::auth::AuthConfig;
use crate::item::ItemError;
use crate::testing::{Recorded, Reply, TestServer};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 2, 0, 0).unwrap()
}

/// Work orders of a 12345 hotline system, as its API lists them.
const ORDERS: &[(&str, &str, &str)] = &[
    (
        "GD20240506001",
        "2024-05-06 08:01:00",
        "小区旁工地夜间连续施工，噪音扰民，多次拨打热线未见整改。",
    ),
    (
        "GD20240506002",
        "2024-05-06 08:15:00",
        "办理营业执照变更已超过法定时限二十个工作日，窗口仍称材料在审。",
    ),
    (
        "GD20240506003",
        "2024-05-06 08:40:00",
        "社区卫生服务中心收取不明挂号费，未公示收费依据。",
    ),
    (
        "GD20240506004",
        "2024-05-06 09:05:00",
        "公交站台破损半年无人维修，雨天老人无处避雨。",
    ),
    (
        "GD20240506005",
        "2024-05-06 09:30:00",
        "不动产登记窗口要求重复提交同一份证明材料，来回跑了四趟。",
    ),
];

fn order(index: usize) -> Value {
    let (no, time, content) = ORDERS[index];
    json!({
        "orderNo": no,
        "title": "市民来电",
        "content": content,
        "createTime": time,
        "citizen": {"name": "市民", "mobile": format!("1390000{index:04}")},
        "area": "高新区",
        "handleUnit": "市住房和城乡建设局",
        "orderType": "投诉",
    })
}

fn page_of(indices: std::ops::Range<usize>) -> String {
    let list: Vec<Value> = indices.map(order).collect();
    json!({"code": 0, "msg": "成功", "data": {"records": list}}).to_string()
}

fn config(url: &str, pagination: Pagination) -> HttpJsonConfig {
    let fields = [
        ("external_id", "/orderNo"),
        ("title", "/title"),
        ("body", "/content"),
        ("submitted_at", "/createTime"),
        ("complainant.phone", "/citizen/mobile"),
        ("location.district", "/area"),
        ("target_unit", "/handleUnit"),
    ];
    HttpJsonConfig {
        channel: Channel::Hotline,
        url: url.to_string(),
        auth: Some(AuthConfig::Bearer {
            token_env: "HOTLINE_TOKEN".into(),
        }),
        query: BTreeMap::from([("status".to_string(), "all".to_string())]),
        items_pointer: "/data/records".into(),
        fields: fields
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        keep_unmapped_in_meta: true,
        pagination,
        poll_interval_secs: 45,
        timeout_secs: 5,
        max_body_bytes: 1 << 20,
        charset: None,
        max_requests_per_min: 60,
        callback: None,
    }
}

fn page_pagination(page_size: u32) -> Pagination {
    Pagination::Page {
        param: "pageNo".into(),
        first_page: 1,
        page_size: Some(page_size),
        page_size_param: Some("pageSize".into()),
    }
}

fn connector(config: HttpJsonConfig) -> HttpJsonConnector {
    let env = |name: &str| (name == "HOTLINE_TOKEN").then(|| "hotline-secret".to_string());
    HttpJsonConnector::new("hotline", config, &env).unwrap()
}

fn ids_of(indices: std::ops::Range<usize>) -> Vec<String> {
    indices.map(|i| ORDERS[i].0.to_string()).collect()
}

fn ids(batch: &Batch) -> Vec<String> {
    batch
        .items
        .iter()
        .map(|i| {
            i.parsed
                .as_ref()
                .map(|p| p.external_id.clone())
                .unwrap_or_else(|e| format!("error: {e}"))
        })
        .collect()
}

/// Polls like the runtime does while `more` is true; returns the ids and the final cursor.
async fn drain(
    connector: &mut HttpJsonConnector,
    mut cursor: Option<Cursor>,
) -> (Vec<String>, Option<Cursor>, usize) {
    let mut all = Vec::new();
    for polls in 1..=20 {
        let batch = connector
            .poll(cursor.as_ref(), now())
            .await
            .expect("poll succeeds");
        all.extend(ids(&batch));
        cursor = batch.cursor.clone();
        if !batch.more {
            assert_eq!(batch.wait, Duration::from_secs(45));
            return (all, cursor, polls);
        }
    }
    panic!("no end after 20 polls");
}

fn paged_server_handler(request: &Recorded) -> Reply {
    let page: usize = request
        .query("pageNo")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let start = ((page - 1) * 2).min(ORDERS.len());
    Reply::json(&page_of(start..(start + 2).min(ORDERS.len())))
}

#[tokio::test]
async fn pages_through_to_the_end_and_stays_on_the_last_page() {
    let server = TestServer::start(paged_server_handler).await;
    let mut connector = connector(config(
        &format!("{}/api/orders", server.base),
        page_pagination(2),
    ));
    let (ids, cursor, polls) = drain(&mut connector, None).await;
    let expected: Vec<&str> = ORDERS.iter().map(|o| o.0).collect();
    assert_eq!(ids, expected);
    assert_eq!(polls, 3);
    let requests = server.requests();
    let pages: Vec<String> = requests
        .iter()
        .map(|r| r.query("pageNo").unwrap())
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some("Bearer hotline-secret")
        );
        assert_eq!(request.query("pageSize").as_deref(), Some("2"));
        assert_eq!(request.query("status").as_deref(), Some("all"));
        assert!(
            request
                .header("user-agent")
                .unwrap()
                .starts_with("complaint-gateway")
        );
    }
    // The last page was short: the next poll re-reads it, to pick up records appended there.
    connector.poll(cursor.as_ref(), now()).await.unwrap();
    assert_eq!(
        server.requests().last().unwrap().query("pageNo").as_deref(),
        Some("3")
    );
}

#[tokio::test]
async fn mapped_fields_and_unmapped_meta() {
    let server = TestServer::start(paged_server_handler).await;
    let mut connector = connector(config(&server.base, page_pagination(2)));
    let batch = connector.poll(None, now()).await.unwrap();
    let item = batch.items[0].parsed.as_ref().unwrap();
    assert_eq!(item.body, ORDERS[0].2);
    assert_eq!(item.target_unit.as_deref(), Some("市住房和城乡建设局"));
    assert_eq!(
        item.submitted_at.unwrap().to_rfc3339(),
        "2024-05-06T08:01:00+08:00"
    );
    assert_eq!(
        item.complainant.as_ref().unwrap().phone.as_deref(),
        Some("13900000000")
    );
    assert_eq!(item.meta["orderType"], "投诉");
    assert_eq!(item.meta["citizen"], json!({"name": "市民"}));
    let raw: Value = serde_json::from_slice(&batch.items[0].raw).unwrap();
    assert_eq!(raw, order(0), "raw bytes are the upstream record");
}

#[tokio::test]
async fn cursor_pagination_follows_the_next_cursor() {
    let server = TestServer::start(|request| {
        let (range, next) = match request.query("cursor").as_deref() {
            None => (0..2, json!("c2")),
            Some("c2") => (2..4, json!("c3")),
            Some("c3") => (4..5, Value::Null),
            Some(other) => panic!("unexpected cursor {other}"),
        };
        let list: Vec<Value> = range.map(order).collect();
        Reply::json(&json!({"data": {"records": list, "next": next}}).to_string())
    })
    .await;
    let pagination = Pagination::Cursor {
        param: "cursor".into(),
        next_pointer: "/data/next".into(),
    };
    let mut connector = connector(config(&server.base, pagination));
    let (ids, cursor, _) = drain(&mut connector, None).await;
    assert_eq!(ids.len(), 5);
    assert_eq!(cursor.unwrap().0, json!({"cursor": "c3"}));
}

#[tokio::test]
async fn since_pagination_advances_to_the_newest_record() {
    let server = TestServer::start(|request| {
        let since = request.query("updatedAfter");
        let list: Vec<Value> = (0..ORDERS.len())
            .filter(|&i| since.as_deref().is_none_or(|s| ORDERS[i].1 > s))
            .take(2)
            .map(order)
            .collect();
        Reply::json(&json!({"data": {"records": list}}).to_string())
    })
    .await;
    let pagination = Pagination::Since {
        param: "updatedAfter".into(),
        item_pointer: "/createTime".into(),
        initial: None,
        page_size: Some(2),
        page_size_param: None,
    };
    let mut connector = connector(config(&server.base, pagination));
    let (ids, cursor, polls) = drain(&mut connector, None).await;
    assert_eq!(ids.len(), 5);
    assert_eq!(polls, 3);
    assert_eq!(cursor.unwrap().0, json!({"since": "2024-05-06 09:30:00"}));
}

#[tokio::test]
async fn server_error_is_retryable_and_the_retry_reads_the_same_page() {
    let failures = Arc::new(AtomicUsize::new(0));
    let seen = failures.clone();
    let server = TestServer::start(move |request| {
        if request.query("pageNo").as_deref() == Some("2")
            && seen.fetch_add(1, Ordering::SeqCst) == 0
        {
            return Reply::with(500, &[], "internal error");
        }
        paged_server_handler(request)
    })
    .await;
    let mut connector = connector(config(&server.base, page_pagination(2)));
    let first = connector.poll(None, now()).await.unwrap();
    let err = connector
        .poll(first.cursor.as_ref(), now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectorError::Status { status: 500, .. }),
        "{err}"
    );
    assert!(err.is_retryable());
    // The runtime still holds the first batch's cursor: the retry asks for page 2 again.
    let retry = connector.poll(first.cursor.as_ref(), now()).await.unwrap();
    assert_eq!(ids(&retry), [ORDERS[2].0, ORDERS[3].0]);
    let pages: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.query("pageNo").unwrap())
        .collect();
    assert_eq!(pages, ["1", "2", "2"]);
}

#[tokio::test]
async fn a_stalled_upstream_times_out_as_retryable() {
    let server = TestServer::start(|_| Reply::Stall).await;
    let mut connector = connector(config(&server.base, Pagination::None));
    connector.set_timeout(Duration::from_millis(300)).unwrap();
    let err = connector.poll(None, now()).await.unwrap_err();
    assert_eq!(err, ConnectorError::Timeout(Duration::from_millis(300)));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn throttling_surfaces_retry_after() {
    let server =
        TestServer::start(|_| Reply::with(429, &[("retry-after", "17")], "slow down")).await;
    let mut connector = connector(config(&server.base, Pagination::None));
    let err = connector.poll(None, now()).await.unwrap_err();
    assert_eq!(
        err.disposition(),
        crate::connector::Disposition::Retry {
            retry_after: Some(Duration::from_secs(17))
        }
    );
}

#[tokio::test]
async fn a_truncated_body_is_retryable_not_a_short_page() {
    let body = page_of(0..5);
    let server = TestServer::start(move |_| {
        let cut = body.as_bytes()[..body.len() / 2].to_vec();
        Reply::announcing(
            200,
            &[("content-type", "application/json")],
            cut,
            body.len(),
        )
    })
    .await;
    let mut connector = connector(config(&server.base, Pagination::None));
    let err = connector.poll(None, now()).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Truncated(_)), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn gb18030_bytes_labelled_or_unlabelled_are_decoded_and_mislabelled_utf8_refused() {
    for (content_type, recorded) in [
        ("application/json", "application/json; charset=gb18030"),
        (
            "application/json; charset=gbk",
            "application/json; charset=GBK",
        ),
    ] {
        let body = crate::text::encode(&page_of(0..2), encoding_rs::GB18030);
        let server = TestServer::start(move |_| {
            Reply::with(200, &[("content-type", content_type)], body.clone())
        })
        .await;
        let mut connector = connector(config(&server.base, Pagination::None));
        let batch = connector.poll(None, now()).await.unwrap();
        let item = batch.items[1].parsed.as_ref().unwrap();
        assert_eq!(item.body, ORDERS[1].2, "with {content_type}");
        // The raw bytes stay in the upstream's encoding.
        assert!(std::str::from_utf8(&batch.items[1].raw).is_err());
        assert_eq!(batch.items[1].content_type, recorded);
    }
    // Labelled UTF-8 but not UTF-8: the page is refused, never guessed (the cursor stays).
    let body = crate::text::encode(&page_of(0..2), encoding_rs::GB18030);
    let server = TestServer::start(move |_| {
        Reply::with(
            200,
            &[("content-type", "application/json; charset=utf-8")],
            body.clone(),
        )
    })
    .await;
    let mut connector = connector(config(&server.base, Pagination::None));
    let err = connector.poll(None, now()).await.unwrap_err();
    assert!(err.to_string().contains("not valid UTF-8"), "{err}");
}

#[tokio::test]
async fn an_unmappable_record_is_an_item_error_and_the_rest_proceed() {
    let mut records: Vec<Value> = (0..3).map(order).collect();
    records[1].as_object_mut().unwrap().remove("content");
    records.push(json!("not a record"));
    let body = json!({"data": {"records": records}}).to_string();
    let server = TestServer::start(move |_| Reply::json(&body)).await;
    let mut connector = connector(config(&server.base, Pagination::None));
    let batch = connector.poll(None, now()).await.unwrap();
    assert_eq!(batch.items.len(), 4);
    assert!(batch.items[0].parsed.is_ok() && batch.items[2].parsed.is_ok());
    assert_eq!(
        batch.items[1].parsed.as_ref().unwrap_err(),
        &ItemError::Missing("body")
    );
    assert_eq!(
        batch.items[1].external_id_hint.as_deref(),
        Some(ORDERS[1].0)
    );
    assert_eq!(
        batch.items[3].parsed.as_ref().unwrap_err(),
        &ItemError::NotObject("a string")
    );
    assert_eq!(batch.items[3].raw, b"\"not a record\"");
}

#[tokio::test]
async fn the_same_page_served_twice_yields_the_same_external_ids() {
    let server = TestServer::start(paged_server_handler).await;
    let mut connector = connector(config(&server.base, page_pagination(2)));
    let first = connector.poll(None, now()).await.unwrap();
    // A crash before the commit: the runtime polls again from the same (absent) cursor.
    let again = connector.poll(None, now()).await.unwrap();
    assert_eq!(ids(&first), ids(&again));
    assert_eq!(first.items[0].raw, again.items[0].raw);
}

#[tokio::test]
async fn a_cursor_answered_with_itself_is_a_loop() {
    let server = TestServer::start(|request| {
        let next = request.query("cursor").unwrap_or_else(|| "A".into());
        Reply::json(&json!({"data": {"records": [order(0)], "next": next}}).to_string())
    })
    .await;
    let pagination = Pagination::Cursor {
        param: "cursor".into(),
        next_pointer: "/data/next".into(),
    };
    let mut connector = connector(config(&server.base, pagination));
    let first = connector.poll(None, now()).await.unwrap();
    assert!(first.more);
    let err = repeat_until_loop(&mut connector, first.cursor.as_ref()).await;
    assert!(matches!(err, ConnectorError::PaginationLoop(_)), "{err}");
    assert!(!err.is_retryable());
}

/// Polls `cursor` again while the answer is a retryable repeated page; the first answers must
/// be exactly `REPEATED_PAGE_RETRIES - 1` of those, then the error it ends with.
async fn repeat_until_loop(
    connector: &mut HttpJsonConnector,
    cursor: Option<&Cursor>,
) -> ConnectorError {
    for attempt in 1..super::REPEATED_PAGE_RETRIES {
        let err = connector.poll(cursor, now()).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::RepeatedPage(_)) && err.is_retryable(),
            "poll {attempt}: {err}"
        );
    }
    connector.poll(cursor, now()).await.unwrap_err()
}

#[tokio::test]
async fn a_stale_page_is_retried_on_its_position_and_nothing_is_skipped() {
    // Page 2 is served stale (page 1's content) twice, as a cache does, then fresh.
    let page_two_polls = Arc::new(AtomicUsize::new(0));
    let polls = page_two_polls.clone();
    let server = TestServer::start(move |request| match request.query("pageNo").as_deref() {
        Some("2") if polls.fetch_add(1, Ordering::SeqCst) < 2 => Reply::json(&page_of(0..2)),
        Some("2") => Reply::json(&page_of(2..4)),
        Some("3") => Reply::json(&page_of(4..5)),
        _ => Reply::json(&page_of(0..2)),
    })
    .await;
    let mut connector = connector(config(&server.base, page_pagination(2)));
    let first = connector.poll(None, now()).await.unwrap();
    for _ in 0..2 {
        let err = connector
            .poll(first.cursor.as_ref(), now())
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::RepeatedPage(_)), "{err}");
        assert!(err.is_retryable());
    }
    let second = connector.poll(first.cursor.as_ref(), now()).await.unwrap();
    assert_eq!(
        ids(&second),
        ids_of(2..4),
        "page 2's own records, not skipped"
    );
    let third = connector.poll(second.cursor.as_ref(), now()).await.unwrap();
    assert_eq!(ids(&third), ids_of(4..5));
}

#[tokio::test]
async fn a_cursor_cycle_is_a_loop() {
    let server = TestServer::start(|request| {
        let (index, next) = match request.query("cursor").as_deref() {
            None => (0, "A"),
            Some("A") => (1, "B"),
            _ => (2, "A"),
        };
        Reply::json(&json!({"data": {"records": [order(index)], "next": next}}).to_string())
    })
    .await;
    let pagination = Pagination::Cursor {
        param: "cursor".into(),
        next_pointer: "/data/next".into(),
    };
    let mut connector = connector(config(&server.base, pagination));
    let mut cursor = None;
    let mut outcome = None;
    for _ in 0..20 {
        match connector.poll(cursor.as_ref(), now()).await {
            Ok(batch) => cursor = batch.cursor,
            // Retried on the same cursor, as the runtime does.
            Err(ConnectorError::RepeatedPage(_)) => {}
            Err(err) => {
                outcome = Some(err);
                break;
            }
        }
    }
    assert!(
        matches!(outcome, Some(ConnectorError::PaginationLoop(_))),
        "{outcome:?}"
    );
    assert_eq!(
        server.requests().len(),
        2 + super::REPEATED_PAGE_RETRIES as usize,
        "detected on the first repeat, a loop once it persists, not after many"
    );
}

#[tokio::test]
async fn a_server_ignoring_the_page_number_is_a_loop() {
    let server = TestServer::start(|_| Reply::json(&page_of(0..2))).await;
    let mut connector = connector(config(&server.base, page_pagination(2)));
    let first = connector.poll(None, now()).await.unwrap();
    assert!(first.more);
    let err = repeat_until_loop(&mut connector, first.cursor.as_ref()).await;
    assert!(matches!(err, ConnectorError::PaginationLoop(_)), "{err}");
}

#[tokio::test]
async fn an_error_envelope_with_status_200_is_malformed_and_retryable() {
    let server = TestServer::start(|_| Reply::json(r#"{"code":500,"msg":"系统繁忙"}"#)).await;
    let mut connector = connector(config(&server.base, Pagination::None));
    let err = connector.poll(None, now()).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Malformed(ref m) if m.contains("code, msg")),
        "{err}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn refused_credentials_are_permanent() {
    let server = TestServer::start(|_| Reply::with(401, &[], "")).await;
    let mut connector = connector(config(&server.base, Pagination::None));
    let err = connector.poll(None, now()).await.unwrap_err();
    assert_eq!(err, ConnectorError::Auth { status: 401 });
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn basic_and_header_auth_are_sent() {
    let server = TestServer::start(|_| Reply::json(&page_of(0..1))).await;
    let env = |name: &str| Some(format!("{name}-value"));
    for auth in [
        AuthConfig::Basic {
            username: "gateway".into(),
            password_env: "PW".into(),
        },
        AuthConfig::Header {
            name: "X-Api-Key".into(),
            value_env: "KEY".into(),
        },
    ] {
        let mut config = config(&server.base, Pagination::None);
        config.auth = Some(auth);
        let mut connector = HttpJsonConnector::new("petition", config, &env).unwrap();
        connector.poll(None, now()).await.unwrap();
    }
    let requests = server.requests();
    // "gateway:PW-value" in base64.
    assert_eq!(
        requests[0].header("authorization"),
        Some("Basic Z2F0ZXdheTpQVy12YWx1ZQ==")
    );
    assert_eq!(requests[1].header("x-api-key"), Some("KEY-value"));
}

#[tokio::test]
async fn an_oversized_answer_is_refused() {
    let server = TestServer::start(|_| Reply::json(&page_of(0..5))).await;
    let mut config = config(&server.base, Pagination::None);
    config.max_body_bytes = 100;
    let mut connector = connector(config);
    let err = connector.poll(None, now()).await.unwrap_err();
    assert_eq!(err, ConnectorError::TooLarge { max_bytes: 100 });
}

use std::sync::{Arc, Mutex};

use chrono::TimeZone;

use super::*;
use crate::connector::Disposition;
use crate::raw::RawItem;
use crate::testing::{Recorded, Reply, TestServer};

fn opts() -> ParseOptions {
    ParseOptions::default()
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

/// A request list the way deployed servers write it: a numeric id next to a string id, a
/// service code with leading zeros (invalid JSON), stray spaces, nulls and an empty description.
const REQUESTS_JSON: &str = r#"[
  {
    "service_request_id":20240301,
    "status":"open",
    "service_name":"占道经营",
    "service_code":007,
    "description":" 人民路菜市场门口流动摊贩占道经营，早高峰车辆无法通行，城管多次接报未处理。 ",
    "agency_responsible":"市城市管理局 ",
    "requested_datetime":"2024-03-01T08:30:00+08:00",
    "updated_datetime":"2024-03-02T10:00:00+08:00",
    "address":"人民路与解放路交叉口",
    "address_id":0451,
    "zipcode":450000,
    "lat":34.7472,
    "long":113.6249,
    "media_url":"https://311.example.gov.cn/media/20240301.jpg "
  },
  {
    "service_request_id":"SR-20240302",
    "status":"closed",
    "status_notes":"已转交属地街道办理",
    "service_name":"路灯损坏",
    "service_code":"012",
    "description":null,
    "agency_responsible":null,
    "requested_datetime":"2024-03-02T19:05:00+08:00",
    "updated_datetime":"2024-03-05T09:00:00+08:00",
    "address":" 紫荆山路 ",
    "lat":"34.7561",
    "long":"113.6870"
  }
]"#;

const REQUESTS_XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<service_requests>
  <request>
    <service_request_id> 20240301 </service_request_id>
    <status>open</status>
    <service_name>占道经营</service_name>
    <service_code>007</service_code>
    <description>人民路菜市场门口流动摊贩占道经营 &amp; 早高峰堵塞</description>
    <agency_responsible></agency_responsible>
    <requested_datetime>2024-03-01T08:30:00+08:00</requested_datetime>
    <updated_datetime>2024-03-02T10:00:00+08:00</updated_datetime>
    <address>人民路与解放路交叉口</address>
    <lat>34.7472</lat>
    <long>113.6249</long>
    <media_url>https://311.example.gov.cn/media/20240301.jpg </media_url>
  </request>
  <request>
    <service_request_id>SR-20240302</service_request_id>
    <status>closed</status>
    <service_name>路灯损坏</service_name>
    <description/>
    <requested_datetime>2024-03-02T19:05:00+08:00</requested_datetime>
  </request>
</service_requests>"#;

#[test]
fn leading_zero_numbers_are_quoted_and_nothing_else_changes() {
    let (text, inserted) = quote_leading_zero_numbers(
        r#"{"a":007,"b":-01.5,"c":0,"d":0.5,"e":10,"f":"007","g":"\"09","h":[00,1e05]}"#,
    );
    assert_eq!(
        text,
        r#"{"a":"007","b":"-01.5","c":0,"d":0.5,"e":10,"f":"007","g":"\"09","h":["00",1e05]}"#
    );
    assert_eq!(inserted.len(), 6);
    let (unchanged, none) = quote_leading_zero_numbers(r#"{"lat":34.0,"n":[0, 100]}"#);
    assert!(matches!(unchanged, std::borrow::Cow::Borrowed(_)) && none.is_empty());
}

#[test]
fn json_with_leading_zeros_parses_and_keeps_verbatim_records() {
    let document = parse_json(REQUESTS_JSON).unwrap();
    assert_eq!(document.records.len(), 2);
    assert_eq!(document.records[0].value["service_code"], "007");
    assert_eq!(document.records[0].value["address_id"], "0451");
    assert!(
        document.records[0].raw.contains("\"service_code\":007,"),
        "raw is the upstream text"
    );
    assert!(document.records[0].raw.starts_with('{') && document.records[0].raw.ends_with('}'));
    assert!(document.records[1].raw.contains("\"SR-20240302\""));
}

#[test]
fn requests_map_whatever_the_id_type_and_spacing() {
    let document = parse_json(REQUESTS_JSON).unwrap();
    let items: Vec<RawItem> = document
        .records
        .iter()
        .map(|r| {
            map_request(
                &r.value,
                r.raw.clone().into_bytes(),
                "application/json".into(),
                &opts(),
            )
        })
        .collect();
    let first = items[0].parsed.as_ref().unwrap();
    assert_eq!(first.external_id, "20240301");
    assert_eq!(first.title.as_deref(), Some("占道经营"));
    assert!(first.body.starts_with("人民路菜市场") && first.body.ends_with("未处理。"));
    assert_eq!(first.target_unit.as_deref(), Some("市城市管理局"));
    assert_eq!(
        first.submitted_at.unwrap().to_rfc3339(),
        "2024-03-01T08:30:00+08:00"
    );
    let location = first.location.as_ref().unwrap();
    assert_eq!(location.address.as_deref(), Some("人民路与解放路交叉口"));
    assert_eq!(
        (location.lat, location.lon),
        (Some(34.7472), Some(113.6249))
    );
    assert_eq!(location.extra["address_id"], "0451");
    assert_eq!(
        first.attachments[0].url,
        "https://311.example.gov.cn/media/20240301.jpg"
    );
    assert_eq!(first.meta["service_code"], "007");
    assert_eq!(first.meta["status"], "open");

    let second = items[1].parsed.as_ref().unwrap();
    assert_eq!(second.external_id, "SR-20240302");
    assert_eq!(
        second.body, "路灯损坏",
        "no description: read by the service name"
    );
    assert_eq!(second.meta["body_from"], "service_name");
    assert_eq!(
        second.location.as_ref().unwrap().address.as_deref(),
        Some("紫荆山路")
    );
    assert_eq!(second.location.as_ref().unwrap().lat, Some(34.7561));
    assert_eq!(second.target_unit, None);
}

#[test]
fn xml_requests_map_like_json_ones() {
    let document = parse_xml(REQUESTS_XML).unwrap();
    assert_eq!(document.root.as_deref(), Some("service_requests"));
    assert_eq!(document.records.len(), 2);
    assert!(
        document.records[0].raw.starts_with("<request>")
            && document.records[0].raw.ends_with("</request>")
    );
    let item = map_request(
        &document.records[0].value,
        vec![],
        "application/xml".into(),
        &opts(),
    );
    let item = item.parsed.unwrap();
    assert_eq!(item.external_id, "20240301");
    assert_eq!(item.body, "人民路菜市场门口流动摊贩占道经营 & 早高峰堵塞");
    assert_eq!(item.meta["service_code"], "007");
    assert_eq!(item.target_unit, None);
    let second = map_request(
        &document.records[1].value,
        vec![],
        "application/xml".into(),
        &opts(),
    );
    assert_eq!(second.parsed.unwrap().body, "路灯损坏");
}

/// Every document kind of GeoReport v2, in both formats, written for these tests.
#[test]
fn every_document_kind_of_the_spec_parses() {
    let json_documents = [
        (
            r#"[{"service_code":001,"service_name":"占道经营","metadata":false,"type":"realtime","keywords":"摊贩, 占道","group":"市容"},{"service_code":002,"service_name":"路灯损坏","metadata":true,"type":"batch","group":"市政"}]"#,
            2,
        ),
        (
            r#"{"service_code":"DMV66","attributes":[{"variable":true,"code":"CAR","datatype":"singlevaluelist","required":true,"datatype_description":null,"order":1,"description":"车辆品牌","values":[{"key":123,"name":"甲"},{"key":124,"name":"乙"}]}]}"#,
            1,
        ),
        (
            r#"[{"service_request_id":293944,"service_notice":"将于24小时内派员核查","account_id":null}]"#,
            1,
        ),
        (r#"[{"service_request_id":638344,"token":12345}]"#, 1),
        (REQUESTS_JSON, 2),
        (
            r#"{"service_requests":[{"service_request_id":1,"description":"井盖缺失"}]}"#,
            1,
        ),
        ("[]", 0),
    ];
    for (text, count) in json_documents {
        let document = parse_json(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(document.records.len(), count, "{text}");
    }
    let xml_documents = [
        (
            "<?xml version=\"1.0\"?><services><service><service_code>001</service_code><service_name>占道经营</service_name></service><service><service_code>002</service_code><service_name>路灯损坏</service_name></service></services>",
            2,
        ),
        (
            "<service_definition><service_code>DMV66</service_code><attributes><attribute><code>CAR</code><values><value><key>123</key><name>甲</name></value><value><key>124</key><name>乙</name></value></values></attribute></attributes></service_definition>",
            1,
        ),
        (
            "<service_requests><request><service_request_id>293944</service_request_id><service_notice>\n  将于24小时内派员核查\n</service_notice><account_id/></request></service_requests>",
            1,
        ),
        (
            "<service_requests><request><service_request_id>638344</service_request_id><token>12345</token></request></service_requests>",
            1,
        ),
        (REQUESTS_XML, 2),
        ("<service_requests/>", 0),
        ("<service_requests>\n</service_requests>", 0),
    ];
    for (text, count) in xml_documents {
        let document = parse_xml(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(document.records.len(), count, "{text}");
    }
    let definition = parse_xml(xml_documents[1].0).unwrap();
    let values = &definition.records[0].value["attributes"]["attribute"]["values"]["value"];
    assert_eq!(values[1]["name"], "乙", "repeated elements become an array");
}

#[test]
fn broken_documents_are_errors() {
    assert!(matches!(
        parse_json("[{\"a\":1}"),
        Err(ParseError::Json { .. })
    ));
    assert!(matches!(
        parse_xml("<a><b></a>"),
        Err(ParseError::Xml { .. })
    ));
    assert!(matches!(parse_xml("<a><b>"), Err(ParseError::Xml { .. })));
    assert_eq!(parse_xml("  "), Err(ParseError::NoRoot));
    assert!(matches!(
        parse_xml("<a>&bogus;</a>"),
        Err(ParseError::Xml { .. })
    ));
    let deep = format!("{}{}", "<a>".repeat(200_000), "</a>".repeat(200_000));
    let err = parse_xml(&deep).unwrap_err().to_string();
    assert!(err.contains("deeper than 64"), "{err}");
}

/// A request held by the fake server.
#[derive(Clone)]
struct Stored {
    id: u32,
    requested: DateTime<Utc>,
}

fn render_json(requests: &[Stored]) -> String {
    let records: Vec<String> = requests
        .iter()
        .map(|r| {
            format!(
                r#"{{"service_request_id":{},"service_code":007,"service_name":"噪音扰民","description":"夜间施工噪音第{}次投诉 ","requested_datetime":"{}","updated_datetime":"{}","status":"open"}}"#,
                r.id,
                r.id,
                r.requested.to_rfc3339(),
                r.requested.to_rfc3339()
            )
        })
        .collect();
    format!("[{}]", records.join(","))
}

/// A GeoReport server: filters by requested time in [start_date, end_date] and, like real
/// servers, silently cuts the answer at `cap` records.
fn georeport(data: Vec<Stored>, cap: usize) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    move |request| {
        assert_eq!(request.path(), "/open311/v2/requests.json");
        let time = |name| DateTime::parse_from_rfc3339(&request.query(name).unwrap()).unwrap();
        let (start, end) = (time("start_date"), time("end_date"));
        let hits: Vec<Stored> = data
            .iter()
            .filter(|r| r.requested >= start && r.requested <= end)
            .take(cap)
            .cloned()
            .collect();
        Reply::json(&render_json(&hits))
    }
}

fn config(base: &str) -> Open311Config {
    toml::from_str(&format!(
        "channel = \"online\"\nbase_url = \"{base}/open311/v2/\"\njurisdiction_id = \"zz.gov.cn\"\nstart = \"2024-01-01T00:00:00Z\"\npoll_interval_secs = 120\n"
    ))
    .unwrap()
}

fn connector(config: Open311Config) -> Open311Connector {
    Open311Connector::new("online", config, &|_| None).unwrap()
}

async fn drain(connector: &mut Open311Connector, now: DateTime<Utc>) -> (Vec<String>, Vec<Batch>) {
    let mut cursor = None;
    let mut ids = Vec::new();
    let mut batches = Vec::new();
    for _ in 0..100 {
        let batch = connector
            .poll(cursor.as_ref(), now)
            .await
            .expect("poll succeeds");
        ids.extend(
            batch
                .items
                .iter()
                .map(|i| i.parsed.as_ref().unwrap().external_id.clone()),
        );
        cursor = batch.cursor.clone();
        let more = batch.more;
        batches.push(batch);
        if !more {
            return (ids, batches);
        }
    }
    panic!("no end after 100 polls");
}

#[tokio::test]
async fn windows_walk_from_the_start_to_now() {
    let data = vec![
        Stored {
            id: 1,
            requested: utc(2024, 1, 15, 2),
        },
        Stored {
            id: 2,
            requested: utc(2024, 3, 20, 2),
        },
        Stored {
            id: 3,
            requested: utc(2024, 4, 25, 2),
        },
    ];
    let server = TestServer::start(georeport(data, 1000)).await;
    let mut connector = connector(config(&server.base));
    let now = utc(2024, 5, 1, 0);
    let (ids, batches) = drain(&mut connector, now).await;
    assert_eq!(ids, ["1", "2", "3"]);
    let requests = server.requests();
    let windows: Vec<(String, String)> = requests
        .iter()
        .map(|r| (r.query("start_date").unwrap(), r.query("end_date").unwrap()))
        .collect();
    assert_eq!(
        windows,
        [
            (
                "2024-01-01T00:00:00Z".to_string(),
                "2024-03-31T00:00:00Z".to_string()
            ),
            (
                "2024-03-31T00:00:00Z".to_string(),
                "2024-05-01T00:00:00Z".to_string()
            ),
        ]
    );
    assert_eq!(
        requests[0].query("jurisdiction_id").as_deref(),
        Some("zz.gov.cn")
    );
    let last = batches.last().unwrap();
    assert_eq!(last.wait, Duration::from_secs(120));
    let cursor = &last.cursor.as_ref().unwrap().0;
    // Caught up: the next window re-reads the default overlap of 600 s.
    assert_eq!(cursor["window_start"], "2024-04-30T23:50:00Z");
    assert_eq!(cursor["last_updated"], "2024-04-25T02:00:00+00:00");
}

#[tokio::test]
async fn a_full_window_is_split_until_nothing_is_cut() {
    let data: Vec<Stored> = (0..7)
        .map(|i| Stored {
            id: 100 + i,
            requested: utc(2024, 2, 1 + i * 3, 8),
        })
        .collect();
    let server = TestServer::start(georeport(data, 3)).await;
    let mut config = config(&server.base);
    config.max_results = 3;
    config.min_window_secs = 3600;
    let mut connector = connector(config);
    let (mut ids, batches) = drain(&mut connector, utc(2024, 3, 1, 0)).await;
    ids.sort();
    ids.dedup();
    let expected: Vec<String> = (100..107).map(|i| i.to_string()).collect();
    assert_eq!(ids, expected, "every request read despite the cap");
    assert!(batches.iter().all(|b| b.warnings.is_empty()));
    assert!(
        batches.iter().any(|b| b.items.is_empty() && b.more),
        "at least one split happened"
    );
}

#[tokio::test]
async fn a_window_still_full_at_the_minimum_size_is_emitted_with_a_warning() {
    let data: Vec<Stored> = (0..4)
        .map(|i| Stored {
            id: i,
            requested: utc(2024, 1, 2, 3),
        })
        .collect();
    let server = TestServer::start(georeport(data, 2)).await;
    let mut config = config(&server.base);
    config.max_results = 2;
    config.min_window_secs = 86_400;
    config.window_days = 1;
    let mut connector = connector(config);
    let (ids, batches) = drain(&mut connector, utc(2024, 1, 4, 0)).await;
    assert_eq!(ids, ["0", "1"]);
    assert!(
        batches
            .iter()
            .any(|b| b.warnings.iter().any(|w| w.contains("may be missing")))
    );
}

#[tokio::test]
async fn xml_answers_in_gb18030_are_read() {
    let body = crate::text::encode(
        &REQUESTS_XML.replace("utf-8", "GB18030"),
        encoding_rs::GB18030,
    );
    let server = TestServer::start(move |request| {
        assert_eq!(request.path(), "/requests.xml");
        Reply::with(200, &[("content-type", "text/xml")], body.clone())
    })
    .await;
    let mut config = config(&server.base);
    config.base_url = server.base.clone();
    config.format = Open311Format::Xml;
    let mut connector = connector(config);
    let batch = connector.poll(None, utc(2024, 1, 10, 0)).await.unwrap();
    assert_eq!(batch.items.len(), 2);
    assert_eq!(batch.items[1].parsed.as_ref().unwrap().body, "路灯损坏");
    assert_eq!(
        batch.items[0].content_type,
        "application/xml; charset=gb18030"
    );
    let raw = encoding_rs::GB18030.decode(&batch.items[0].raw).0;
    assert!(raw.starts_with("<request>") && raw.contains("占道经营"));
}

#[tokio::test]
async fn failures_are_classified_and_the_window_does_not_move() {
    let replies = Arc::new(Mutex::new(vec![
        Reply::with(503, &[("retry-after", "30")], ""),
        Reply::announcing(
            200,
            &[("content-type", "application/json")],
            b"[{\"service_request_id\":1".to_vec(),
            400,
        ),
        Reply::json("<html>maintenance</html>"),
        Reply::json(r#"[{"code":403,"description":"jurisdiction unknown"}]"#),
    ]));
    let queue = replies.clone();
    let server = TestServer::start(move |_| {
        let mut queue = queue.lock().unwrap();
        if queue.is_empty() {
            Reply::json(REQUESTS_JSON)
        } else {
            queue.remove(0)
        }
    })
    .await;
    let mut connector = connector(config(&server.base));
    let now = utc(2024, 1, 20, 0);
    let first = connector.poll(None, now).await.unwrap_err();
    assert_eq!(
        first.disposition(),
        Disposition::Retry {
            retry_after: Some(Duration::from_secs(30))
        }
    );
    assert!(matches!(
        connector.poll(None, now).await.unwrap_err(),
        ConnectorError::Truncated(_)
    ));
    assert!(matches!(
        connector.poll(None, now).await.unwrap_err(),
        ConnectorError::Malformed(_)
    ));
    let errors = connector.poll(None, now).await.unwrap_err();
    assert!(
        errors.to_string().contains("jurisdiction unknown"),
        "{errors}"
    );
    let ok = connector.poll(None, now).await.unwrap();
    assert_eq!(ok.items.len(), 2);
    let starts: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.query("start_date").unwrap())
        .collect();
    assert!(
        starts.iter().all(|s| s == "2024-01-01T00:00:00Z"),
        "{starts:?}"
    );
}

#[tokio::test]
async fn window_parameters_can_follow_update_time() {
    let server = TestServer::start(|_| Reply::json("[]")).await;
    let mut config = config(&server.base);
    config.start_param = "updated_after".into();
    config.end_param = "updated_before".into();
    let mut connector = connector(config);
    connector.poll(None, utc(2024, 1, 3, 0)).await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        request.query("updated_after").as_deref(),
        Some("2024-01-01T00:00:00Z")
    );
    assert_eq!(
        request.query("updated_before").as_deref(),
        Some("2024-01-03T00:00:00Z")
    );
    assert_eq!(request.query("start_date"), None);
}

#[tokio::test]
async fn a_stalled_server_times_out() {
    let server = TestServer::start(|_| Reply::Stall).await;
    let mut connector = connector(config(&server.base));
    connector.set_timeout(Duration::from_millis(300)).unwrap();
    let err = connector.poll(None, utc(2024, 1, 2, 0)).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Timeout(_)) && err.is_retryable(),
        "{err}"
    );
}

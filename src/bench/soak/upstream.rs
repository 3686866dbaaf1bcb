//! The soak's pull sources: the four shipped connector files (`config/connectors/`), copied and
//! pointed at upstreams on this machine that keep producing new complaints for the whole run:
//! - `hotline` (`http_json`, cursor pages) and `online` (`open311`, time windows) and `media`
//!   (`rss`, conditional GET) read a local HTTP server ([`serve`]) whose records appear at a
//!   steady pace, in the shapes of the shipped samples;
//! - `petition` (`file_drop`) watches a folder into which [`drop_petitions`] writes a GB18030
//!   register export every half minute (as `.part`, then renamed, as exporting tools do).
//!
//! The connector files are written by [`super::connector_files`].
//!
//! The server keeps no records: record `n` of a stream is generated from the seed and `n` when
//! asked for, so the upstream's memory does not grow with the run.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, FixedOffset, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::bench::corpus::CorpusGenerator;

/// A new hotline work order every this often.
const HOTLINE_EVERY_SECS: i64 = 2;
/// Work orders per page of the hotline API.
const HOTLINE_PAGE: u64 = 20;
/// A new Open311 request every this often.
const OPEN311_EVERY_SECS: i64 = 3;
/// A new news article every this often; the feed shows the latest [`FEED_LENGTH`].
const MEDIA_EVERY_SECS: i64 = 10;
const FEED_LENGTH: u64 = 30;
/// A petition register export of [`PETITION_ROWS`] rows every this often.
pub const PETITION_EVERY_SECS: u64 = 30;
const PETITION_ROWS: usize = 5;

/// Requests the local upstream answered, by stream, and files dropped.
#[derive(Debug, Default)]
pub struct Served {
    pub hotline: AtomicU64,
    pub open311: AtomicU64,
    pub media: AtomicU64,
    pub media_not_modified: AtomicU64,
    pub petition_files: AtomicU64,
}

/// The streams' common clock and seed.
pub struct Feed {
    started: DateTime<Utc>,
    seed: u64,
    pub served: Served,
}

impl Feed {
    pub fn new(seed: u64) -> Arc<Feed> {
        Arc::new(Feed {
            started: Utc::now(),
            seed,
            served: Served::default(),
        })
    }

    /// Records of a stream that exist by now (one at the start, then one every `every` s).
    fn available(&self, every: i64) -> u64 {
        ((Utc::now() - self.started).num_seconds().max(0) / every) as u64 + 1
    }

    /// When record `n` of a stream appeared, in China Standard Time.
    fn time_of(&self, n: u64, every: i64) -> DateTime<FixedOffset> {
        let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
        (self.started + chrono::Duration::seconds(n as i64 * every)).with_timezone(&cst)
    }

    /// Record `n` of stream `stream`: title, body, and a generator for the other fields.
    fn record(&self, stream: u64, n: u64) -> (String, String, StdRng) {
        let seed = self.seed ^ (stream << 48) ^ n;
        let (title, body, _) = CorpusGenerator::new(seed).complaint();
        (title, body, StdRng::seed_from_u64(seed.rotate_left(17)))
    }
}

const DISTRICTS: &[&str] = &["城东区", "城西区", "城南区", "城北区", "高新区", "经开区"];
const UNITS: &[&str] = &[
    "市住房和城乡建设局",
    "市城市管理局",
    "市市场监督管理局",
    "区人民政府",
];

fn phone(rng: &mut StdRng) -> String {
    format!("1380000{:04}", rng.random_range(0..3000))
}

/// Serves the hotline, Open311 and media upstreams until the task is aborted.
pub async fn serve(feed: Arc<Feed>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let router = Router::new()
        .route("/hotline/workorders", get(hotline))
        .route("/open311/requests.json", get(open311))
        .route("/media/feed.xml", get(media))
        .with_state(feed);
    axum::serve(listener, router).await
}

async fn hotline(
    State(feed): State<Arc<Feed>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    feed.served.hotline.fetch_add(1, Ordering::Relaxed);
    let from: u64 = query
        .get("cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let available = feed.available(HOTLINE_EVERY_SECS);
    let to = (from + HOTLINE_PAGE).min(available);
    let records: Vec<serde_json::Value> = (from..to)
        .map(|n| {
            let (title, content, mut rng) = feed.record(1, n);
            serde_json::json!({
                "orderNo": format!("SOAK-GD-{n:08}"),
                "title": title,
                "content": format!("来电人反映：{content}"),
                "acceptTime": feed.time_of(n, HOTLINE_EVERY_SECS).format("%Y-%m-%d %H:%M:%S").to_string(),
                "channelType": "电话",
                "caller": {"name": "来电人", "mobile": phone(&mut rng), "anonymous": rng.random_bool(0.1)},
                "district": DISTRICTS[rng.random_range(0..DISTRICTS.len())],
                "address": "详见来电内容",
                "handleUnit": UNITS[rng.random_range(0..UNITS.len())],
                "urgency": "一般",
            })
        })
        .collect();
    // The next page's cursor once this page is full; `null` while it is still filling.
    let next = (from + HOTLINE_PAGE <= available).then(|| (from + HOTLINE_PAGE).to_string());
    axum::Json(serde_json::json!({
        "code": 0,
        "message": "ok",
        "data": {"total": available, "records": records, "next_cursor": next},
    }))
    .into_response()
}

async fn open311(
    State(feed): State<Arc<Feed>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    feed.served.open311.fetch_add(1, Ordering::Relaxed);
    let time = |name: &str| {
        query
            .get(name)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (Some(start), Some(end)) = (time("start_date"), time("end_date")) else {
        return (StatusCode::BAD_REQUEST, "start_date and end_date required").into_response();
    };
    let index_at = |t: DateTime<Utc>| {
        let secs = (t - feed.started).num_seconds();
        // First record at or after `t`.
        (secs.max(0) + OPEN311_EVERY_SECS - 1) / OPEN311_EVERY_SECS
    };
    let first = index_at(start) as u64;
    let last = (index_at(end) as u64).min(feed.available(OPEN311_EVERY_SECS));
    let records: Vec<serde_json::Value> = (first..last)
        .take(1000)
        .map(|n| {
            let (_, description, mut rng) = feed.record(2, n);
            let at = feed.time_of(n, OPEN311_EVERY_SECS).to_rfc3339();
            serde_json::json!({
                "service_request_id": 700_000_000 + n,
                "status": "open",
                "service_name": "民生诉求",
                "service_code": "SOAK-01",
                "description": description,
                "agency_responsible": UNITS[rng.random_range(0..UNITS.len())],
                "requested_datetime": at,
                "updated_datetime": at,
                "address": DISTRICTS[rng.random_range(0..DISTRICTS.len())],
                "lat": 30.2 + rng.random_range(0.0..0.1),
                "long": 120.1 + rng.random_range(0.0..0.1),
            })
        })
        .collect();
    axum::Json(records).into_response()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn media(State(feed): State<Arc<Feed>>, headers: HeaderMap) -> Response {
    feed.served.media.fetch_add(1, Ordering::Relaxed);
    let available = feed.available(MEDIA_EVERY_SECS);
    let etag = format!("\"soak-{available}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        feed.served
            .media_not_modified
            .fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>城市晚报·民生观察</title><link>https://news.example.com/minsheng</link>\
         <description>城市晚报民生新闻</description><language>zh-cn</language>\n",
    );
    for n in (available.saturating_sub(FEED_LENGTH)..available).rev() {
        let (title, body, _) = feed.record(3, n);
        // Three articles in four are about complaints (the watch list's words); the fourth is
        // ordinary news the connector skips.
        let (title, body) = if n % 4 == 3 {
            (
                "本市新增三处口袋公园".to_string(),
                "市园林部门介绍，今年新建的口袋公园将于下月开放。".to_string(),
            )
        } else {
            (
                format!("市民投诉：{title}"),
                format!("记者接到市民投诉，{body}"),
            )
        };
        let _ = writeln!(
            xml,
            "<item><title>{}</title><link>https://news.example.com/soak/{n}.html</link>\
             <guid isPermaLink=\"false\">soak-media-{n}</guid><pubDate>{}</pubDate>\
             <description><![CDATA[<p>{}</p>]]></description></item>",
            xml_escape(&title),
            feed.time_of(n, MEDIA_EVERY_SECS).to_rfc2822(),
            body
        );
    }
    xml.push_str("</channel></rss>\n");
    (
        [
            (
                header::CONTENT_TYPE,
                "application/rss+xml; charset=utf-8".to_string(),
            ),
            (header::ETAG, etag),
        ],
        xml,
    )
        .into_response()
}

/// One CSV field, quoted when it needs to be.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The `k`-th petition register export: GB18030 CSV with the register's headers.
fn petition_file(feed: &Feed, k: u64) -> Vec<u8> {
    let mut csv = String::from(
        "信访编号,信访形式,标题,信访内容,来信日期,信访人,联系电话,所在区,地址,被反映单位,登记人\n",
    );
    let now = Utc::now().with_timezone(&FixedOffset::east_opt(8 * 3600).expect("valid offset"));
    for j in 0..PETITION_ROWS {
        let (title, body, mut rng) = feed.record(4, k * 1000 + j as u64);
        let fields = [
            format!("SOAK-XF-{k:06}-{j}"),
            "来信".to_string(),
            title,
            body,
            now.format("%Y-%m-%d %H:%M").to_string(),
            "某某".to_string(),
            phone(&mut rng),
            DISTRICTS[rng.random_range(0..DISTRICTS.len())].to_string(),
            "详见信访内容".to_string(),
            UNITS[rng.random_range(0..UNITS.len())].to_string(),
            "登记员".to_string(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    encoding_rs::GB18030.encode(&csv).0.into_owned()
}

/// Writes a register export into `dir` every [`PETITION_EVERY_SECS`] until cancelled.
pub async fn drop_petitions(
    feed: Arc<Feed>,
    dir: PathBuf,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs(PETITION_EVERY_SECS));
    for k in 0.. {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.cancelled() => return,
        }
        let name = format!("soak-register-{k:06}.csv");
        let part = dir.join(format!("{name}.part"));
        let written = std::fs::write(&part, petition_file(&feed, k))
            .and_then(|()| std::fs::rename(&part, dir.join(&name)));
        match written {
            Ok(()) => {
                feed.served.petition_files.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => eprintln!("soak: cannot write {}: {e}", part.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn petition_exports_are_gb18030_csv_with_the_register_headers() {
        let feed = Feed::new(1);
        let bytes = petition_file(&feed, 3);
        assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8");
        let (text, _, errors) = encoding_rs::GB18030.decode(&bytes);
        assert!(!errors);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + PETITION_ROWS);
        assert!(lines[0].starts_with("信访编号,"));
        assert!(lines[1].starts_with("SOAK-XF-000003-0,来信,"));
    }
}

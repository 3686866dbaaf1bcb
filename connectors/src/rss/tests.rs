use std::sync::{Arc, Mutex};

use chrono::TimeZone;

use super::*;
use crate::connector::Disposition;
use crate::testing::{Reply, TestServer};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 3, 1, 0, 0).unwrap()
}

fn watch() -> Vec<String> {
    ["审批拖延", "乱收费", "不作为"].map(String::from).to_vec()
}

/// A city news site's livelihood feed: two stories about administrative efficiency, two not.
const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>城市晚报·民生</title>
  <link>https://news.example.cn/minsheng/</link>
  <description>民生新闻</description>
  <item>
    <title>企业反映：施工许可审批拖延三个月仍无结果</title>
    <link>https://news.example.cn/minsheng/2024/0601/a1.html</link>
    <guid isPermaLink="false">news-20240601-a1</guid>
    <pubDate>Sat, 01 Jun 2024 08:30:00 +0800</pubDate>
    <category>营商环境</category>
    <description><![CDATA[<p>记者调查发现，某区行政审批局对一家制造企业的施工许可申请<b>超期</b>未办结。</p><p>企业负责人称&ldquo;材料补了五次&rdquo;。</p>]]></description>
  </item>
  <item>
    <title>市民队夺得业余足球联赛冠军</title>
    <link>https://news.example.cn/sports/2024/0601/b2.html</link>
    <guid isPermaLink="false">news-20240601-b2</guid>
    <description>周末决赛精彩纷呈。</description>
  </item>
  <item>
    <title>家长质疑学校乱收费：教辅材料费未经公示</title>
    <link>https://news.example.cn/minsheng/2024/0602/c3.html</link>
    <pubDate>Sun, 02 Jun 2024 10:00:00 +0800</pubDate>
    <description>多名家长向本报反映，某中学以班费名义收取教辅材料费。</description>
  </item>
  <item>
    <title>本周末全市晴到多云</title>
    <guid isPermaLink="false">news-20240602-d4</guid>
    <description>气温回升。</description>
  </item>
</channel>
</rss>"#;

fn parse(body: &[u8], charset: Option<&str>, watch: &[String]) -> FeedPage {
    parse_feed(body, charset, watch, true, &ParseOptions::default()).unwrap()
}

#[test]
fn the_watch_list_keeps_efficiency_stories_and_counts_the_rest() {
    let page = parse(RSS.as_bytes(), None, &watch());
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.skipped, 2);
    let first = page.items[0].parsed.as_ref().unwrap();
    assert_eq!(first.external_id, "news-20240601-a1");
    assert_eq!(
        first.title.as_deref(),
        Some("企业反映：施工许可审批拖延三个月仍无结果")
    );
    assert_eq!(
        first.body,
        "记者调查发现，某区行政审批局对一家制造企业的施工许可申请超期未办结。\n企业负责人称“材料补了五次”。"
    );
    assert_eq!(
        first.url.as_deref(),
        Some("https://news.example.cn/minsheng/2024/0601/a1.html")
    );
    assert_eq!(
        first.submitted_at.unwrap().to_rfc3339(),
        "2024-06-01T00:30:00+00:00"
    );
    assert_eq!(first.meta["media_exposed"], true);
    assert_eq!(first.meta["watch_matches"], serde_json::json!(["审批拖延"]));
    assert_eq!(first.meta["categories"], serde_json::json!(["营商环境"]));
    assert_eq!(first.meta["feed_title"], "城市晚报·民生");
    let raw = String::from_utf8(page.items[0].raw.clone()).unwrap();
    assert!(
        raw.starts_with("<item>") && raw.ends_with("</item>") && raw.contains("news-20240601-a1")
    );

    let second = page.items[1].parsed.as_ref().unwrap();
    assert_eq!(
        second.external_id, "https://news.example.cn/minsheng/2024/0602/c3.html",
        "no GUID: the link"
    );
}

#[test]
fn without_a_watch_list_every_entry_is_kept_with_stable_ids() {
    let page = parse(RSS.as_bytes(), None, &[]);
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.skipped, 0);
    let again = parse(RSS.as_bytes(), None, &[]);
    let ids = |p: &FeedPage| -> Vec<String> {
        p.items
            .iter()
            .map(|i| i.parsed.as_ref().unwrap().external_id.clone())
            .collect()
    };
    assert_eq!(ids(&page), ids(&again));
}

#[test]
fn an_entry_without_id_or_link_gets_a_content_hash_id() {
    let rss = r#"<rss version="2.0"><channel><title>t</title>
        <item><title>窗口工作人员不作为</title><description>办事群众排队两小时无人受理。</description></item>
        </channel></rss>"#;
    let first = parse(rss.as_bytes(), None, &[]);
    let second = parse(rss.as_bytes(), None, &[]);
    let id = &first.items[0].parsed.as_ref().unwrap().external_id;
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(id, &second.items[0].parsed.as_ref().unwrap().external_id);
}

#[test]
fn traditional_characters_match_simplified_keywords() {
    let rss = r#"<rss version="2.0"><channel><title>港澳新聞</title>
        <item><guid>tw-1</guid><title>商戶投訴牌照審批拖延</title><description>申請逾期未獲答覆。</description></item>
        </channel></rss>"#;
    let page = parse(rss.as_bytes(), None, &watch());
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.items[0].parsed.as_ref().unwrap().meta["watch_matches"],
        serde_json::json!(["审批拖延"])
    );
}

#[test]
fn atom_and_json_feed_are_read() {
    let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>政务观察</title>
  <id>urn:feed:zwgc</id>
  <updated>2024-06-02T12:00:00Z</updated>
  <entry>
    <title>办证窗口推诿扯皮 群众不作为投诉无门</title>
    <id>urn:zwgc:2024:88</id>
    <link rel="alternate" href="https://zwgc.example.cn/88"/>
    <updated>2024-06-02T12:00:00Z</updated>
    <summary type="html">&lt;p&gt;群众反映办证难。&lt;/p&gt;</summary>
  </entry>
</feed>"#;
    let page = parse(atom.as_bytes(), None, &watch());
    let item = page.items[0].parsed.as_ref().unwrap();
    assert_eq!(item.external_id, "urn:zwgc:2024:88");
    assert_eq!(item.body, "群众反映办证难。");
    assert_eq!(item.url.as_deref(), Some("https://zwgc.example.cn/88"));
    assert!(
        String::from_utf8(page.items[0].raw.clone())
            .unwrap()
            .starts_with("<entry>")
    );

    let json_feed = r#"{"version":"https://jsonfeed.org/version/1.1","title":"民声","items":[
        {"id":"js-1","url":"https://ms.example.cn/1","title":"供水公司乱收费","content_text":"二次供水加收管理费。","date_published":"2024-06-01T09:00:00+08:00"},
        {"id":"js-2","title":"新书推荐","content_text":"夏日书单。"}]}"#;
    let page = parse(json_feed.as_bytes(), None, &watch());
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.skipped, 1);
    let item = page.items[0].parsed.as_ref().unwrap();
    assert_eq!(item.external_id, "js-1");
    assert_eq!(item.body, "二次供水加收管理费。");
    assert_eq!(page.items[0].content_type, "application/feed+json");
    let raw: serde_json::Value = serde_json::from_slice(&page.items[0].raw).unwrap();
    assert_eq!(raw["id"], "js-1");
}

#[test]
fn gb2312_feeds_are_decoded_by_their_label_or_their_declaration() {
    let gb_text = RSS.replace("UTF-8", "GB2312");
    let bytes = crate::text::encode(&gb_text, encoding_rs::GB18030);
    // No HTTP label: the XML declaration's GB2312 applies; a GBK label applies as given.
    for charset in [None, Some("gbk")] {
        let page = parse(&bytes, charset, &watch());
        assert_eq!(page.items.len(), 2, "charset {charset:?}");
        assert_eq!(
            page.items[1].parsed.as_ref().unwrap().title.as_deref(),
            Some("家长质疑学校乱收费：教辅材料费未经公示")
        );
        assert!(
            std::str::from_utf8(&page.items[1].raw).is_err(),
            "raw stays in the feed's encoding"
        );
    }
    // An HTTP label of UTF-8 on GB2312 bytes: refused, not guessed.
    let err = parse_feed(
        &bytes,
        Some("utf-8"),
        &watch(),
        true,
        &ParseOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not valid UTF-8"), "{err}");
}

#[test]
fn a_pathologically_deep_feed_is_refused_not_a_stack_overflow() {
    let deep = format!(
        "<rss version=\"2.0\"><channel><item>{}{}</item></channel></rss>",
        "<x>".repeat(200_000),
        "</x>".repeat(200_000)
    );
    let err = parse_feed(deep.as_bytes(), None, &[], true, &ParseOptions::default()).unwrap_err();
    assert!(err.to_string().contains("deeper than 64"), "{err}");
}

#[test]
fn not_a_feed_is_an_error() {
    let err = parse_feed(
        b"<html><body>502 Bad Gateway</body></html>",
        None,
        &[],
        true,
        &ParseOptions::default(),
    );
    assert!(matches!(err, Err(FeedError::Parse(_))), "{err:?}");
}

fn config(url: &str) -> RssConfig {
    RssConfig {
        channel: Channel::Media,
        url: url.to_string(),
        auth: None,
        watch_keywords: watch(),
        mark_media_exposed: true,
        poll_interval_secs: 300,
        timeout_secs: 5,
        max_body_bytes: 1 << 20,
        charset: None,
        max_requests_per_min: 10,
    }
}

#[tokio::test]
async fn conditional_get_keeps_validators_and_304_is_an_empty_batch() {
    let server = TestServer::start(|request| {
        if request.header("if-none-match") == Some("\"v1\"") {
            return Reply::with(304, &[("etag", "\"v1\"")], "");
        }
        Reply::with(
            200,
            &[
                ("content-type", "application/rss+xml"),
                ("etag", "\"v1\""),
                ("last-modified", "Sat, 01 Jun 2024 01:00:00 GMT"),
            ],
            RSS,
        )
    })
    .await;
    let mut connector = RssConnector::new("media", config(&server.base), &|_| None).unwrap();
    let first = connector.poll(None, now()).await.unwrap();
    assert_eq!((first.items.len(), first.skipped), (2, 2));
    assert!(!first.more);
    assert_eq!(first.wait, Duration::from_secs(300));
    let cursor = first.cursor.clone().unwrap();
    assert_eq!(cursor.0["etag"], "\"v1\"");
    let second = connector.poll(Some(&cursor), now()).await.unwrap();
    assert!(second.items.is_empty() && second.skipped == 0);
    assert_eq!(second.cursor, Some(cursor));
    let requests = server.requests();
    assert_eq!(requests[0].header("if-none-match"), None);
    assert_eq!(
        requests[1].header("if-modified-since"),
        Some("Sat, 01 Jun 2024 01:00:00 GMT")
    );
}

#[tokio::test]
async fn upstream_failures_are_classified() {
    let replies = Arc::new(Mutex::new(vec![
        Reply::with(500, &[], "oops"),
        Reply::with(429, &[("retry-after", "Mon, 03 Jun 2024 01:02:00 GMT")], ""),
        Reply::announcing(200, &[], RSS.as_bytes()[..200].to_vec(), RSS.len()),
        Reply::with(200, &[], "<html>维护中</html>"),
        Reply::Stall,
    ]));
    let queue = replies.clone();
    let server = TestServer::start(move |_| queue.lock().unwrap().remove(0)).await;
    let mut connector = RssConnector::new("media", config(&server.base), &|_| None).unwrap();
    connector.set_timeout(Duration::from_millis(300)).unwrap();
    let server_error = connector.poll(None, now()).await.unwrap_err();
    assert_eq!(
        server_error.disposition(),
        Disposition::Retry { retry_after: None }
    );
    let throttled = connector.poll(None, now()).await.unwrap_err();
    assert_eq!(throttled.retry_after(), Some(Duration::from_secs(120)));
    assert!(matches!(
        connector.poll(None, now()).await.unwrap_err(),
        ConnectorError::Truncated(_)
    ));
    assert!(matches!(
        connector.poll(None, now()).await.unwrap_err(),
        ConnectorError::Malformed(_)
    ));
    assert!(matches!(
        connector.poll(None, now()).await.unwrap_err(),
        ConnectorError::Timeout(_)
    ));
}

#[tokio::test]
async fn a_file_url_feed_needs_no_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("minsheng.xml");
    std::fs::write(&path, RSS).unwrap();
    let url = reqwest::Url::from_file_path(&path).unwrap();
    let config = config(url.as_str());
    assert_eq!(
        crate::config::ConnectorConfig::Rss(config.clone()).upstream(),
        None
    );
    let mut connector = RssConnector::new("media", config, &|_| None).unwrap();
    let batch = connector.poll(None, now()).await.unwrap();
    assert_eq!((batch.items.len(), batch.skipped), (2, 2));
}

/// Found by the `rss_feed` fuzz target: a second XML declaration naming another encoding made
/// quick-xml (under feed-rs) panic. It must be an answer, never a panic.
#[test]
fn a_late_encoding_declaration_does_not_panic() {
    let input: &[u8] =
        b"<?lmx version=\"1.0\" encoding=\"UTF-8\"?>\x00<?xml version=\"1.0\" encoding=\"G\
          B2312\"?><rss versio<rss version=\"2.0\"><channel><title>\xe6\x99\x9a\xe6\x8a\
          \xa5</title><item><title>\xe5\xae\xa1\xe6\x89\xb9n=\"2.0\"><channel><title>\xcd\
          \xed\xb1\xa8</title><ite\xe6\x8b\x96\xe5\xbbm><tit\xb6<";
    let outcome = std::panic::catch_unwind(|| {
        let _ = parse_feed(input, None, &watch(), true, &ParseOptions::default());
    });
    assert!(outcome.is_ok(), "parse_feed panicked");
}

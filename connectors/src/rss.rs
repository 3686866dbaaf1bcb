//! `rss`: news feeds (RSS 2.0, Atom, JSON Feed, parsed by feed-rs) for the media channel.
//!
//! Each poll is a conditional GET: the `ETag` and `Last-Modified` of the last answer are kept in
//! the cursor, and a `304 Not Modified` is an empty batch. An entry's external id is its GUID
//! (Atom `id`), else its link, else a hash of its title and text, so a re-read feed yields the
//! same ids and the store deduplicates.
//!
//! The directive asks the centre to investigate what media expose about the government's
//! efficiency, not to archive the news: with a `watch_keywords` list, only entries that mention
//! one of them become items; the others are counted in [`Batch::skipped`]. Items are marked
//! `meta.media_exposed = true` (with `url` set to the article) so routing can prioritise them.

mod html;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub use html::html_to_text;

use crate::Channel;
use crate::auth::{Auth, AuthConfig, EnvLookup};
use crate::config::{ConfigError, defaults};
use crate::connector::{Batch, BoxFuture, Connector, ConnectorError, Cursor};
use crate::http::{HttpSettings, build_client, fetch};
use crate::item::ParseOptions;
use crate::raw::{RawItem, content_type_for, raw_bytes_of};
use crate::text::{decode, normalize, strip_xml_encoding_declarations, xml_declared_encoding};

/// Configuration of an `rss` source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RssConfig {
    /// The channel this source feeds (usually `media`).
    pub channel: Channel,
    /// The feed URL.
    pub url: String,
    /// Credentials, for feeds that require them.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Keep only entries whose title or text mentions one of these words (matched after
    /// normalisation, so 繁體 and full-width forms match too). Empty: keep every entry.
    #[serde(default)]
    pub watch_keywords: Vec<String>,
    /// Mark items `meta.media_exposed = true` (default true).
    #[serde(default = "defaults::yes")]
    pub mark_media_exposed: bool,
    /// Seconds between polls.
    #[serde(default = "defaults::rss_poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// Whole-request timeout in seconds.
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: u64,
    /// Largest feed accepted, in bytes.
    #[serde(default = "defaults::max_body_bytes")]
    pub max_body_bytes: u64,
    /// The upstream's encoding when its answers carry a wrong charset label or none, e.g.
    /// `gb18030`: it replaces the label (UTF-8, GB18030, GBK, GB2312, Big5, UTF-16LE/BE).
    #[serde(default)]
    pub charset: Option<String>,
    /// Requests per minute to this upstream (the gateway's rate limiter enforces it).
    #[serde(default = "defaults::max_requests_per_min")]
    pub max_requests_per_min: u32,
}

/// Validators of the last answer, for the conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
}

/// Why a feed could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeedError {
    #[error("{0}")]
    Decode(#[from] crate::text::DecodeError),
    #[error("not a feed: {0}")]
    Parse(String),
}

/// A parsed feed: the items to keep and how many entries the watch list skipped.
#[derive(Debug)]
pub struct FeedPage {
    pub items: Vec<RawItem>,
    pub skipped: u64,
}

/// The `rss` connector.
#[derive(Debug)]
pub struct RssConnector {
    config: RssConfig,
    url: reqwest::Url,
    auth: Option<Auth>,
    client: reqwest::Client,
    settings: HttpSettings,
    options: ParseOptions,
}

impl RssConnector {
    /// Checks the configuration, reads secrets and builds the HTTP client.
    pub fn new(source: &str, config: RssConfig, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let url = reqwest::Url::parse(&config.url)
            .map_err(|e| ConfigError::invalid(source, "url", e.to_string()))?;
        if config
            .watch_keywords
            .iter()
            .any(|k| normalize(k).is_empty())
        {
            return Err(ConfigError::invalid(
                source,
                "watch_keywords",
                "an entry is empty",
            ));
        }
        if config.timeout_secs == 0 {
            return Err(ConfigError::invalid(
                source,
                "timeout_secs",
                "must be at least 1",
            ));
        }
        let auth = config
            .auth
            .as_ref()
            .map(|a| a.resolve(source, env))
            .transpose()?;
        let settings = HttpSettings {
            timeout: Duration::from_secs(config.timeout_secs),
            max_body_bytes: config.max_body_bytes,
            charset: crate::http::charset_setting(source, config.charset.as_deref())?,
        };
        let client = build_client(&settings)
            .map_err(|e| ConfigError::invalid(source, "url", e.to_string()))?;
        Ok(RssConnector {
            config,
            url,
            auth,
            client,
            settings,
            options: ParseOptions::default(),
        })
    }

    /// Sets how items are parsed (default offset, future tolerance); the gateway passes its
    /// configured options.
    pub fn set_parse_options(&mut self, options: ParseOptions) {
        self.options = options;
    }

    /// Overrides the request timeout (tests use sub-second timeouts).
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), ConnectorError> {
        self.settings.timeout = timeout;
        self.client = build_client(&self.settings)?;
        Ok(())
    }

    async fn poll_feed(
        &mut self,
        cursor: Option<&Cursor>,
        now: DateTime<Utc>,
    ) -> Result<Batch, ConnectorError> {
        let validators = cursor
            .and_then(|c| c.decode::<Validators>())
            .unwrap_or_default();
        let mut request = self.client.get(self.url.clone()).header(
            reqwest::header::ACCEPT,
            "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8",
        );
        if let Some(etag) = &validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
        }
        if let Some(auth) = &self.auth {
            request = auth.apply(request);
        }
        let fetched = fetch(&self.url, request, &self.settings, now).await?;
        let wait = Duration::from_secs(self.config.poll_interval_secs);
        if fetched.status == 304 {
            return Ok(Batch::idle(cursor.cloned(), wait));
        }
        let page = parse_feed(
            &fetched.body,
            fetched.charset(),
            &self.config.watch_keywords,
            self.config.mark_media_exposed,
            &self.options,
        )
        .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
        let next = Validators {
            etag: fetched.etag,
            last_modified: fetched.last_modified,
        };
        Ok(Batch {
            items: page.items,
            skipped: page.skipped,
            ..Batch::idle(Some(Cursor::encode(&next)), wait)
        })
    }
}

impl Connector for RssConnector {
    fn poll<'a>(
        &'a mut self,
        cursor: Option<&'a Cursor>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Batch, ConnectorError>> {
        Box::pin(self.poll_feed(cursor, now))
    }
}

/// Parses a feed and turns its entries into raw items, applying the watch list.
pub fn parse_feed(
    body: &[u8],
    charset: Option<&str>,
    watch_keywords: &[String],
    mark_media_exposed: bool,
    options: &ParseOptions,
) -> Result<FeedPage, FeedError> {
    let label = charset
        .map(str::to_string)
        .or_else(|| xml_declared_encoding(body));
    let decoded = decode(body, label.as_deref())?;
    let text = strip_xml_encoding_declarations(&decoded.text);
    if !text.trim_start().starts_with('{') {
        check_xml_depth(&text)?;
    }
    let parser = feed_rs::parser::Builder::new()
        // Only called for entries without an id: the link is the next best stable id. An
        // empty answer makes `entry_item` hash the entry's text instead of a random UUID.
        .id_generator(|links, _title, _uri| {
            links
                .first()
                .map(|l| l.href.trim().to_string())
                .unwrap_or_default()
        })
        .build();
    let feed = parser
        .parse(text.as_bytes())
        .map_err(|e| FeedError::Parse(e.to_string()))?;
    let spans = entry_spans(&text).filter(|spans| spans.len() == feed.entries.len());
    let is_json = text.trim_start().starts_with('{');
    let media_type = if is_json {
        "application/feed+json"
    } else {
        "application/xml"
    };
    let content_type = content_type_for(media_type, decoded.encoding);
    let keywords: Vec<String> = watch_keywords.iter().map(|k| normalize(k)).collect();
    let feed_title = feed.title.as_ref().map(|t| html_to_text(&t.content));
    let mut page = FeedPage {
        items: Vec::new(),
        skipped: 0,
    };
    for (index, entry) in feed.entries.iter().enumerate() {
        let fields = entry_fields(entry);
        let matched: Vec<&String> = {
            let haystack = normalize(&format!("{}\n{}", fields.title, fields.text));
            keywords
                .iter()
                .filter(|k| haystack.contains(k.as_str()))
                .collect()
        };
        if !keywords.is_empty() && matched.is_empty() {
            page.skipped += 1;
            continue;
        }
        let mut meta = Map::new();
        if mark_media_exposed {
            meta.insert("media_exposed".into(), json!(true));
        }
        if let Some(title) = &feed_title {
            meta.insert("feed_title".into(), json!(title));
        }
        if !matched.is_empty() {
            meta.insert("watch_matches".into(), json!(matched));
        }
        let categories: Vec<&str> = entry.categories.iter().map(|c| c.term.as_str()).collect();
        if !categories.is_empty() {
            meta.insert("categories".into(), json!(categories));
        }
        let authors: Vec<&str> = entry
            .authors
            .iter()
            .filter_map(|a| a.name.as_deref())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if !authors.is_empty() {
            meta.insert("authors".into(), json!(authors));
        }
        let body = if fields.text.is_empty() {
            meta.insert("body_from".into(), json!("title"));
            fields.title.clone()
        } else {
            fields.text.clone()
        };
        let external_id = match entry.id.trim() {
            "" => format!(
                "sha256:{}",
                hex::encode(&Sha256::digest(format!("{}\n{body}", fields.title))[..16])
            ),
            id => id.to_string(),
        };
        let mut item = Map::new();
        item.insert("external_id".into(), json!(external_id));
        if !fields.title.is_empty() {
            item.insert("title".into(), json!(fields.title));
        }
        item.insert("body".into(), json!(body));
        if let Some(url) = &fields.url {
            item.insert("url".into(), json!(url));
        }
        if let Some(time) = entry.published.or(entry.updated) {
            item.insert("submitted_at".into(), json!(time.to_rfc3339()));
        }
        item.insert("meta".into(), Value::Object(meta));
        let item = Value::Object(item);
        let raw = match &spans {
            Some(spans) => raw_bytes_of(&spans[index], decoded.encoding),
            None => serde_json::to_vec(&item).expect("a value always serialises"),
        };
        page.items.push(RawItem::from_value(
            item,
            raw,
            content_type.clone(),
            options,
        ));
    }
    Ok(page)
}

/// The readable parts of an entry.
struct EntryFields {
    title: String,
    text: String,
    url: Option<String>,
}

fn entry_fields(entry: &feed_rs::model::Entry) -> EntryFields {
    let as_text = |content: &str, media_type: String| {
        if media_type.contains("html") {
            html_to_text(content)
        } else {
            crate::text::clean_display(content)
        }
    };
    let title = entry
        .title
        .as_ref()
        .map(|t| as_text(&t.content, t.content_type.to_string()))
        .unwrap_or_default();
    let content = entry
        .content
        .as_ref()
        .and_then(|c| {
            c.body
                .as_ref()
                .map(|b| as_text(b, c.content_type.to_string()))
        })
        .unwrap_or_default();
    let summary = entry
        .summary
        .as_ref()
        .map(|s| as_text(&s.content, s.content_type.to_string()))
        .unwrap_or_default();
    // The full content when the feed has it, the summary otherwise.
    let text = if content.chars().count() >= summary.chars().count() {
        content
    } else {
        summary
    };
    let url = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| entry.links.first())
        .map(|l| l.href.trim().to_string())
        .filter(|h| !h.is_empty());
    EntryFields { title, text, url }
}

/// Deepest XML nesting accepted in a feed (real feeds stay under ten); refusing deeper documents
/// before feed-rs sees them keeps a hostile feed from exhausting the stack.
pub const MAX_FEED_DEPTH: usize = 64;

fn check_xml_depth(text: &str) -> Result<(), FeedError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => {
                depth += 1;
                if depth > MAX_FEED_DEPTH {
                    return Err(FeedError::Parse(format!(
                        "elements nested deeper than {MAX_FEED_DEPTH} levels"
                    )));
                }
            }
            Ok(quick_xml::events::Event::End(_)) => depth = depth.saturating_sub(1),
            // Well-formedness is feed-rs's to judge and report.
            Ok(quick_xml::events::Event::Eof) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
    }
}

/// The verbatim text of each entry (`<item>`, `<entry>`, or a JSON Feed `items` element), in
/// document order; `None` if the document cannot be walked.
fn entry_spans(text: &str) -> Option<Vec<String>> {
    if text.trim_start().starts_with('{') {
        let top: std::collections::HashMap<String, &RawValue> = serde_json::from_str(text).ok()?;
        let items: Vec<&RawValue> = serde_json::from_str(top.get("items")?.get()).ok()?;
        return Some(items.iter().map(|i| i.get().to_string()).collect());
    }
    let mut reader = quick_xml::Reader::from_str(text);
    let mut spans = Vec::new();
    let mut depth_in_entry = 0usize;
    let mut start = 0usize;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().ok()?;
        let after = reader.buffer_position() as usize;
        let is_entry = |name: &str| name == "item" || name == "entry";
        match event {
            quick_xml::events::Event::Start(e) => {
                if depth_in_entry > 0 {
                    depth_in_entry += 1;
                } else if is_entry(e.local_name().as_ref()) {
                    depth_in_entry = 1;
                    start = before;
                }
            }
            quick_xml::events::Event::Empty(e)
                if depth_in_entry == 0 && is_entry(e.local_name().as_ref()) =>
            {
                spans.push(text.get(before..after)?.to_string());
            }
            quick_xml::events::Event::End(_) if depth_in_entry > 0 => {
                depth_in_entry -= 1;
                if depth_in_entry == 0 {
                    spans.push(text.get(start..after)?.to_string());
                }
            }
            quick_xml::events::Event::Eof => return Some(spans),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;

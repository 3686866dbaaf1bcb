//! `open311`: an Open311 GeoReport v2 client for the online government portal.
//!
//! The connector walks time windows with `GET {base_url}/requests.{json|xml}?start_date=…&end_date=…`
//! (parameter names configurable, for servers that filter by update time).
//! Servers cap one query at 90 days or 1,000 results, so a window is at most `window_days`
//! long, and a window that comes back full (`max_results` records) may have been cut: it is
//! split in half and re-queried (nothing is emitted for it) down to `min_window_secs`. Once the
//! walk reaches `now`, the next window starts `overlap_secs` earlier to catch records the server
//! committed late; re-reading is harmless because the store deduplicates. The cursor holds the
//! window position and the newest `updated_datetime` seen. Windows follow the poll's `now`,
//! never a record's time; an `updated_datetime` past `now` plus the future tolerance of
//! [`ParseOptions`] is not taken as the newest (a record dated years ahead would otherwise stand
//! there for good).
//!
//! Records are parsed leniently (see [`parse`]) and mapped with [`map_request`]; a record that
//! cannot become an item (no id, nothing to read) is a [`RawItem`](crate::RawItem) with an error.

mod map;
pub mod parse;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Channel;
use crate::auth::{Auth, AuthConfig, EnvLookup};
use crate::config::{ConfigError, defaults};
use crate::connector::{Batch, BoxFuture, Connector, ConnectorError, Cursor};
use crate::http::{HttpSettings, build_client, fetch};
use crate::item::{ParseOptions, parse_time};
use crate::raw::{content_type_for, raw_bytes_of};
use crate::text::decode;

use map::{error_answer, newer_updated};
pub use map::{map_record, map_request};
pub use parse::{Document, ParseError, Record, parse_json, parse_xml, quote_leading_zero_numbers};

/// Response format requested from the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Open311Format {
    /// `requests.json`.
    #[default]
    Json,
    /// `requests.xml`.
    Xml,
}

/// Configuration of an `open311` source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open311Config {
    /// The channel this source feeds (usually `online`).
    pub channel: Channel,
    /// The GeoReport v2 endpoint root, e.g. `https://311.example.gov.cn/open311/v2`.
    pub base_url: String,
    /// `json` (default) or `xml`.
    #[serde(default)]
    pub format: Open311Format,
    /// The `jurisdiction_id` parameter, for servers that host several cities.
    #[serde(default)]
    pub jurisdiction_id: Option<String>,
    /// Only requests of this `service_code`.
    #[serde(default)]
    pub service_code: Option<String>,
    /// Only requests with this status (`open`, `closed`); all when unset.
    #[serde(default)]
    pub status: Option<String>,
    /// Query parameter of the window start. The spec's `start_date` filters on the time a
    /// request was made; a server that offers an update-time filter (often `updated_after`) can
    /// be walked by update time instead, so status changes of older requests come in as
    /// revisions.
    #[serde(default = "start_param")]
    pub start_param: String,
    /// Query parameter of the window end (`end_date`, or e.g. `updated_before`).
    #[serde(default = "end_param")]
    pub end_param: String,
    /// Credentials, for servers that require them on reads.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Where the first sync starts (RFC 3339); default: `backfill_days` before the first poll.
    #[serde(default)]
    pub start: Option<String>,
    /// Days of history the first sync reads when `start` is unset.
    #[serde(default = "backfill_days")]
    pub backfill_days: u64,
    /// Longest query window in days (servers refuse more than 90).
    #[serde(default = "window_days")]
    pub window_days: u64,
    /// The server's result cap; a window returning this many records is split.
    #[serde(default = "max_results")]
    pub max_results: usize,
    /// Smallest window a full answer is split down to, in seconds.
    #[serde(default = "min_window_secs")]
    pub min_window_secs: u64,
    /// How far back to re-read once caught up, in seconds (late writes upstream).
    #[serde(default = "overlap_secs")]
    pub overlap_secs: u64,
    /// Seconds to wait before polling again once caught up.
    #[serde(default = "defaults::poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// Whole-request timeout in seconds.
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: u64,
    /// Largest answer accepted, in bytes.
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

fn start_param() -> String {
    defaults::OPEN311_START_PARAM.to_string()
}
fn end_param() -> String {
    defaults::OPEN311_END_PARAM.to_string()
}
fn backfill_days() -> u64 {
    defaults::OPEN311_BACKFILL_DAYS
}
fn window_days() -> u64 {
    defaults::OPEN311_WINDOW_DAYS
}
fn max_results() -> usize {
    defaults::OPEN311_MAX_RESULTS
}
fn min_window_secs() -> u64 {
    defaults::OPEN311_MIN_WINDOW_SECS
}
fn overlap_secs() -> u64 {
    defaults::OPEN311_OVERLAP_SECS
}

/// The saved position: the next window to query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Position {
    window_start: DateTime<Utc>,
    window_secs: u64,
    /// Newest `updated_datetime` seen so far, as the server wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_updated: Option<String>,
}

/// The `open311` connector.
#[derive(Debug)]
pub struct Open311Connector {
    config: Open311Config,
    requests_url: reqwest::Url,
    start: Option<DateTime<Utc>>,
    auth: Option<Auth>,
    client: reqwest::Client,
    settings: HttpSettings,
    options: ParseOptions,
}

impl Open311Connector {
    /// Checks the configuration, reads secrets and builds the HTTP client.
    pub fn new(
        source: &str,
        config: Open311Config,
        env: EnvLookup<'_>,
    ) -> Result<Self, ConfigError> {
        let extension = match config.format {
            Open311Format::Json => "json",
            Open311Format::Xml => "xml",
        };
        let requests_url = reqwest::Url::parse(&format!(
            "{}/requests.{extension}",
            config.base_url.trim_end_matches('/')
        ))
        .map_err(|e| ConfigError::invalid(source, "base_url", e.to_string()))?;
        if config.window_days == 0 || config.window_days > 90 {
            return Err(ConfigError::invalid(
                source,
                "window_days",
                "must be between 1 and 90",
            ));
        }
        if config.max_results == 0 {
            return Err(ConfigError::invalid(
                source,
                "max_results",
                "must be at least 1",
            ));
        }
        if config.min_window_secs == 0 || config.min_window_secs > config.window_days * 86_400 {
            return Err(ConfigError::invalid(
                source,
                "min_window_secs",
                "must be between 1 and the window",
            ));
        }
        if config.timeout_secs == 0 {
            return Err(ConfigError::invalid(
                source,
                "timeout_secs",
                "must be at least 1",
            ));
        }
        let start = config
            .start
            .as_deref()
            .map(|s| DateTime::parse_from_rfc3339(s.trim()).map(|t| t.with_timezone(&Utc)))
            .transpose()
            .map_err(|e| {
                ConfigError::invalid(source, "start", format!("not an RFC 3339 time: {e}"))
            })?;
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
            .map_err(|e| ConfigError::invalid(source, "base_url", e.to_string()))?;
        Ok(Open311Connector {
            config,
            requests_url,
            start,
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

    fn max_window_secs(&self) -> u64 {
        self.config.window_days * 86_400
    }

    fn request(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> (reqwest::Url, reqwest::RequestBuilder) {
        let mut url = self.requests_url.clone();
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(jurisdiction) = &self.config.jurisdiction_id {
                pairs.append_pair("jurisdiction_id", jurisdiction);
            }
            if let Some(code) = &self.config.service_code {
                pairs.append_pair("service_code", code);
            }
            if let Some(status) = &self.config.status {
                pairs.append_pair("status", status);
            }
            pairs.append_pair(&self.config.start_param, &format_time(start));
            pairs.append_pair(&self.config.end_param, &format_time(end));
        }
        let request = self.client.get(url.clone());
        let request = match &self.auth {
            Some(auth) => auth.apply(request),
            None => request,
        };
        (url, request)
    }

    async fn poll_window(
        &mut self,
        cursor: Option<&Cursor>,
        now: DateTime<Utc>,
    ) -> Result<Batch, ConnectorError> {
        let position = cursor
            .and_then(|c| c.decode::<Position>())
            .unwrap_or_else(|| Position {
                window_start: self
                    .start
                    .unwrap_or(now - chrono::Duration::days(self.config.backfill_days as i64)),
                window_secs: self.max_window_secs(),
                last_updated: None,
            });
        let poll_interval = Duration::from_secs(self.config.poll_interval_secs);
        let window_secs = position
            .window_secs
            .clamp(self.config.min_window_secs, self.max_window_secs());
        let start = position.window_start;
        let end = (start + chrono::Duration::seconds(window_secs as i64)).min(now);
        if end <= start {
            return Ok(Batch::idle(Some(Cursor::encode(&position)), poll_interval));
        }
        let (url, request) = self.request(start, end);
        let fetched = fetch(&url, request, &self.settings, now).await?;
        let (document, encoding) =
            parse_answer(&fetched.body, fetched.charset(), self.config.format)
                .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
        if let Some(message) = error_answer(&document) {
            return Err(ConnectorError::Malformed(format!(
                "the server answered with errors: {message}"
            )));
        }
        let full = document.records.len() >= self.config.max_results;
        let mut warnings = Vec::new();
        if full && window_secs > self.config.min_window_secs {
            // The server may have cut this window: query its first half, emit nothing yet.
            let split = Position {
                window_secs: (window_secs / 2).max(self.config.min_window_secs),
                ..position
            };
            return Ok(Batch {
                more: true,
                ..Batch::idle(Some(Cursor::encode(&split)), Duration::ZERO)
            });
        }
        if full {
            warnings.push(format!(
                "a {window_secs} s window still returned {} requests (the server's cap): some may be missing",
                document.records.len()
            ));
        }
        let content_type = content_type_for(
            match self.config.format {
                Open311Format::Json => "application/json",
                Open311Format::Xml => "application/xml",
            },
            encoding,
        );
        let bound = now
            .checked_add_signed(self.options.future_tolerance)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        // Text that does not parse as a time is kept as the server wrote it.
        let plausible = |text: &Option<String>| match text {
            Some(text) => parse_time(&serde_json::Value::String(text.clone()), &self.options)
                .map_or(true, |time| time <= bound),
            None => true,
        };
        // A value saved before this rule may already lie far ahead: forget it.
        let mut last_updated = position
            .last_updated
            .clone()
            .filter(|_| plausible(&position.last_updated));
        let mut items = Vec::with_capacity(document.records.len());
        for record in &document.records {
            let newer = newer_updated(last_updated.clone(), &record.value, &self.options);
            if plausible(&newer) {
                last_updated = newer;
            }
            let raw = raw_bytes_of(&record.raw, encoding);
            items.push(map_record(record, raw, content_type.clone(), &self.options));
        }
        let caught_up = end >= now;
        let next = if caught_up {
            let overlap = chrono::Duration::seconds(self.config.overlap_secs as i64);
            Position {
                window_start: (end - overlap).max(start),
                window_secs: self.max_window_secs(),
                last_updated,
            }
        } else {
            Position {
                window_start: end,
                // Grow back after a split, so a quiet period is walked in few requests.
                window_secs: (window_secs * 2).min(self.max_window_secs()),
                last_updated,
            }
        };
        Ok(Batch {
            items,
            cursor: Some(Cursor::encode(&next)),
            more: !caught_up,
            wait: if caught_up {
                poll_interval
            } else {
                Duration::ZERO
            },
            skipped: 0,
            warnings,
            ack: None,
        })
    }
}

impl Connector for Open311Connector {
    fn poll<'a>(
        &'a mut self,
        cursor: Option<&'a Cursor>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Batch, ConnectorError>> {
        Box::pin(self.poll_window(cursor, now))
    }
}

fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Decodes and parses an answer; the encoding is returned to keep raw bytes verbatim.
pub fn parse_answer(
    body: &[u8],
    charset: Option<&str>,
    format: Open311Format,
) -> Result<(Document, &'static encoding_rs::Encoding), ParseError> {
    let charset = charset.map(str::to_string).or_else(|| match format {
        Open311Format::Xml => crate::text::xml_declared_encoding(body),
        Open311Format::Json => None,
    });
    let decoded = decode(body, charset.as_deref()).map_err(|e| ParseError::Xml {
        offset: 0,
        message: e.to_string(),
    })?;
    let document = match format {
        Open311Format::Json => parse_json(&decoded.text)?,
        Open311Format::Xml => parse_xml(&decoded.text)?,
    };
    Ok((document, decoded.encoding))
}

#[cfg(test)]
mod future_tests;
#[cfg(test)]
mod tests;

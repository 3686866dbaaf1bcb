//! `http_json`: a JSON API pulled page by page (a hotline work-order system, a petition system's
//! API).
//!
//! One poll fetches one page. Pagination follows a cursor field of the answer, a page number, or
//! a `since` timestamp taken from the records; the cursor saved with a page is where the next
//! poll starts, and at the end of the data it stays on the last page so new records appended
//! there are picked up (re-reading is harmless: the store deduplicates).
//!
//! A `since` cursor never moves past the poll's `now` plus the future tolerance of
//! [`ParseOptions`]: a record dated years ahead is delivered (and flagged future-dated by the
//! gateway) but does not become the cursor, which would skip every later record forever. A saved
//! `since` already past that bound (written before this rule) starts over from the configured
//! `initial`, with a warning; re-reading is harmless.
//!
//! A run of pages (polls answered with `more = true`) is checked for loops: an upstream that hands
//! back the cursor it was given, a cursor seen earlier in the run, or the same page content under
//! a new page number is first a retryable [`ConnectorError::RepeatedPage`] (a cache serving a
//! stale page does this for a while; the position is polled again and nothing is skipped), and
//! a [`ConnectorError::PaginationLoop`] once it persists, never an endless loop.

mod config;
mod mapping;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use config::{CALLBACK_VALUES, CallbackConfig, HttpJsonConfig, Pagination};
pub use mapping::{CANONICAL_FIELDS, MappedPage, Mapping, PageError, map_page, map_record};

use crate::auth::{Auth, EnvLookup};
use crate::config::ConfigError;
use crate::connector::{Batch, BoxFuture, Connector, ConnectorError, Cursor};
use crate::http::{HttpSettings, build_client, fetch};
use crate::item::{ParseOptions, parse_time};

/// Where the next poll starts; stored as the cursor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Position {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<String>,
}

/// Polls of one position in a row answered with a page repeated from elsewhere before that is a
/// pagination loop and not a stale cache (with the runtime's backoff, about half a minute).
const REPEATED_PAGE_RETRIES: u32 = 5;

/// Loop detection state for one run of `more = true` pages.
#[derive(Debug, Default)]
struct Run {
    /// Positions fetched in this run.
    seen: HashSet<String>,
    /// The last position fetched and the hash of its page. Polling the same position again is
    /// the runtime retrying (a failed commit), not a loop.
    last: Option<(String, Vec<u8>)>,
}

/// The `http_json` connector.
#[derive(Debug)]
pub struct HttpJsonConnector {
    config: HttpJsonConfig,
    url: reqwest::Url,
    mapping: Mapping,
    auth: Option<Auth>,
    client: reqwest::Client,
    settings: HttpSettings,
    options: ParseOptions,
    run: Run,
    /// The position answered with a repeated page, and how many polls in a row.
    repeats: Option<(String, u32)>,
}

impl HttpJsonConnector {
    /// Checks the configuration, reads secrets and builds the HTTP client.
    pub fn new(
        source: &str,
        config: HttpJsonConfig,
        env: EnvLookup<'_>,
    ) -> Result<Self, ConfigError> {
        let url = reqwest::Url::parse(&config.url)
            .map_err(|e| ConfigError::invalid(source, "url", e.to_string()))?;
        if !mapping::valid_pointer(&config.items_pointer) {
            return Err(ConfigError::invalid(
                source,
                "items_pointer",
                "a JSON pointer starts with `/`",
            ));
        }
        for required in ["external_id", "body"] {
            if !config.fields.contains_key(required) {
                return Err(ConfigError::invalid(
                    source,
                    "fields",
                    format!("`{required}` must be mapped"),
                ));
            }
        }
        for (field, pointer) in &config.fields {
            if !mapping::valid_field(field) {
                return Err(ConfigError::invalid(
                    source,
                    &format!("fields.{field}"),
                    format!(
                        "not a canonical field; expected one of {} or meta.<name>",
                        CANONICAL_FIELDS.join(", ")
                    ),
                ));
            }
            if pointer.is_empty() || !mapping::valid_pointer(pointer) {
                return Err(ConfigError::invalid(
                    source,
                    &format!("fields.{field}"),
                    "a JSON pointer starts with `/`",
                ));
            }
        }
        match &config.pagination {
            Pagination::Cursor { next_pointer, .. } if !mapping::valid_pointer(next_pointer) => {
                return Err(ConfigError::invalid(
                    source,
                    "pagination.next_pointer",
                    "a JSON pointer starts with `/`",
                ));
            }
            Pagination::Since { item_pointer, .. } if !mapping::valid_pointer(item_pointer) => {
                return Err(ConfigError::invalid(
                    source,
                    "pagination.item_pointer",
                    "a JSON pointer starts with `/`",
                ));
            }
            Pagination::Page {
                page_size: Some(0), ..
            }
            | Pagination::Since {
                page_size: Some(0), ..
            } => {
                return Err(ConfigError::invalid(
                    source,
                    "pagination.page_size",
                    "must be at least 1",
                ));
            }
            _ => {}
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
        if let Some(callback) = &config.callback {
            callback.check(source)?;
        }
        let settings = HttpSettings {
            timeout: Duration::from_secs(config.timeout_secs),
            max_body_bytes: config.max_body_bytes,
            charset: crate::http::charset_setting(source, config.charset.as_deref())?,
        };
        let client = build_client(&settings)
            .map_err(|e| ConfigError::invalid(source, "url", e.to_string()))?;
        let mapping = Mapping {
            items_pointer: config.items_pointer.clone(),
            fields: config
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            keep_unmapped: config.keep_unmapped_in_meta,
        };
        Ok(HttpJsonConnector {
            config,
            url,
            mapping,
            auth,
            client,
            settings,
            options: ParseOptions::default(),
            run: Run::default(),
            repeats: None,
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

    fn start_position(&self) -> Position {
        match &self.config.pagination {
            Pagination::None | Pagination::Cursor { .. } => Position::default(),
            Pagination::Page { first_page, .. } => Position {
                page: Some(*first_page),
                ..Position::default()
            },
            Pagination::Since { initial, .. } => Position {
                since: initial.clone(),
                ..Position::default()
            },
        }
    }

    fn request(&self, position: &Position) -> (reqwest::Url, reqwest::RequestBuilder) {
        let mut url = self.url.clone();
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &self.config.query {
                pairs.append_pair(name, value);
            }
            match &self.config.pagination {
                Pagination::None => {}
                Pagination::Cursor { param, .. } => {
                    if let Some(cursor) = &position.cursor {
                        pairs.append_pair(param, cursor);
                    }
                }
                Pagination::Page {
                    param,
                    page_size,
                    page_size_param,
                    ..
                } => {
                    let page = position.page.unwrap_or(1);
                    pairs.append_pair(param, &page.to_string());
                    if let (Some(size), Some(size_param)) = (page_size, page_size_param) {
                        pairs.append_pair(size_param, &size.to_string());
                    }
                }
                Pagination::Since {
                    param,
                    page_size,
                    page_size_param,
                    ..
                } => {
                    if let Some(since) = &position.since {
                        pairs.append_pair(param, since);
                    }
                    if let (Some(size), Some(size_param)) = (page_size, page_size_param) {
                        pairs.append_pair(size_param, &size.to_string());
                    }
                }
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let request = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        let request = match &self.auth {
            Some(auth) => auth.apply(request),
            None => request,
        };
        (url, request)
    }

    async fn poll_page(
        &mut self,
        cursor: Option<&Cursor>,
        now: DateTime<Utc>,
    ) -> Result<Batch, ConnectorError> {
        let mut position = cursor
            .and_then(|c| c.decode::<Position>())
            .unwrap_or_else(|| self.start_position());
        let mut warnings = Vec::new();
        if self.beyond_future_bound(position.since.as_deref(), now) {
            warnings.push(
                "the saved `since` lay in the future (a far-future record had set it): \
                 reading again from the configured start"
                    .to_string(),
            );
            position = self.start_position();
        }
        let (url, request) = self.request(&position);
        let fetched = fetch(&url, request, &self.settings, now).await?;
        let page = map_page(
            &fetched.body,
            fetched.charset(),
            &self.mapping,
            &self.options,
        )
        .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
        let page_hash = Sha256::digest(&fetched.body).to_vec();
        let key = position_key(&position);
        let (next, more) = self.advance(&position, &page, now)?;
        if more {
            let same_page_elsewhere =
                self.run.last.as_ref().is_some_and(|(last_key, last_hash)| {
                    *last_key != key && *last_hash == page_hash
                });
            if same_page_elsewhere && !page.items.is_empty() {
                return Err(self.repeated_page(
                    &position,
                    "the same page was served for two different positions".into(),
                ));
            }
            self.run.seen.insert(key.clone());
            self.run.last = Some((key, page_hash));
        } else {
            self.run = Run::default();
        }
        self.repeats = None;
        Ok(Batch {
            items: page.items,
            cursor: Some(Cursor::encode(&next)),
            more,
            wait: if more {
                Duration::ZERO
            } else {
                Duration::from_secs(self.config.poll_interval_secs)
            },
            skipped: 0,
            warnings,
            ack: None,
        })
    }

    /// The latest time a `since` cursor may take at `now`.
    fn future_bound(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_add_signed(self.options.future_tolerance)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Whether a `since` value lies past [`Self::future_bound`].
    fn beyond_future_bound(&self, since: Option<&str>, now: DateTime<Utc>) -> bool {
        let Some(since) = since else {
            return false;
        };
        parse_time(&Value::String(since.to_string()), &self.options)
            .is_ok_and(|time| time > self.future_bound(now))
    }

    /// The next position and whether it is immediately worth fetching.
    fn advance(
        &mut self,
        position: &Position,
        page: &MappedPage,
        now: DateTime<Utc>,
    ) -> Result<(Position, bool), ConnectorError> {
        let count = page.items.len();
        match &self.config.pagination {
            Pagination::None => Ok((Position::default(), false)),
            Pagination::Cursor { next_pointer, .. } => {
                let next = page.document.pointer(next_pointer).and_then(|v| match v {
                    Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
                let Some(next) = next else {
                    return Ok((position.clone(), false));
                };
                if position.cursor.as_deref() == Some(next.as_str()) {
                    if count == 0 {
                        return Ok((position.clone(), false));
                    }
                    return Err(self.repeated_page(
                        position,
                        format!("the upstream answered cursor `{next}` with itself"),
                    ));
                }
                let next_position = Position {
                    cursor: Some(next),
                    ..Position::default()
                };
                if self.run.seen.contains(&position_key(&next_position)) {
                    return Err(self.repeated_page(
                        position,
                        "the upstream handed back a cursor already seen in this run".into(),
                    ));
                }
                Ok((next_position, count > 0))
            }
            Pagination::Page { page_size, .. } => {
                let page_number = position.page.unwrap_or(1);
                let full = match page_size {
                    Some(size) => count >= *size as usize,
                    None => count > 0,
                };
                if full {
                    let next = Position {
                        page: Some(page_number + 1),
                        ..Position::default()
                    };
                    Ok((next, true))
                } else {
                    Ok((position.clone(), false))
                }
            }
            Pagination::Since {
                item_pointer,
                page_size,
                ..
            } => {
                let current = position
                    .since
                    .as_ref()
                    .and_then(|s| parse_time(&Value::String(s.clone()), &self.options).ok());
                let mut newest: Option<(DateTime<chrono::FixedOffset>, String)> = None;
                let bound = self.future_bound(now);
                for record in &page.records {
                    let Some(value) = record.pointer(item_pointer) else {
                        continue;
                    };
                    let Ok(time) = parse_time(value, &self.options) else {
                        continue;
                    };
                    // One record dated far ahead must not carry the cursor past every record
                    // still to come.
                    if time > bound {
                        continue;
                    }
                    if newest.as_ref().is_none_or(|(t, _)| time > *t) {
                        let text = match value {
                            Value::String(s) => s.trim().to_string(),
                            other => other.to_string(),
                        };
                        newest = Some((time, text));
                    }
                }
                let full = page_size.is_some_and(|size| count >= size as usize);
                let advanced = match (&newest, current) {
                    (Some((newest, _)), Some(current)) => *newest > current,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if full && !advanced {
                    return Err(self.loop_error(format!(
                        "a full page of {count} records is not newer than `since`; raise page_size"
                    )));
                }
                let next = match (advanced, newest) {
                    (true, Some((_, text))) => Position {
                        since: Some(text),
                        ..Position::default()
                    },
                    _ => position.clone(),
                };
                Ok((next, full || (page_size.is_none() && advanced)))
            }
        }
    }

    fn loop_error(&mut self, message: String) -> ConnectorError {
        self.run = Run::default();
        self.repeats = None;
        ConnectorError::PaginationLoop(message)
    }

    /// A page that repeats what another position served: a stale cache answers so for a while, a
    /// server that ignores the cursor does forever. Below [`REPEATED_PAGE_RETRIES`] polls of the
    /// same position in a row it is [`ConnectorError::RepeatedPage`], retried on that position
    /// with backoff (the run is kept, so the retry is checked again and nothing is skipped); then
    /// it is a [`ConnectorError::PaginationLoop`].
    fn repeated_page(&mut self, position: &Position, message: String) -> ConnectorError {
        let key = position_key(position);
        let attempt = match &mut self.repeats {
            Some((repeated, count)) if *repeated == key => {
                *count += 1;
                *count
            }
            _ => {
                self.repeats = Some((key, 1));
                1
            }
        };
        if attempt < REPEATED_PAGE_RETRIES {
            ConnectorError::RepeatedPage(format!(
                "{message} (poll {attempt} of {REPEATED_PAGE_RETRIES} of this position; retried)"
            ))
        } else {
            self.loop_error(message)
        }
    }
}

fn position_key(position: &Position) -> String {
    serde_json::to_string(position).expect("a position always serialises")
}

impl Connector for HttpJsonConnector {
    fn poll<'a>(
        &'a mut self,
        cursor: Option<&'a Cursor>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Batch, ConnectorError>> {
        Box::pin(self.poll_page(cursor, now))
    }
}

#[cfg(test)]
mod future_tests;
#[cfg(test)]
mod tests;

//! Configuration of an `http_json` source (see the module documentation of [`super`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Channel;
use crate::auth::AuthConfig;
use crate::config::defaults;

/// Configuration of an `http_json` source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpJsonConfig {
    /// The channel this source feeds.
    pub channel: Channel,
    /// The endpoint that lists records, e.g. `https://12345.example.gov.cn/api/orders`.
    pub url: String,
    /// Credentials; secrets are named by environment variable.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Fixed query parameters sent with every request (e.g. `status = "all"`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// JSON pointer to the array of records in an answer (`""`: the answer is the array).
    pub items_pointer: String,
    /// Canonical field → JSON pointer inside a record, e.g. `body = "/content"`,
    /// `"complainant.phone" = "/citizen/mobile"`. `external_id` and `body` are required.
    pub fields: BTreeMap<String, String>,
    /// Keep a record's unmapped fields in the item's `meta` (default true).
    #[serde(default = "defaults::yes")]
    pub keep_unmapped_in_meta: bool,
    /// How to reach the next page (default: a single page).
    #[serde(default)]
    pub pagination: Pagination,
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
    /// Where the gateway sends each complaint's outcome once its case is answered (the
    /// `[callback]` table); none: the answer goes to the replies-to-send list.
    #[serde(default)]
    pub callback: Option<CallbackConfig>,
}

/// The values a callback body can carry, by the name a `[callback.fields]` mapping uses.
pub const CALLBACK_VALUES: [&str; 10] = [
    "external_id",
    "complaint_id",
    "case_id",
    "status",
    "finding",
    "reply",
    "unit",
    "answered_at",
    "source",
    "channel",
];

/// A status update sent back to the source's system when a case is answered: a signed JSON
/// `POST` (the webhook's `X-Signature` headers), retried with backoff until accepted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackConfig {
    /// Where to `POST`; `{external_id}` is replaced by the record's id (percent-encoded),
    /// e.g. `https://12345.example.gov.cn/api/orders/{external_id}/result`.
    pub url: String,
    /// Environment variable holding the HMAC secret the `X-Signature` header is made with.
    pub secret_env: String,
    /// Credentials besides the signature (as the source's `[auth]`).
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Body field → value (one of [`CALLBACK_VALUES`]), e.g. `orderNo = "external_id"`,
    /// `result = "reply"`; empty: every value under its own name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Whole-request timeout in seconds.
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: u64,
    /// Attempts before the update is marked failed (it can be retried by hand).
    #[serde(default = "defaults::callback_max_attempts")]
    pub max_attempts: u32,
    /// First pause between attempts, in milliseconds; it doubles up to `retry_max_secs`.
    #[serde(default = "defaults::callback_retry_initial_ms")]
    pub retry_initial_ms: u64,
    /// Longest pause between attempts, in seconds.
    #[serde(default = "defaults::callback_retry_max_secs")]
    pub retry_max_secs: u64,
}

impl CallbackConfig {
    /// Checks the URL and the mapping; `source` names the file in errors.
    pub fn check(&self, source: &str) -> Result<(), crate::config::ConfigError> {
        let invalid = |field: &str, problem: String| {
            crate::config::ConfigError::invalid(source, field, problem)
        };
        let sample = self.url.replace("{external_id}", "x");
        match reqwest::Url::parse(&sample) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => {
                return Err(invalid(
                    "callback.url",
                    format!("`{}` is not an http(s) URL", self.url),
                ));
            }
        }
        for (field, value) in &self.fields {
            if !CALLBACK_VALUES.contains(&value.as_str()) {
                return Err(invalid(
                    &format!("callback.fields.{field}"),
                    format!(
                        "`{value}` is not a value a callback carries; one of: {}",
                        CALLBACK_VALUES.join(", ")
                    ),
                ));
            }
        }
        if self.max_attempts == 0 {
            return Err(invalid(
                "callback.max_attempts",
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// How an `http_json` source pages through its records (the `[pagination]` table).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One request returns everything.
    #[default]
    None,
    /// The answer holds the next page's cursor.
    Cursor {
        /// Query parameter that carries the cursor, e.g. `cursor`.
        param: String,
        /// JSON pointer to the next cursor in an answer, e.g. `/data/next_cursor`.
        next_pointer: String,
    },
    /// Pages are numbered.
    Page {
        /// Query parameter of the page number, e.g. `page`.
        param: String,
        /// Number of the first page (usually 1, sometimes 0).
        #[serde(default = "defaults::first_page")]
        first_page: u64,
        /// Records per page; a shorter page is the last one. Without it, an empty page is.
        #[serde(default)]
        page_size: Option<u32>,
        /// Query parameter that carries `page_size`, e.g. `pageSize`.
        #[serde(default)]
        page_size_param: Option<String>,
    },
    /// Records newer than a timestamp, taken from the records themselves.
    Since {
        /// Query parameter of the timestamp, e.g. `updated_after`.
        param: String,
        /// JSON pointer inside a record to its timestamp, e.g. `/updateTime`.
        item_pointer: String,
        /// Value of `param` for the very first poll; omitted from the request when unset.
        #[serde(default)]
        initial: Option<String>,
        /// Records per page; a full page means more may follow.
        #[serde(default)]
        page_size: Option<u32>,
        /// Query parameter that carries `page_size`.
        #[serde(default)]
        page_size_param: Option<String>,
    },
}

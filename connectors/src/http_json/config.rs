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

//! Complaint channel connectors and the canonical item format.
//!
//! Everything that turns bytes from a channel into a canonical complaint item lives here, so the
//! gateway's webhook, its file import and every pull connector share one definition of what a
//! valid item is.
//!
//! Modules:
//! - [`channel`]: the closed list of channel kinds (`petition`, `hotline`, `online`, …).
//! - [`json`]: strict JSON reading: duplicate keys refused, wide integers and ids kept as sent.
//! - [`item`]: the canonical item, its lenient-but-explicit parsing, validation and content hash.
//! - [`text`]: decoding (UTF-8, BOM, GB18030/GBK from a charset or detected) and normalisation.
//! - [`body`]: splitting a request body (one object, a JSON array or JSON Lines) into raw items.
//! - [`tabular`]: reading CSV and XLSX exports into raw items, one per row.
//! - [`raw`]: [`RawItem`], the unit handed to the gateway's intake: verbatim bytes plus the parse
//!   result.
//! - [`connector`]: the polled [`Connector`] trait, [`Batch`], [`Cursor`] and [`ConnectorError`].
//! - [`config`]: strict, tagged connector configuration and loading of `config/connectors/*.toml`.
//! - [`auth`]: credentials named by environment variable.
//! - [`http`]: the outbound HTTP client (rustls) and the fetch that classifies failures.
//! - [`http_json`]: a JSON API pulled page by page.
//! - [`open311`]: an Open311 GeoReport v2 client.
//! - [`rss`]: RSS 2.0, Atom and JSON Feed news feeds for the media channel.
//! - [`file_drop`]: a watched folder of CSV, XLSX and JSON Lines exports.
//!
//! Nothing here touches storage: a parse failure is returned as a value so the caller can keep
//! the bytes in its dead-letter store, and connectors never save cursors, sleep or retry — the
//! gateway's intake loop does, once for all protocols.
//!
//! Adding a protocol: a module named after it holding its config struct
//! (`#[serde(deny_unknown_fields)]`, a `///` line per field, units in names, defaults in
//! [`config::defaults`]), its [`Connector`] implementation and its tests against a local server;
//! a variant in [`ConnectorConfig`] and an arm in each of its methods; a fuzz target for its
//! parser in `fuzz/`.

pub mod auth;
pub mod body;
pub mod channel;
pub mod config;
pub mod connector;
pub mod file_drop;
pub mod http;
pub mod http_json;
pub mod item;
pub mod json;
pub mod open311;
pub mod raw;
pub mod rss;
pub mod tabular;
pub mod text;

#[cfg(test)]
mod testing;

pub use channel::Channel;
pub use config::{ConfigError, ConnectorConfig, SourceSpec, load_dir};
pub use connector::{
    AckToken, Batch, CommitSummary, Connector, ConnectorError, Cursor, Disposition,
};
pub use item::{Attachment, Complainant, Item, ItemError, Location};
pub use raw::RawItem;

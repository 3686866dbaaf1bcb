//! The store: the system of record.
//!
//! SQLite in WAL mode with `synchronous=FULL`. Every complaint keeps its raw payload verbatim,
//! its parsed item, its normalised text and a content hash; `(source, external_id)` is unique.
//! All intake writes go through one [`writer::Writer`] that group-commits concurrent requests
//! on its own connection (rusqlite, on its own thread), and a caller is answered only after its
//! transaction is durably committed: acknowledge nothing before [`writer::Writer::submit`]
//! returns `Ok`. Checkpoints run on their own thread ([`checkpoint`]), never inside a commit.
//!
//! Everything else (search index, derived fields) is rebuilt from here.

pub mod accountability;
pub mod answers;
pub mod audit;
mod backend;
pub mod calendar;
pub mod cases;
pub mod facets;
pub mod follow_ups;
mod log;
pub mod open311;
pub mod outbox;
pub mod people;
pub mod routes;
pub mod sqlite;
pub mod stats;
pub mod subjects;
pub mod workflow;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use connectors::{Channel, Item};
use serde::Serialize;
use std::sync::Arc;

pub use backend::{Backend, DerivedTx, IntakeLog};
pub use log::{DeadLetterFilter, QueuedWindow, WriteBatch, WriteOp, WriteOutcome};

/// Name of the SQLite file inside the data directory.
pub use sqlite::DB_FILE;

/// Bytes the embedded database engine holds in this process (for benchmarks' memory figures).
pub fn engine_memory_bytes() -> i64 {
    sqlite::memory_used()
}

/// Store failures. Callers answer 5xx / exit non-zero; the message is logged, not shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// From the intake writer's own connection.
    #[error("database (intake writer): {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("the store writer has stopped")]
    WriterGone,
    /// The database reached its size bound or the disk is full; retry once space is free.
    #[error("the store is full: {0}")]
    Full(String),
    /// A unique name is taken (a user, a token id).
    #[error("already exists: {0}")]
    Conflict(String),
}

impl StoreError {
    /// SQLite's "database is locked" (`SQLITE_BUSY` and its extended codes).
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Sqlite(error) => {
                error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
            }
            StoreError::Database(sqlx::Error::Database(error)) => error
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .is_some_and(|code| code & 0xff == 5),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(
                error,
            ))) => error
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .is_some_and(|code| code & 0xff == 5),
            _ => false,
        }
    }

    /// The database or the disk is full (SQLite's `SQLITE_FULL`): nothing was written, and the
    /// same write succeeds once space is free.
    pub fn is_full(&self) -> bool {
        match self {
            StoreError::Full(_) => true,
            StoreError::Sqlite(error) => {
                error.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
            }
            StoreError::Database(sqlx::Error::Database(error)) => {
                // SQLITE_FULL is 13; extended codes keep it in the low byte.
                error
                    .code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(|code| code & 0xff == 13)
            }
            _ => false,
        }
    }
}

/// A complaint ready to be stored (parsed and validated). Built with [`NewComplaint::new`],
/// which does the CPU work (serialising, hashing) so the single writer does little. Its matching
/// text is not computed here: the store derives it when it is read (see
/// [`text_norm_from_stored`]).
#[derive(Debug, Clone)]
pub struct NewComplaint {
    pub source: String,
    pub channel: Channel,
    pub item: Item,
    /// The item's JSON as stored ([`stored_item_json`]: without its title and body, which
    /// have columns of their own). The content hash covers the whole item.
    pub item_json: String,
    pub content_hash: String,
    pub raw: Vec<u8>,
    pub raw_content_type: String,
    pub received_at: DateTime<Utc>,
    /// The time clocks, windows and orderings use (see [`effective_time`]); stored as
    /// `submitted_ms`.
    pub effective_at: DateTime<Utc>,
    /// The item's `submitted_at` lies more than the tolerance past `received_at`.
    pub future_dated: bool,
    /// From an archive load (`import --historical`): no deadline, no notice, case closed.
    pub historical: bool,
}

impl NewComplaint {
    /// Prepares `item` from `source` for storage; a `submitted_at` more than `future_tolerance`
    /// past `received_at` is kept as given but flagged (see [`effective_time`]).
    pub fn new(
        source: &str,
        channel: Channel,
        item: Item,
        raw: Vec<u8>,
        raw_content_type: String,
        received_at: DateTime<Utc>,
        future_tolerance: chrono::Duration,
    ) -> NewComplaint {
        let effective = effective_time(item.submitted_at, received_at, future_tolerance);
        let whole_json = serde_json::to_string(&item).expect("an item always serialises");
        // The same bytes `Item::content_hash` hashes, serialised once.
        let content_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            whole_json.as_bytes(),
        ));
        let item_json = stored_item_json(&item);
        NewComplaint {
            source: source.to_string(),
            channel,
            item,
            item_json,
            content_hash,
            raw,
            raw_content_type,
            received_at,
            effective_at: effective.at,
            future_dated: effective.future_dated,
            historical: false,
        }
    }
}

/// The time of a complaint that clocks, windows and rankings use, and whether its given
/// `submitted_at` was too far in the future to be that time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveTime {
    pub at: DateTime<Utc>,
    pub future_dated: bool,
}

/// One item must not bend how the others are processed: a `submitted_at` more than
/// `tolerance` past the time the gateway received the item would move the grouping clock,
/// the hot-issue windows and the search order for everyone, so the received time stands in
/// for it (the given value is still stored and shown). Exactly `tolerance` ahead is accepted
/// (clocks of senders drift, time zones get mislabelled); an absent `submitted_at` is the
/// received time.
pub fn effective_time(
    submitted_at: Option<DateTime<FixedOffset>>,
    received_at: DateTime<Utc>,
    tolerance: chrono::Duration,
) -> EffectiveTime {
    let Some(submitted) = submitted_at.map(|s| s.with_timezone(&Utc)) else {
        return EffectiveTime {
            at: received_at,
            future_dated: false,
        };
    };
    let limit = received_at
        .checked_add_signed(tolerance)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if submitted > limit {
        EffectiveTime {
            at: received_at,
            future_dated: true,
        }
    } else {
        EffectiveTime {
            at: submitted,
            future_dated: false,
        }
    }
}

/// An item that could not be accepted, kept verbatim.
#[derive(Debug, Clone)]
pub struct NewDeadLetter {
    pub source: String,
    pub channel: Option<Channel>,
    pub external_id: Option<String>,
    pub reason: String,
    /// The stable code of the reason (`duplicate_key`, `invalid_field`, …), for the sender's
    /// answer; the stored reason is the text.
    pub code: &'static str,
    pub raw: Vec<u8>,
    pub raw_content_type: String,
    pub received_at: DateTime<Utc>,
}

/// A stored complaint, current version: what the pipeline's stages, the search index, the API
/// and `export` read (one shape, one query; see the store's reads).
#[derive(Debug, Clone, Serialize)]
pub struct Complaint {
    pub id: String,
    pub seq: i64,
    pub source: String,
    pub channel: String,
    pub external_id: String,
    pub revision: i64,
    pub received_at: String,
    /// As the item gave it (or the received time when it gave none).
    pub submitted_at: DateTime<FixedOffset>,
    /// The time clocks, windows and orderings use: `submitted_at`, or the received time when
    /// `submitted_at` lay too far in the future (see [`effective_time`]).
    #[serde(skip)]
    pub effective_at: DateTime<Utc>,
    /// The given `submitted_at` lay more than `intake.future_tolerance_secs` past
    /// `received_at`: grouping, hot issues, deadlines and search order use `received_at`.
    pub future_dated: bool,
    /// Loaded from an archive (`import --historical`): answered elsewhere, no deadline, no
    /// notice.
    pub historical: bool,
    pub title: Option<String>,
    pub body: String,
    pub text_norm: String,
    pub item: Item,
    pub content_hash: String,
    /// The bytes as received. Read with one complaint and by `export`; the batch reads of the
    /// pipeline and the indexer leave it empty (they never need it, and it can be large).
    #[serde(skip)]
    pub raw: Vec<u8>,
    pub raw_content_type: String,
    /// Derived attributes (case, category, queue, …) as stored.
    pub facets: facets::Facets,
    /// The case the grouping stage assigned in the batch being processed (stages after it
    /// route and notify per case); `None` as read.
    #[serde(skip)]
    pub case_id: Option<String>,
}

/// A superseded version of a complaint.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionRecord {
    pub revision: i64,
    pub received_at: String,
    pub submitted_at: String,
    pub title: Option<String>,
    pub body: String,
    pub item: Item,
    pub content_hash: String,
    #[serde(skip)]
    pub raw: Vec<u8>,
    pub raw_content_type: String,
    pub superseded_at: String,
}

/// A dead-lettered item.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetterRecord {
    pub id: String,
    pub source: String,
    pub channel: Option<String>,
    pub external_id: Option<String>,
    pub received_at: String,
    pub reason: String,
    #[serde(skip)]
    pub raw: Vec<u8>,
    pub raw_content_type: String,
    pub replayed_at: Option<String>,
    pub replayed_as: Option<String>,
}

/// The store: one handle, whatever the backend (the one dispatch point; a second backend is
/// added in [`Store::open`]). Derefs to [`Backend`], whose traits list every operation.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl std::ops::Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}

impl Store {
    /// Opens (creating if needed) the embedded SQLite store in `data_dir`, applies migrations
    /// and starts the writer.
    pub async fn open(data_dir: &Path, settings: CommitSettings) -> Result<Store, StoreError> {
        let backend = sqlite::SqliteStore::open(data_dir, settings).await?;
        Ok(Store {
            backend: Arc::new(backend),
        })
    }
}

/// Group-commit settings of the writer.
#[derive(Debug, Clone, Copy)]
pub struct CommitSettings {
    /// Most operations per transaction.
    pub max_items: usize,
    /// How long to wait for more work before committing a partial batch.
    pub linger: Duration,
    /// How far past its receipt a `submitted_at` may lie before the item is future-dated
    /// (see [`effective_time`]). Kept with the store so that every path writing through it
    /// (webhook, import, pull sources, dead-letter replay) applies the configured rule.
    pub future_tolerance: chrono::Duration,
    /// SQLite's `max_page_count` for every connection: the store's size bound, if any.
    pub max_page_count: Option<u64>,
}

impl Default for CommitSettings {
    fn default() -> Self {
        CommitSettings {
            max_items: 2000,
            linger: Duration::ZERO,
            future_tolerance: chrono::Duration::days(1),
            max_page_count: None,
        }
    }
}

/// Formats a UTC time the way the store keeps it (fixed width, sortable).
pub fn format_utc(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// What the `item` column keeps of an item: its JSON without the title and the body (they are
/// the `title` and `body` columns; [`parse_item`] puts them back), so that the text is not
/// stored twice. An item's body is never empty, so an empty one marks such a row; rows
/// written before keep the whole item, and read as they are.
pub(crate) fn stored_item_json(item: &Item) -> String {
    let text_less = Item {
        title: None,
        body: String::new(),
        ..item.clone()
    };
    serde_json::to_string(&text_less).expect("an item always serialises")
}

/// A stored item (the `item` column's JSON, see [`stored_item_json`]) with the row's `title`
/// and `body` columns.
pub(crate) fn parse_item(
    json: &str,
    title: Option<String>,
    body: &str,
) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("item JSON: {e}")))?;
    if item.body.is_empty() {
        item.body = body.to_string();
        item.title = title;
    }
    Ok(item)
}

/// How many characters of a body the snippet reads take ([`text_norm_from_stored`] of the
/// title and this start of the body): a snippet shows far fewer, and deriving a whole text for
/// each member of a large case would cost the case page time for nothing.
pub(crate) const SNIPPET_SOURCE_CHARS: i64 = 400;

/// A complaint's matching text from its `text_norm` column: empty means "derived", the
/// [`connectors::text::matching_text`] of the row's title and body (what this binary stores
/// for every complaint: the text is not kept a fourth time); any other value is kept as stored
/// (a complaint normalised by an older binary, or a text a reprocess set).
pub(crate) fn text_norm_from_stored(stored: String, title: Option<&str>, body: &str) -> String {
    if stored.is_empty() {
        connectors::text::matching_text(title, body)
    } else {
        stored
    }
}

#[cfg(test)]
pub mod conformance;

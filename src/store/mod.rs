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

mod checkpoint;
mod commit;
pub mod facets;
mod read;
mod schema;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use connectors::{Channel, Item};
use serde::Serialize;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::watch;

pub use read::{DeadLetterFilter, ExportRow, QueuedWindow};
pub use writer::{WriteBatch, WriteOp, WriteOutcome, Writer};

/// Store failures. Callers answer 5xx / exit non-zero; the message is logged, not shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database: {0}")]
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
}

impl StoreError {
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

/// A complaint ready to be stored (parsed, validated, normalised). Built with
/// [`NewComplaint::new`], which does the CPU work (serialising, hashing, normalising) so the
/// single writer does none.
#[derive(Debug, Clone)]
pub struct NewComplaint {
    pub source: String,
    pub channel: Channel,
    pub item: Item,
    /// The item's canonical JSON: stored, and what the content hash covers.
    pub item_json: String,
    pub content_hash: String,
    pub text_norm: String,
    pub raw: Vec<u8>,
    pub raw_content_type: String,
    pub received_at: DateTime<Utc>,
    /// The time clocks, windows and orderings use (see [`effective_time`]); stored as
    /// `submitted_ms`.
    pub effective_at: DateTime<Utc>,
    /// The item's `submitted_at` lies more than the tolerance past `received_at`.
    pub future_dated: bool,
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
        let item_json = serde_json::to_string(&item).expect("an item always serialises");
        // The same bytes `Item::content_hash` hashes, serialised once.
        let content_hash =
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(item_json.as_bytes()));
        NewComplaint {
            source: source.to_string(),
            channel,
            text_norm: item.normalized_text(),
            item,
            item_json,
            content_hash,
            raw,
            raw_content_type,
            received_at,
            effective_at: effective.at,
            future_dated: effective.future_dated,
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

/// A stored complaint, current version.
#[derive(Debug, Clone, Serialize)]
pub struct ComplaintRecord {
    pub id: String,
    pub seq: i64,
    pub source: String,
    pub channel: String,
    pub external_id: String,
    pub revision: i64,
    pub received_at: String,
    /// As the item gave it (or the received time when it gave none).
    pub submitted_at: String,
    /// The given `submitted_at` lay more than `intake.future_tolerance_secs` past
    /// `received_at`: grouping, hot issues, deadlines and search order use `received_at`.
    pub future_dated: bool,
    pub title: Option<String>,
    pub body: String,
    pub text_norm: String,
    pub item: Item,
    pub content_hash: String,
    #[serde(skip)]
    pub raw: Vec<u8>,
    pub raw_content_type: String,
    /// Derived attributes (case, category, queue, …).
    pub facets: facets::Facets,
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

/// The minimum the search indexer needs of a complaint.
#[derive(Debug, Clone)]
pub struct IndexRow {
    pub id: String,
    pub seq: i64,
    pub source: String,
    pub channel: String,
    pub external_id: String,
    pub revision: i64,
    /// As the item gave it: shown in results.
    pub submitted_at: DateTime<FixedOffset>,
    /// The effective time (`submitted_ms`, see [`effective_time`]): what results sort and
    /// filter by.
    pub effective_at: DateTime<Utc>,
    pub title: Option<String>,
    pub body: String,
    pub facets: facets::Facets,
}

/// Handle to the store: a pool of readers plus the single group-commit writer.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    derived_pool: SqlitePool,
    writer: Writer,
    committed_seq: watch::Receiver<i64>,
    path: PathBuf,
    future_tolerance: chrono::Duration,
    /// Runs while any handle lives.
    _checkpointer: checkpoint::Checkpointer,
}

/// Name of the SQLite file inside the data directory.
pub const DB_FILE: &str = "gateway.sqlite3";

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

impl Store {
    /// Opens (creating if needed) the store in `data_dir`, applies migrations and starts the
    /// writer task.
    pub async fn open(data_dir: &Path, settings: CommitSettings) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            .pragma("cache_size", "-65536")
            // Checkpoints run on the checkpointer's thread only (see `checkpoint`).
            .pragma("wal_autocheckpoint", "0");
        let options = match settings.max_page_count {
            Some(pages) => options.pragma("max_page_count", pages.to_string()),
            None => options,
        };
        // Every connection is opened here, by the caller's (normal-priority) thread, and kept
        // for the store's life: SQLite runs each connection's statements on a worker thread
        // that inherits the priority of the thread that opened it, and a background thread
        // (lower priority, see `background`) that opened one would hold SQLite's write lock
        // at that priority, starving intake, which waits for the same lock, under load.
        // (Opened one by one after the migrations: a connection that sets WAL mode while
        // another migrates a new file can find the database locked.)
        let pool = SqlitePoolOptions::new()
            .max_connections(READER_CONNECTIONS)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        schema::migrator().run(&pool).await?;
        // Derived data is rebuildable from the store, so its commits need no fsync of their
        // own (the next intake commit or checkpoint syncs the log): one connection, NORMAL.
        let derived_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone().synchronous(SqliteSynchronous::Normal))
            .await?;
        open_all(&pool, READER_CONNECTIONS).await?;
        open_all(&derived_pool, 1).await?;
        let (writer, committed_seq) = Writer::start(path.clone(), settings).await?;
        let checkpointer = checkpoint::Checkpointer::start(&path)?;
        Ok(Store {
            _checkpointer: checkpointer,
            pool,
            derived_pool,
            writer,
            committed_seq,
            path,
            future_tolerance: settings.future_tolerance,
        })
    }

    /// The connection for derived-data writes (pipeline stages): one at a time, no fsync of
    /// its own. Keep its write transactions short: intake waits for the same write lock.
    pub fn derived_pool(&self) -> &SqlitePool {
        &self.derived_pool
    }

    /// The writer, for submitting batches.
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Receives the highest committed sequence number after each commit of this process.
    pub fn committed_seq(&self) -> watch::Receiver<i64> {
        self.committed_seq.clone()
    }

    /// The future-date tolerance intake applies (see [`effective_time`]).
    pub fn future_tolerance(&self) -> chrono::Duration {
        self.future_tolerance
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The reader pool (for modules that run their own read queries).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Stops the writer after it has committed everything submitted so far, and closes the pool.
    pub async fn close(self) {
        self.writer.shutdown().await;
        self.derived_pool.close().await;
        self.pool.close().await;
    }
}

/// Connections of the reader pool.
const READER_CONNECTIONS: u32 = 4;

/// Opens `n` connections of `pool` on the calling thread (see [`Store::open`]).
async fn open_all(pool: &SqlitePool, n: u32) -> Result<(), sqlx::Error> {
    let mut held = Vec::with_capacity(n as usize);
    for _ in 0..n {
        held.push(pool.acquire().await?);
    }
    Ok(())
}

/// Formats a UTC time the way the store keeps it (fixed width, sortable).
pub fn format_utc(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A stored item (the `item` column's JSON).
pub(crate) fn parse_item(json: &str) -> Result<Item, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("item JSON: {e}")))
}

#[cfg(test)]
mod future_tests;
#[cfg(test)]
mod tests;

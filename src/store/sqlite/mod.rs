//! The SQLite backend: the embedded default.
//!
//! SQLite in WAL mode with `synchronous=FULL`. Every complaint keeps its raw payload verbatim
//! (compressed, [`raw_encoding`]), its parsed item (title and body in columns of their own, the
//! rest as JSON) and a content hash; its matching text is derived when read. `(source,
//! external_id)` is unique.
//! All intake writes go through one [`writer::Writer`] that group-commits concurrent requests
//! on its own connection (rusqlite, on its own thread), and a caller is answered only after its
//! transaction is durably committed. Checkpoints run on their own thread ([`checkpoint`]),
//! never inside a commit. Derived data is written on one connection of its own
//! ([`SqliteTx`]), without an fsync of its own: it is rebuildable from the log.

mod accountability;
mod answers;
mod audit;
mod calendar;
mod cases;
mod checkpoint;
mod commit;
pub(crate) mod facets;
mod follow_ups;
mod history_close;
mod open311;
mod outbox;
mod people;
mod raw_encoding;
pub(crate) mod read;
mod routes;
pub(crate) mod schema;
mod stats;
mod stats_rollup;
mod tx;
mod workflow;
pub(crate) mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::watch;

use super::{CommitSettings, StoreError};
pub use tx::SqliteTx;
use writer::Writer;

/// The SQLite store: a pool of readers, one derived-data connection and the single
/// group-commit writer.
#[derive(Clone)]
pub struct SqliteStore {
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

/// Attempts of [`SqliteStore::open`] when SQLite answers "database is locked" while the
/// connections are being set up.
const OPEN_ATTEMPTS: u32 = 5;

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`, applies migrations and starts the
    /// writer task.
    ///
    /// Setting up the connections of a new file can meet another connection's lock without
    /// SQLite's busy handler being asked (seen once in about a hundred CI runs, on a fresh
    /// store under load): such an open is retried from the start, with a growing pause, a few
    /// times. A half-made attempt leaves nothing behind (its pools and threads are dropped;
    /// each migration is one transaction).
    pub async fn open(
        data_dir: &Path,
        settings: CommitSettings,
    ) -> Result<SqliteStore, StoreError> {
        let mut attempt = 1;
        loop {
            match Self::open_once(data_dir, settings).await {
                Err(error) if error.is_busy() && attempt < OPEN_ATTEMPTS => {
                    tracing::warn!(%error, attempt, "opening the store met a lock; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn open_once(
        data_dir: &Path,
        settings: CommitSettings,
    ) -> Result<SqliteStore, StoreError> {
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
            .pragma("wal_autocheckpoint", "0")
            .pragma(
                "journal_size_limit",
                checkpoint::LOG_LIMIT_BYTES.to_string(),
            );
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
            .connect_with(options.clone().pragma("cache_size", READER_CACHE_KIB))
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
        Ok(SqliteStore {
            _checkpointer: checkpointer,
            pool,
            derived_pool,
            writer,
            committed_seq,
            path,
            future_tolerance: settings.future_tolerance,
        })
    }
}

/// Bytes SQLite holds in this process (page caches, statements, schema): its own count.
pub fn memory_used() -> i64 {
    // SAFETY: a read of SQLite's memory statistics; callable at any time from any thread.
    unsafe { rusqlite::ffi::sqlite3_memory_used() }
}

/// Page cache of each reader connection, in KiB as SQLite's `cache_size` takes it (negative):
/// reads are point lookups and short scans that the operating system's page cache serves well,
/// so four readers keep 16 MiB each; the two writing connections keep 64 MiB. The process's
/// SQLite memory is bounded near 200 MiB however large the store grows.
const READER_CACHE_KIB: &str = "-16384";

/// Connections of the reader pool.
const READER_CONNECTIONS: u32 = 4;

/// Opens `n` connections of `pool` on the calling thread (see [`SqliteStore::open`]).
async fn open_all(pool: &SqlitePool, n: u32) -> Result<(), sqlx::Error> {
    let mut held = Vec::with_capacity(n as usize);
    for _ in 0..n {
        held.push(pool.acquire().await?);
    }
    Ok(())
}

#[cfg(test)]
mod future_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_once_tests;

#[cfg(test)]
mod conformance {
    use futures::FutureExt;
    use futures::future::BoxFuture;

    use crate::store::conformance::Fixture;
    use crate::store::{CommitSettings, Store};

    fn open() -> BoxFuture<'static, Fixture> {
        async {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let store = Store::open(dir.path(), CommitSettings::default())
                .await
                .expect("a fresh SQLite store opens");
            Fixture {
                store,
                _keep: Box::new(dir),
            }
        }
        .boxed()
    }

    crate::conformance_suite!(open);
}

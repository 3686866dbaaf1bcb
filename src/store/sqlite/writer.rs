//! The single group-commit writer.
//!
//! Every intake write of the process goes through one thread that owns one SQLite connection
//! and calls SQLite directly (no statement crosses threads). Requests that arrive while a
//! commit is in flight (or within the linger time) share the next transaction, so a burst of
//! concurrent webhooks costs one fsync, not one each. A request is answered only after
//! `COMMIT` returned: the caller may then acknowledge its sender.
//!
//! Sequence numbers are taken inside the `BEGIN IMMEDIATE` transaction from the stored maximum,
//! so they stay strictly increasing in commit order even when another process (an `import`
//! while `serve` runs) writes to the same file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{oneshot, watch};

use super::commit::commit;
use crate::store::{CommitSettings, StoreError, WriteBatch, WriteOutcome};

/// Longest wait of [`Writer::yield_to_commits`].
const MAX_YIELD: Duration = Duration::from_secs(1);

type Reply = oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>;

enum Job {
    Write { batch: WriteBatch, reply: Reply },
    Stop(oneshot::Sender<()>),
}

/// Handle to the writer thread.
#[derive(Clone)]
pub struct Writer {
    jobs_tx: mpsc::Sender<Job>,
    /// Batches submitted and not yet answered.
    pending: Arc<AtomicUsize>,
}

impl Writer {
    /// Opens the writer's own connection and starts its thread.
    pub(super) async fn start(
        path: PathBuf,
        settings: CommitSettings,
    ) -> Result<(Writer, watch::Receiver<i64>), StoreError> {
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        // The writer has its own OS thread and calls SQLite directly: under a flood of
        // requests it is one thread among a few, not one task among thousands, and a
        // statement costs no hop to another thread.
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(
                move || match open_connection(&path, settings.max_page_count) {
                    Ok((conn, max_seq)) => {
                        let (seq_tx, seq_rx) = watch::channel(max_seq);
                        let _ = ready_tx.send(Ok(seq_rx));
                        run(conn, jobs_rx, settings, seq_tx);
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                    }
                },
            )
            .map_err(|e| StoreError::Commit(format!("cannot start the writer thread: {e}")))?;
        let seq_rx = ready_rx.await.map_err(|_| StoreError::WriterGone)??;
        Ok((
            Writer {
                jobs_tx,
                pending: Arc::default(),
            },
            seq_rx,
        ))
    }

    /// Commits `batch` durably and returns one outcome per operation, in order.
    pub async fn submit(&self, batch: WriteBatch) -> Result<Vec<WriteOutcome>, StoreError> {
        let _pending = PendingGuard::new(&self.pending);
        let (reply, reply_rx) = oneshot::channel();
        self.jobs_tx
            .send(Job::Write { batch, reply })
            .map_err(|_| StoreError::WriterGone)?;
        reply_rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Batches waiting for their commit right now. Derived-data writers (the pipeline) let
    /// intake go first while this is not zero.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Waits (at most a second) while batches wait for their commit: derived-data
    /// writers call it before taking SQLite's write lock, so acknowledgements come first and
    /// derived work still advances under sustained load.
    pub async fn yield_to_commits(&self) {
        let started = Instant::now();
        while self.pending() > 0 && started.elapsed() < MAX_YIELD {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Waits until everything submitted before this call is committed, then stops the thread.
    pub async fn shutdown(&self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.jobs_tx.send(Job::Stop(done_tx)).is_ok() {
            let _ = done_rx.await;
        }
    }
}

/// The writer's connection (schema already migrated by the pool) and the stored highest seq.
fn open_connection(
    path: &Path,
    max_page_count: Option<u64>,
) -> Result<(Connection, i64), StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // No SQLite busy handler on the writer: its back-off sleeps grow to 100 ms, so under
    // contention intake would lose the lock to the other writers again and again. `commit`
    // polls for it instead. Checkpoints run on the checkpointer's connection, never inside
    // an intake commit.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -65536;
         PRAGMA wal_autocheckpoint = 0;
         PRAGMA journal_size_limit = {};",
        super::checkpoint::LOG_LIMIT_BYTES
    ))?;
    if let Some(pages) = max_page_count {
        // A query: the pragma answers with the bound in force.
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
    }
    conn.busy_timeout(Duration::ZERO)?;
    conn.set_prepared_statement_cache_capacity(32);
    let max_seq = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM complaints", [], |row| {
        row.get(0)
    })?;
    Ok((conn, max_seq))
}

/// Counts a submitted batch until its answer arrives (or the caller gives up).
struct PendingGuard<'a>(&'a AtomicUsize);

impl<'a> PendingGuard<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        PendingGuard(count)
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn run(
    conn: Connection,
    jobs_rx: mpsc::Receiver<Job>,
    settings: CommitSettings,
    seq_tx: watch::Sender<i64>,
) {
    let mut stop: Option<oneshot::Sender<()>> = None;
    while stop.is_none() {
        let Ok(first) = jobs_rx.recv() else {
            break;
        };
        let mut pending: Vec<(WriteBatch, Reply)> = Vec::new();
        let mut items = 0usize;
        let mut push =
            |job: Job, pending: &mut Vec<(WriteBatch, Reply)>, items: &mut usize| match job {
                Job::Write { batch, reply } => {
                    *items += batch.ops.len().max(1);
                    pending.push((batch, reply));
                    true
                }
                Job::Stop(done) => {
                    stop = Some(done);
                    false
                }
            };
        let mut more = push(first, &mut pending, &mut items);
        let deadline = Instant::now() + settings.linger;
        while more && items < settings.max_items {
            let next = match jobs_rx.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::TryRecvError::Disconnected) => None,
                Err(mpsc::TryRecvError::Empty) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        None
                    } else {
                        jobs_rx.recv_timeout(left).ok()
                    }
                }
            };
            match next {
                Some(job) => more = push(job, &mut pending, &mut items),
                None => break,
            }
        }
        if !pending.is_empty() {
            commit_and_reply(&conn, pending, &seq_tx);
        }
    }
    if let Err((_, error)) = conn.close() {
        tracing::warn!(%error, "closing the writer connection failed");
    }
    if let Some(done) = stop {
        let _ = done.send(());
    }
}

fn commit_and_reply(
    conn: &Connection,
    pending: Vec<(WriteBatch, Reply)>,
    seq_tx: &watch::Sender<i64>,
) {
    let started = Instant::now();
    let batches: Vec<&WriteBatch> = pending.iter().map(|(b, _)| b).collect();
    let items: usize = batches.iter().map(|b| b.ops.len()).sum();
    let advance = |max_seq: i64| {
        seq_tx.send_if_modified(|current| {
            let changed = max_seq > *current;
            *current = (*current).max(max_seq);
            changed
        });
    };
    match commit(conn, &batches) {
        Ok((outcomes, max_seq)) => {
            crate::telemetry::commit_done(items, pending.len(), started.elapsed());
            advance(max_seq);
            for ((_, reply), outcome) in pending.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(error) if pending.len() > 1 => {
            // One bad request must not fail the others: commit each on its own.
            tracing::warn!(%error, requests = pending.len(), "group commit failed, retrying one by one");
            for (batch, reply) in pending {
                let answer = commit(conn, &[&batch])
                    .map(|(mut outcomes, max_seq)| {
                        advance(max_seq);
                        outcomes.pop().unwrap_or_default()
                    })
                    .map_err(StoreError::from);
                let _ = reply.send(answer);
            }
        }
        Err(error) if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) => {
            tracing::warn!(%error, requests = pending.len(), "commit refused: the store is full");
            for (_, reply) in pending {
                let _ = reply.send(Err(StoreError::Full(error.to_string())));
            }
        }
        Err(error) => {
            tracing::error!(%error, "commit failed");
            for (_, reply) in pending {
                let _ = reply.send(Err(StoreError::Commit(error.to_string())));
            }
        }
    }
}

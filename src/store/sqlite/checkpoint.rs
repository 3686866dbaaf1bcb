//! Checkpoints: copying the write-ahead log back into the database file.
//!
//! No commit of this process runs a checkpoint (every connection has `wal_autocheckpoint = 0`):
//! a checkpoint fsyncs the database file, and inside an intake commit that would add its time
//! to the acknowledgements of the whole batch. Instead this thread runs a `PASSIVE` checkpoint
//! (which never blocks writers or readers) every [`INTERVAL`], on its own connection; with
//! nothing new in the log it costs a few shared-memory lock calls.
//!
//! A passive checkpoint never makes the log start over while readers and writers keep it busy
//! (measured: a 100,000-item `import` left a 1.1 GB log, and every page read searches the log's
//! index, which grows with it). So once the log holds more than [`RESTART_FRAMES`], the next
//! checkpoint is a `RESTART`: it waits up to [`RESTART_WAIT`] for readers of the old log and
//! holds writers back meanwhile, then the log is rewritten from its start.
//!
//! Every connection has `journal_size_limit` = [`LOG_LIMIT_BYTES`]: whenever the log starts
//! over (a writer finds it all copied back and unread), the file is cut back to that size, so
//! its size on disk follows the log's use instead of keeping its highest mark for the
//! process's life (a soak showed it creeping up from 7 to 14 MiB in ten minutes of steady load).

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// Time between two checkpoints.
const INTERVAL: Duration = Duration::from_millis(200);

/// Log frames (pages) beyond which a checkpoint restarts the log.
const RESTART_FRAMES: i64 = 16_384;

/// Longest wait of a restarting checkpoint for readers (and writers) of the old log.
const RESTART_WAIT: Duration = Duration::from_millis(100);

/// Size the log file is cut back to when it starts over (SQLite's `journal_size_limit`, set
/// on every connection: the writer that restarts the log is the one that cuts it).
pub(super) const LOG_LIMIT_BYTES: i64 = 4 << 20;

/// Handle to the checkpointer thread; the thread ends when every handle is dropped.
#[derive(Clone)]
pub(super) struct Checkpointer {
    /// Dropped with the last handle: the thread sees the channel close and exits.
    _stop_tx: Arc<mpsc::Sender<()>>,
}

impl Checkpointer {
    /// Opens a connection on `path` and starts the thread.
    pub(super) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.execute_batch(&format!(
            "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = {LOG_LIMIT_BYTES};"
        ))?;
        conn.busy_timeout(RESTART_WAIT)?;
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || run(conn, stop_rx))
            .map_err(|e| StoreError::Commit(format!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer {
            _stop_tx: Arc::new(stop_tx),
        })
    }
}

fn run(conn: Connection, stop_rx: mpsc::Receiver<()>) {
    let mut mode = Mode::Passive;
    loop {
        match stop_rx.recv_timeout(INTERVAL) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let log_frames = checkpoint(&conn, mode);
                mode = if log_frames > RESTART_FRAMES {
                    Mode::Restart
                } else {
                    Mode::Passive
                };
            }
            // Every handle is gone: exit (SQLite checkpoints when the last connection closes).
            _ => return,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Passive,
    Restart,
}

/// Runs one checkpoint; returns the frames the log held (0 when it could not tell).
fn checkpoint(conn: &Connection, mode: Mode) -> i64 {
    let sql = match mode {
        Mode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
        Mode::Restart => "PRAGMA wal_checkpoint(RESTART)",
    };
    let result = conn.query_row(sql, [], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, i64>(2)?,
        ))
    });
    match result {
        Ok((busy, log_frames, copied)) => {
            tracing::trace!(?mode, busy, log_frames, copied, "checkpoint");
            // After a restart the log is empty whatever it held.
            if matches!(mode, Mode::Restart) && busy == 0 {
                0
            } else {
                log_frames
            }
        }
        Err(error) => {
            tracing::warn!(%error, ?mode, "checkpoint failed");
            0
        }
    }
}

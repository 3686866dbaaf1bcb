//! Checkpoints: copying the write-ahead log back into the database file.
//!
//! No commit of this process runs a checkpoint (every connection has `wal_autocheckpoint = 0`):
//! a checkpoint fsyncs the database file, and inside an intake commit that would add its time
//! to the acknowledgements of the whole batch. Instead this thread runs a `PASSIVE` checkpoint
//! (which never blocks writers or readers) every [`INTERVAL`], on its own connection; with
//! nothing new in the log it costs a few shared-memory lock calls. SQLite restarts the log from its beginning once a checkpoint has copied
//! all of it, so the log stays a few megabytes under steady load.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// Time between two checkpoints.
const INTERVAL: Duration = Duration::from_millis(200);

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
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0;")?;
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
    loop {
        match stop_rx.recv_timeout(INTERVAL) {
            Err(mpsc::RecvTimeoutError::Timeout) => checkpoint(&conn),
            // Every handle is gone: exit (SQLite checkpoints when the last connection closes).
            _ => return,
        }
    }
}

fn checkpoint(conn: &Connection) {
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    });
    match result {
        Ok((log_frames, copied)) => {
            tracing::trace!(log_frames, copied, "checkpoint");
        }
        Err(error) => tracing::warn!(%error, "checkpoint failed"),
    }
}

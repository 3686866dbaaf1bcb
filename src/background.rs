//! Background threads: indexing and the derived pipeline run on their own OS threads. Under a
//! burst, acknowledging intake (which must wait for a durable commit) comes first; search and
//! derived data lag a little and catch up after, which the index-lag metric shows.
//!
//! The indexer runs only on CPU time nothing else wants (Linux `SCHED_IDLE`, nice 19 where that
//! is refused): on an idle gateway it indexes at full speed, within the index commit interval,
//! and under a burst it yields both cores to intake and catches up when the burst ends
//! (measured with `bench intake`: a nice value of 10 still took about a third of both cores
//! from intake). The pipeline does not: it
//! holds SQLite's write lock while its stages write, and a low-priority holder of a lock that
//! intake waits for, preempted by request handling, would hold it many times longer (priority
//! inversion; measured: intake fell to a few hundred items/s). The pipeline instead lets intake
//! go first (`Writer::yield_to_commits`) and keeps its CPU work outside the transaction.

use std::future::Future;
use std::thread::JoinHandle;

/// Nice value of background threads where the idle scheduling class is refused (19 is the
/// lowest).
const BACKGROUND_NICE: i32 = 19;

/// Lets the calling thread run only when a core is otherwise idle (Linux: `SCHED_IDLE`, per
/// thread; the nice value as a fallback). Threads it creates afterwards inherit it. Elsewhere,
/// does nothing.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain system calls on the calling thread (pid 0 = the caller); `param` lives
        // for the call.
        let idle = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if idle == 0 {
            return;
        }
        // SAFETY: as above.
        let result = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, BACKGROUND_NICE)
        };
        if result != 0 {
            tracing::debug!("could not lower the priority of a background thread");
        }
    }
}

/// CPU priority of a background thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Like request handling (threads that hold the store's write lock).
    Normal,
    /// Lower than request handling.
    Low,
}

/// Runs `make()`'s future on a new thread with its own single-threaded runtime.
pub fn spawn_async<F, Fut>(
    name: &str,
    priority: Priority,
    make: F,
) -> std::io::Result<JoinHandle<()>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            if priority == Priority::Low {
                lower_priority();
            }
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(make()),
                Err(error) => tracing::error!(%error, "cannot start a background runtime"),
            }
        })
}

/// Below this many items, [`par_map`] stays on the calling thread (threads cost more than
/// they save, and a serving gateway's small batches should not take both cores from intake).
pub const PARALLEL_MIN: usize = 256;

/// `items.iter().map(f)`, on as many scoped threads as there are cores when there are at
/// least [`PARALLEL_MIN`] items; results in order. For the pipeline's CPU work that needs no
/// database (model predictions, feature extraction) on the large batches of `import` and
/// `reprocess`.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() < PARALLEL_MIN || threads < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

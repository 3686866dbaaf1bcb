//! Background threads: indexing and the derived pipeline run on their own OS threads at a lower
//! CPU priority than request handling. Under a burst, acknowledging intake (which must wait for
//! a durable commit) comes first; search and derived data lag a little and catch up after,
//! which the index-lag metric shows.

use std::future::Future;
use std::thread::JoinHandle;

/// Nice value of background threads (0 is normal, 19 the lowest).
const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority (Linux: the nice value is per thread). Threads it
/// creates afterwards inherit it. Elsewhere, does nothing.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread; no memory is shared.
        let result = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, BACKGROUND_NICE)
        };
        if result != 0 {
            tracing::debug!("could not lower the priority of a background thread");
        }
    }
}

/// Runs `make()`'s future on a new low-priority thread with its own single-threaded runtime.
pub fn spawn_async<F, Fut>(name: &str, make: F) -> std::io::Result<JoinHandle<()>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            lower_priority();
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(make()),
                Err(error) => tracing::error!(%error, "cannot start a background runtime"),
            }
        })
}

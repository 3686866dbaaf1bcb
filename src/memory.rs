//! Memory hygiene for a gateway that runs for months: what a long `serve` asks of the
//! operating system and the C allocator so that its resident memory follows what it holds.
//!
//! Measured with `bench soak` (README, Soak): the program's own heap stays level under steady
//! load, yet the process grew by about 10 MiB a minute, from two sources outside it:
//! - **Transparent huge pages.** mimalloc asks for huge pages on its arenas; the kernel then
//!   backs a 2 MiB range once any byte of it is used and keeps (or, through `khugepaged`,
//!   rebuilds) it after the allocator gave most of it back. Turned off for the process.
//! - **glibc's arenas.** SQLite and zstd are C and allocate through glibc's `malloc`, not
//!   the Rust allocator. SQLite in WAL mode drops a reader's page cache whenever another
//!   connection wrote, so under steady intake the caches are freed and refilled all the time;
//!   glibc keeps the freed pages in its per-thread arenas, which grew by 3–6 MiB a minute
//!   while SQLite itself held 6–9 MiB. `malloc_trim` gives those free pages back every
//!   [`TRIM_EVERY`].

use std::time::{Duration, Instant};

/// Time between two `malloc_trim` calls.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Set to `1` to keep transparent huge pages (e.g. a machine tuned for them on purpose).
pub const ALLOW_THP_ENV: &str = "COMPLAINT_GATEWAY_ALLOW_THP";

/// Called once at the start of `serve`: turns transparent huge pages off for this process
/// (unless [`ALLOW_THP_ENV`] is `1`) and starts the trimming thread.
pub fn for_long_run() {
    if std::env::var(ALLOW_THP_ENV).as_deref() != Ok("1") {
        disable_transparent_huge_pages();
    }
    let started = std::thread::Builder::new()
        .name("memory-trim".into())
        .spawn(|| {
            loop {
                std::thread::sleep(TRIM_EVERY);
                let took = trim();
                if took > Duration::from_millis(50) {
                    tracing::debug!(?took, "malloc_trim was slow");
                }
            }
        });
    if let Err(error) = started {
        tracing::warn!(%error, "cannot start the memory trimming thread");
    }
}

#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    // SAFETY: prctl with PR_SET_THP_DISABLE only sets a flag of this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "cannot turn transparent huge pages off"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}

/// Gives glibc's free pages back to the system; returns how long it took.
pub fn trim() -> Duration {
    let started = Instant::now();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
    started.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Of the whole pages inside the given blocks, how many are resident (`mincore`): a page
    /// the allocator gave back is not. Counted on these blocks alone, so other tests running
    /// beside this one cannot move the figure.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn resident_pages(blocks: &[*mut libc::c_void], len: usize) -> (usize, usize) {
        let page = 4096usize;
        let (mut resident, mut total) = (0, 0);
        for p in blocks {
            let start = (*p as usize).div_ceil(page) * page;
            let end = (*p as usize + len) / page * page;
            if end <= start {
                continue;
            }
            let mut vec = vec![0u8; (end - start) / page];
            // SAFETY: mincore only reports on a page-aligned range of this process's memory.
            let rc =
                unsafe { libc::mincore(start as *mut libc::c_void, end - start, vec.as_mut_ptr()) };
            assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
            total += vec.len();
            resident += vec.iter().filter(|v| *v & 1 == 1).count();
        }
        (resident, total)
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn trimming_gives_freed_c_heap_back_to_the_system() {
        // Blocks through glibc's malloc (as SQLite's page caches are), every other one kept so
        // the freed ones cannot merge into the top of the heap and be released by free itself.
        const BLOCK: usize = 64 * 1024;
        // SAFETY: plain malloc/free of blocks this test owns; the freed ones are only looked at
        // through mincore, never read or written.
        let blocks: Vec<*mut libc::c_void> = (0..1_000)
            .map(|_| unsafe {
                let p = libc::malloc(BLOCK);
                std::ptr::write_bytes(p as *mut u8, 1, BLOCK);
                p
            })
            .collect();
        let freed: Vec<*mut libc::c_void> = blocks.iter().copied().step_by(2).collect();
        for p in &freed {
            unsafe { libc::free(*p) };
        }
        let (before, total) = resident_pages(&freed, BLOCK);
        trim();
        let (after, _) = resident_pages(&freed, BLOCK);
        for p in blocks.iter().skip(1).step_by(2) {
            unsafe { libc::free(*p) };
        }
        assert!(total > 5_000, "{total} whole pages inside the freed blocks");
        assert!(
            before * 10 >= total * 9,
            "free alone gave back {} of {total} pages: nothing left for the trim to show",
            total - before
        );
        assert!(
            after * 2 < total,
            "after the trim {after} of {total} freed pages are still resident"
        );
    }
}

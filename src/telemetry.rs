//! Telemetry as named events: each function logs and/or counts one thing, so a call site is
//! one line and metric names live in one place. Labels are low-cardinality (source, outcome,
//! reason); personal data never appears in a log line or a label.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// How often recorded histogram samples are drained into their buckets.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder once per process and returns the handle that renders it.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
            ])
            .expect("static buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        // A recorder built this way keeps every histogram sample until a render or an upkeep
        // drains it into the buckets: without a scraper, every commit's figures would pile up
        // for the process's life. Drained every few seconds instead.
        let upkeep = handle.clone();
        let started = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(METRICS_UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(error) = started {
            tracing::warn!(%error, "cannot start the metrics upkeep thread");
        }
        // Another recorder may already be installed (tests embedding the app); keep ours for
        // rendering either way.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Initialises logging from `RUST_LOG` (default `info`); `json` selects JSON lines. Colours
/// only on a terminal: a log file or a journal gets plain text.
pub fn init_logging(json: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if json {
        builder.json().with_writer(std::io::stderr).try_init()
    } else {
        builder.with_writer(std::io::stderr).try_init()
    };
}

/// Outcome of one item at intake.
pub fn intake_item(source: &str, outcome: &'static str) {
    counter!("gateway_intake_items_total", "source" => source.to_string(), "outcome" => outcome)
        .increment(1);
}

/// A webhook request refused before any item was read. Counted always; logged at most once per
/// [`SAMPLE_INTERVAL`] with the number since the last line (a flood of unsigned requests must
/// not become a flood of log lines). `source` is a configured name or `unknown`.
pub fn webhook_rejected(source: &str, reason: &'static str) {
    static SAMPLE: Sampled = Sampled::new();
    counter!("gateway_webhook_rejected_total", "source" => source.to_string(), "reason" => reason)
        .increment(1);
    if let Some(count) = SAMPLE.tick() {
        tracing::info!(
            source,
            reason,
            refused_since_last_line = count,
            "webhook requests refused (one line per interval; see gateway_webhook_rejected_total)"
        );
    }
}

/// A connection refused over `http.max_connections`; counted, and logged as webhook refusals
/// are.
pub fn connection_refused() {
    static SAMPLE: Sampled = Sampled::new();
    counter!("gateway_http_connections_refused_total").increment(1);
    if let Some(count) = SAMPLE.tick() {
        tracing::warn!(
            refused_since_last_line = count,
            "connections refused over http.max_connections (one line per interval)"
        );
    }
}

/// Shortest time between two log lines of a sampled event.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(10);

/// A noisy event's log sampling: the first occurrence is logged, then at most one per
/// [`SAMPLE_INTERVAL`], each line carrying how many occurred since the previous one.
struct Sampled {
    /// Milliseconds since [`process_start`] of the last line, plus one (0: never logged).
    last_line_ms: AtomicU64,
    since_last_line: AtomicU64,
}

impl Sampled {
    const fn new() -> Sampled {
        Sampled {
            last_line_ms: AtomicU64::new(0),
            since_last_line: AtomicU64::new(0),
        }
    }

    /// Counts one occurrence; `Some(count since the last line)` when this one is to be logged.
    fn tick(&self) -> Option<u64> {
        self.tick_at(process_start().elapsed().as_millis() as u64 + 1)
    }

    /// [`Sampled::tick`] at `now` milliseconds (at least 1).
    fn tick_at(&self, now: u64) -> Option<u64> {
        self.since_last_line.fetch_add(1, Ordering::Relaxed);
        let last = self.last_line_ms.load(Ordering::Relaxed);
        if last != 0 && now < last + SAMPLE_INTERVAL.as_millis() as u64 {
            return None;
        }
        // One caller wins the line; the others are counted in the next one.
        self.last_line_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .ok()?;
        Some(self.since_last_line.swap(0, Ordering::Relaxed).max(1))
    }
}

fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// A group commit finished.
pub fn commit_done(items: usize, requests: usize, elapsed: Duration) {
    histogram!("gateway_commit_batch_items").record(items as f64);
    histogram!("gateway_commit_batch_requests").record(requests as f64);
    histogram!("gateway_commit_seconds").record(elapsed.as_secs_f64());
}

/// The search index committed.
pub fn index_commit(elapsed: Duration) {
    histogram!("gateway_index_commit_seconds").record(elapsed.as_secs_f64());
}

/// How many store sequence numbers the index is behind.
pub fn index_lag(lag: i64) {
    gauge!("gateway_index_lag").set(lag as f64);
}

/// How many store sequence numbers the pipeline (cases, classification, routing) is behind.
/// The grouping engine's sizes after a batch: what it holds in memory.
pub fn grouping_engine(stats: &crate::grouping::EngineStats) {
    gauge!("gateway_grouping_window_complaints").set(stats.window_complaints as f64);
    gauge!("gateway_grouping_live_cases").set(stats.live_cases as f64);
    gauge!("gateway_grouping_vocabulary").set(stats.vocabulary as f64);
    gauge!("gateway_grouping_heap_bytes").set(stats.approx_heap_bytes as f64);
}

/// What the embedded database engine holds in memory (page caches, statements), in bytes.
pub fn engine_memory(bytes: i64) {
    gauge!("gateway_sqlite_memory_bytes").set(bytes as f64);
}

/// The heap the program holds (allocated, not yet freed), where the allocator can say: a build
/// with glibc's allocator (`--no-default-features`) reports `gateway_heap_in_use_bytes`, so a
/// memory diagnosis can tell the program's own growth from memory the allocator keeps.
pub fn heap_in_use() {
    #[cfg(all(not(feature = "mimalloc"), target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's counters.
        let info = unsafe { libc::mallinfo2() };
        gauge!("gateway_heap_in_use_bytes").set((info.uordblks + info.hblkhd) as f64);
    }
}

/// The search index after a commit: its segments, and the document-store blocks its readers
/// keep decompressed (each up to the store's block size).
pub fn index_sizes(segments: usize, doc_store_blocks: usize) {
    gauge!("gateway_index_segments").set(segments as f64);
    gauge!("gateway_index_doc_store_cached_blocks").set(doc_store_blocks as f64);
}

pub fn pipeline_lag(lag: i64) {
    gauge!("gateway_pipeline_lag").set(lag as f64);
}

/// A deadline was counted past the working-day calendar's last year.
pub fn deadline_provisional(year: i32) {
    tracing::warn!(
        year,
        "deadline counted on weekdays alone: no working-day calendar for {year}; add config/calendar/{year}.toml from the State Council's holiday notice"
    );
    counter!("gateway_deadlines_provisional_total").increment(1);
}

/// A pull source's loop started.
pub fn source_started(source: &str) {
    tracing::info!(source, "source started");
    gauge!("gateway_source_up", "source" => source.to_string()).set(1.0);
}

/// A pull source's loop stopped (shutdown).
pub fn source_stopped(source: &str) {
    tracing::info!(source, "source stopped");
}

/// A pull source could not be built from its file; the others run.
pub fn source_not_started(source: &str, kind: &'static str) {
    tracing::error!(
        source,
        kind,
        "source not started; see GET /v1/sources for the reason"
    );
    gauge!("gateway_source_up", "source" => source.to_string()).set(0.0);
    counter!("gateway_source_errors_total", "source" => source.to_string(), "kind" => kind)
        .increment(1);
}

/// One poll answered (`ok`) or failed (`error`), and how long it took.
pub fn source_poll(source: &str, outcome: &'static str, elapsed: Duration) {
    counter!("gateway_source_polls_total", "source" => source.to_string(), "outcome" => outcome)
        .increment(1);
    histogram!("gateway_source_poll_seconds", "source" => source.to_string())
        .record(elapsed.as_secs_f64());
}

/// A polled batch was committed (item outcomes are counted by [`intake_item`]).
pub fn source_batch(source: &str, items: usize, summary: &connectors::CommitSummary) {
    tracing::debug!(
        source,
        items,
        stored = summary.stored,
        duplicates = summary.duplicates,
        revisions = summary.revisions,
        dead_lettered = summary.dead_lettered,
        "batch committed"
    );
}

/// A poll succeeded: the source is healthy.
pub fn source_succeeded(
    source: &str,
    skipped: u64,
    warnings: usize,
    at: chrono::DateTime<chrono::Utc>,
) {
    let label = source.to_string();
    counter!("gateway_source_skipped_total", "source" => label.clone()).increment(skipped);
    if warnings > 0 {
        tracing::warn!(
            source,
            warnings,
            "source reported warnings; see GET /v1/sources"
        );
        counter!("gateway_source_warnings_total", "source" => label.clone())
            .increment(warnings as u64);
    }
    gauge!("gateway_source_up", "source" => label.clone()).set(1.0);
    gauge!("gateway_source_consecutive_failures", "source" => label.clone()).set(0.0);
    gauge!("gateway_source_last_success_timestamp_seconds", "source" => label)
        .set(at.timestamp() as f64);
}

/// A poll or its commit failed; the source retries after `retry_in`. Only the error's kind is
/// logged: messages may quote upstream answers and are shown to staff in the source status.
pub fn source_failed(
    source: &str,
    kind: &'static str,
    permanent: bool,
    failures: u32,
    retry_in: Duration,
) {
    let retry_in_ms = retry_in.as_millis() as u64;
    if permanent {
        tracing::error!(
            source,
            kind,
            failures,
            retry_in_ms,
            "source failed; retrying at the slowest cadence"
        );
    } else {
        tracing::warn!(source, kind, failures, retry_in_ms, "poll failed; retrying");
    }
    let label = source.to_string();
    counter!("gateway_source_errors_total", "source" => label.clone(), "kind" => kind).increment(1);
    gauge!("gateway_source_up", "source" => label.clone()).set(0.0);
    gauge!("gateway_source_consecutive_failures", "source" => label).set(f64::from(failures));
}

/// The connector's after-commit step failed (the items are committed).
pub fn source_ack_failed(source: &str, kind: &'static str) {
    tracing::warn!(
        source,
        kind,
        "after-commit step failed; the batch will be read again"
    );
    counter!("gateway_source_errors_total", "source" => source.to_string(), "kind" => "ack")
        .increment(1);
}

/// Sample files were copied into a drop folder (demo seeding).
pub fn source_seeded(files: usize) {
    tracing::info!(files, "sample files copied into drop folders");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sampled_event_logs_its_first_occurrence_then_at_most_once_per_interval() {
        let sample = Sampled::new();
        let interval = SAMPLE_INTERVAL.as_millis() as u64;
        assert_eq!(sample.tick_at(5), Some(1));
        for i in 0..1000 {
            assert_eq!(sample.tick_at(5 + i), None);
        }
        // The next line carries every occurrence since the previous one.
        assert_eq!(sample.tick_at(5 + interval), Some(1001));
        assert_eq!(sample.tick_at(6 + interval), None);
    }
}

//! Telemetry as named events: each function logs and/or counts one thing, so a call site is
//! one line and metric names live in one place. Labels are low-cardinality (source, outcome,
//! reason); personal data never appears in a log line or a label.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

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
        // Another recorder may already be installed (tests embedding the app); keep ours for
        // rendering either way.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Initialises logging from `RUST_LOG` (default `info`); `json` selects JSON lines.
pub fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
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

/// A webhook request refused before any item was read.
pub fn webhook_rejected(source: &str, reason: &'static str) {
    tracing::info!(source, reason, "webhook request rejected");
    counter!("gateway_webhook_rejected_total", "source" => source.to_string(), "reason" => reason)
        .increment(1);
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

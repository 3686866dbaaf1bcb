//! Pull sources: the intake loop that runs every configured connector.
//!
//! Each file under `sources.connectors_dir` is one source (see the `connectors` crate). At start
//! the gateway loads them all (an invalid file stops `serve` with a message naming the file and
//! key), then runs one task per source: poll, commit through [`crate::intake`], acknowledge,
//! wait. The contract every runner keeps:
//!
//! - **Nothing lost, nothing doubled.** A batch's cursor is saved in the same transaction as its
//!   items and adopted only after that commit; a failed poll, a failed commit or a crash re-reads
//!   from the last committed cursor, and the store's `(source, external_id)` uniqueness makes the
//!   re-read harmless.
//! - **One failing source never stops another.** Each source has its own task, backoff and
//!   status; a source whose connector cannot even be built (a missing secret) is shown failed
//!   and the others run.
//! - **Polite to upstreams.** One rate limiter per `host:port` shared by its sources; retries
//!   back off exponentially with jitter and never come before the upstream's `Retry-After`.
//! - **Logs carry source names, counts and error kinds only**, never item content; messages are
//!   in the status (`GET /v1/sources`), behind the staff token.
//!
//! Modules: [`load`] (files, relative paths, demo seeding), [`runner`] (the loop),
//! [`backoff`] (retry arithmetic), [`limiter`] (per-upstream limits), [`sink`] (the commit and
//! the clock, injectable), [`status`] (what the API shows), [`persist`] (status across restarts).

pub mod backoff;
pub mod limiter;
pub mod load;
pub mod persist;
pub mod runner;
pub mod sink;
pub mod status;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use connectors::Cursor;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::intake::Origin;
use crate::store::Store;
use backoff::RetryPolicy;
use limiter::Limiters;
use load::LoadError;
use runner::SourceRunner;
use sink::{StoreSink, SystemClock};
use status::{LastError, SourceRegistry, SourceState, SourceStatus, StatusHandle};

/// The pull sources: loaded and built by [`Sources::load`], running after [`Sources::start`].
pub struct Sources {
    registry: Arc<SourceRegistry>,
    /// Built runners not started yet.
    ready: Vec<SourceRunner>,
    tasks: Vec<(String, JoinHandle<()>)>,
    flusher: Option<JoinHandle<()>>,
    stop: CancellationToken,
    store: Store,
    /// The `[callback]` tables of the sources that have one.
    callbacks: Vec<(String, connectors::http_json::CallbackConfig)>,
}

impl Sources {
    /// Seeds the demo drop folders, loads the connector files (relative to the working
    /// directory) and builds every connector, without polling yet. Webhook senders are listed in
    /// the registry too, as `push` sources.
    pub async fn load(config: &Config, store: &Store) -> Result<Sources, LoadError> {
        let working_dir = std::env::current_dir().map_err(LoadError::WorkingDir)?;
        let seeded = load::seed(&config.sources.seed, &working_dir)?;
        if seeded > 0 {
            crate::telemetry::source_seeded(seeded);
        }
        let specs = load::load_specs(config, &working_dir)?;
        let registry = Arc::new(SourceRegistry::default());
        let now = chrono::Utc::now();
        let mut saved = persist::load(store).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "saved source status unreadable; counters start afresh");
            Default::default()
        });
        let mut counts = persist::load_counts(store).await?;
        for (name, webhook) in &config.webhooks {
            let mut status = SourceStatus::new(name, webhook.channel.as_str(), "webhook", now);
            status.state = SourceState::Push;
            if let Some(previous) = saved.remove(name) {
                status.resume_from(previous);
            }
            if let Some(received) = counts.remove(name) {
                status.received = received;
            }
            registry.insert(status);
        }
        let mut limiters = Limiters::default();
        for spec in &specs {
            if let (Some(upstream), Some(quota)) =
                (spec.config.upstream(), spec.config.max_requests_per_min())
            {
                limiters.register(&upstream, quota);
            }
        }
        let sink = Arc::new(StoreSink {
            store: store.clone(),
        });
        let callbacks = specs
            .iter()
            .filter_map(|spec| match &spec.config {
                connectors::ConnectorConfig::HttpJson(c) => {
                    // An invalid one fails the source's build, which says why.
                    c.callback
                        .clone()
                        .filter(|cb| cb.check(&spec.name).is_ok())
                        .map(|cb| (spec.name.clone(), cb))
                }
                _ => None,
            })
            .collect();
        let mut ready = Vec::new();
        for spec in specs {
            let name = spec.name.clone();
            let channel = spec.config.channel();
            let mut status = SourceStatus::new(&name, channel.as_str(), spec.config.kind(), now);
            status.upstream = spec.config.upstream();
            if let Some(previous) = saved.remove(&name) {
                status.resume_from(previous);
            }
            if let Some(received) = counts.remove(&name) {
                status.received = received;
            }
            let cursor = saved_cursor(store, &name).await?;
            status.cursor = cursor.as_ref().map(|c| c.0.clone());
            let connector = match spec.build_with(config.parse_options()) {
                Ok(connector) => connector,
                Err(error) => {
                    status.state = SourceState::Failed;
                    status.healthy = false;
                    status.last_error = Some(LastError {
                        at: now,
                        kind: "config".into(),
                        message: error.to_string(),
                        permanent: true,
                    });
                    registry.insert(status);
                    crate::telemetry::source_not_started(&name, "config");
                    continue;
                }
            };
            registry.insert(status);
            let policy = RetryPolicy::new(
                Duration::from_millis(config.sources.retry_initial_ms),
                Duration::from_secs(config.sources.retry_max_secs),
                spec.config.poll_interval(),
            );
            let mut runner = SourceRunner::new(
                Origin {
                    source: name.clone(),
                    channel,
                    historical: false,
                },
                connector,
                sink.clone(),
                StatusHandle::new(registry.clone(), &name),
                policy,
                Arc::new(SystemClock),
                cursor,
            );
            runner.limiter = spec.config.upstream().map(|u| limiters.get(&u));
            ready.push(runner);
        }
        Ok(Sources {
            registry,
            ready,
            tasks: Vec::new(),
            flusher: None,
            stop: CancellationToken::new(),
            store: store.clone(),
            callbacks,
        })
    }

    /// The sources that send answers back by callback, with their `[callback]` tables.
    pub fn callbacks(&self) -> &[(String, connectors::http_json::CallbackConfig)] {
        &self.callbacks
    }

    /// Starts one task per source (the first polls are immediate) and the status flusher.
    pub fn start(&mut self) {
        for runner in self.ready.drain(..) {
            let name = runner.origin.source.clone();
            self.tasks
                .push((name, tokio::spawn(runner.run(self.stop.clone()))));
        }
        self.flusher = Some(tokio::spawn(persist::run_flusher(
            self.store.clone(),
            self.registry.clone(),
            self.stop.clone(),
        )));
    }

    /// The status registry, for the API.
    pub fn registry(&self) -> Arc<SourceRegistry> {
        self.registry.clone()
    }

    /// Stops every runner (a commit in flight finishes first) by `deadline`, then saves the
    /// status. A runner still busy at the deadline is aborted: its uncommitted batch is read
    /// again at the next start.
    pub async fn stop(self, deadline: tokio::time::Instant) {
        self.stop.cancel();
        for (name, mut task) in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                tracing::warn!(source = %name, "source did not stop in time; its batch is read again at the next start");
                task.abort();
            }
        }
        if let Some(flusher) = self.flusher {
            let _ = flusher.await;
        }
        if let Err(error) = persist::flush(&self.store, &self.registry).await {
            tracing::warn!(%error, "source status not saved at shutdown");
        }
    }
}

/// The committed cursor of `source`. A stored value that is not JSON (never written by this
/// version) is ignored and the connector starts from its configured start; a store that cannot
/// be read stops the start rather than re-reading every upstream from the beginning.
async fn saved_cursor(store: &Store, source: &str) -> Result<Option<Cursor>, LoadError> {
    let Some(text) = store.cursor(source).await? else {
        return Ok(None);
    };
    match serde_json::from_str(&text) {
        Ok(value) => Ok(Some(Cursor(value))),
        Err(_) => {
            tracing::warn!(
                source,
                "saved cursor is not JSON; starting from the configured start"
            );
            Ok(None)
        }
    }
}

//! Running the gateway: open the store and the index, start the indexer and the pull sources,
//! serve HTTP until the shutdown future resolves, then stop accepting and polling, finish
//! in-flight requests and commits, commit the index and close the store — within
//! [`SHUTDOWN_BUDGET`].

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::AppState;
use crate::calendar::Calendar;
use crate::config::Config;
use crate::index::indexer::{IndexerSettings, follow};
use crate::index::{OpenState, SearchIndex};
use crate::notify::templates::MailTemplates;
use crate::pipeline::{self, Pipeline, PipelineLock, Until};
use crate::sources::Sources;
use crate::sources::backoff::RetryPolicy;
use crate::store::{CommitSettings, Store};

/// How often the pipeline looks for complaints another process (an `import`) stored.
const PIPELINE_POLL: Duration = Duration::from_secs(1);

/// How long the pipeline waits after new complaints before processing them.
const PIPELINE_GATHER: Duration = Duration::from_millis(200);

/// When the pipeline or the indexer runs again after a failure (a full disk, a bug): 5 s,
/// doubling to at most 30 s (no jitter: one process, nothing to spread out).
const LOCAL_RETRY: RetryPolicy = RetryPolicy {
    initial: Duration::from_secs(5),
    max: Duration::from_secs(30),
    failed_cadence: Duration::from_secs(30),
};

/// Longest time from the shutdown signal to exit.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(9);

/// Store settings from the configuration.
pub fn commit_settings(config: &Config) -> CommitSettings {
    CommitSettings {
        max_items: config.intake.commit_max_items,
        linger: Duration::from_micros(config.intake.commit_linger_us),
        future_tolerance: config.future_tolerance(),
        max_page_count: config.intake.store_max_pages,
    }
}

/// Indexer settings from the configuration.
pub fn indexer_settings(config: &Config) -> IndexerSettings {
    IndexerSettings {
        commit_interval: Duration::from_millis(config.search.commit_interval_ms),
        writer_heap_bytes: config.search.writer_heap_mb << 20,
    }
}

/// The index writer's memory budget for the bulk commands (`import`, `index rebuild`,
/// catching up): on 100,000 real-length complaints, 512 MiB instead of 128 left a third of the
/// segments to merge and cost 15–18 % less CPU.
pub fn bulk_writer_heap_bytes(config: &Config) -> usize {
    config
        .search
        .bulk_writer_heap_mb
        .max(config.search.writer_heap_mb)
        << 20
}

/// Opens the index, logging what was found (a missing or corrupt index is replaced and then
/// rebuilt by the indexer).
pub fn open_index(config: &Config) -> anyhow::Result<SearchIndex> {
    let (index, state) = SearchIndex::open_or_create(&config.data_dir)?;
    match state {
        OpenState::Existing { seq } => tracing::info!(seq, "search index opened"),
        OpenState::Created => tracing::info!("search index created; indexing the store"),
        OpenState::Replaced { reason } => {
            tracing::warn!(%reason, "search index was unusable and is rebuilt from the store")
        }
    }
    Ok(index)
}

/// Serves on `listener` until `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut config = config;
    if config.email.console_url_unset() {
        // Links in emails lead to where this gateway actually listens.
        let addr = listener.local_addr()?;
        let host = if addr.ip().is_unspecified() {
            tracing::warn!(
                "email links name localhost: set email.console_url to the address the \
                 recipients reach the console at"
            );
            "localhost".to_string()
        } else {
            addr.ip().to_string()
        };
        config.email.console_url = format!("http://{host}:{}/console", addr.port());
    }
    let config = Arc::new(config);
    // Checked before anything runs: a broken edited template stops the start, naming the file
    // and the line, instead of sending broken mail.
    let templates = Arc::new(MailTemplates::load(&config.notify.templates_dir)?);
    let _ = crate::telemetry::prometheus();
    crate::index::analyzer::warm_up();
    let store = Store::open(&config.data_dir, commit_settings(&config)).await?;
    let pipeline_lock = PipelineLock::try_acquire(&config.data_dir)?.ok_or_else(|| {
        anyhow::anyhow!(
            "another gateway process runs on {}; one `serve` per data directory",
            config.data_dir.display()
        )
    })?;
    // Connector files are checked before anything runs: an invalid one stops the start.
    let mut sources = Sources::load(&config, &store).await?;
    let index = open_index(&config)?;
    let index_ready = Arc::new(AtomicBool::new(false));
    let stop_indexer = CancellationToken::new();
    let (writer_tx, writer_rx) = tokio::sync::oneshot::channel();
    let indexer = {
        let (index, store, token, ready) = (
            index.clone(),
            store.clone(),
            stop_indexer.clone(),
            index_ready.clone(),
        );
        let settings = indexer_settings(&config);
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("indexer".into())
            .spawn(move || {
                // tantivy's indexing threads are created with the writer and inherit this.
                crate::background::lower_priority();
                let writer = match index.writer(settings.writer_heap_bytes) {
                    Ok(writer) => {
                        let _ = writer_tx.send(Ok(()));
                        writer
                    }
                    Err(error) => {
                        let _ = writer_tx.send(Err(error));
                        return;
                    }
                };
                supervise_indexer(index, writer, store, settings, runtime, token, ready)
            })?
    };
    writer_rx
        .await
        .map_err(|_| anyhow::anyhow!("the indexer thread stopped"))??;
    let stop_pipeline = CancellationToken::new();
    // Loaded once: the pipeline, the API (corrections are routed with them) and the notifier
    // share them.
    let routing = Arc::new(config.routing.load()?);
    if routing.queue(&config.accountability.queue).is_none() {
        tracing::warn!(
            queue = %config.accountability.queue,
            "accountability.queue is not a queue of the routing file: only admins can record \
             accountability (责任追究)"
        );
    }
    let calendar = Arc::new(
        crate::notify::calendar_years::load_shared(&store, &config.deadlines.calendar_dir).await?,
    );
    let pipeline = Pipeline::standard_with(
        &config,
        routing.clone(),
        calendar.clone(),
        templates.clone(),
    );
    let pipeline_thread = {
        let (store, token) = (store.clone(), stop_pipeline.clone());
        crate::background::spawn_async(
            "pipeline",
            crate::background::Priority::Normal,
            move || run_pipeline(pipeline, store, pipeline_lock, token),
        )?
    };
    warn_if_calendar_ends_soon(&calendar.current(), chrono::Utc::now().date_naive());
    let stop_notify = CancellationToken::new();
    let notify_tasks =
        crate::notify::worker::start(&config, &store, &calendar, &templates, &stop_notify)?;
    let callbacks = Arc::new(crate::answers::Callbacks::resolve(
        sources.callbacks(),
        &connectors::auth::process_env,
    ));
    let stop_callbacks = CancellationToken::new();
    let callback_task = crate::answers::callback::start(
        store.clone(),
        callbacks.clone(),
        routing.clone(),
        stop_callbacks.clone(),
    );
    let stop_rollup = CancellationToken::new();
    let rollup_task = crate::stats::rollup::start(
        store.clone(),
        config.parse_options().default_offset.local_minus_utc(),
        stop_rollup.clone(),
    );
    let open311 = crate::open311::Open311Runtime::new(&config.open311, &routing)
        .map_err(|e| anyhow::anyhow!("invalid config: {e}"))?;
    let state = AppState {
        callbacks,
        open311: Arc::new(open311),
        routing,
        calendar,
        templates,
        sources: sources.registry(),
        webhooks: Arc::new(crate::webhook::runtimes(&config)),
        refusals: Arc::new(crate::webhook::refusals::Refusals::new(&config.http)),
        api_tokens: Arc::new(config.api.tokens()),
        auth: Arc::default(),
        login_limits: Arc::new(crate::api::session::LoginLimits::new(
            config.api.logins_per_minute,
        )),
        config: config.clone(),
        store: store.clone(),
        index,
        index_ready,
    };
    match store.user_count().await {
        Ok(0) if state.api_tokens.is_empty() && config.listen.ip().is_loopback() => {
            tracing::info!(
                "no staff account yet: the staff API is open on this loopback address until the first is created with `complaint-gateway user add NAME --role admin`; the console (http://{}/console) needs that account to log in",
                config.listen
            );
        }
        Ok(0) if state.api_tokens.is_empty() => {
            tracing::warn!(listen = %config.listen, "no staff account and no API token: every staff request is refused until an admin is created with `complaint-gateway user add NAME --role admin`");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot count staff accounts"),
    }
    let local = listener.local_addr()?;
    tracing::info!(address = %local, data_dir = %config.data_dir.display(), "complaint-gateway listening");
    sources.start();
    let stop_http = CancellationToken::new();
    let server = {
        let (stop, http) = (stop_http.clone(), config.http.clone());
        let router = crate::api::router(state);
        tokio::spawn(async move { crate::http::serve::serve(listener, router, &http, stop).await })
    };
    shutdown.await;
    tracing::info!("shutting down: no new connections or polls, finishing requests in flight");
    stop_http.cancel();
    let deadline = tokio::time::Instant::now() + SHUTDOWN_BUDGET;
    let sources_stopped = tokio::spawn(sources.stop(deadline - Duration::from_secs(3)));
    if tokio::time::timeout_at(deadline - Duration::from_secs(3), server)
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the grace period; closing them");
    }
    let _ = sources_stopped.await;
    stop_notify.cancel();
    stop_callbacks.cancel();
    stop_rollup.cancel();
    for task in notify_tasks
        .into_iter()
        .chain(callback_task)
        .chain(Some(rollup_task))
    {
        let _ = tokio::time::timeout_at(deadline - Duration::from_secs(2), task).await;
    }
    stop_pipeline.cancel();
    let pipeline_stopped = tokio::task::spawn_blocking(move || pipeline_thread.join());
    if tokio::time::timeout_at(deadline - Duration::from_secs(2), pipeline_stopped)
        .await
        .is_err()
    {
        tracing::warn!("pipeline did not stop in time; it resumes from its last batch");
    }
    stop_indexer.cancel();
    let joined = tokio::time::timeout_at(
        deadline - Duration::from_secs(1),
        tokio::task::spawn_blocking(move || indexer.join()),
    )
    .await;
    match joined {
        Ok(Ok(Ok(()))) => tracing::info!("search index committed"),
        _ => tracing::warn!("indexer did not stop in time; the index resumes from its last commit"),
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Runs the pipeline over every new complaint until `shutdown`; failures are logged and retried
/// with a growing pause (the batch is repeated, nothing is skipped).
async fn run_pipeline(
    mut pipeline: Pipeline,
    store: Store,
    lock: PipelineLock,
    shutdown: CancellationToken,
) {
    let until = Until::Shutdown {
        shutdown: &shutdown,
        retry: LOCAL_RETRY,
        gather: PIPELINE_GATHER,
        poll: PIPELINE_POLL,
    };
    // Failures are retried inside; it returns at shutdown.
    let _ = pipeline::follow(&mut pipeline, &store, &lock, until, &mut |_| {}).await;
}

/// Runs the indexer until `shutdown`; when it fails (a full disk, a bug), the failure is
/// logged, readiness drops, and it restarts from its last commit with a fresh writer.
fn supervise_indexer(
    index: SearchIndex,
    writer: tantivy::IndexWriter,
    store: Store,
    settings: IndexerSettings,
    runtime: tokio::runtime::Handle,
    shutdown: CancellationToken,
    ready: Arc<AtomicBool>,
) {
    let mut writer = Some(writer);
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        let result = (|| -> Result<(), crate::index::IndexError> {
            let mut current = match writer.take() {
                Some(w) => w,
                None => index.writer(settings.writer_heap_bytes)?,
            };
            let mut logged = 0;
            index.catch_up(&mut current, &store, &runtime, &mut |n| {
                if n >= logged + 50_000 {
                    logged = n;
                    tracing::info!(rows = n, "indexing the store");
                }
            })?;
            ready.store(true, Ordering::Relaxed);
            follow(
                index.clone(),
                current,
                store.clone(),
                settings,
                runtime.clone(),
                shutdown.clone(),
            )
        })();
        match result {
            Ok(()) => return,
            Err(error) => {
                failures += 1;
                ready.store(false, Ordering::Relaxed);
                tracing::error!(%error, failures, "indexer failed; restarting from its last commit");
                let backoff = LOCAL_RETRY.ceiling(failures);
                runtime.block_on(async {
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => {}
                    }
                });
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// Days before the calendar's last day from which `serve` warns that next year's file is missing.
const CALENDAR_WARNING_DAYS: i64 = 60;

/// Warns when the working-day calendar ends within [`CALENDAR_WARNING_DAYS`]: past its last
/// year, working-day deadlines are counted on weekdays alone and marked provisional.
fn warn_if_calendar_ends_soon(calendar: &Calendar, today: chrono::NaiveDate) {
    match calendar.last_day() {
        None => tracing::warn!(
            "the working-day calendar has no year: every working-day deadline is provisional"
        ),
        Some(last) if (last - today).num_days() < CALENDAR_WARNING_DAYS => {
            let next = chrono::Datelike::year(&last) + 1;
            tracing::warn!(
                calendar_ends = %last,
                "the working-day calendar ends soon: store {next} from the State Council's \
                 holiday notice (`complaint-gateway calendar import {next}.toml` or PUT \
                 /v1/calendar/{next}); until then deadlines in {next} are provisional and are \
                 counted again once it is stored"
            );
        }
        Some(_) => {}
    }
}

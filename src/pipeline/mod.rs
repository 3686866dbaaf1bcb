//! The pipeline: everything derived from a complaint (normalised text, case, category, tags,
//! route, deadline, notifications), computed by stages that follow the store's sequence number.
//!
//! Contract:
//! - The store is the log. A stage reads complaints in sequence order and writes only derived
//!   tables; `reprocess` resets the derived data (never human decisions) and replays
//!   everything, and must reach the same result for the same input order.
//! - Each batch is processed in one transaction together with the pipeline cursor, so a crash
//!   repeats a batch rather than skipping it; stages must tolerate seeing a complaint again
//!   (a revision does the same: its sequence number changes).
//! - One process runs the pipeline at a time (a lock file in the data directory): `serve` holds
//!   it while it runs; `import` and `reprocess` run the pipeline themselves only when it is free.
//!
//! Stages are added by implementing [`Stage`] and listing them in [`Pipeline::standard`].

mod assign;
mod classify_route;
mod follow;
mod grouping;
mod grouping_input;
mod history;
mod normalize;
mod read;

use std::any::Any;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use crate::store::DerivedTx;
use futures::future::BoxFuture;

use crate::calendar::{Calendar, SharedCalendar};
use crate::config::Config;
use crate::notify::templates::MailTemplates;
use crate::store::{Store, StoreError};

use read::Prefetch;

pub use assign::AssignStage;
pub use classify_route::ClassifyRouteStage;
pub use follow::{Until, follow};
pub use grouping::GroupingStage;
pub use normalize::NormalizeStage;

/// Complaints handed to the stages per batch: a batch holds the store's write lock while its
/// stages write, so it stays small (intake commits wait for the same lock).
pub const BATCH: i64 = 200;

/// Complaints per batch when nothing else writes (`import`, `reprocess`): fewer, larger
/// transactions.
pub const BATCH_OFFLINE: i64 = 1000;

/// The batch size while intake is busy: a shorter hold of the write lock.
const BATCH_UNDER_LOAD: i64 = 50;

/// Name of the lock file in the data directory.
pub const LOCK_FILE: &str = "pipeline.lock";

/// `gateway_state` key of the last processed sequence number.
const CURSOR_KEY: &str = "pipeline.seq";

/// Pipeline failures.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stage `{stage}`: {message}")]
    Stage {
        stage: &'static str,
        message: String,
    },
    #[error("pipeline lock {path}: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
}

pub use crate::store::Complaint;

/// Identifies a batch (its sequence numbers), so a stage can tell whether what it prepared
/// belongs to the batch it is asked to process.
pub type BatchKey = Vec<i64>;

/// The key of `batch`.
pub fn batch_key(batch: &[Complaint]) -> BatchKey {
    batch.iter().map(|c| c.seq).collect()
}

/// Work on a batch that needs nothing but its complaints and the stage's immutable state
/// (model predictions, text features): the pipeline runs it on another thread while the
/// previous batch writes, and hands the result to [`Stage::adopt`].
pub type Precompute = Arc<dyn Fn(&[Complaint]) -> Box<dyn Any + Send> + Send + Sync>;

/// One step of the pipeline.
pub trait Stage: Send {
    /// Stable name, used in errors and logs.
    fn name(&self) -> &'static str;

    /// The stage's [`Precompute`], when it has one now (asked after each `prepare`).
    fn precompute(&self) -> Option<Precompute> {
        None
    }

    /// Receives what this stage's [`Stage::precompute`] computed for the batch `key`; the
    /// stage's `prepare` of that batch may then skip the work. A stage must check that the
    /// result still fits (e.g. the same model version) and otherwise compute again.
    fn adopt(&mut self, _key: BatchKey, _precomputed: Box<dyn Any + Send>) {}

    /// The batch's CPU work that needs no database (normalising, feature extraction, model
    /// predictions), done before the batch's write transaction opens. SQLite has one write
    /// lock and intake's acknowledgements wait for it, so the lock is held only for the
    /// stages' writes, not while this (low-priority) thread computes. Reads of committed
    /// state (e.g. rebuilding an in-memory engine) belong here too, on `store`'s readers. What a stage
    /// prepares here it uses in [`Stage::process`] of the same batch; `process` must still
    /// work when `prepare` was not called.
    fn prepare<'a>(
        &'a mut self,
        _batch: &'a mut [Complaint],
        _store: &'a Store,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async { Ok(()) })
    }

    /// Loads what the stage keeps in memory (models, recent cases) before the first batch.
    fn load<'a>(&'a mut self, _store: &'a Store) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async { Ok(()) })
    }

    /// Processes complaints in sequence order, writing derived data inside `tx`. A stage may
    /// update the batch (e.g. the normalised text) for the stages after it.
    fn process<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>>;

    /// Forgets derived data and in-memory state before a full reprocess. Human decisions stay.
    fn reset<'a>(
        &'a mut self,
        _tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async { Ok(()) })
    }
}

/// The stages, in order.
pub struct Pipeline {
    stages: Vec<Box<dyn Stage>>,
    loaded: bool,
    /// When cancelled, [`Pipeline::run_pending`] returns after the batch in progress.
    stop: Option<tokio_util::sync::CancellationToken>,
    /// Time spent per step since the pipeline was built (logged at debug level).
    timings: Timings,
    /// Complaints per batch while intake is idle.
    batch: i64,
    /// No server's intake to yield to (see [`Pipeline::run_offline`]).
    offline: bool,
}

/// Where a pipeline's time went: reading batches, each stage's prepare and process, commits.
#[derive(Debug, Default, Clone)]
pub struct Timings {
    pub read: std::time::Duration,
    pub yielded: std::time::Duration,
    /// Per stage: (name, prepare, process).
    pub stages: Vec<(&'static str, std::time::Duration, std::time::Duration)>,
    pub commit: std::time::Duration,
}

impl std::fmt::Display for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "read {:.2}s, yield {:.2}s",
            self.read.as_secs_f64(),
            self.yielded.as_secs_f64()
        )?;
        for (name, prepare, process) in &self.stages {
            write!(
                f,
                ", {name} {:.2}s+{:.2}s",
                prepare.as_secs_f64(),
                process.as_secs_f64()
            )?;
        }
        write!(f, ", commit {:.2}s", self.commit.as_secs_f64())
    }
}

/// Proof that this process holds the pipeline lock; released on drop.
pub struct PipelineLock {
    _file: File,
}

impl PipelineLock {
    /// Takes the lock, or `Ok(None)` when another process holds it.
    pub fn try_acquire(data_dir: &Path) -> Result<Option<PipelineLock>, PipelineError> {
        let path = data_dir.join(LOCK_FILE);
        let lock_error = |source| PipelineError::Lock {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(lock_error)?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(lock_error)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(PipelineLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(lock_error(e)),
        }
    }
}

impl Pipeline {
    /// The gateway's stages, configured from `config` (loading its routing file and calendar).
    pub fn standard(config: &Config) -> Result<Pipeline, PipelineError> {
        let stage_error = |stage: &'static str, e: &dyn std::fmt::Display| PipelineError::Stage {
            stage,
            message: e.to_string(),
        };
        let routing = config
            .routing
            .load()
            .map_err(|e| stage_error("classify_route", &e))?;
        let calendar = Calendar::load(&config.deadlines.calendar_dir)
            .map_err(|e| stage_error("assign", &e))?;
        let templates = MailTemplates::load(&config.notify.templates_dir)
            .map_err(|e| stage_error("assign", &e))?;
        Ok(Pipeline::standard_with(
            config,
            Arc::new(routing),
            Arc::new(SharedCalendar::from(calendar)),
            Arc::new(templates),
        ))
    }

    /// [`Pipeline::standard`] counting on the calendar years stored in `store` as well (the
    /// commands that run the pipeline on a data directory).
    pub async fn standard_on(config: &Config, store: &Store) -> Result<Pipeline, PipelineError> {
        let routing = config.routing.load().map_err(|e| PipelineError::Stage {
            stage: "classify_route",
            message: e.to_string(),
        })?;
        let calendar =
            crate::notify::calendar_years::load_shared(store, &config.deadlines.calendar_dir)
                .await
                .map_err(|e| PipelineError::Stage {
                    stage: "assign",
                    message: e.to_string(),
                })?;
        let templates = MailTemplates::load(&config.notify.templates_dir).map_err(|e| {
            PipelineError::Stage {
                stage: "assign",
                message: e.to_string(),
            }
        })?;
        Ok(Pipeline::standard_with(
            config,
            Arc::new(routing),
            Arc::new(calendar),
            Arc::new(templates),
        ))
    }

    /// The gateway's stages with the routing configuration, calendar and email templates
    /// already loaded (the server loads them once for the pipeline, the API and the notifier).
    pub fn standard_with(
        config: &Config,
        routing: Arc<crate::routing::RoutingConfig>,
        calendar: Arc<SharedCalendar>,
        templates: Arc<MailTemplates>,
    ) -> Pipeline {
        let classify_route =
            ClassifyRouteStage::new(routing.clone(), crate::routing::model_dir(&config.data_dir));
        let assign = AssignStage::new(
            classify_route.routed_cases(),
            routing,
            Arc::new(config.clone()),
            calendar,
            templates,
        );
        Pipeline::with_stages(vec![
            Box::new(NormalizeStage::default()),
            Box::new(GroupingStage::new(config.grouping.engine.clone())),
            Box::new(classify_route),
            Box::new(assign),
        ])
    }

    /// A pipeline of the given stages (tests).
    pub fn with_stages(stages: Vec<Box<dyn Stage>>) -> Pipeline {
        let timings = Timings {
            stages: stages
                .iter()
                .map(|s| (s.name(), Default::default(), Default::default()))
                .collect(),
            ..Timings::default()
        };
        Pipeline {
            stages,
            loaded: false,
            stop: None,
            timings,
            batch: BATCH,
            offline: false,
        }
    }

    /// Sets the complaints per batch while intake is idle ([`BATCH`] by default; a command
    /// that runs the pipeline with no server uses [`BATCH_OFFLINE`]).
    pub fn set_batch_size(&mut self, batch: i64) {
        self.batch = batch.max(1);
    }

    /// For a command with no server (`import`, `reprocess`): batches of [`BATCH_OFFLINE`],
    /// and no yielding to intake, whose only writer then is the command's own import (it
    /// waits for the lock between two batches rather than the pipeline waiting for it).
    pub fn run_offline(&mut self) {
        self.batch = BATCH_OFFLINE;
        self.offline = true;
    }

    /// Where the time went so far (prepare + process per stage).
    pub fn timings(&self) -> &Timings {
        &self.timings
    }

    /// Makes [`Pipeline::run_pending`] return between two batches once `token` is cancelled
    /// (a serving gateway shutting down with a backlog).
    pub fn stop_on(&mut self, token: tokio_util::sync::CancellationToken) {
        self.stop = Some(token);
    }

    async fn ensure_loaded(&mut self, store: &Store) -> Result<(), PipelineError> {
        if !self.loaded {
            for stage in &mut self.stages {
                stage.load(store).await?;
            }
            self.loaded = true;
        }
        Ok(())
    }

    /// Processes every complaint after the cursor; returns how many. Needs the lock.
    pub async fn run_pending(
        &mut self,
        store: &Store,
        _lock: &PipelineLock,
        on_progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<u64, PipelineError> {
        self.ensure_loaded(store).await?;
        let mut done = 0u64;
        // The next batch, read while the current one writes (the writes are one thread's work).
        let mut prefetched: Option<Prefetch> = None;
        loop {
            if self.stop.as_ref().is_some_and(|t| t.is_cancelled()) {
                return Ok(done);
            }
            // Read and prepare outside the write transaction (see `Stage::prepare`). Only this
            // pipeline (it holds the lock) moves the cursor, so it is unchanged at `BEGIN`; it
            // is checked anyway, and a batch is read again when it is not.
            let clock = std::time::Instant::now();
            let cursor = Self::cursor(store).await?;
            let limit = if !self.offline && store.pending_writes() > 0 {
                BATCH_UNDER_LOAD.min(self.batch)
            } else {
                self.batch
            };
            let (mut batch, precomputed) = match prefetched.take() {
                Some(next) => next.take(cursor, limit).await,
                None => (Vec::new(), Vec::new()),
            };
            if batch.is_empty() {
                batch = store.complaints_after(cursor, limit).await?;
            } else {
                let key = batch_key(&batch);
                for (stage, result) in self.stages.iter_mut().zip(precomputed) {
                    if let Some(result) = result {
                        stage.adopt(key.clone(), result);
                    }
                }
            }
            let Some(last) = batch.last().map(|c| c.seq) else {
                if done > 0 {
                    tracing::debug!(complaints = done, timings = %self.timings, "pipeline idle");
                }
                return Ok(done);
            };
            self.timings.read += clock.elapsed();
            for (stage, timing) in self.stages.iter_mut().zip(&mut self.timings.stages) {
                let clock = std::time::Instant::now();
                stage.prepare(&mut batch, store).await?;
                timing.1 += clock.elapsed();
            }
            if batch.len() as i64 >= limit {
                let precompute = self.stages.iter().map(|s| s.precompute()).collect();
                prefetched = Some(Prefetch::start(store, last, self.batch, precompute));
            }
            let clock = std::time::Instant::now();
            if !self.offline {
                // Intake's acknowledgements take SQLite's one write lock first; derived data
                // lags under a burst and catches up after it (the wait is bounded).
                store.yield_to_commits().await;
            }
            self.timings.yielded += clock.elapsed();
            let mut tx = store.begin_derived().await?;
            let current: i64 = tx
                .state(CURSOR_KEY)
                .await?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if current != cursor {
                tx.rollback().await?;
                continue;
            }
            for (stage, timing) in self.stages.iter_mut().zip(&mut self.timings.stages) {
                let clock = std::time::Instant::now();
                stage.process(&mut batch, &mut *tx).await?;
                timing.2 += clock.elapsed();
            }
            let clock = std::time::Instant::now();
            tx.set_state(CURSOR_KEY, &last.to_string()).await?;
            tx.commit().await?;
            self.timings.commit += clock.elapsed();
            done += batch.len() as u64;
            on_progress(done);
        }
    }

    /// Resets every stage's derived data and processes the whole store again. Needs the lock.
    pub async fn reprocess(
        &mut self,
        store: &Store,
        lock: &PipelineLock,
        on_progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<u64, PipelineError> {
        let mut tx = store.begin_derived().await?;
        tx.clear_facets().await?;
        for stage in &mut self.stages {
            stage.reset(&mut *tx).await?;
        }
        tx.delete_state(CURSOR_KEY).await?;
        tx.commit().await?;
        self.loaded = false;
        self.run_pending(store, lock, on_progress).await
    }

    /// The last processed sequence number.
    pub async fn cursor(store: &Store) -> Result<i64, PipelineError> {
        Ok(store
            .state(CURSOR_KEY)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }
}

#[cfg(test)]
mod tests;

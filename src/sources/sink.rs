//! Where a runner commits its batches, and the clock it reads: both injected, so the loop's
//! unit tests run on paused time with a sink that can fail on demand.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use connectors::connector::BoxFuture;
use connectors::{CommitSummary, RawItem};

use crate::intake::{Origin, ingest};
use crate::store::{Store, StoreError};

/// Commits a batch and its cursor in one transaction.
pub trait Sink: Send + Sync {
    /// Stores `items` and saves `cursor` (when given) in the same transaction; answers only
    /// after the commit is durable.
    fn commit<'a>(
        &'a self,
        origin: &'a Origin,
        items: Vec<RawItem>,
        cursor: Option<String>,
    ) -> BoxFuture<'a, Result<CommitSummary, StoreError>>;
}

/// The real sink: the gateway's intake into the store.
#[derive(Clone)]
pub struct StoreSink {
    pub store: Store,
}

impl Sink for StoreSink {
    fn commit<'a>(
        &'a self,
        origin: &'a Origin,
        items: Vec<RawItem>,
        cursor: Option<String>,
    ) -> BoxFuture<'a, Result<CommitSummary, StoreError>> {
        Box::pin(async move {
            let report = ingest(&self.store, origin, items, cursor).await?;
            Ok(report.counts().into())
        })
    }
}

/// Time as the runner sees it: the wall clock handed to connectors and shown in the status, and
/// the sleeps between polls. Injected so that tests run the loop on simulated time.
pub trait Clock: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> DateTime<Utc>;
    /// Resolves after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The system clock and tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

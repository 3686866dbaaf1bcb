//! Reading batches for the pipeline: in line, or ahead on another task while the previous
//! batch writes (with the stages' [`Precompute`] work done on a blocking thread).

use std::any::Any;

use super::{Complaint, Precompute};
use crate::store::Store;

/// A batch being read (and precomputed, see [`Precompute`]) in the background while the
/// previous one is written. A failed read is not reported: the caller reads again in line and
/// meets the error itself.
pub(super) struct Prefetch {
    after: i64,
    read: tokio::task::JoinHandle<Option<Prefetched>>,
}

/// A prefetched batch and, per stage, its precomputed result.
pub(super) type Prefetched = (Vec<Complaint>, Vec<Option<Box<dyn Any + Send>>>);

impl Prefetch {
    pub(super) fn start(
        store: &Store,
        after: i64,
        limit: i64,
        precompute: Vec<Option<Precompute>>,
    ) -> Self {
        let store = store.clone();
        let read = tokio::spawn(async move {
            let batch = store.complaints_after(after, limit).await.ok()?;
            if batch.is_empty() || precompute.iter().all(Option::is_none) {
                return Some((batch, Vec::new()));
            }
            tokio::task::spawn_blocking(move || {
                let results = precompute
                    .iter()
                    .map(|p| p.as_ref().map(|compute| compute(&batch)))
                    .collect();
                (batch, results)
            })
            .await
            .ok()
        });
        Prefetch { after, read }
    }

    /// The prefetched batch when it follows `cursor`, cut to `limit` (the batch size may have
    /// shrunk since: intake got busy); empty when it does not fit or failed.
    pub(super) async fn take(self, cursor: i64, limit: i64) -> Prefetched {
        if self.after != cursor {
            self.read.abort();
            return (Vec::new(), Vec::new());
        }
        match self.read.await {
            Ok(Some((mut batch, precomputed))) => {
                batch.truncate(limit.max(1) as usize);
                (batch, precomputed)
            }
            _ => (Vec::new(), Vec::new()),
        }
    }
}

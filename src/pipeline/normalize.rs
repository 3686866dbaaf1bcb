//! The first stage: the matching text. The store derives it from the title and body with the
//! code of this very binary when a complaint is read, so on the live path there is nothing to
//! do; complaints stored by an older binary kept the text its normaliser made, and a `reprocess`
//! (which resets the stages) recomputes it, so they are brought up to date after an upgrade.

use crate::store::DerivedTx;
use futures::future::BoxFuture;

use crate::store::Store;

use super::{BatchKey, Complaint, PipelineError, Stage, batch_key};

/// Recomputes `complaints.text_norm` during a reprocess, writing only what changed.
#[derive(Default)]
pub struct NormalizeStage {
    reprocessing: bool,
    /// `(complaint id, fresh text)` of the batch prepared last, where the text changed.
    changed: Vec<(String, String)>,
    /// The batch `changed` belongs to (see [`batch_key`]).
    prepared: Option<BatchKey>,
}

impl NormalizeStage {
    fn recompute(&mut self, batch: &mut [Complaint]) {
        self.changed.clear();
        self.prepared = Some(batch_key(batch));
        if !self.reprocessing {
            return;
        }
        for complaint in batch.iter_mut() {
            let fresh =
                connectors::text::matching_text(complaint.title.as_deref(), &complaint.body);
            if fresh != complaint.text_norm {
                complaint.text_norm = fresh.clone();
                self.changed.push((complaint.id.clone(), fresh));
            }
        }
    }
}

impl Stage for NormalizeStage {
    fn name(&self) -> &'static str {
        "normalize"
    }

    fn prepare<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        _store: &'a Store,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        self.recompute(batch);
        Box::pin(async { Ok(()) })
    }

    fn process<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async move {
            if self.prepared.take() != Some(batch_key(batch)) {
                self.recompute(batch);
                self.prepared = None;
            }
            for (id, fresh) in std::mem::take(&mut self.changed) {
                tx.set_text_norm(&id, &fresh).await?;
            }
            Ok(())
        })
    }

    fn reset<'a>(
        &'a mut self,
        _tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        self.reprocessing = true;
        Box::pin(async { Ok(()) })
    }
}

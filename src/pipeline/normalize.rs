//! The first stage: the matching text. Intake computes it with the code of this very binary, so
//! on the live path there is nothing to do; a `reprocess` (which resets the stages) recomputes
//! it, so complaints stored by an older normaliser are brought up to date after an upgrade.

use futures::future::BoxFuture;
use sqlx::sqlite::SqliteConnection;

use super::{Complaint, PipelineError, Stage};

/// Recomputes `complaints.text_norm` during a reprocess, writing only what changed.
#[derive(Default)]
pub struct NormalizeStage {
    reprocessing: bool,
}

impl Stage for NormalizeStage {
    fn name(&self) -> &'static str {
        "normalize"
    }

    fn process<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        tx: &'a mut SqliteConnection,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async move {
            if !self.reprocessing {
                return Ok(());
            }
            for complaint in batch.iter_mut() {
                let fresh =
                    connectors::text::matching_text(complaint.title.as_deref(), &complaint.body);
                if fresh != complaint.text_norm {
                    sqlx::query("UPDATE complaints SET text_norm = ? WHERE id = ?")
                        .bind(&fresh)
                        .bind(&complaint.id)
                        .execute(&mut *tx)
                        .await?;
                    complaint.text_norm = fresh;
                }
            }
            Ok(())
        })
    }

    fn reset<'a>(
        &'a mut self,
        _tx: &'a mut SqliteConnection,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        self.reprocessing = true;
        Box::pin(async { Ok(()) })
    }
}

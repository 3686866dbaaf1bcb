//! The first stage: the matching text. Intake stores it already; this stage recomputes it when
//! the normaliser improves, so `reprocess` after an upgrade brings old complaints up to date.

use futures::future::BoxFuture;
use sqlx::sqlite::SqliteConnection;

use super::{Complaint, PipelineError, Stage};

/// Recomputes `complaints.text_norm`, writing only what changed.
pub struct NormalizeStage;

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
}

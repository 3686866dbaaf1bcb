//! Derived data, recomputed from the store.
//!
//! The store is the log: everything derived from a complaint can be recomputed from its stored
//! fields. `reprocess` walks every complaint in sequence order and recomputes each derived
//! field with the current code (today: the normalised matching text, which improves when the
//! normaliser does), writing only what changed.

use sqlx::Row;

use crate::store::{Store, StoreError};

/// Complaints handled per transaction.
const BATCH: i64 = 1000;

/// Recomputes every derived field; returns how many complaints changed.
pub async fn reprocess(store: &Store, on_progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
    let mut after = 0i64;
    let mut seen = 0u64;
    let mut changed = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT id, seq, title, body, text_norm FROM complaints WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(store.pool())
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.get("seq");
        let updates: Vec<(String, String)> = rows
            .iter()
            .filter_map(|row| {
                let title: Option<String> = row.get("title");
                let body: String = row.get("body");
                let stored: String = row.get("text_norm");
                let fresh = connectors::text::matching_text(title.as_deref(), &body);
                (fresh != stored).then(|| (row.get("id"), fresh))
            })
            .collect();
        if !updates.is_empty() {
            let mut tx = store.pool().begin().await?;
            for (id, text) in &updates {
                sqlx::query("UPDATE complaints SET text_norm = ? WHERE id = ?")
                    .bind(text)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        changed += updates.len() as u64;
        seen += rows.len() as u64;
        on_progress(seen);
    }
    Ok(changed)
}

//! The bulk statements of [`crate::store::workflow::WorkflowWrites::close_history`] and
//! `case_states`: each a single statement over a JSON list, so closing the cases of an archive
//! batch costs a few round trips to SQLite instead of about ten per case.

use std::collections::HashMap;

use sqlx::sqlite::SqliteConnection;

use super::workflow::state_from_row;
use crate::store::StoreError;
use crate::store::workflow::{CaseState, HistoryCloses};

/// The states of those of `case_ids` that have one.
pub async fn case_states(
    conn: &mut SqliteConnection,
    case_ids: &[&str],
) -> Result<HashMap<String, CaseState>, StoreError> {
    if case_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT case_id, state, queue_key, assignee, merged_into, note, updated_at, updated_by,
            version
         FROM case_workflow WHERE case_id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(case_ids).expect("strings serialise"))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(state_from_row)
        .map(|state| (state.case_id.clone(), state))
        .collect())
}

/// See [`crate::store::workflow::WorkflowWrites::close_history`].
pub async fn close_history(
    conn: &mut SqliteConnection,
    close: &HistoryCloses<'_>,
) -> Result<(), StoreError> {
    if close.cases.is_empty() {
        return Ok(());
    }
    let cases = serde_json::to_string(close.cases).expect("cases serialise");
    // The transitions first: "has no state yet" is read before the states are written.
    sqlx::query(
        "INSERT INTO case_transitions (case_id, action, from_state, to_state, actor, at, detail)
         SELECT json_extract(j.value, '$.case_id'), ?2, ?3, ?4, ?5, ?6,
             json_extract(j.value, '$.detail')
         FROM json_each(?1) AS j
         WHERE NOT EXISTS (SELECT 1 FROM case_workflow w
                           WHERE w.case_id = json_extract(j.value, '$.case_id'))
         ORDER BY j.key",
    )
    .bind(&cases)
    .bind(close.action)
    .bind(close.from_state)
    .bind(close.state)
    .bind(close.actor)
    .bind(close.at)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO case_workflow (case_id, state, queue_key, assignee, merged_into, note,
            updated_at, updated_by, version)
         SELECT json_extract(value, '$.case_id'), ?2, json_extract(value, '$.queue'), NULL,
             NULL, ?3, ?4, ?5, 1
         FROM json_each(?1) WHERE true
         ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(&cases)
    .bind(close.state)
    .bind(close.note)
    .bind(close.at)
    .bind(close.actor)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO case_status (case_id, status, actor, why, updated_at)
         SELECT json_extract(j.value, '$.status_case'), ?2, ?3, ?4, ?5
         FROM json_each(?1) AS j
         WHERE EXISTS (SELECT 1 FROM cases c WHERE c.id = json_extract(j.value, '$.status_case'))
         ON CONFLICT (case_id) DO UPDATE SET status = excluded.status,
             actor = excluded.actor, why = excluded.why, updated_at = excluded.updated_at",
    )
    .bind(&cases)
    .bind(close.status)
    .bind(close.status_actor)
    .bind(close.status_why)
    .bind(close.at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

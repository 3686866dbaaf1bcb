//! SQLite: the case workflow's states, transitions and answers ([`crate::store::workflow`]).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};

use super::{SqliteStore, SqliteTx};
use crate::store::StoreError;
use crate::store::workflow::{
    AnswerRecord, CaseState, ExtensionRequest, HistoryCloses, NewAnswer, NewExtensionRequest,
    NewTransition, QueueInvestigator, TransitionRecord, WorkflowReads, WorkflowWrites, Workload,
};

pub(super) fn state_from_row(row: &SqliteRow) -> CaseState {
    CaseState {
        case_id: row.get("case_id"),
        state: row.get("state"),
        queue_key: row.get("queue_key"),
        assignee: row.get("assignee"),
        merged_into: row.get("merged_into"),
        note: row.get("note"),
        updated_at: row.get("updated_at"),
        updated_by: row.get("updated_by"),
        version: row.get("version"),
    }
}

async fn load_state(
    conn: &mut SqliteConnection,
    case_id: &str,
) -> Result<Option<CaseState>, StoreError> {
    let row = sqlx::query(
        "SELECT case_id, state, queue_key, assignee, merged_into, note, updated_at, updated_by,
            version
         FROM case_workflow WHERE case_id = ?",
    )
    .bind(case_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(state_from_row))
}

async fn load_workload(
    conn: &mut SqliteConnection,
    queue_key: &str,
    open_states: &[&str],
) -> Result<Vec<Workload>, StoreError> {
    let states = serde_json::to_string(open_states).expect("strings serialise");
    let rows = sqlx::query(
        "SELECT assignee, COUNT(*) AS open_cases FROM case_workflow
         WHERE queue_key = ? AND state IN (SELECT value FROM json_each(?))
         GROUP BY assignee ORDER BY open_cases DESC, assignee IS NULL, assignee",
    )
    .bind(queue_key)
    .bind(states)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| Workload {
            assignee: row.get("assignee"),
            open_cases: row.get("open_cases"),
        })
        .collect())
}

async fn load_investigators(
    conn: &mut SqliteConnection,
    queue_key: &str,
) -> Result<Vec<QueueInvestigator>, StoreError> {
    let rows = sqlx::query(
        "SELECT u.name, q.lead, EXISTS (SELECT 1 FROM investigator_away a
                WHERE a.user_name = u.name) AS away
         FROM users u JOIN user_queues q ON q.user_name = u.name
         WHERE q.queue = ? AND u.disabled = 0
           AND EXISTS (SELECT 1 FROM json_each(u.roles) r WHERE r.value = 'investigator')
         ORDER BY u.name",
    )
    .bind(queue_key)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| QueueInvestigator {
            name: row.get("name"),
            lead: row.get::<i64, _>("lead") != 0,
            away: row.get::<i64, _>("away") != 0,
        })
        .collect())
}

async fn load_extension_requests(
    conn: &mut SqliteConnection,
    case_id: &str,
) -> Result<Vec<ExtensionRequest>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, case_id, requested_by, requested_at, working_days, reason, state,
            decided_by, decided_at, decision_note
         FROM extension_requests WHERE case_id = ? ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(extension_request).collect())
}

fn extension_request(row: &SqliteRow) -> ExtensionRequest {
    ExtensionRequest {
        id: row.get("id"),
        request: NewExtensionRequest {
            case_id: row.get("case_id"),
            requested_by: row.get("requested_by"),
            requested_at: row.get("requested_at"),
            working_days: row.get("working_days"),
            reason: row.get("reason"),
        },
        state: row.get("state"),
        decided_by: row.get("decided_by"),
        decided_at: row.get("decided_at"),
        decision_note: row.get("decision_note"),
    }
}

#[async_trait]
impl WorkflowReads for SqliteStore {
    async fn case_state(&self, case_id: &str) -> Result<Option<CaseState>, StoreError> {
        load_state(&mut *self.pool.acquire().await?, case_id).await
    }

    async fn case_transitions(&self, case_id: &str) -> Result<Vec<TransitionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_id, action, from_state, to_state, actor, at, detail
             FROM case_transitions WHERE case_id = ? ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| TransitionRecord {
                id: row.get("id"),
                case_id: row.get("case_id"),
                action: row.get("action"),
                from_state: row.get("from_state"),
                to_state: row.get("to_state"),
                actor: row.get("actor"),
                at: row.get("at"),
                detail: row.get("detail"),
            })
            .collect())
    }

    async fn case_answers(&self, case_id: &str) -> Result<Vec<AnswerRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_id, finding, reply, attachments, answered_by, answered_at
             FROM case_answers WHERE case_id = ? ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let attachments: String = row.get("attachments");
                Ok(AnswerRecord {
                    id: row.get("id"),
                    answer: NewAnswer {
                        case_id: row.get("case_id"),
                        finding: row.get("finding"),
                        reply: row.get("reply"),
                        attachments: serde_json::from_str(&attachments)
                            .map_err(|e| StoreError::Corrupt(format!("answer attachments: {e}")))?,
                        answered_by: row.get("answered_by"),
                        answered_at: row.get("answered_at"),
                    },
                })
            })
            .collect()
    }

    async fn queue_workload(
        &self,
        queue_key: &str,
        open_states: &[&str],
    ) -> Result<Vec<Workload>, StoreError> {
        load_workload(&mut *self.pool.acquire().await?, queue_key, open_states).await
    }

    async fn queue_investigators(
        &self,
        queue_key: &str,
    ) -> Result<Vec<QueueInvestigator>, StoreError> {
        load_investigators(&mut *self.pool.acquire().await?, queue_key).await
    }

    async fn extension_requests(&self, case_id: &str) -> Result<Vec<ExtensionRequest>, StoreError> {
        load_extension_requests(&mut *self.pool.acquire().await?, case_id).await
    }

    async fn undecided_extension_requests(
        &self,
        limit: i64,
    ) -> Result<Vec<ExtensionRequest>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_id, requested_by, requested_at, working_days, reason, state,
                decided_by, decided_at, decision_note
             FROM extension_requests WHERE state = 'requested' ORDER BY id LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(extension_request).collect())
    }
}

#[async_trait]
impl WorkflowWrites for SqliteTx {
    async fn case_state(&mut self, case_id: &str) -> Result<Option<CaseState>, StoreError> {
        load_state(self.conn(), case_id).await
    }

    async fn case_states(
        &mut self,
        case_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, CaseState>, StoreError> {
        super::history_close::case_states(self.conn(), case_ids).await
    }

    async fn close_history(&mut self, close: &HistoryCloses<'_>) -> Result<(), StoreError> {
        super::history_close::close_history(self.conn(), close).await
    }

    async fn put_case_state(
        &mut self,
        state: &CaseState,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let stored: Option<i64> =
            sqlx::query_scalar("SELECT version FROM case_workflow WHERE case_id = ?")
                .bind(&state.case_id)
                .fetch_optional(self.conn())
                .await?;
        if stored != expected_version {
            return Err(StoreError::Conflict(format!(
                "case {} changed meanwhile (version {} now, {} expected)",
                state.case_id,
                stored.map_or("none".into(), |v| v.to_string()),
                expected_version.map_or("none".into(), |v| v.to_string()),
            )));
        }
        sqlx::query(
            "INSERT INTO case_workflow (case_id, state, queue_key, assignee, merged_into, note,
                updated_at, updated_by, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (case_id) DO UPDATE SET state = excluded.state,
                queue_key = excluded.queue_key, assignee = excluded.assignee,
                merged_into = excluded.merged_into, note = excluded.note,
                updated_at = excluded.updated_at, updated_by = excluded.updated_by,
                version = excluded.version",
        )
        .bind(&state.case_id)
        .bind(&state.state)
        .bind(&state.queue_key)
        .bind(&state.assignee)
        .bind(&state.merged_into)
        .bind(&state.note)
        .bind(&state.updated_at)
        .bind(&state.updated_by)
        .bind(expected_version.unwrap_or(0) + 1)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn append_transition(&mut self, t: &NewTransition) -> Result<i64, StoreError> {
        let result = sqlx::query(
            "INSERT INTO case_transitions (case_id, action, from_state, to_state, actor, at,
                detail)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.case_id)
        .bind(&t.action)
        .bind(&t.from_state)
        .bind(&t.to_state)
        .bind(&t.actor)
        .bind(&t.at)
        .bind(t.detail.to_string())
        .execute(self.conn())
        .await?;
        Ok(result.last_insert_rowid())
    }

    async fn record_answer(&mut self, a: &NewAnswer) -> Result<i64, StoreError> {
        let result = sqlx::query(
            "INSERT INTO case_answers (case_id, finding, reply, attachments, answered_by,
                answered_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.case_id)
        .bind(&a.finding)
        .bind(&a.reply)
        .bind(serde_json::to_string(&a.attachments).expect("strings serialise"))
        .bind(&a.answered_by)
        .bind(&a.answered_at)
        .execute(self.conn())
        .await?;
        Ok(result.last_insert_rowid())
    }

    async fn queue_workload(
        &mut self,
        queue_key: &str,
        open_states: &[&str],
    ) -> Result<Vec<Workload>, StoreError> {
        load_workload(self.conn(), queue_key, open_states).await
    }

    async fn queue_investigators(
        &mut self,
        queue_key: &str,
    ) -> Result<Vec<QueueInvestigator>, StoreError> {
        load_investigators(self.conn(), queue_key).await
    }

    async fn set_away(&mut self, user: &str, away: bool, at: &str) -> Result<bool, StoreError> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE name = ?")
            .bind(user)
            .fetch_optional(self.conn())
            .await?;
        if exists.is_none() {
            return Ok(false);
        }
        if away {
            sqlx::query(
                "INSERT INTO investigator_away (user_name, since) VALUES (?, ?)
                 ON CONFLICT (user_name) DO NOTHING",
            )
            .bind(user)
            .bind(at)
            .execute(self.conn())
            .await?;
        } else {
            sqlx::query("DELETE FROM investigator_away WHERE user_name = ?")
                .bind(user)
                .execute(self.conn())
                .await?;
        }
        Ok(true)
    }

    async fn add_extension_request(&mut self, r: &NewExtensionRequest) -> Result<i64, StoreError> {
        let done = sqlx::query(
            "INSERT INTO extension_requests (case_id, requested_by, requested_at, working_days,
                reason)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&r.case_id)
        .bind(&r.requested_by)
        .bind(&r.requested_at)
        .bind(r.working_days)
        .bind(&r.reason)
        .execute(self.conn())
        .await?;
        Ok(done.last_insert_rowid())
    }

    async fn case_extension_requests(
        &mut self,
        case_id: &str,
    ) -> Result<Vec<ExtensionRequest>, StoreError> {
        load_extension_requests(self.conn(), case_id).await
    }

    async fn decide_extension_request(
        &mut self,
        id: i64,
        state: &str,
        by: &str,
        at: &str,
        note: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE extension_requests SET state = ?, decided_by = ?, decided_at = ?,
                decision_note = ?
             WHERE id = ? AND state = 'requested'",
        )
        .bind(state)
        .bind(by)
        .bind(at)
        .bind(note)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

//! SQLite: the operations of [`crate::store::outbox`] — on the store ([`read`]: listings,
//! deadline reads, the delivery worker's autocommitted state changes) and inside a
//! transaction ([`write`]).

mod read;
mod write;

use sqlx::Row;
use sqlx::sqlite::{Sqlite, SqliteRow};

use crate::store::StoreError;
use crate::store::outbox::CaseDeadline;

/// Rows per multi-row statement (SQLite's bound-parameter limit is 32,766).
const ROWS_PER_STATEMENT: usize = 500;

/// The columns of `case_deadlines` a [`CaseDeadline`] reads.
const DEADLINE_COLUMNS: &str = "case_id, queue_key, queue_name, priority, assigned_at, due_at, \
     state, overdue_notices, reminded_at, escalated_at, answered_at, answered_by, \
     provisional_year, accept_due_at, accept_overdue_at";

fn deadline_from_row(row: &SqliteRow) -> CaseDeadline {
    CaseDeadline {
        case_id: row.get("case_id"),
        queue_key: row.get("queue_key"),
        queue_name: row.get("queue_name"),
        priority: row.get("priority"),
        assigned_at: row.get("assigned_at"),
        due_at: row.get("due_at"),
        state: row.get("state"),
        overdue_notices: row.get("overdue_notices"),
        reminded_at: row.get("reminded_at"),
        escalated_at: row.get("escalated_at"),
        answered_at: row.get("answered_at"),
        answered_by: row.get("answered_by"),
        provisional_year: row.get("provisional_year"),
        accept_due_at: row.get("accept_due_at"),
        accept_overdue_at: row.get("accept_overdue_at"),
    }
}

/// The deadline of `case_id`, on a pool or inside a transaction.
async fn case_deadline<'e, E>(
    executor: E,
    case_id: &str,
) -> Result<Option<CaseDeadline>, StoreError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let sql = format!("SELECT {DEADLINE_COLUMNS} FROM case_deadlines WHERE case_id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(deadline_from_row))
}

/// A JSON array of strings, for `json_each(?)`.
fn json_list(values: &[&str]) -> String {
    serde_json::to_string(values).expect("strings serialise")
}

//! SQLite: the operations of [`crate::store::cases`]: reads on the reader pool ([`read`]),
//! writes inside a [`SqliteTx`](super::SqliteTx) ([`write`]), and what both share here.

mod read;
mod write;

use chrono::DateTime;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};

use crate::store::StoreError;
use crate::store::cases::{
    CaseMemberComplaint, CaseSummary, GroupingComplaint, GroupingState, StoredDecision,
};

/// The columns of a [`CaseSummary`], by case (`WHERE` and `ORDER BY` follow).
const SUMMARY_SELECT: &str = "SELECT c.id, c.title, c.complaints, c.complainants, c.channels,
    c.first_seen, c.last_seen, s.status, w.state AS wf_state,
    COALESCE(w.queue_key, rt.queue) AS wf_queue, w.assignee AS wf_assignee,
    COALESCE(d.priority, rt.priority) AS dl_priority, d.state AS dl_state, d.due_at AS dl_due_at,
    d.due_ms AS dl_due_ms, d.accept_due_at AS dl_accept_due_at
    FROM cases c LEFT JOIN case_status s ON s.case_id = c.id
    LEFT JOIN case_workflow w ON w.case_id = c.id
    LEFT JOIN case_routes rt ON rt.route_key = c.id
    LEFT JOIN case_deadlines d ON d.case_id = c.id";

/// [`SUMMARY_SELECT`] driven by the deadlines (a listing sorted by deadline walks the
/// `(queue_key, due_ms)` index and stops at the page's end): only cases with a deadline.
/// `CROSS JOIN` keeps the deadlines outermost, so a page walks them in due order and stops: with
/// the list's correlated conditions on `c.id` (subject, received, reach) SQLite's planner
/// otherwise scanned every case and sorted them (130 ms a page at 100,000 cases instead of 4).
const SUMMARY_BY_DEADLINE: &str = "SELECT c.id, c.title, c.complaints, c.complainants,
    c.channels, c.first_seen, c.last_seen, s.status, w.state AS wf_state,
    COALESCE(w.queue_key, rt.queue) AS wf_queue, w.assignee AS wf_assignee,
    COALESCE(d.priority, rt.priority) AS dl_priority, d.state AS dl_state, d.due_at AS dl_due_at,
    d.due_ms AS dl_due_ms, d.accept_due_at AS dl_accept_due_at
    FROM case_deadlines d CROSS JOIN cases c ON c.id = d.case_id
    LEFT JOIN case_status s ON s.case_id = c.id
    LEFT JOIN case_workflow w ON w.case_id = c.id
    LEFT JOIN case_routes rt ON rt.route_key = c.id";

/// [`SUMMARY_SELECT`] driven by one workflow state's cases (its `?` is the state): a listing of
/// a state of the work in progress reads that state's cases and sorts them, instead of walking
/// every case by activity until a page matches (280 ms at 100,000 cases for a state none is
/// in). Not for `closed` and `merged`, which grow with the archive: see [`by_state`].
const SUMMARY_BY_STATE: &str = "SELECT c.id, c.title, c.complaints, c.complainants,
    c.channels, c.first_seen, c.last_seen, s.status, w.state AS wf_state,
    COALESCE(w.queue_key, rt.queue) AS wf_queue, w.assignee AS wf_assignee,
    COALESCE(d.priority, rt.priority) AS dl_priority, d.state AS dl_state, d.due_at AS dl_due_at,
    d.due_ms AS dl_due_ms, d.accept_due_at AS dl_accept_due_at
    FROM case_workflow w INDEXED BY case_workflow_state CROSS JOIN cases c ON c.id = w.case_id
    LEFT JOIN case_status s ON s.case_id = c.id
    LEFT JOIN case_routes rt ON rt.route_key = c.id
    LEFT JOIN case_deadlines d ON d.case_id = c.id
    WHERE w.state = ?";

/// Whether a listing of workflow state `state` reads that state's cases first: the states of
/// the work in progress, bounded by a centre's workload; `closed` and `merged` hold the archive
/// and are listed by walking the cases in order.
fn by_state(state: Option<&str>) -> bool {
    state.is_some_and(|s| s != "closed" && s != "merged")
}

/// A row of [`SUMMARY_SELECT`].
fn summary(row: &SqliteRow) -> CaseSummary {
    let channels: String = row.get("channels");
    let status: Option<String> = row.get("status");
    CaseSummary {
        id: row.get("id"),
        title: row.get("title"),
        complaints: row.get("complaints"),
        complainants: row.get("complainants"),
        channels: channels.split_whitespace().map(str::to_string).collect(),
        first_seen: row.get("first_seen"),
        last_seen: row.get("last_seen"),
        status: status.unwrap_or_else(|| "open".to_string()),
        state: row.get("wf_state"),
        queue: row.get("wf_queue"),
        assignee: row.get("wf_assignee"),
        priority: row.get("dl_priority"),
        due_at: row.get("dl_due_at"),
        accept_due_at: row.get("dl_accept_due_at"),
        overdue: row.get::<Option<String>, _>("dl_state").as_deref() == Some("open")
            && row
                .get::<Option<i64>, _>("dl_due_ms")
                .is_some_and(|due| due < chrono::Utc::now().timestamp_millis()),
    }
}

/// The columns of a [`StoredDecision`], oldest first (`WHERE` goes before `ORDER BY`).
const DECISION_COLUMNS: &str = "SELECT id, decision, actor, why, decided_at FROM case_decisions";

/// A row of [`DECISION_COLUMNS`].
fn decision(row: &SqliteRow) -> StoredDecision {
    StoredDecision {
        id: row.get("id"),
        decision_json: row.get("decision"),
        actor: row.get("actor"),
        why: row.get("why"),
        decided_at: row.get("decided_at"),
    }
}

/// A complaint as the grouping engine sees it, from a row with `id`, `channel`,
/// `submitted_ms`, `title`, `body`, `text_norm` and `item`.
fn grouping_complaint(row: &SqliteRow) -> Result<GroupingComplaint, StoreError> {
    let effective_ms: i64 = row.get("submitted_ms");
    let item: String = row.get("item");
    let title: Option<String> = row.get("title");
    let body: String = row.get("body");
    Ok(GroupingComplaint {
        id: row.get("id"),
        channel: row.get("channel"),
        effective_at: DateTime::from_timestamp_millis(effective_ms)
            .ok_or_else(|| StoreError::Corrupt(format!("submitted_ms {effective_ms}")))?,
        text_norm: crate::store::text_norm_from_stored(
            row.get("text_norm"),
            title.as_deref(),
            &body,
        ),
        item: crate::store::parse_item(&item, title.clone(), &body)?,
        title,
    })
}

/// One complaint as the grouping engine sees it.
async fn grouping_complaint_by_id(
    conn: &mut SqliteConnection,
    complaint_id: &str,
) -> Result<Option<GroupingComplaint>, StoreError> {
    let row = sqlx::query(
        "SELECT id, seq, channel, submitted_ms, title, body, text_norm, item
         FROM complaints WHERE id = ?",
    )
    .bind(complaint_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(grouping_complaint).transpose()
}

/// What the grouping engine is rebuilt from, on `conn` (inside a transaction, so the reads
/// agree).
async fn grouping_state(
    conn: &mut SqliteConnection,
    window_ms: i64,
    max_window: usize,
) -> Result<GroupingState, StoreError> {
    let decisions = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{DECISION_COLUMNS} ORDER BY id"
    )))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(decision)
    .collect();
    let latest_ms: Option<i64> = sqlx::query_scalar("SELECT MAX(submitted_ms) FROM case_members")
        .fetch_one(&mut *conn)
        .await?;
    let last_seq = sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM case_members")
        .fetch_one(&mut *conn)
        .await?
        .unwrap_or(0);
    let mut window = Vec::new();
    if let Some(latest_ms) = latest_ms {
        let rows = sqlx::query(
            "SELECT * FROM (
                 SELECT c.id, m.seq, c.channel, c.submitted_ms, c.title, c.body, c.text_norm,
                     c.item,
                     m.case_id
                 FROM case_members m JOIN complaints c ON c.id = m.complaint_id
                 WHERE m.submitted_ms >= ? ORDER BY m.seq DESC LIMIT ?)
             ORDER BY seq",
        )
        .bind(latest_ms - window_ms)
        .bind(i64::try_from(max_window).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await?;
        window.reserve(rows.len());
        for row in &rows {
            window.push(CaseMemberComplaint {
                complaint: grouping_complaint(row)?,
                case_id: row.get("case_id"),
            });
        }
    }
    Ok(GroupingState {
        decisions,
        last_seq,
        window,
    })
}

//! Writes of derived case data, inside the caller's transaction: a member's case and reason,
//! the case rows recomputed from their members, and the reset before a reprocess.

use std::collections::BTreeSet;

use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{CaseError, SNIPPET_CHARS, snippet};
use crate::grouping::GroupingReason;
use crate::store::facets::{Facet, set_facets};

/// One complaint's place in a case.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub complaint_id: String,
    pub case_id: String,
    pub seq: i64,
    pub channel: String,
    pub submitted_ms: i64,
    /// Keyed hash of the complainant (never the phone, id or email itself).
    pub complainant: Option<String>,
    pub public_support: i64,
    pub media_exposed: bool,
    pub reason: GroupingReason,
    /// The member it duplicates (exact or near duplicate), for the `duplicate_of` facet.
    pub duplicate_of: Option<String>,
}

/// Records (or moves) a batch of members and sets their `case_id` and `duplicate_of` facets,
/// queueing the changed ones for re-indexing: a few statements per batch (the pipeline's cost
/// is dominated by statement round trips, not by the work of each).
pub async fn upsert_members(
    tx: &mut SqliteConnection,
    members: &[MemberRow],
) -> Result<(), CaseError> {
    if members.is_empty() {
        return Ok(());
    }
    for chunk in members.chunks(UPSERT_CHUNK / 2) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO case_members (complaint_id, case_id, seq, channel, submitted_ms,
                 complainant, public_support, media_exposed, reason) ",
        );
        let mut failed = None;
        query.push_values(chunk, |mut values, member| {
            let reason = serde_json::to_string(&member.reason).unwrap_or_else(|e| {
                failed = Some(e.to_string());
                String::new()
            });
            values
                .push_bind(member.complaint_id.clone())
                .push_bind(member.case_id.clone())
                .push_bind(member.seq)
                .push_bind(member.channel.clone())
                .push_bind(member.submitted_ms)
                .push_bind(member.complainant.clone())
                .push_bind(member.public_support)
                .push_bind(member.media_exposed)
                .push_bind(reason);
        });
        if let Some(error) = failed {
            return Err(CaseError::Corrupt(error));
        }
        query.push(
            " ON CONFLICT (complaint_id) DO UPDATE SET case_id = excluded.case_id,
                 seq = excluded.seq, channel = excluded.channel,
                 submitted_ms = excluded.submitted_ms, complainant = excluded.complainant,
                 public_support = excluded.public_support, media_exposed = excluded.media_exposed,
                 reason = excluded.reason",
        );
        query.build().execute(&mut *tx).await?;
    }
    let facets: Vec<(&str, &str, Option<&str>)> = members
        .iter()
        .map(|m| {
            (
                m.complaint_id.as_str(),
                m.case_id.as_str(),
                m.duplicate_of.as_deref(),
            )
        })
        .collect();
    let facets = serde_json::to_string(&facets).map_err(|e| CaseError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO complaint_facets (complaint_id)
         SELECT json_extract(value, '$[0]') FROM json_each(?) WHERE true
         ON CONFLICT DO NOTHING",
    )
    .bind(&facets)
    .execute(&mut *tx)
    .await?;
    let changed: Vec<String> = sqlx::query_scalar(
        "UPDATE complaint_facets SET case_id = v.case_id, duplicate_of = v.duplicate_of
         FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS case_id,
                   json_extract(value, '$[2]') AS duplicate_of FROM json_each(?)) AS v
         WHERE complaint_facets.complaint_id = v.id
           AND (complaint_facets.case_id IS NOT v.case_id
                OR complaint_facets.duplicate_of IS NOT v.duplicate_of)
         RETURNING complaint_facets.complaint_id",
    )
    .bind(&facets)
    .fetch_all(&mut *tx)
    .await?;
    if !changed.is_empty() {
        let changed =
            serde_json::to_string(&changed).map_err(|e| CaseError::Corrupt(e.to_string()))?;
        sqlx::query("INSERT INTO index_queue (complaint_id) SELECT value FROM json_each(?)")
            .bind(changed)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Moves members to another case (a staff merge or split), with a new reason.
pub async fn move_members(
    tx: &mut SqliteConnection,
    complaint_ids: &[String],
    case_id: &str,
    reason: &GroupingReason,
) -> Result<(), CaseError> {
    let reason = serde_json::to_string(reason).map_err(|e| CaseError::Corrupt(e.to_string()))?;
    for id in complaint_ids {
        sqlx::query("UPDATE case_members SET case_id = ?, reason = ? WHERE complaint_id = ?")
            .bind(case_id)
            .bind(&reason)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        set_facets(
            tx,
            id,
            &[(Facet::CaseId, Some(case_id)), (Facet::DuplicateOf, None)],
        )
        .await?;
    }
    Ok(())
}

/// Recomputes the rows of these cases from their members; a case left without members is
/// deleted. A few statements per call, whatever the number of cases (batches touch hundreds).
pub async fn refresh_cases(
    tx: &mut SqliteConnection,
    case_ids: &BTreeSet<String>,
) -> Result<(), CaseError> {
    if case_ids.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(case_ids).map_err(|e| CaseError::Corrupt(e.to_string()))?;
    sqlx::query(
        "DELETE FROM cases WHERE id IN (SELECT value FROM json_each(?))
             AND NOT EXISTS (SELECT 1 FROM case_members m WHERE m.case_id = cases.id)",
    )
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    // A case is named after one of its members (its founder, or the earliest remaining
    // complaint after a split), so its title comes from that complaint.
    let rows = sqlx::query(
        "SELECT m.case_id AS case_id, COUNT(*) AS complaints,
             COUNT(DISTINCT COALESCE(m.complainant, m.complaint_id)) AS complainants,
             MIN(m.submitted_ms) AS first_ms, MAX(m.submitted_ms) AS last_ms,
             COALESCE(SUM(m.public_support), 0) AS support,
             COALESCE(MAX(m.media_exposed), 0) AS media,
             group_concat(DISTINCT m.channel) AS channels,
             (SELECT c.title FROM complaints c WHERE c.id = m.case_id) AS founder_title,
             (SELECT c.text_norm FROM complaints c WHERE c.id = m.case_id) AS founder_text
         FROM case_members m WHERE m.case_id IN (SELECT value FROM json_each(?))
         GROUP BY m.case_id",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    for chunk in rows.chunks(UPSERT_CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO cases (id, title, complaints, complainants, channels, first_seen,
                 last_seen, last_seen_ms, public_support, media_exposed) ",
        );
        query.push_values(chunk, |mut values, row| {
            let title: Option<String> = row.get("founder_title");
            let text: Option<String> = row.get("founder_text");
            let title = title
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| snippet(&text.unwrap_or_default(), SNIPPET_CHARS / 3));
            let channels: Option<String> = row.get("channels");
            let mut channels: Vec<&str> = channels
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .filter(|c| !c.is_empty())
                .collect();
            channels.sort_unstable();
            let last_ms: i64 = row.get("last_ms");
            values
                .push_bind(row.get::<String, _>("case_id"))
                .push_bind(title)
                .push_bind(row.get::<i64, _>("complaints"))
                .push_bind(row.get::<i64, _>("complainants"))
                .push_bind(channels.join(" "))
                .push_bind(ms_to_rfc3339(row.get("first_ms")))
                .push_bind(ms_to_rfc3339(last_ms))
                .push_bind(last_ms)
                .push_bind(row.get::<i64, _>("support"))
                .push_bind(row.get::<i64, _>("media"));
        });
        query.push(
            " ON CONFLICT (id) DO UPDATE SET title = excluded.title,
                 complaints = excluded.complaints, complainants = excluded.complainants,
                 channels = excluded.channels, first_seen = excluded.first_seen,
                 last_seen = excluded.last_seen, last_seen_ms = excluded.last_seen_ms,
                 public_support = excluded.public_support, media_exposed = excluded.media_exposed",
        );
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Cases per multi-row upsert (10 bound values each, well under SQLite's variable limit).
const UPSERT_CHUNK: usize = 500;

/// Forgets every derived case and membership (staff decisions and statuses stay).
pub async fn clear_derived(tx: &mut SqliteConnection) -> Result<(), CaseError> {
    sqlx::query("DELETE FROM case_members")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM cases").execute(&mut *tx).await?;
    Ok(())
}

/// Milliseconds since the epoch as RFC 3339 UTC.
pub fn ms_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(crate::store::format_utc)
        .unwrap_or_default()
}

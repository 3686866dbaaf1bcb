//! Writes of derived case data, inside the caller's transaction: a member's case and reason,
//! the case rows recomputed from their members, and the reset before a reprocess.

use std::collections::BTreeSet;

use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

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

/// Records (or moves) a member and sets its `case_id` and `duplicate_of` facets.
pub async fn upsert_member(tx: &mut SqliteConnection, member: &MemberRow) -> Result<(), CaseError> {
    let reason =
        serde_json::to_string(&member.reason).map_err(|e| CaseError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO case_members (complaint_id, case_id, seq, channel, submitted_ms, complainant,
             public_support, media_exposed, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (complaint_id) DO UPDATE SET case_id = excluded.case_id,
             seq = excluded.seq, channel = excluded.channel,
             submitted_ms = excluded.submitted_ms, complainant = excluded.complainant,
             public_support = excluded.public_support, media_exposed = excluded.media_exposed,
             reason = excluded.reason",
    )
    .bind(&member.complaint_id)
    .bind(&member.case_id)
    .bind(member.seq)
    .bind(&member.channel)
    .bind(member.submitted_ms)
    .bind(&member.complainant)
    .bind(member.public_support)
    .bind(member.media_exposed)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    set_facets(
        tx,
        &member.complaint_id,
        &[
            (Facet::CaseId, Some(&member.case_id)),
            (Facet::DuplicateOf, member.duplicate_of.as_deref()),
        ],
    )
    .await?;
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
/// deleted.
pub async fn refresh_cases(
    tx: &mut SqliteConnection,
    case_ids: &BTreeSet<String>,
) -> Result<(), CaseError> {
    for case_id in case_ids {
        let row = sqlx::query(
            "SELECT COUNT(*) AS complaints,
                 COUNT(DISTINCT COALESCE(complainant, complaint_id)) AS complainants,
                 MIN(submitted_ms) AS first_ms, MAX(submitted_ms) AS last_ms,
                 COALESCE(SUM(public_support), 0) AS support,
                 COALESCE(MAX(media_exposed), 0) AS media
             FROM case_members WHERE case_id = ?",
        )
        .bind(case_id)
        .fetch_one(&mut *tx)
        .await?;
        let complaints: i64 = row.get("complaints");
        if complaints == 0 {
            sqlx::query("DELETE FROM cases WHERE id = ?")
                .bind(case_id)
                .execute(&mut *tx)
                .await?;
            continue;
        }
        let channels: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT channel FROM case_members WHERE case_id = ? ORDER BY channel",
        )
        .bind(case_id)
        .fetch_all(&mut *tx)
        .await?;
        let founder = sqlx::query(
            "SELECT c.title, c.text_norm FROM case_members m JOIN complaints c ON c.id = m.complaint_id
             WHERE m.case_id = ? ORDER BY (m.complaint_id = ?) DESC, m.seq LIMIT 1",
        )
        .bind(case_id)
        .bind(case_id)
        .fetch_one(&mut *tx)
        .await?;
        let title: Option<String> = founder.get("title");
        let text: String = founder.get("text_norm");
        let title = title
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| snippet(&text, SNIPPET_CHARS / 3));
        let first_ms: i64 = row.get("first_ms");
        let last_ms: i64 = row.get("last_ms");
        sqlx::query(
            "INSERT INTO cases (id, title, complaints, complainants, channels, first_seen,
                 last_seen, last_seen_ms, public_support, media_exposed)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET title = excluded.title,
                 complaints = excluded.complaints, complainants = excluded.complainants,
                 channels = excluded.channels, first_seen = excluded.first_seen,
                 last_seen = excluded.last_seen, last_seen_ms = excluded.last_seen_ms,
                 public_support = excluded.public_support, media_exposed = excluded.media_exposed",
        )
        .bind(case_id)
        .bind(title)
        .bind(complaints)
        .bind(row.get::<i64, _>("complainants"))
        .bind(channels.join(" "))
        .bind(ms_to_rfc3339(first_ms))
        .bind(ms_to_rfc3339(last_ms))
        .bind(last_ms)
        .bind(row.get::<i64, _>("support"))
        .bind(row.get::<i64, _>("media"))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

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

//! Writes of derived case data, inside the caller's transaction: a member's case and reason,
//! the case rows recomputed from their members, and the reset before a reprocess.

use std::collections::{BTreeSet, HashMap};

use super::{CaseError, SNIPPET_CHARS, snippet};
use crate::grouping::GroupingReason;
use crate::store::DerivedTx;
use crate::store::cases::{CaseRow, NewMember};
use crate::store::facets::Facet;

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
/// queueing the changed ones for re-indexing (the store does it in a few statements per
/// batch: the pipeline's cost is dominated by statement round trips, not by the work of each).
pub async fn upsert_members(
    tx: &mut (dyn DerivedTx + '_),
    members: Vec<MemberRow>,
) -> Result<(), CaseError> {
    if members.is_empty() {
        return Ok(());
    }
    let members = members
        .into_iter()
        .map(|member| {
            Ok(NewMember {
                reason_json: serde_json::to_string(&member.reason)
                    .map_err(|e| CaseError::Corrupt(e.to_string()))?,
                complaint_id: member.complaint_id,
                case_id: member.case_id,
                seq: member.seq,
                channel: member.channel,
                submitted_ms: member.submitted_ms,
                complainant: member.complainant,
                public_support: member.public_support,
                media_exposed: member.media_exposed,
                duplicate_of: member.duplicate_of,
            })
        })
        .collect::<Result<Vec<_>, CaseError>>()?;
    tx.upsert_members(&members).await?;
    Ok(())
}

/// Moves members to another case (a staff merge or split), with a new reason.
pub async fn move_members(
    tx: &mut (dyn DerivedTx + '_),
    complaint_ids: &[String],
    case_id: &str,
    reason: &GroupingReason,
) -> Result<(), CaseError> {
    let reason = serde_json::to_string(reason).map_err(|e| CaseError::Corrupt(e.to_string()))?;
    for id in complaint_ids {
        tx.set_member_case(id, case_id, &reason).await?;
        tx.set_facets(
            id,
            &[(Facet::CaseId, Some(case_id)), (Facet::DuplicateOf, None)],
        )
        .await?;
    }
    Ok(())
}

/// Records members that were in no case (the grouping stage's new complaints) and brings
/// their cases' rows up to date incrementally: a case that already has a row gets the new
/// members added to its counts (one index probe per new complainant), whatever its size; a
/// case founded in this batch is aggregated from its members, all of which are new.
///
/// Each complaint once, and none already in a case (it would be counted twice): moves go
/// through [`move_members`] and [`refresh_cases`].
pub async fn join_members(
    tx: &mut (dyn DerivedTx + '_),
    members: Vec<MemberRow>,
) -> Result<(), CaseError> {
    if members.is_empty() {
        return Ok(());
    }
    let touched: BTreeSet<String> = members.iter().map(|m| m.case_id.clone()).collect();
    let mut rows: HashMap<String, CaseRow> = tx
        .case_rows(&touched)
        .await?
        .into_iter()
        .map(|row| (row.id.clone(), row))
        .collect();
    let pairs: BTreeSet<(String, String)> = members
        .iter()
        .filter(|m| rows.contains_key(&m.case_id))
        .filter_map(|m| Some((m.case_id.clone(), m.complainant.clone()?)))
        .collect();
    let mut known = tx.complainants_present(&pairs).await?;
    for member in &members {
        let Some(row) = rows.get_mut(&member.case_id) else {
            continue;
        };
        add_member(row, member, &mut known)?;
    }
    upsert_members(tx, members).await?;
    let founded: BTreeSet<String> = touched
        .into_iter()
        .filter(|id| !rows.contains_key(id))
        .collect();
    refresh_cases(tx, &founded).await?;
    let rows: Vec<CaseRow> = rows.into_values().collect();
    tx.upsert_cases(&rows).await?;
    Ok(())
}

/// Adds one new member to its case's row; `known` holds the (case, complainant) pairs that
/// already have a member, and gets this member's.
fn add_member(
    row: &mut CaseRow,
    member: &MemberRow,
    known: &mut BTreeSet<(String, String)>,
) -> Result<(), CaseError> {
    row.complaints += 1;
    let new_complainant = match &member.complainant {
        Some(key) => known.insert((member.case_id.clone(), key.clone())),
        None => true,
    };
    if new_complainant {
        row.complainants += 1;
    }
    let first_ms = chrono::DateTime::parse_from_rfc3339(&row.first_seen)
        .map_err(|e| CaseError::Corrupt(format!("case {} first_seen: {e}", row.id)))?
        .timestamp_millis();
    if member.submitted_ms < first_ms {
        row.first_seen = ms_to_rfc3339(member.submitted_ms);
    }
    if member.submitted_ms > row.last_seen_ms {
        row.last_seen_ms = member.submitted_ms;
        row.last_seen = ms_to_rfc3339(member.submitted_ms);
    }
    row.public_support = row.public_support.saturating_add(member.public_support);
    row.media_exposed |= member.media_exposed;
    if !row.channels.contains(&member.channel) {
        row.channels.push(member.channel.clone());
        row.channels.sort_unstable();
    }
    Ok(())
}

/// Recomputes the rows of these cases from their members; a case left without members is
/// deleted. A few statements per call, whatever the number of cases (batches touch hundreds).
pub async fn refresh_cases(
    tx: &mut (dyn DerivedTx + '_),
    case_ids: &BTreeSet<String>,
) -> Result<(), CaseError> {
    if case_ids.is_empty() {
        return Ok(());
    }
    tx.delete_empty_cases(case_ids).await?;
    // A case is named after one of its members (its founder, or the earliest remaining
    // complaint after a split), so its title comes from that complaint.
    let rows: Vec<CaseRow> = tx
        .case_aggregates(case_ids)
        .await?
        .into_iter()
        .map(|case| {
            let title = case
                .founder_title
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| {
                    snippet(&case.founder_text.unwrap_or_default(), SNIPPET_CHARS / 3)
                });
            let mut channels = case.channels;
            channels.sort_unstable();
            CaseRow {
                id: case.case_id,
                title,
                complaints: case.complaints,
                complainants: case.complainants,
                channels,
                first_seen: ms_to_rfc3339(case.first_ms),
                last_seen: ms_to_rfc3339(case.last_ms),
                last_seen_ms: case.last_ms,
                public_support: case.public_support,
                media_exposed: case.media_exposed,
            }
        })
        .collect();
    tx.upsert_cases(&rows).await?;
    Ok(())
}

/// Forgets every derived case and membership (staff decisions and statuses stay).
pub async fn clear_derived(tx: &mut (dyn DerivedTx + '_)) -> Result<(), CaseError> {
    tx.clear_cases().await?;
    Ok(())
}

/// Milliseconds since the epoch as RFC 3339 UTC.
pub fn ms_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(crate::store::format_utc)
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;

//! Staff decisions: merge two cases, split a complaint out of its case.
//!
//! Each decision is applied to the store at once and recorded in `case_decisions` (who, when,
//! why) in the same transaction. The recorded decisions are the grouping engine's pins: the
//! running stage applies new ones before its next batch, and `reprocess` replays all of them
//! in order, so a human decision is never undone by automatic grouping.

use std::collections::BTreeSet;

use super::write::{move_members, refresh_cases};
use super::{CaseError, DecisionRecord};
use crate::grouping::{GroupingReason, HumanDecision, MatchKind};
use crate::store::cases::{MemberSeq, NewDecision, StoredDecision};
use crate::store::subjects::{NewSubject, SubjectRemoval};
use crate::store::{DerivedTx, Store};

/// Who made a decision and why (both required: the record is for accountability).
#[derive(Debug, Clone)]
pub struct Actor {
    pub who: String,
    pub why: String,
}

impl Actor {
    fn validate(&self) -> Result<(), CaseError> {
        if self.who.trim().is_empty() {
            return Err(CaseError::Invalid("`by` (who decides) is required".into()));
        }
        if self.why.trim().is_empty() {
            return Err(CaseError::Invalid("`why` is required".into()));
        }
        Ok(())
    }
}

fn pinned_reason() -> GroupingReason {
    GroupingReason {
        kind: MatchKind::Pinned,
        score: 1.0,
        matched_complaint_id: None,
        shared_places: Vec::new(),
        shared_terms: Vec::new(),
    }
}

async fn record(
    tx: &mut (dyn DerivedTx + '_),
    decision: &HumanDecision,
    actor: &Actor,
) -> Result<(), CaseError> {
    let json = serde_json::to_string(decision).map_err(|e| CaseError::Corrupt(e.to_string()))?;
    let decided_at = crate::store::format_utc(chrono::Utc::now());
    tx.record_decision(NewDecision {
        decision_json: &json,
        actor: actor.who.trim(),
        why: actor.why.trim(),
        decided_at: &decided_at,
    })
    .await?;
    Ok(())
}

/// Merges case `other` into case `case_id` (or the reverse: the merged case keeps the id of
/// the case founded first). Returns the merged case's id.
pub async fn merge(
    tx: &mut (dyn DerivedTx + '_),
    case_id: &str,
    other: &str,
    actor: &Actor,
) -> Result<String, CaseError> {
    actor.validate()?;
    if case_id == other {
        return Err(CaseError::Invalid("cannot merge a case with itself".into()));
    }
    let first = tx.members_of(case_id).await?;
    let second = tx.members_of(other).await?;
    let (Some(first_founder), Some(second_founder)) = (first.first(), second.first()) else {
        let missing = if first.is_empty() { case_id } else { other };
        return Err(CaseError::NotFound(missing.to_string()));
    };
    let (target, absorbed, moved) = if first_founder.seq <= second_founder.seq {
        (case_id, other, &second)
    } else {
        (other, case_id, &first)
    };
    let moved: Vec<String> = moved.iter().map(|m| m.complaint_id.clone()).collect();
    move_members(tx, &moved, target, &pinned_reason()).await?;
    carry_subjects(tx, absorbed, target).await?;
    let mut all: Vec<&MemberSeq> = first.iter().chain(&second).collect();
    all.sort_by(|a, b| (a.seq, &a.complaint_id).cmp(&(b.seq, &b.complaint_id)));
    let complaint_ids = all.into_iter().map(|m| m.complaint_id.clone()).collect();
    record(tx, &HumanDecision::Merge { complaint_ids }, actor).await?;
    refresh_cases(
        tx,
        &BTreeSet::from([target.to_string(), absorbed.to_string()]),
    )
    .await?;
    Ok(target.to_string())
}

/// What a split did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SplitResult {
    /// The case of the complaint split out (named after it).
    pub split_case: String,
    /// The case the other members are in now (renamed when the founder left).
    pub remaining_case: String,
}

/// Splits `complaint_id` out of case `case_id` into a case of its own.
pub async fn split(
    tx: &mut (dyn DerivedTx + '_),
    case_id: &str,
    complaint_id: &str,
    actor: &Actor,
) -> Result<SplitResult, CaseError> {
    actor.validate()?;
    let members: Vec<String> = tx
        .members_of(case_id)
        .await?
        .into_iter()
        .map(|m| m.complaint_id)
        .collect();
    if members.is_empty() {
        return Err(CaseError::NotFound(case_id.to_string()));
    }
    if !members.iter().any(|m| m == complaint_id) {
        return Err(CaseError::Invalid(format!(
            "complaint `{complaint_id}` is not in case `{case_id}`"
        )));
    }
    if members.len() == 1 {
        return Err(CaseError::Invalid(format!(
            "complaint `{complaint_id}` is alone in its case; nothing to split"
        )));
    }
    let apart_from: Vec<String> = members
        .iter()
        .filter(|m| *m != complaint_id)
        .cloned()
        .collect();
    let remaining_case = if complaint_id == case_id {
        // The founder leaves: the rest takes the name of its earliest remaining complaint.
        let renamed = apart_from[0].clone();
        move_members(tx, &apart_from, &renamed, &pinned_reason()).await?;
        carry_subjects(tx, case_id, &renamed).await?;
        renamed
    } else {
        case_id.to_string()
    };
    move_members(
        tx,
        std::slice::from_ref(&complaint_id.to_string()),
        complaint_id,
        &pinned_reason(),
    )
    .await?;
    if complaint_id != case_id {
        carry_subjects(tx, case_id, complaint_id).await?;
    }
    record(
        tx,
        &HumanDecision::SplitOut {
            complaint_id: complaint_id.to_string(),
            apart_from,
        },
        actor,
    )
    .await?;
    refresh_cases(
        tx,
        &BTreeSet::from([
            case_id.to_string(),
            complaint_id.to_string(),
            remaining_case.clone(),
        ]),
    )
    .await?;
    Ok(SplitResult {
        split_case: complaint_id.to_string(),
        remaining_case,
    })
}

/// Gives case `to` the subjects of case `from` (a merge's absorbed case, a split's case of
/// origin): a unit a complaint was about stays so in the complaint's new case, and a removal
/// stays a removal. A unit `to` already records keeps its own row.
async fn carry_subjects(
    tx: &mut (dyn DerivedTx + '_),
    from: &str,
    to: &str,
) -> Result<(), CaseError> {
    let recorded = tx.cases_subjects(&[from]).await?;
    for s in recorded.get(from).into_iter().flatten() {
        let carried = NewSubject {
            case_id: to,
            queue: &s.queue,
            origin: &s.origin,
            by: &s.by,
            at: &s.at,
            note: s.note.as_deref(),
        };
        let added = tx.record_subjects(&[carried]).await?;
        if let (1, Some(removed_at)) = (added, s.removed_at.as_deref()) {
            tx.remove_subject(&SubjectRemoval {
                case_id: to,
                queue: &s.queue,
                origin_if_absent: None,
                by: s.removed_by.as_deref().unwrap_or_default(),
                at: removed_at,
                note: s.removed_note.as_deref(),
            })
            .await?;
        }
    }
    Ok(())
}

/// Staff decisions after `after_id`, oldest first, with their ids (the engine's pins).
pub async fn decisions_after(
    tx: &mut (dyn DerivedTx + '_),
    after_id: i64,
) -> Result<Vec<(i64, HumanDecision)>, CaseError> {
    tx.decisions_after(after_id)
        .await?
        .iter()
        .map(parse_decision)
        .collect()
}

/// A recorded decision as the engine's pin.
pub fn parse_decision(stored: &StoredDecision) -> Result<(i64, HumanDecision), CaseError> {
    let decision = serde_json::from_str(&stored.decision_json)
        .map_err(|e| CaseError::Corrupt(format!("staff decision: {e}")))?;
    Ok((stored.id, decision))
}

/// Every staff decision as recorded, oldest first.
pub async fn load_decision_records(store: &Store) -> Result<Vec<(i64, DecisionRecord)>, CaseError> {
    store
        .decisions()
        .await?
        .into_iter()
        .map(|stored| {
            Ok((
                stored.id,
                DecisionRecord {
                    decision: serde_json::from_str(&stored.decision_json)
                        .map_err(|e| CaseError::Corrupt(format!("staff decision: {e}")))?,
                    actor: stored.actor,
                    why: stored.why,
                    decided_at: stored.decided_at,
                },
            ))
        })
        .collect()
}

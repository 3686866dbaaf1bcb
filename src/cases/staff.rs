//! Staff decisions: merge two cases, split a complaint out of its case, set a case's status.
//!
//! Each decision is applied to the store at once and recorded in `case_decisions` (who, when,
//! why) in the same transaction. The recorded decisions are the grouping engine's pins: the
//! running stage applies new ones before its next batch, and `reprocess` replays all of them
//! in order, so a human decision is never undone by automatic grouping.

use std::collections::BTreeSet;

use sqlx::Row;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnection;

use super::write::{move_members, refresh_cases};
use super::{CaseError, DecisionRecord, STATUSES};
use crate::grouping::{GroupingReason, HumanDecision, MatchKind};

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

async fn members_of(tx: &mut SqliteConnection, case_id: &str) -> Result<Vec<String>, CaseError> {
    Ok(
        sqlx::query_scalar("SELECT complaint_id FROM case_members WHERE case_id = ? ORDER BY seq")
            .bind(case_id)
            .fetch_all(&mut *tx)
            .await?,
    )
}

async fn record(
    tx: &mut SqliteConnection,
    decision: &HumanDecision,
    actor: &Actor,
) -> Result<(), CaseError> {
    let json = serde_json::to_string(decision).map_err(|e| CaseError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO case_decisions (decision, actor, why, decided_at) VALUES (?, ?, ?, ?)",
    )
    .bind(json)
    .bind(actor.who.trim())
    .bind(actor.why.trim())
    .bind(crate::store::format_utc(chrono::Utc::now()))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Merges case `other` into case `case_id` (or the reverse: the merged case keeps the id of
/// the case founded first). Returns the merged case's id.
pub async fn merge(
    tx: &mut SqliteConnection,
    case_id: &str,
    other: &str,
    actor: &Actor,
) -> Result<String, CaseError> {
    actor.validate()?;
    if case_id == other {
        return Err(CaseError::Invalid("cannot merge a case with itself".into()));
    }
    let first = members_of(tx, case_id).await?;
    let second = members_of(tx, other).await?;
    if first.is_empty() {
        return Err(CaseError::NotFound(case_id.to_string()));
    }
    if second.is_empty() {
        return Err(CaseError::NotFound(other.to_string()));
    }
    let seq_of = |id: &str| {
        sqlx::query_scalar::<_, i64>("SELECT seq FROM case_members WHERE complaint_id = ?")
            .bind(id.to_string())
    };
    let first_seq = seq_of(&first[0]).fetch_one(&mut *tx).await?;
    let second_seq = seq_of(&second[0]).fetch_one(&mut *tx).await?;
    let (target, absorbed, moved) = if first_seq <= second_seq {
        (case_id, other, &second)
    } else {
        (other, case_id, &first)
    };
    move_members(tx, moved, target, &pinned_reason()).await?;
    let mut complaint_ids: Vec<String> = Vec::with_capacity(first.len() + second.len());
    let mut all: Vec<(i64, String)> = Vec::new();
    for id in first.iter().chain(&second) {
        all.push((seq_of(id).fetch_one(&mut *tx).await?, id.clone()));
    }
    all.sort();
    complaint_ids.extend(all.into_iter().map(|(_, id)| id));
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
    tx: &mut SqliteConnection,
    case_id: &str,
    complaint_id: &str,
    actor: &Actor,
) -> Result<SplitResult, CaseError> {
    actor.validate()?;
    let members = members_of(tx, case_id).await?;
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

/// Sets a case's working status (one of [`STATUSES`]).
pub async fn set_status(
    tx: &mut SqliteConnection,
    case_id: &str,
    status: &str,
    actor: &Actor,
) -> Result<(), CaseError> {
    actor.validate()?;
    if !STATUSES.contains(&status) {
        return Err(CaseError::Invalid(format!(
            "unknown status `{status}`; expected one of {}",
            STATUSES.join(", ")
        )));
    }
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM cases WHERE id = ?")
        .bind(case_id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(CaseError::NotFound(case_id.to_string()));
    }
    sqlx::query(
        "INSERT INTO case_status (case_id, status, actor, why, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, actor = excluded.actor,
             why = excluded.why, updated_at = excluded.updated_at",
    )
    .bind(case_id)
    .bind(status)
    .bind(actor.who.trim())
    .bind(actor.why.trim())
    .bind(crate::store::format_utc(chrono::Utc::now()))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Staff decisions after `after_id`, oldest first, with their ids (the engine's pins).
pub async fn decisions_after(
    tx: &mut SqliteConnection,
    after_id: i64,
) -> Result<Vec<(i64, HumanDecision)>, CaseError> {
    let rows = sqlx::query("SELECT id, decision FROM case_decisions WHERE id > ? ORDER BY id")
        .bind(after_id)
        .fetch_all(&mut *tx)
        .await?;
    rows.iter()
        .map(|row| {
            let json: String = row.get("decision");
            let decision = serde_json::from_str(&json)
                .map_err(|e| CaseError::Corrupt(format!("staff decision: {e}")))?;
            Ok((row.get("id"), decision))
        })
        .collect()
}

/// Every staff decision as recorded, oldest first.
pub async fn load_decision_records(
    pool: &SqlitePool,
) -> Result<Vec<(i64, DecisionRecord)>, CaseError> {
    let rows =
        sqlx::query("SELECT id, decision, actor, why, decided_at FROM case_decisions ORDER BY id")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| {
            let json: String = row.get("decision");
            Ok((
                row.get("id"),
                DecisionRecord {
                    decision: serde_json::from_str(&json)
                        .map_err(|e| CaseError::Corrupt(format!("staff decision: {e}")))?,
                    actor: row.get("actor"),
                    why: row.get("why"),
                    decided_at: row.get("decided_at"),
                },
            ))
        })
        .collect()
}

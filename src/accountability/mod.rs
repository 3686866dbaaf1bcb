//! 责任追究: a case answered as 查实 or 部分查实 may carry accountability records — the unit
//! held accountable (a queue), the role of the person held responsible (no name needed), the
//! measure (one of `accountability.measures`), the decision's date and the deciding body, a
//! note. Users of the accountability queue (`accountability.queue`, the supervision bureau's)
//! and admins record, edit and withdraw them (who may is `people::access`'s rule, checked by the
//! API before this runs); each change is one decision transaction with its audit entry, which
//! holds the record before and after.

pub mod config;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::config::AccountabilityConfig;
use crate::people::Actor;
use crate::routing::RoutingConfig;
use crate::store::accountability::{AccountabilityFields, AccountabilityRecord, NewAccountability};
use crate::store::audit::NewAuditEvent;
use crate::store::{Store, StoreError, format_utc};
use crate::workflow::Finding;
use crate::workflow::transition::{WorkflowError, current, current_read};

/// Longest role, deciding body (characters) and note.
const MAX_SHORT_TEXT: usize = 200;
const MAX_NOTE: usize = 2000;

/// A record as a request gives it (to record, or to replace what a record says).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountabilityRequest {
    /// The unit held accountable: a queue key of the routing file.
    pub unit: String,
    /// The role of the person held responsible, e.g. `窗口科室负责人` (no name needed).
    pub role: String,
    /// One of `accountability.measures` (default 效能告诫, 通报批评, 诫勉谈话, 调离岗位,
    /// 移送纪检监察, 其他).
    pub measure: String,
    /// The decision's date, `YYYY-MM-DD` (local); not after today.
    #[schema(value_type = String, example = "2026-03-18")]
    pub decided_on: NaiveDate,
    /// The body that decided, e.g. `市监察局`.
    pub deciding_body: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountabilityError {
    #[error("case `{0}` not found")]
    CaseNotFound(String),
    #[error("case `{case_id}` has no accountability record {id} in force")]
    RecordNotFound { case_id: String, id: i64 },
    /// Accountability follows a 查实 or 部分查实 answer.
    #[error(
        "accountability follows an answer of 查实 or 部分查实; case `{case_id}` {}",
        .finding.map_or("has no answer".to_string(), |f| format!("was answered {}", f.label()))
    )]
    NotSubstantiated {
        case_id: String,
        finding: Option<Finding>,
    },
    #[error("`{measure}` is not one of the configured measures ({})", .allowed.join(", "))]
    MeasureUnknown {
        measure: String,
        allowed: Vec<String>,
    },
    #[error("no queue `{0}` in the routing file")]
    UnitUnknown(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored workflow data is corrupt: {0}")]
    Corrupt(String),
}

impl From<WorkflowError> for AccountabilityError {
    fn from(error: WorkflowError) -> Self {
        match error {
            WorkflowError::NotFound(id) => AccountabilityError::CaseNotFound(id),
            WorkflowError::Store(error) => AccountabilityError::Store(error),
            other => AccountabilityError::Corrupt(other.to_string()),
        }
    }
}

/// What the rules read: the configured measures, the queues, the local offset ("today").
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    pub config: &'a AccountabilityConfig,
    pub routing: &'a RoutingConfig,
    pub offset: FixedOffset,
}

impl Rules<'_> {
    /// The request's fields, checked and trimmed, at `now`.
    pub fn fields(
        &self,
        request: &AccountabilityRequest,
        now: DateTime<Utc>,
    ) -> Result<AccountabilityFields, AccountabilityError> {
        let text = |value: &str, name: &str, max: usize| {
            let value = value.trim();
            if value.is_empty() {
                return Err(AccountabilityError::Invalid(format!("`{name}` is empty")));
            }
            if value.chars().count() > max {
                return Err(AccountabilityError::Invalid(format!(
                    "`{name}` is longer than {max} characters"
                )));
            }
            Ok(value.to_string())
        };
        let unit = request.unit.trim();
        if self.routing.queue(unit).is_none() {
            return Err(AccountabilityError::UnitUnknown(unit.to_string()));
        }
        let measure = request.measure.trim();
        if !self.config.measures.iter().any(|m| m == measure) {
            return Err(AccountabilityError::MeasureUnknown {
                measure: measure.to_string(),
                allowed: self.config.measures.clone(),
            });
        }
        let today = now.with_timezone(&self.offset).date_naive();
        if request.decided_on > today {
            return Err(AccountabilityError::Invalid(format!(
                "`decided_on` ({}) is after today ({today})",
                request.decided_on
            )));
        }
        let note = match request.note.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(note) => Some(text(note, "note", MAX_NOTE)?),
        };
        Ok(AccountabilityFields {
            unit: unit.to_string(),
            role: text(&request.role, "role", MAX_SHORT_TEXT)?,
            measure: measure.to_string(),
            decided_on: request.decided_on.format("%Y-%m-%d").to_string(),
            deciding_body: text(&request.deciding_body, "deciding_body", MAX_SHORT_TEXT)?,
            note,
        })
    }
}

/// The finding of the case's latest answer, if it has one.
pub async fn latest_finding(
    store: &Store,
    case_id: &str,
) -> Result<Option<Finding>, AccountabilityError> {
    let Some(answer) = store.case_answers(case_id).await?.pop() else {
        return Ok(None);
    };
    let finding: Finding = serde_json::from_value(json!(answer.answer.finding))
        .map_err(|e| AccountabilityError::Corrupt(format!("case {case_id}: finding: {e}")))?;
    Ok(Some(finding))
}

/// The records in force of `case_id`, oldest first; the case must exist.
pub async fn case_records(
    store: &Store,
    routing: &RoutingConfig,
    case_id: &str,
) -> Result<Vec<AccountabilityRecord>, AccountabilityError> {
    current_read(store, routing, case_id)
        .await?
        .ok_or_else(|| AccountabilityError::CaseNotFound(case_id.to_string()))?;
    Ok(store.case_accountability(case_id).await?)
}

/// A record's fields as the audit record keeps them.
fn audited(fields: &AccountabilityFields) -> serde_json::Value {
    json!({
        "unit": fields.unit,
        "role": fields.role,
        "measure": fields.measure,
        "decided_on": fields.decided_on,
        "deciding_body": fields.deciding_body,
        "note": fields.note,
    })
}

fn audit_event(
    action: &str,
    actor: &Actor,
    case_id: &str,
    id: i64,
    before: Option<&AccountabilityFields>,
    after: Option<&AccountabilityFields>,
    now: DateTime<Utc>,
) -> NewAuditEvent {
    NewAuditEvent {
        at: format_utc(now),
        actor: actor.to_string(),
        action: action.into(),
        case_id: Some(case_id.to_string()),
        complaint_ids: Vec::new(),
        detail: json!({
            "record": id,
            "before": before.map(audited),
            "after": after.map(audited),
        })
        .to_string(),
    }
}

/// Records accountability on `case_id` (answered 查实 or 部分查实) as `actor` at `now`;
/// returns the record as stored.
pub async fn record(
    store: &Store,
    rules: Rules<'_>,
    case_id: &str,
    request: &AccountabilityRequest,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<AccountabilityRecord, AccountabilityError> {
    let fields = rules.fields(request, now)?;
    current_read(store, rules.routing, case_id)
        .await?
        .ok_or_else(|| AccountabilityError::CaseNotFound(case_id.to_string()))?;
    let finding = latest_finding(store, case_id).await?;
    if !matches!(
        finding,
        Some(Finding::Substantiated | Finding::PartlySubstantiated)
    ) {
        return Err(AccountabilityError::NotSubstantiated {
            case_id: case_id.to_string(),
            finding,
        });
    }
    let new = NewAccountability {
        case_id: case_id.to_string(),
        fields,
        recorded_by: actor.to_string(),
        recorded_at: format_utc(now),
    };
    let mut tx = store.begin_decision().await?;
    let id = tx.add_accountability(&new).await?;
    let event = audit_event(
        "case.accountability.record",
        actor,
        case_id,
        id,
        None,
        Some(&new.fields),
        now,
    );
    tx.append_audit(&[event]).await?;
    let stored = tx.accountability_record(id).await?;
    tx.commit().await?;
    stored.ok_or_else(|| AccountabilityError::Corrupt(format!("record {id} just stored")))
}

/// The record `id` of `case_id` in force, in `tx`.
async fn in_force(
    tx: &mut dyn crate::store::DerivedTx,
    rules: Rules<'_>,
    case_id: &str,
    id: i64,
) -> Result<AccountabilityRecord, AccountabilityError> {
    current(tx, rules.routing, case_id)
        .await?
        .ok_or_else(|| AccountabilityError::CaseNotFound(case_id.to_string()))?;
    tx.accountability_record(id)
        .await?
        .filter(|r| r.record.case_id == case_id && r.withdrawn_at.is_none())
        .ok_or_else(|| AccountabilityError::RecordNotFound {
            case_id: case_id.to_string(),
            id,
        })
}

/// Replaces what record `id` of `case_id` says; returns it as stored now.
pub async fn edit(
    store: &Store,
    rules: Rules<'_>,
    case_id: &str,
    id: i64,
    request: &AccountabilityRequest,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<AccountabilityRecord, AccountabilityError> {
    let fields = rules.fields(request, now)?;
    let mut tx = store.begin_decision().await?;
    let before = in_force(&mut *tx, rules, case_id, id).await?;
    let at = format_utc(now);
    tx.update_accountability(id, &fields, &actor.to_string(), &at)
        .await?;
    let event = audit_event(
        "case.accountability.edit",
        actor,
        case_id,
        id,
        Some(&before.record.fields),
        Some(&fields),
        now,
    );
    tx.append_audit(&[event]).await?;
    let stored = tx.accountability_record(id).await?;
    tx.commit().await?;
    stored.ok_or_else(|| AccountabilityError::Corrupt(format!("record {id} just edited")))
}

/// Withdraws record `id` of `case_id`; returns it as stored now (with who withdrew it).
pub async fn withdraw(
    store: &Store,
    rules: Rules<'_>,
    case_id: &str,
    id: i64,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<AccountabilityRecord, AccountabilityError> {
    let mut tx = store.begin_decision().await?;
    let before = in_force(&mut *tx, rules, case_id, id).await?;
    tx.withdraw_accountability(id, &actor.to_string(), &format_utc(now))
        .await?;
    let event = audit_event(
        "case.accountability.withdraw",
        actor,
        case_id,
        id,
        Some(&before.record.fields),
        None,
        now,
    );
    tx.append_audit(&[event]).await?;
    let stored = tx.accountability_record(id).await?;
    tx.commit().await?;
    stored.ok_or_else(|| AccountabilityError::Corrupt(format!("record {id} just withdrawn")))
}

/// A record as shown (API, reports).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountabilityView {
    pub id: i64,
    pub case_id: String,
    /// The unit's queue key, and its name from the routing file.
    pub unit: String,
    pub unit_name: Option<String>,
    pub role: String,
    pub measure: String,
    /// `YYYY-MM-DD`.
    pub decided_on: String,
    pub deciding_body: String,
    pub note: Option<String>,
    pub recorded_by: String,
    /// RFC 3339, UTC.
    pub recorded_at: String,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
    /// Set on the answer to a withdrawal.
    pub withdrawn_by: Option<String>,
    pub withdrawn_at: Option<String>,
}

impl AccountabilityView {
    pub fn new(record: AccountabilityRecord, routing: &RoutingConfig) -> AccountabilityView {
        let r = record.record;
        let f = r.fields;
        AccountabilityView {
            id: record.id,
            unit_name: routing.queue(&f.unit).map(|q| q.name.to_string()),
            case_id: r.case_id,
            unit: f.unit,
            role: f.role,
            measure: f.measure,
            decided_on: f.decided_on,
            deciding_body: f.deciding_body,
            note: f.note,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at,
            updated_by: record.updated_by,
            updated_at: record.updated_at,
            withdrawn_by: record.withdrawn_by,
            withdrawn_at: record.withdrawn_at,
        }
    }
}

#[cfg(test)]
mod tests;

//! 回访: the complaint centre calls the complainant back after the answer and records each
//! attempt — reached or not, how, a note — and, once reached, whether the problem is solved
//! (已解决 / 未解决) and the verdict (满意 / 基本满意 / 不满意). Only an answered (or closed)
//! case is followed up. An unsolved or unsatisfied verdict reopens the case at once when the
//! caller asks (`reopen`), through the workflow's `reopen` transition in the same transaction
//! as the follow-up and its audit entry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::clocks::Clocks;
use super::machine::{Action, Caller, State};
use super::service::follow_step;
use super::transition::{Details, Outcome, WorkflowError, current, take};
use crate::people::Actor;
use crate::store::audit::NewAuditEvent;
use crate::store::follow_ups::NewFollowUp;
use crate::store::{Store, format_utc};

/// How the centre tried to reach the complainant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Contact {
    Phone,
    Sms,
    Visit,
    Email,
    Other,
}

impl Contact {
    pub fn as_str(self) -> &'static str {
        match self {
            Contact::Phone => "phone",
            Contact::Sms => "sms",
            Contact::Visit => "visit",
            Contact::Email => "email",
            Contact::Other => "other",
        }
    }
}

/// The complainant's verdict on the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 满意
    Satisfied,
    /// 基本满意
    BasicallySatisfied,
    /// 不满意
    Dissatisfied,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Satisfied => "satisfied",
            Verdict::BasicallySatisfied => "basically_satisfied",
            Verdict::Dissatisfied => "dissatisfied",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Satisfied => "满意",
            Verdict::BasicallySatisfied => "基本满意",
            Verdict::Dissatisfied => "不满意",
        }
    }

    /// The stored name back; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<Verdict> {
        [
            Verdict::Satisfied,
            Verdict::BasicallySatisfied,
            Verdict::Dissatisfied,
        ]
        .into_iter()
        .find(|v| v.as_str() == name)
    }
}

/// A follow-up attempt as a request carries it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpRequest {
    /// Whether the complainant was reached.
    pub reached: bool,
    pub contact: Contact,
    #[serde(default)]
    pub note: Option<String>,
    /// Reached: whether the problem is solved (已解决) or not (未解决). Required when reached.
    #[serde(default)]
    pub solved: Option<bool>,
    /// Reached: the verdict. Required when reached.
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// Reopen the case (重办) at once: only with a verdict `dissatisfied` or `solved: false`.
    #[serde(default)]
    pub reopen: bool,
}

/// What recording a follow-up did.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: i64,
    /// The reopen transition, when the caller asked for it.
    pub reopened: Option<Outcome>,
}

/// Checks a request's fields against each other.
pub fn validate(request: &FollowUpRequest) -> Result<(), WorkflowError> {
    let invalid = |m: &str| Err(WorkflowError::Invalid(m.to_string()));
    if request.reached {
        if request.solved.is_none() || request.verdict.is_none() {
            return invalid(
                "a follow-up that reached the complainant needs `solved` and `verdict`",
            );
        }
    } else if request.solved.is_some() || request.verdict.is_some() {
        return invalid("`solved` and `verdict` are for a follow-up that reached the complainant");
    }
    let unhappy = request.solved == Some(false) || request.verdict == Some(Verdict::Dissatisfied);
    if request.reopen && !unhappy {
        return invalid("`reopen` is for a verdict `dissatisfied` or `solved: false`");
    }
    Ok(())
}

/// Records a follow-up of `case_id` for `caller` (recorded as `actor`) at `now` and commits it,
/// with the reopen the request asks for.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    store: &Store,
    clocks: Clocks<'_>,
    case_id: &str,
    request: &FollowUpRequest,
    caller: Caller<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Recorded, WorkflowError> {
    validate(request)?;
    let answer_id = store.case_answers(case_id).await?.last().map(|a| a.id);
    let routing = clocks.routing;
    let mut tx = store.begin_decision().await?;
    let Some(state) = current(&mut *tx, routing, case_id).await? else {
        return Err(WorkflowError::NotFound(case_id.to_string()));
    };
    let flow: State = state
        .state
        .parse()
        .map_err(|e: String| WorkflowError::Corrupt(format!("case {case_id}: {e}")))?;
    if !matches!(flow, State::Answered | State::Closed) {
        return Err(WorkflowError::NotAnswered(flow));
    }
    let note = request
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let follow_up = NewFollowUp {
        case_id: case_id.to_string(),
        answer_id,
        queue_key: state.queue_key.clone(),
        reached: request.reached,
        contact: request.contact.as_str().to_string(),
        note: note.clone(),
        solved: request.solved,
        verdict: request.verdict.map(|v| v.as_str().to_string()),
        recorded_by: actor.to_string(),
        recorded_at: format_utc(now),
        reopened: request.reopen,
    };
    let id = tx.record_follow_up(&follow_up).await?;
    tx.append_audit(&[NewAuditEvent {
        at: format_utc(now),
        actor: actor.to_string(),
        action: "case.follow_up".into(),
        case_id: Some(case_id.to_string()),
        complaint_ids: Vec::new(),
        // The note stays out of the audit: it may hold what the complainant said.
        detail: serde_json::json!({
            "follow_up": id,
            "reached": request.reached,
            "contact": request.contact.as_str(),
            "solved": request.solved,
            "verdict": request.verdict.map(Verdict::as_str),
            "reopen": request.reopen,
        })
        .to_string(),
    }])
    .await?;
    let reopened = if request.reopen {
        let why = match request.verdict {
            Some(Verdict::Dissatisfied) => "回访：不满意",
            _ => "回访：未解决",
        };
        let details = Details {
            note: Some(note.map_or_else(|| why.to_string(), |n| format!("{why}；{n}"))),
            ..Details::default()
        };
        let outcome = take(
            &mut *tx,
            routing,
            case_id,
            Action::Reopen,
            &details,
            caller,
            actor,
            now,
        )
        .await?;
        follow_step(
            &mut *tx,
            clocks,
            case_id,
            Action::Reopen,
            &details,
            &outcome,
            actor,
            now,
        )
        .await?;
        Some(outcome)
    } else {
        None
    };
    tx.commit().await?;
    Ok(Recorded { id, reopened })
}

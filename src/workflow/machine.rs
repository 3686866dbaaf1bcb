//! The case workflow's states and transitions, and who may make each: pure rules, no store.
//!
//! ```text
//! new → triaged → assigned (交办) → accepted (签收) → investigating → answered (办结) → closed
//!                     ↑   └── returned (退单) ──┘ back to triage
//!                     └── reopened (回访 unsatisfied, new evidence) ← answered | closed
//! merged: terminal, from any state but closed and merged
//! ```
//!
//! A case the routing sends to a unit enters `assigned` at once; only cases in the triage
//! queue wait in `new`/`triaged`. `overdue` is a flag on a clock, not a state; an extension
//! (延期) is a separate request, and the case keeps its state meanwhile.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::people::Role;
use crate::store::people::QueueMembership;

/// Where a case stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum State {
    New,
    Triaged,
    /// 交办: sent to a unit's queue, waiting for it to accept.
    Assigned,
    /// 签收: the unit took it.
    Accepted,
    /// 办理: an investigator works on it.
    Investigating,
    /// 办结: the unit answered; triage closes it (or reopens it).
    Answered,
    Closed,
    /// 退单: handed back to triage by the unit, with a reason.
    Returned,
    /// Back to the unit after an answer (回访 unsatisfied, new evidence), with new clocks.
    Reopened,
    /// Merged into another case (terminal).
    Merged,
}

impl State {
    pub const ALL: [State; 10] = [
        State::New,
        State::Triaged,
        State::Assigned,
        State::Accepted,
        State::Investigating,
        State::Answered,
        State::Closed,
        State::Returned,
        State::Reopened,
        State::Merged,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Triaged => "triaged",
            State::Assigned => "assigned",
            State::Accepted => "accepted",
            State::Investigating => "investigating",
            State::Answered => "answered",
            State::Closed => "closed",
            State::Returned => "returned",
            State::Reopened => "reopened",
            State::Merged => "merged",
        }
    }

    /// Whether a unit holds the case (its clocks run).
    pub fn with_unit(self) -> bool {
        matches!(
            self,
            State::Assigned | State::Accepted | State::Investigating | State::Reopened
        )
    }

    /// Whether the case still needs work (not answered, closed or merged).
    pub fn is_open(self) -> bool {
        !matches!(self, State::Answered | State::Closed | State::Merged)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for State {
    type Err = String;

    fn from_str(text: &str) -> Result<State, String> {
        State::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown state `{text}`: one of {}",
                    State::ALL.map(State::as_str).join(", ")
                )
            })
    }
}

/// What a transition does (its request carries the details: the queue, the reason, the
/// answer).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Triage looked at a new case.
    Triage,
    /// 交办: to a unit's queue (again, after a return; or elsewhere: a reassignment).
    Assign,
    /// 签收 by the unit.
    Accept,
    /// 办理: the investigator starts.
    Start,
    /// 办结: the finding and the reply.
    Answer,
    /// After an answer, or by triage without one (duplicate, not our remit).
    Close,
    /// 退单 by the unit, with a reason.
    Return,
    /// Back to the unit after an answer or a close.
    Reopen,
    /// Into another case.
    Merge,
    /// To one investigator of the unit (the state stays).
    AssignInvestigator,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Triage,
        Action::Assign,
        Action::Accept,
        Action::Start,
        Action::Answer,
        Action::Close,
        Action::Return,
        Action::Reopen,
        Action::Merge,
        Action::AssignInvestigator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Triage => "triage",
            Action::Assign => "assign",
            Action::Accept => "accept",
            Action::Start => "start",
            Action::Answer => "answer",
            Action::Close => "close",
            Action::Return => "return",
            Action::Reopen => "reopen",
            Action::Merge => "merge",
            Action::AssignInvestigator => "assign_investigator",
        }
    }

    /// Who may take it: the complaint centre (admin, triage), or the unit holding the case
    /// (its investigators; its lead for [`Action::AssignInvestigator`]).
    pub fn by(self) -> Party {
        match self {
            Action::Triage | Action::Assign | Action::Close | Action::Reopen | Action::Merge => {
                Party::Centre
            }
            Action::Accept | Action::Start | Action::Answer | Action::Return => Party::Unit,
            Action::AssignInvestigator => Party::UnitLead,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may take an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// Admin or triage.
    Centre,
    /// A member of the queue holding the case, or admin.
    Unit,
    /// The lead of the queue holding the case, or admin.
    UnitLead,
}

/// The state `action` leads to from `from`; `None` when it is not allowed there.
pub fn next(from: State, action: Action) -> Option<State> {
    use State::*;
    let to = match (action, from) {
        (Action::Triage, New) => Triaged,
        (Action::Assign, New | Triaged | Returned) => Assigned,
        // A reassignment to another queue: the clocks start again.
        (Action::Assign, Assigned | Accepted | Investigating | Reopened) => Assigned,
        (Action::Accept, Assigned | Reopened) => Accepted,
        (Action::Start, Accepted) => Investigating,
        (Action::Answer, Accepted | Investigating) => Answered,
        // After the answer; or by triage as duplicate / not our remit.
        (Action::Close, Answered | New | Triaged | Returned) => Closed,
        (Action::Return, Assigned | Accepted | Investigating | Reopened) => Returned,
        (Action::Reopen, Answered | Closed) => Reopened,
        (Action::Merge, from) if from != Closed && from != Merged => Merged,
        (Action::AssignInvestigator, Assigned | Accepted | Investigating | Reopened) => from,
        _ => return None,
    };
    Some(to)
}

/// The actions allowed from `from`, in [`Action::ALL`]'s order.
pub fn allowed(from: State) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| next(from, *a).is_some())
        .collect()
}

/// What a caller is, for [`may_take`].
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub roles: &'a [Role],
    pub queues: &'a [QueueMembership],
}

/// Whether `caller` may take `action` on a case held by `queue` (`None`: no unit holds it).
pub fn may_take(caller: Caller<'_>, action: Action, queue: Option<&str>) -> bool {
    if caller.roles.contains(&Role::Admin) {
        return true;
    }
    let member = |lead_only: bool| {
        caller.roles.contains(&Role::Investigator)
            && queue.is_some_and(|q| {
                caller
                    .queues
                    .iter()
                    .any(|m| m.queue == q && (m.lead || !lead_only))
            })
    };
    match action.by() {
        Party::Centre => caller.roles.contains(&Role::Triage),
        Party::Unit => member(false),
        Party::UnitLead => member(true),
    }
}

/// The reasons a unit gives for a 退单; `other` requires the free text.
pub const RETURN_REASONS: &[&str] = &[
    "not_our_remit",
    "wrong_unit",
    "insufficient_information",
    "duplicate",
    "other",
];

/// Why triage closes a case that was not answered.
pub const CLOSE_WITHOUT_ANSWER: &[&str] = &["duplicate", "not_our_remit"];

/// The findings of an answer: 查实 / 部分查实 / 不属实 / 其他.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// 查实
    Substantiated,
    /// 部分查实
    PartlySubstantiated,
    /// 不属实
    Unsubstantiated,
    /// 其他
    Other,
}

impl Finding {
    pub fn as_str(self) -> &'static str {
        match self {
            Finding::Substantiated => "substantiated",
            Finding::PartlySubstantiated => "partly_substantiated",
            Finding::Unsubstantiated => "unsubstantiated",
            Finding::Other => "other",
        }
    }

    /// The Chinese name staff and the complainant read.
    pub fn label(self) -> &'static str {
        match self {
            Finding::Substantiated => "查实",
            Finding::PartlySubstantiated => "部分查实",
            Finding::Unsubstantiated => "不属实",
            Finding::Other => "其他",
        }
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;

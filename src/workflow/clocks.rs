//! The case's deadline follows every step, in the step's transaction:
//!
//! - a new holder (an `assign` to a queue, a `reopen`, a correction that moves the case) closes
//!   the old clock with the reason and starts a new one counted from that moment, with its 交办
//!   email to the new unit ([`restart`]) — a reopen's is the 重新办理 notice, with the reopen's
//!   note;
//! - an answer stops it as answered (on time or not, in the deadline's trail);
//! - a return, a close without an answer and a merge stop it with the reason.
//!
//! A case that never had a deadline (routed before deadlines existed, or history) has nothing
//! to follow until routing assigns it.

use chrono::{DateTime, FixedOffset, Utc};

use super::machine::{Action, State};
use super::transition::WorkflowError;
use crate::calendar::Calendar;
use crate::config::Config;
use crate::notify::templates::MailTemplates;
use crate::notify::{self, Assignment};
use crate::routing::RoutingConfig;
use crate::store::DerivedTx;
use crate::store::outbox::NewAuditEntry;

/// What the clocks need besides the transaction.
#[derive(Clone)]
pub struct Clocks<'a> {
    pub config: &'a Config,
    /// The calendar as it was when the step began (a year stored meanwhile counts from the
    /// next step).
    pub calendar: std::sync::Arc<Calendar>,
    pub routing: &'a RoutingConfig,
    /// The email templates (the 交办, 重新办理 and 退单 notices).
    pub templates: &'a MailTemplates,
}

impl Clocks<'_> {
    /// Follows `action`, taken on `case_id` (now held by `queue`) by `actor` at `now`.
    #[allow(clippy::too_many_arguments)]
    pub async fn follow(
        &self,
        tx: &mut dyn DerivedTx,
        case_id: &str,
        action: Action,
        from: State,
        queue: Option<&str>,
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        match action {
            Action::Assign => {
                if let Some(queue) = queue {
                    let why = if from == State::Returned {
                        "assigned after a return"
                    } else {
                        "reassigned"
                    };
                    self.restart(tx, case_id, queue, actor, why, now).await?;
                }
            }
            Action::Reopen => {
                if let Some(queue) = queue {
                    let reopen = Some(reason);
                    self.restart_with(tx, case_id, queue, actor, "reopened", now, reopen)
                        .await?;
                }
            }
            Action::Answer => {
                if stored(tx, case_id)
                    .await?
                    .is_some_and(|(_, _, state)| state == "open")
                {
                    notify::deadline::answer(tx, case_id, actor, reason, now)
                        .await
                        .map_err(notify_error)?;
                }
            }
            Action::Return | Action::Close | Action::Merge => {
                let why = match action {
                    Action::Return => format!("returned: {reason}"),
                    Action::Merge => format!("merged into {reason}"),
                    _ => format!("closed: {reason}"),
                };
                stop(tx, case_id, actor, &why, now).await?;
                if action == Action::Return {
                    self.tell_triage_of_return(tx, case_id, reason, now).await?;
                }
            }
            Action::Triage | Action::Accept | Action::Start | Action::AssignInvestigator => {}
        }
        Ok(())
    }

    /// Starts a new clock for `case_id` held by `queue` from `now` (closing the old one with
    /// `why`), with the 交办 email to the new unit; nothing when the case never had a
    /// deadline.
    pub async fn restart(
        &self,
        tx: &mut dyn DerivedTx,
        case_id: &str,
        queue: &str,
        actor: &str,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        self.restart_with(tx, case_id, queue, actor, why, now, None)
            .await
    }

    /// [`Clocks::restart`]; with `reopen` (the reopen's note) the unit's email is the 重新办理
    /// notice with that reason instead of the 交办 one.
    #[allow(clippy::too_many_arguments)]
    async fn restart_with(
        &self,
        tx: &mut dyn DerivedTx,
        case_id: &str,
        queue: &str,
        actor: &str,
        why: &str,
        now: DateTime<Utc>,
        reopen: Option<&str>,
    ) -> Result<(), WorkflowError> {
        let Some((mut a, due, state)) = stored(tx, case_id).await? else {
            return Ok(());
        };
        let Some(info) = self.routing.queue(queue) else {
            return Err(WorkflowError::Invalid(format!(
                "no queue `{queue}` in the routing"
            )));
        };
        if state == "open" {
            close_entry(tx, case_id, actor, why, &due.to_rfc3339(), now).await?;
        }
        a.queue_key = info.key.to_string();
        a.queue_name = info.name.to_string();
        a.members = info.members.to_vec();
        for email in tx.queue_user_emails(queue).await? {
            if !a.members.contains(&email) {
                a.members.push(email);
            }
        }
        a.supervisor = info.supervisor.to_string();
        a.triage = queue == self.routing.triage_queue();
        a.why = format!("{why}（{actor}）");
        a.assigned_at = now.with_timezone(&self.config.deadlines.offset());
        let (config, calendar, templates) = (self.config, &*self.calendar, self.templates);
        match reopen {
            Some(reason) => notify::on_reopen(tx, &a, config, calendar, templates, reason).await,
            None => {
                let one = std::slice::from_ref(&a);
                notify::on_assignments(tx, one, config, calendar, templates).await
            }
        }
        .map_err(notify_error)?;
        Ok(())
    }
}

impl Clocks<'_> {
    /// Gives `to_case` a copy of `from_case`'s open clock (same unit, same deadline) when it
    /// has none: the members left after their founder was split out form a case of a new name
    /// and go on under the same clock. Returns whether a copy was made.
    pub async fn carry(
        &self,
        tx: &mut dyn DerivedTx,
        from_case: &str,
        to_case: &str,
    ) -> Result<bool, WorkflowError> {
        if from_case == to_case || tx.stored_deadline(to_case).await?.is_some() {
            return Ok(false);
        }
        let Some((mut a, due_at, state)) = stored(tx, from_case).await? else {
            return Ok(false);
        };
        if state != "open" {
            return Ok(false);
        }
        a.case_id = to_case.to_string();
        let copy = crate::store::outbox::NewDeadline {
            case_id: to_case.to_string(),
            complaint_id: a.complaint_id.clone(),
            queue_key: a.queue_key.clone(),
            queue_name: a.queue_name.clone(),
            priority: a.priority.clone(),
            assigned_at: a.assigned_at,
            due_at,
            provisional_year: None,
            assignment: serde_json::to_string(&a).expect("an assignment serialises"),
        };
        tx.assign_deadlines(std::slice::from_ref(&copy)).await?;
        Ok(true)
    }

    /// Starts the clock of `split_case`, split out of `from_case`, in the triage queue, counted
    /// from `now` (the old case's clock, when `split_case` was its founder, is closed with
    /// the reason; nothing when neither had an open clock).
    pub async fn start_split(
        &self,
        tx: &mut dyn DerivedTx,
        split_case: &str,
        from_case: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        let why = format!("split out of {from_case}");
        if self.carry(tx, from_case, split_case).await? {
            tx.close_deadline(split_case, now, actor, &why).await?;
        }
        let triage = self.routing.triage_queue().to_string();
        self.restart(tx, split_case, &triage, actor, &why, now)
            .await
    }
}

impl Clocks<'_> {
    /// The 退单 notice: the triage queue's people learn that the unit handed `case_id` back,
    /// and why (nothing when the case never had an assignment to describe it).
    async fn tell_triage_of_return(
        &self,
        tx: &mut dyn DerivedTx,
        case_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        let Some((a, due, _)) = stored(tx, case_id).await? else {
            return Ok(());
        };
        let triage = self.routing.triage_queue();
        let Some(info) = self.routing.queue(triage) else {
            return Ok(());
        };
        let mut to = info.members.to_vec();
        for email in tx.queue_user_emails(triage).await? {
            if !to.contains(&email) {
                to.push(email);
            }
        }
        let mail = self
            .templates
            .case_mail(
                notify::templates::CaseMail::Returned { reason },
                &a,
                info.name,
                &due,
                &self.config.email.console_url,
            )
            .map_err(notify_error)?;
        notify::outbox::enqueue(tx, self.config, now, "returned", Some(&a), &mail, &to).await?;
        Ok(())
    }
}

/// The stored assignment, deadline and state of `case_id` (notify's own reading of it);
/// `None` when the case has no deadline.
async fn stored(
    tx: &mut dyn DerivedTx,
    case_id: &str,
) -> Result<Option<(Assignment, DateTime<FixedOffset>, String)>, WorkflowError> {
    match notify::deadline::load(tx, case_id).await {
        Ok(found) => Ok(Some(found)),
        Err(notify::NotifyError::NoDeadline { .. }) => Ok(None),
        Err(other) => Err(notify_error(other)),
    }
}

/// Stops `case_id`'s open deadline with `why` (nothing when none is open).
async fn stop(
    tx: &mut dyn DerivedTx,
    case_id: &str,
    actor: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    let Some(stored) = tx.stored_deadline(case_id).await? else {
        return Ok(());
    };
    if stored.state != "open" {
        return Ok(());
    }
    tx.close_deadline(case_id, now, actor, why).await?;
    close_entry(tx, case_id, actor, why, &stored.due_at, now).await
}

/// The deadline trail's entry for a clock closed without an answer.
async fn close_entry(
    tx: &mut dyn DerivedTx,
    case_id: &str,
    actor: &str,
    why: &str,
    due_at: &str,
    now: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    tx.append_deadline_audit(&[NewAuditEntry {
        case_id: Some(case_id.to_string()),
        at: now,
        actor: actor.to_string(),
        action: "clock_closed".into(),
        detail: serde_json::json!({"why": why, "due_at": due_at}),
    }])
    .await?;
    Ok(())
}

fn notify_error(error: notify::NotifyError) -> WorkflowError {
    match error {
        notify::NotifyError::Store(e) => WorkflowError::Store(e),
        other => WorkflowError::Invalid(other.to_string()),
    }
}

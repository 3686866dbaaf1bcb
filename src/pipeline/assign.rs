//! The assignment stage: turns the cases that the classify-and-route stage assigned to a queue
//! in this batch into deadlines and notifications ([`crate::notify::on_assignment`]), inside
//! the batch's transaction — so a deadline and its 交办 email exist exactly when the route does.
//!
//! A case already assigned to the same queue keeps its deadline and is not notified again
//! (re-deliveries, new members and `reprocess` do not send a second assignment email); a move
//! to another queue is a new assignment with a new deadline. Each assignment is also the
//! case's entry (or move) in the workflow ([`crate::workflow::entry`]).
//!
//! History (`import --historical`) is routed like anything else but never assigned: a case
//! whose members are all historical gets no deadline, no audit row and no notice, and its
//! status is `closed` (answered elsewhere, long ago). A live complaint that joins such a case
//! later is what the centre must answer now: the case is assigned then (deadline counted from
//! that complaint's receipt, 交办 email) and reopened. A historical complaint that joins a live
//! case changes nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::DateTime;
use futures::future::BoxFuture;

use super::{Complaint, PipelineError, Stage};
use crate::calendar::SharedCalendar;
use crate::config::Config;
use crate::notify::templates::MailTemplates;
use crate::notify::{Assignment, on_assignments};
use crate::routing::{RoutedCase, RoutingConfig};
use crate::store::DerivedTx;
use crate::store::cases::StatusChange;
use crate::store::subjects::{CaseSubject, NewSubject, ORIGIN_RULE, effective_subjects};
use crate::workflow;

/// Who set the status of a case loaded as history, and why.
const STATUS_ACTOR: &str = "system:assign";
const REOPENED_WHY: &str = "a live complaint joined a case loaded as history";
/// Who records the subjects found when complaints are routed.
const SUBJECT_ACTOR: &str = "system:route";

/// Sets the working status of `case` (when it is a case) and the `status` facet of its
/// complaints: `closed` for history; when a live complaint reopens it, `open` and the facet
/// routing gives a live case (`assigned`, or `triage`).
async fn set_case_status(
    tx: &mut dyn DerivedTx,
    case: &RoutedCase,
    (status, facet): (&str, &str),
    why: &str,
) -> Result<(), PipelineError> {
    let now = crate::store::format_utc(chrono::Utc::now());
    if let Some(case_id) = &case.case_id
        && tx.case_exists(case_id).await?
    {
        tx.set_case_status(StatusChange {
            case_id,
            status,
            actor: STATUS_ACTOR,
            why,
            updated_at: &now,
        })
        .await?;
    }
    crate::notify::set_case_status_facet(tx, &case.route_key, &case.complaint_id, Some(facet))
        .await?;
    Ok(())
}

/// Gives every newly routed case its deadline and enqueues its notifications.
pub struct AssignStage {
    routed: Arc<Mutex<Vec<RoutedCase>>>,
    routing: Arc<RoutingConfig>,
    config: Arc<Config>,
    calendar: Arc<SharedCalendar>,
    templates: Arc<MailTemplates>,
}

impl AssignStage {
    /// A stage draining `routed` (from [`super::ClassifyRouteStage::routed_cases`]).
    pub fn new(
        routed: Arc<Mutex<Vec<RoutedCase>>>,
        routing: Arc<RoutingConfig>,
        config: Arc<Config>,
        calendar: Arc<SharedCalendar>,
        templates: Arc<MailTemplates>,
    ) -> AssignStage {
        AssignStage {
            routed,
            routing,
            config,
            calendar,
            templates,
        }
    }

    fn error(message: String) -> PipelineError {
        PipelineError::Stage {
            stage: "assign",
            message,
        }
    }

    /// The assignment of `routed`, caused by `complaint`; `subjects` are the keys of the
    /// queues the case is about (recorded, or found now and not removed by staff).
    fn assignment(
        &self,
        routed: &RoutedCase,
        complaint: &Complaint,
        subjects: Vec<String>,
    ) -> Result<Assignment, PipelineError> {
        let queue = self
            .routing
            .queue(&routed.queue)
            .ok_or_else(|| Self::error(format!("route to unknown queue `{}`", routed.queue)))?;
        let informed = routed
            .informed
            .iter()
            .filter_map(|key| self.routing.queue(key))
            .map(|q| (q.name.to_string(), q.members.to_vec()))
            .collect();
        // The gateway received it then: deadlines count from the centre's receipt, and the
        // same store gives the same deadlines on `reprocess`.
        let assigned_at = DateTime::parse_from_rfc3339(&complaint.received_at)
            .map_err(|e| Self::error(format!("received_at `{}`: {e}", complaint.received_at)))?;
        Ok(Assignment {
            case_id: routed.route_key.clone(),
            complaint_id: complaint.id.clone(),
            queue_key: queue.key.to_string(),
            queue_name: queue.name.to_string(),
            members: queue.members.to_vec(),
            supervisor: queue.supervisor.to_string(),
            informed,
            priority: routed.priority.clone(),
            channel: complaint.channel.clone(),
            title: complaint.title.clone(),
            assigned_at,
            target_unit: complaint.item.target_unit.clone(),
            subject_units: subjects
                .iter()
                .filter_map(|key| self.routing.queue(key))
                .map(|q| q.name.to_string())
                .collect(),
            subject_queues: subjects,
            complainant: complaint.item.complainant.clone(),
            text: complaint.text_norm.clone(),
            why: match &routed.category {
                Some(category) => format!("分类「{category}」，路由规则 {}", routed.rule),
                None => format!("路由规则 {}", routed.rule),
            },
            triage: routed.queue == self.routing.triage_queue(),
        })
    }

    /// Records the subjects of the routed cases found in this batch (the alias rule on each
    /// routed complaint, and the subject a routing rule declares), in the batch's transaction:
    /// a unit already recorded on the case, or removed from it by staff, is left as it is.
    /// Returns every case's recorded subjects afterwards, by route key, and the queues each
    /// routed complaint was found now to be about (its target unit or its text names the unit,
    /// `市监察局`, `监察局` without the city prefix, or one of the queue's `aliases`), by
    /// complaint id: the alias rule runs once per complaint.
    async fn record_subjects(
        &self,
        tx: &mut dyn DerivedTx,
        routed: &[RoutedCase],
        by_id: &HashMap<&str, &Complaint>,
    ) -> Result<
        (
            HashMap<String, Vec<CaseSubject>>,
            HashMap<String, Vec<String>>,
        ),
        PipelineError,
    > {
        let now = crate::store::format_utc(chrono::Utc::now());
        let mut found: Vec<(&str, String, &'static str, String)> = Vec::new();
        let mut found_now: HashMap<String, Vec<String>> = HashMap::new();
        for case in routed {
            let Some(complaint) = by_id.get(case.complaint_id.as_str()) else {
                continue;
            };
            let target = complaint.item.target_unit.as_deref();
            let keys = found_now.entry(case.complaint_id.clone()).or_default();
            for (key, concern) in self.routing.concerns(target, &complaint.text_norm) {
                let note = format!("{} {}", concern.origin, concern.matched);
                found.push((&case.route_key, key.to_string(), concern.origin, note));
                keys.push(key.to_string());
            }
            if let Some(subject) = &case.subject {
                let note = format!("route rule {}", case.rule);
                found.push((&case.route_key, subject.clone(), ORIGIN_RULE, note));
            }
        }
        let subjects: Vec<NewSubject<'_>> = found
            .iter()
            .map(|(case_id, queue, origin, note)| NewSubject {
                case_id,
                queue,
                origin,
                by: SUBJECT_ACTOR,
                at: &now,
                note: Some(note),
            })
            .collect();
        tx.record_subjects(&subjects).await?;
        let keys: Vec<&str> = routed.iter().map(|r| r.route_key.as_str()).collect();
        Ok((tx.cases_subjects(&keys).await?, found_now))
    }
}

impl Stage for AssignStage {
    fn name(&self) -> &'static str {
        "assign"
    }

    fn process<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async move {
            let routed = std::mem::take(&mut *self.routed.lock().expect("routed cases lock"));
            let by_id: HashMap<&str, &Complaint> =
                batch.iter().map(|c| (c.id.as_str(), c)).collect();
            let (recorded, found_now) = self.record_subjects(tx, &routed, &by_id).await?;
            let mut live = Vec::new();
            let mut history = Vec::new();
            for case in &routed {
                // New to a queue, or a new member (which may be the first live one of a case
                // loaded as history, so far without a deadline).
                if !case.is_new_assignment && !case.new_member {
                    continue;
                }
                let Some(complaint) = by_id.get(case.complaint_id.as_str()) else {
                    return Err(Self::error(format!(
                        "routed complaint {} is not in the batch",
                        case.complaint_id
                    )));
                };
                if complaint.historical {
                    history.push(case);
                } else {
                    live.push((case, *complaint));
                }
            }
            let keys: Vec<&str> = routed.iter().map(|r| r.route_key.as_str()).collect();
            let held = tx.deadline_queues(&keys).await?;
            let mut assigned: HashMap<&str, &str> = held
                .iter()
                .map(|(key, h)| (key.as_str(), h.queue_key.as_str()))
                .collect();
            let mut assignments = Vec::new();
            let mut reopened = Vec::new();
            // Complaints joining a case already assigned there (and every complaint of a
            // `reprocess`, which keeps the clocks): the case's deadline as their facet.
            let mut kept: Vec<(&str, &str)> = Vec::new();
            for (case, complaint) in live {
                match assigned.get(case.route_key.as_str()) {
                    Some(queue) if *queue == case.queue => {
                        kept.push((&case.route_key, &case.complaint_id));
                        continue;
                    }
                    // Assigned before: only a move to another queue is a new assignment.
                    Some(_) if !case.is_new_assignment => continue,
                    Some(_) => {}
                    // Never assigned while routed: its members so far were history.
                    None if !case.is_new_assignment => reopened.push(case),
                    None => {}
                }
                let subjects = effective_subjects(
                    recorded
                        .get(&case.route_key)
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                    found_now
                        .get(&case.complaint_id)
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                );
                assignments.push(self.assignment(case, complaint, subjects)?);
                assigned.insert(&case.route_key, &case.queue);
            }
            // (A case assigned in this very batch gets its facets from `on_assignments`.)
            let values: Vec<(&str, Option<&str>)> = kept
                .into_iter()
                .filter_map(|(key, complaint)| {
                    held.get(key).map(|h| (complaint, Some(h.due_at.as_str())))
                })
                .collect();
            tx.set_facet_many(crate::store::facets::Facet::Deadline, &values)
                .await?;
            // Notices also go to the enabled accounts that work the queue.
            let mut users: HashMap<String, Vec<String>> = HashMap::new();
            for a in &mut assignments {
                if !users.contains_key(&a.queue_key) {
                    let emails = tx.queue_user_emails(&a.queue_key).await?;
                    users.insert(a.queue_key.clone(), emails);
                }
                for email in &users[&a.queue_key] {
                    if !a.members.contains(email) {
                        a.members.push(email.clone());
                    }
                }
            }
            on_assignments(
                tx,
                &assignments,
                &self.config,
                &self.calendar.current(),
                &self.templates,
            )
            .await
            .map_err(|e| Self::error(e.to_string()))?;
            let reopened_keys: std::collections::HashSet<&str> =
                reopened.iter().map(|c| c.route_key.as_str()).collect();
            for a in &assignments {
                let at = a.assigned_at.with_timezone(&chrono::Utc);
                let entered = if reopened_keys.contains(a.case_id.as_str()) {
                    workflow::entry::reopened_by_live(
                        tx,
                        &self.routing,
                        &a.case_id,
                        &a.queue_key,
                        at,
                    )
                    .await
                } else {
                    let actor = workflow::entry::ACTOR;
                    workflow::entry::routed(tx, &self.routing, &a.case_id, &a.queue_key, actor, at)
                        .await
                        .map(|_| ())
                };
                entered.map_err(|e| Self::error(e.to_string()))?;
            }
            for case in reopened {
                let facet = if case.queue == self.routing.triage_queue() {
                    "triage"
                } else {
                    "assigned"
                };
                set_case_status(tx, case, ("open", facet), REOPENED_WHY).await?;
            }
            // History closes a case only while no live complaint has given it a deadline.
            let history: Vec<&RoutedCase> = history
                .into_iter()
                .filter(|case| !assigned.contains_key(case.route_key.as_str()))
                .collect();
            super::history::close(tx, &history, STATUS_ACTOR).await?;
            Ok(())
        })
    }
}

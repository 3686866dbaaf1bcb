//! Deciding one complaint's category, tags and its case's route: the classification row, the
//! case route, the audit event and the facets to write. Used by the pipeline stage (a batch at
//! a time, with fresh model opinions) and by a correction through the API (one complaint, with
//! the stored opinion), so both decide alike; [`super::write`] writes the result.
//!
//! Precedence: a human correction, then a category override rule, then the model. A model
//! category below `min_confidence` is recorded but no category-dependent route uses it.

use serde_json::json;

use super::RoutedCase;
use super::config::RoutingConfig;
use super::rules::{RouteInput, Signals, most_pressing};
use crate::store::routes::{CaseRoute, ClassificationRecord, Correction, TopLabel, Why};
use crate::store::{DerivedTx, StoreError};

/// A row of the routing audit trail (defined with the store, which keeps it).
pub use crate::store::routes::RouteEvent;

/// The model's view of a complaint.
#[derive(Debug, Clone)]
pub struct ModelOpinion {
    pub version: u32,
    /// Best labels, most probable first.
    pub top: Vec<TopLabel>,
}

/// Everything needed to decide one complaint.
#[derive(Debug, Clone)]
pub struct DecideInput {
    pub complaint_id: String,
    pub case_id: Option<String>,
    /// Title and body, [`super::rules::fold`]ed.
    pub folded_text: String,
    pub channel: String,
    pub target_unit: Option<String>,
    pub district: Option<String>,
    pub opinion: Option<ModelOpinion>,
    pub correction: Option<Correction>,
}

/// One complaint's decision, ready to write.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The case's route after this complaint.
    pub route: CaseRoute,
    pub event: RouteEvent,
    pub record: ClassificationRecord,
    /// Routing's status for the case's members: `triage` or `assigned`.
    pub status: &'static str,
    /// The facets the case's members share (tags, queue, informed queues, priority, status)
    /// changed: every member needs them, not only this complaint.
    pub case_facets_changed: bool,
    /// What the notify stage needs.
    pub routed: RoutedCase,
}

/// Decides one complaint against the store's state and writes the result (a correction
/// through the API). Returns what the notify stage needs.
pub async fn decide_and_write(
    tx: &mut dyn DerivedTx,
    config: &RoutingConfig,
    input: &DecideInput,
    now: &str,
) -> Result<RoutedCase, StoreError> {
    let route_key = input.case_id.as_deref().unwrap_or(&input.complaint_id);
    let existing = tx.case_route(route_key).await?;
    let previous = tx.classification(&input.complaint_id).await?;
    let decided = decide(
        config,
        input,
        existing.as_ref(),
        previous.as_ref().map(|p| p.route_key.as_str()),
        now,
    );
    super::write::write_decisions(tx, std::slice::from_ref(&decided)).await?;
    Ok(decided.routed)
}

/// Decides one complaint given its case's route so far (`existing`) and the route key it was
/// classified under before (`previous_route_key`, `None` for a new complaint). Pure: the
/// caller writes the result ([`super::write::write_decisions`]).
pub fn decide(
    config: &RoutingConfig,
    input: &DecideInput,
    existing: Option<&CaseRoute>,
    previous_route_key: Option<&str>,
    now: &str,
) -> Decided {
    let signals = Signals {
        folded_text: &input.folded_text,
        channel: &input.channel,
        target_unit: input.target_unit.as_deref(),
        district: input.district.as_deref(),
    };
    let mut why = Why::default();
    let mut rules: Vec<String> = Vec::new();

    // Tags: the rules, unless a human set them.
    let correction = input.correction.as_ref();
    let tags: Vec<String> = match correction.and_then(|c| c.tags.clone()) {
        Some(tags) => tags,
        None => {
            why.tag_hits = config.tags_for(&signals);
            rules.extend(why.tag_hits.iter().map(|h| format!("tag:{}", h.tag)));
            why.tag_hits.iter().map(|h| h.tag.clone()).collect()
        }
    };

    // Category: correction > override > model.
    let best = input.opinion.as_ref().and_then(|o| o.top.first());
    let confidence = best.map(|b| b.probability);
    let (category, category_source, confident) =
        if let Some(category) = correction.and_then(|c| c.category.clone()) {
            (Some(category), "correction", true)
        } else if let Some(rule) = config.override_for(&signals, &tags) {
            why.category_override = Some(rule.name.clone());
            rules.push(format!("override:{}", rule.name));
            (Some(rule.category.clone()), "override", true)
        } else if let Some(best) = best {
            // 1.0 means "never route by the model's category" (a saturated probability can
            // round to exactly 1.0, so it is not compared).
            let threshold = config.settings.min_confidence;
            let confident = threshold < 1.0 && best.probability >= threshold;
            (Some(best.label.clone()), "model", confident)
        } else {
            (None, "none", false)
        };
    let low_confidence = category_source == "model" && !confident;

    // The case: route once, update as members arrive.
    let route_key = input
        .case_id
        .clone()
        .unwrap_or_else(|| input.complaint_id.clone());
    let new_member = previous_route_key != Some(route_key.as_str());
    let complaints = existing.map_or(0, |r| r.complaints) + i64::from(new_member);
    let mut case_tags: Vec<String> = existing
        .as_ref()
        .map(|r| r.tags.clone())
        .unwrap_or_default();
    for tag in &tags {
        if !case_tags.contains(tag) {
            case_tags.push(tag.clone());
        }
    }
    if input.case_id.is_some() && complaints >= 2 && !case_tags.iter().any(|t| t == "repeat") {
        case_tags.push("repeat".to_string());
        why.case_tags.push("repeat".to_string());
    }
    // The case keeps the first confident category unless a human corrects it.
    let (case_category, case_confident) = match existing {
        Some(r) if r.category_confident && category_source != "correction" => {
            (r.category.clone(), true)
        }
        _ => (category.clone(), confident),
    };
    let mut decision = config.route(&RouteInput {
        confident_category: case_category.as_deref().filter(|_| case_confident),
        tags: &case_tags,
        channel: &input.channel,
        target_unit: input.target_unit.as_deref(),
        district: input.district.as_deref(),
    });
    let mut pinned = existing.is_some_and(|r| r.pinned);
    if let Some(c) = correction.filter(|c| c.queue.is_some() || c.priority.is_some()) {
        let base = existing;
        decision.queue = c
            .queue
            .clone()
            .or_else(|| base.filter(|_| pinned).map(|r| r.queue.clone()))
            .unwrap_or(decision.queue);
        decision.priority = c.priority.clone().unwrap_or(decision.priority);
        decision.rule = "correction".to_string();
        // The table's row did not route it: its subject does not apply.
        decision.subject = None;
        pinned = true;
        why.corrected = true;
    } else if let Some(r) = existing.filter(|r| r.pinned) {
        decision.queue = r.queue.clone();
        decision.priority = r.priority.clone();
        decision.informed = r.informed.clone();
        decision.rule = r.rule.clone();
        decision.subject = None;
    } else if let Some(r) = existing {
        // A member never lowers the case's priority.
        decision.priority = most_pressing(&r.priority, &decision.priority).to_string();
    }
    if correction.is_some() {
        why.corrected = true;
    }
    rules.push(format!("route:{}", decision.rule));
    why.route = Some(decision.clone());

    let is_new_assignment = existing.is_none_or(|r| r.queue != decision.queue);
    let route = CaseRoute {
        route_key: route_key.clone(),
        queue: decision.queue.clone(),
        priority: decision.priority.clone(),
        informed: decision.informed.clone(),
        category: case_category.clone(),
        category_confident: case_confident,
        tags: case_tags.clone(),
        rule: decision.rule.clone(),
        pinned,
        complaints,
        created_at: existing.map_or_else(|| now.to_string(), |r| r.created_at.clone()),
        updated_at: now.to_string(),
    };
    let kind = match existing {
        None => "assigned",
        Some(_) if is_new_assignment => "rerouted",
        Some(_) if new_member => "member_added",
        Some(_) => "reclassified",
    };
    let detail = json!({
        "rule": decision.rule,
        "tags": case_tags,
        "category": case_category,
        "informed": decision.informed,
        "from_queue": existing.map(|r| r.queue.clone()),
    });
    let record = ClassificationRecord {
        complaint_id: input.complaint_id.clone(),
        route_key: route_key.clone(),
        model_version: input.opinion.as_ref().map(|o| o.version),
        category,
        category_source: category_source.to_string(),
        confidence,
        low_confidence,
        top: input
            .opinion
            .as_ref()
            .map(|o| o.top.clone())
            .unwrap_or_default(),
        tags,
        rules,
        why,
        classified_at: now.to_string(),
    };
    let status = if decision.queue == config.settings.triage_queue {
        "triage"
    } else {
        "assigned"
    };
    let case_facets_changed = existing.is_none_or(|r| {
        r.queue != route.queue
            || r.informed != route.informed
            || r.priority != route.priority
            || r.tags != route.tags
    });
    Decided {
        case_facets_changed,
        event: RouteEvent {
            route_key: route_key.clone(),
            complaint_id: input.complaint_id.clone(),
            kind,
            queue: decision.queue.clone(),
            priority: decision.priority.clone(),
            detail,
            at: now.to_string(),
        },
        record,
        status,
        routed: RoutedCase {
            route_key,
            case_id: input.case_id.clone(),
            complaint_id: input.complaint_id.clone(),
            queue: decision.queue,
            priority: decision.priority,
            category: case_category,
            tags: case_tags,
            informed: decision.informed,
            rule: decision.rule,
            subject: decision.subject,
            is_new_assignment,
            new_member,
        },
        route,
    }
}

//! Deciding one complaint's category, tags and its case's route, and writing the result:
//! classification row, case route, audit event, facets. Used by the pipeline stage (with a
//! fresh model opinion) and by a correction through the API (with the stored one), so both
//! decide alike.
//!
//! Precedence: a human correction, then a category override rule, then the model. A model
//! category below `min_confidence` is recorded but no category-dependent route uses it.

use serde_json::json;
use sqlx::sqlite::SqliteConnection;

use super::RoutedCase;
use super::config::RoutingConfig;
use super::rules::{RouteInput, Signals, most_pressing};
use super::store::{self, CaseRoute, ClassificationRecord, Correction, TopLabel, Why};
use crate::store::facets::{self, Facet};

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

/// Decides and writes. Returns what the notify stage needs.
pub async fn decide_and_write(
    tx: &mut SqliteConnection,
    config: &RoutingConfig,
    input: &DecideInput,
    now: &str,
) -> Result<RoutedCase, sqlx::Error> {
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
    let existing = store::case_route(tx, &route_key).await?;
    let previous = store::classification(tx, &input.complaint_id).await?;
    let new_member = previous.as_ref().is_none_or(|p| p.route_key != route_key);
    let complaints = existing.as_ref().map_or(0, |r| r.complaints) + i64::from(new_member);
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
    let (case_category, case_confident) = match &existing {
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
    let mut pinned = existing.as_ref().is_some_and(|r| r.pinned);
    if let Some(c) = correction.filter(|c| c.queue.is_some() || c.priority.is_some()) {
        let base = existing.as_ref();
        decision.queue = c
            .queue
            .clone()
            .or_else(|| base.filter(|_| pinned).map(|r| r.queue.clone()))
            .unwrap_or(decision.queue);
        decision.priority = c.priority.clone().unwrap_or(decision.priority);
        decision.rule = "correction".to_string();
        pinned = true;
        why.corrected = true;
    } else if let Some(r) = existing.as_ref().filter(|r| r.pinned) {
        decision.queue = r.queue.clone();
        decision.priority = r.priority.clone();
        decision.informed = r.informed.clone();
        decision.rule = r.rule.clone();
    } else if let Some(r) = &existing {
        // A member never lowers the case's priority.
        decision.priority = most_pressing(&r.priority, &decision.priority).to_string();
    }
    if correction.is_some() {
        why.corrected = true;
    }
    rules.push(format!("route:{}", decision.rule));
    why.route = Some(decision.clone());

    let is_new_assignment = existing.as_ref().is_none_or(|r| r.queue != decision.queue);
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
        created_at: existing
            .as_ref()
            .map_or_else(|| now.to_string(), |r| r.created_at.clone()),
        updated_at: now.to_string(),
    };
    store::upsert_case_route(tx, &route).await?;
    let kind = match &existing {
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
        "from_queue": existing.as_ref().map(|r| r.queue.clone()),
    });
    store::add_event(
        tx,
        &route_key,
        Some(&input.complaint_id),
        kind,
        Some(&decision.queue),
        Some(&decision.priority),
        &detail,
        now,
    )
    .await?;

    let record = ClassificationRecord {
        complaint_id: input.complaint_id.clone(),
        route_key: route_key.clone(),
        model_version: input.opinion.as_ref().map(|o| o.version),
        category: category.clone(),
        category_source: category_source.to_string(),
        confidence,
        low_confidence,
        top: input
            .opinion
            .as_ref()
            .map(|o| o.top.clone())
            .unwrap_or_default(),
        tags: tags.clone(),
        rules,
        why,
        classified_at: now.to_string(),
    };
    store::upsert_classification(tx, &record).await?;

    // Facets: this complaint's category; the case's tags, queue, priority, status on every
    // member (a route change moves them all).
    facets::set_facets(
        tx,
        &input.complaint_id,
        &[(Facet::Category, category.as_deref())],
    )
    .await?;
    let status = if decision.queue == config.settings.triage_queue {
        "triage"
    } else {
        "assigned"
    };
    let case_facets = CaseFacets {
        tags: case_tags.join(" "),
        queue: &decision.queue,
        priority: &decision.priority,
        status,
        new_assignment: is_new_assignment,
    };
    set_case_facets(tx, &route_key, &case_facets).await?;

    Ok(RoutedCase {
        route_key,
        case_id: input.case_id.clone(),
        complaint_id: input.complaint_id.clone(),
        queue: decision.queue,
        priority: decision.priority,
        category: case_category,
        tags: case_tags,
        informed: decision.informed,
        rule: decision.rule,
        is_new_assignment,
        new_member,
    })
}

/// The facets every member of a case shares.
struct CaseFacets<'a> {
    tags: String,
    queue: &'a str,
    priority: &'a str,
    status: &'a str,
    /// The case moved to a new queue.
    new_assignment: bool,
}

/// Sets the case's facets on every member routed under `route_key`, queueing the members
/// that changed for re-indexing: three statements whatever the case's size (one per member
/// made a case of a thousand complaints cost thousands of statements per new member).
///
/// Routing owns the statuses `triage` and `assigned`; another stage's status (`overdue`,
/// `answered`) is replaced only when the case moves to a new queue.
async fn set_case_facets(
    tx: &mut SqliteConnection,
    route_key: &str,
    f: &CaseFacets<'_>,
) -> Result<(), sqlx::Error> {
    const MEMBERS: &str = "SELECT complaint_id FROM classifications WHERE route_key = ?1";
    const STALE: &str = "(tags IS NOT ?2 OR queue IS NOT ?3 OR priority IS NOT ?4
        OR (status IS NOT ?5 AND (?6 OR status IS NULL OR status IN ('triage', 'assigned'))))";
    let bind = |sql: String| {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(route_key)
            .bind(&f.tags)
            .bind(f.queue)
            .bind(f.priority)
            .bind(f.status)
            .bind(f.new_assignment)
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO complaint_facets (complaint_id) {MEMBERS} ON CONFLICT DO NOTHING"
    )))
    .bind(route_key)
    .execute(&mut *tx)
    .await?;
    bind(format!(
        "INSERT INTO index_queue (complaint_id) SELECT complaint_id FROM complaint_facets
         WHERE complaint_id IN ({MEMBERS}) AND {STALE} ORDER BY complaint_id"
    ))
    .execute(&mut *tx)
    .await?;
    bind(format!(
        "UPDATE complaint_facets SET tags = ?2, queue = ?3, priority = ?4,
            status = CASE WHEN ?6 OR status IS NULL OR status IN ('triage', 'assigned')
                THEN ?5 ELSE status END
         WHERE complaint_id IN ({MEMBERS}) AND {STALE}"
    ))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

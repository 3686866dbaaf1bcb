//! Routing's tables: classifications (why), case routes, the routing event trail and human
//! corrections. Derived rows are rebuilt by `reprocess`; corrections never are.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::rules::{RouteDecision, TagHit};
use crate::classify::Example;

/// One of the model's best labels, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopLabel {
    pub label: String,
    /// Calibrated probability.
    pub probability: f32,
    /// Raw one-vs-rest margin.
    pub score: f32,
}

/// Why a complaint got its category, tags and route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Why {
    /// Each tag with the evidence that set it.
    pub tag_hits: Vec<TagHit>,
    /// Tags that come from the case rather than this complaint's text (e.g. `repeat`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub case_tags: Vec<String>,
    /// The category override rule that applied, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_override: Option<String>,
    /// The route of the complaint's case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteDecision>,
    /// Set when a human correction decided.
    #[serde(default)]
    pub corrected: bool,
}

/// A complaint's classification as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationRecord {
    pub complaint_id: String,
    /// Case id, or the complaint id when it belongs to no case.
    pub route_key: String,
    pub model_version: Option<u32>,
    pub category: Option<String>,
    /// `model`, `override`, `correction` or `none`.
    pub category_source: String,
    pub confidence: Option<f32>,
    pub low_confidence: bool,
    pub top: Vec<TopLabel>,
    pub tags: Vec<String>,
    /// Names of the rules that fired (tag rules, override, route).
    pub rules: Vec<String>,
    pub why: Why,
    pub classified_at: String,
}

/// A human correction; every field left `None` keeps the automatic decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Correction {
    pub category: Option<String>,
    pub tags: Option<Vec<String>>,
    pub queue: Option<String>,
    pub priority: Option<String>,
    pub note: Option<String>,
    pub corrected_by: Option<String>,
    #[serde(default)]
    pub corrected_at: String,
}

/// The route of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRoute {
    pub route_key: String,
    pub queue: String,
    pub priority: String,
    pub informed: Vec<String>,
    pub category: Option<String>,
    pub category_confident: bool,
    pub tags: Vec<String>,
    pub rule: String,
    pub pinned: bool,
    pub complaints: i64,
    pub created_at: String,
    pub updated_at: String,
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn json_or_default<T: for<'de> Deserialize<'de> + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

fn classification_from_row(row: &sqlx::sqlite::SqliteRow) -> ClassificationRecord {
    let version: Option<i64> = row.get("model_version");
    ClassificationRecord {
        complaint_id: row.get("complaint_id"),
        route_key: row.get("route_key"),
        model_version: version.map(|v| v as u32),
        category: row.get("category"),
        category_source: row.get("category_source"),
        confidence: row.get::<Option<f64>, _>("confidence").map(|c| c as f32),
        low_confidence: row.get("low_confidence"),
        top: json_or_default(row.get("top")),
        tags: words(row.get("tags")),
        rules: json_or_default(row.get("rules")),
        why: json_or_default(row.get("why")),
        classified_at: row.get("classified_at"),
    }
}

pub async fn classification(
    conn: &mut SqliteConnection,
    complaint_id: &str,
) -> Result<Option<ClassificationRecord>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM classifications WHERE complaint_id = ?")
        .bind(complaint_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(classification_from_row))
}

pub async fn correction(
    conn: &mut SqliteConnection,
    complaint_id: &str,
) -> Result<Option<Correction>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM classification_corrections WHERE complaint_id = ?")
        .bind(complaint_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(correction_from_row))
}

/// A `classification_corrections` row.
pub fn correction_from_row(row: &sqlx::sqlite::SqliteRow) -> Correction {
    Correction {
        category: row.get("category"),
        tags: row.get::<Option<String>, _>("tags").map(|t| words(&t)),
        queue: row.get("queue"),
        priority: row.get("priority"),
        note: row.get("note"),
        corrected_by: row.get("corrected_by"),
        corrected_at: row.get("corrected_at"),
    }
}

/// Records a correction (replacing an earlier one of the same complaint).
pub async fn save_correction(
    tx: &mut SqliteConnection,
    complaint_id: &str,
    correction: &Correction,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO classification_corrections (complaint_id, category, tags, queue, priority,
            note, corrected_by, corrected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (complaint_id) DO UPDATE SET category = excluded.category,
            tags = excluded.tags, queue = excluded.queue, priority = excluded.priority,
            note = excluded.note, corrected_by = excluded.corrected_by,
            corrected_at = excluded.corrected_at",
    )
    .bind(complaint_id)
    .bind(&correction.category)
    .bind(correction.tags.as_ref().map(|t| t.join(" ")))
    .bind(&correction.queue)
    .bind(&correction.priority)
    .bind(&correction.note)
    .bind(&correction.corrected_by)
    .bind(&correction.corrected_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn case_route(
    conn: &mut SqliteConnection,
    route_key: &str,
) -> Result<Option<CaseRoute>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM case_routes WHERE route_key = ?")
        .bind(route_key)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(case_route_from_row))
}

/// A `case_routes` row.
pub fn case_route_from_row(row: &sqlx::sqlite::SqliteRow) -> CaseRoute {
    CaseRoute {
        route_key: row.get("route_key"),
        queue: row.get("queue"),
        priority: row.get("priority"),
        informed: words(row.get("informed")),
        category: row.get("category"),
        category_confident: row.get("category_confident"),
        tags: words(row.get("tags")),
        rule: row.get("rule"),
        pinned: row.get("pinned"),
        complaints: row.get("complaints"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// Appends to the routing audit trail.
#[allow(clippy::too_many_arguments)]
pub async fn add_event(
    tx: &mut SqliteConnection,
    route_key: &str,
    complaint_id: Option<&str>,
    kind: &str,
    queue: Option<&str>,
    priority: Option<&str>,
    detail: &serde_json::Value,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO routing_events (route_key, complaint_id, kind, queue, priority, detail, at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(route_key)
    .bind(complaint_id)
    .bind(kind)
    .bind(queue)
    .bind(priority)
    .bind(detail.to_string())
    .bind(at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Forgets derived routing data before a full reprocess; corrections and their events stay.
pub async fn reset(tx: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM classifications")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM case_routes")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM routing_events WHERE kind <> 'corrected'")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Corrected categories as training examples (`classifier train --include-corrections`).
pub async fn correction_examples(pool: &SqlitePool) -> Result<Vec<Example>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.external_id, c.title, c.body, k.category FROM classification_corrections k
         JOIN complaints c ON c.id = k.complaint_id WHERE k.category IS NOT NULL
         ORDER BY c.seq",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Example {
            external_id: row.get("external_id"),
            title: row.get("title"),
            body: row.get("body"),
            label: row.get("category"),
        })
        .collect())
}

/// Open cases and their complaints per queue. A case is open until the notify stage marks it
/// `answered` in the facets.
pub async fn queue_counts(pool: &SqlitePool) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT f.queue AS queue,
            COUNT(DISTINCT COALESCE(k.route_key, f.case_id, f.complaint_id)) AS cases,
            COUNT(*) AS complaints
         FROM complaint_facets f LEFT JOIN classifications k ON k.complaint_id = f.complaint_id
         WHERE f.queue IS NOT NULL AND (f.status IS NULL OR f.status NOT IN ('answered', 'closed'))
         GROUP BY f.queue",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get("queue"), r.get("cases"), r.get("complaints")))
        .collect())
}

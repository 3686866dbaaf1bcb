//! Routing's reads: single rows by key, the rows of many keys in one query (a JSON array
//! bound to `json_each`), the event trail, training examples and queue counts.

use std::collections::HashMap;

use serde::Deserialize;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};

use crate::store::routes::{
    CaseRoute, ClassificationRecord, CorrectedExample, Correction, QueueCount, RouteEventRecord,
};

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn json_or_default<T: for<'de> Deserialize<'de> + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

/// A `classifications` row.
fn classification_from_row(row: &SqliteRow) -> ClassificationRecord {
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

/// A `classification_corrections` row.
fn correction_from_row(row: &SqliteRow) -> Correction {
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

/// A `case_routes` row.
fn case_route_from_row(row: &SqliteRow) -> CaseRoute {
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

/// A `routing_events` row.
fn event_from_row(row: &SqliteRow) -> RouteEventRecord {
    RouteEventRecord {
        id: row.get("id"),
        route_key: row.get("route_key"),
        complaint_id: row.get("complaint_id"),
        kind: row.get("kind"),
        queue: row.get("queue"),
        priority: row.get("priority"),
        detail: json_or_default(row.get("detail")),
        at: row.get("at"),
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

pub async fn route_events(
    conn: &mut SqliteConnection,
    route_key: &str,
) -> Result<Vec<RouteEventRecord>, sqlx::Error> {
    let rows = sqlx::query("SELECT * FROM routing_events WHERE route_key = ? ORDER BY id")
        .bind(route_key)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(event_from_row).collect())
}

pub async fn corrected_examples(
    conn: &mut SqliteConnection,
) -> Result<Vec<CorrectedExample>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.external_id, c.title, c.body, k.category FROM classification_corrections k
         JOIN complaints c ON c.id = k.complaint_id WHERE k.category IS NOT NULL
         ORDER BY c.seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| CorrectedExample {
            external_id: row.get("external_id"),
            title: row.get("title"),
            body: row.get("body"),
            category: row.get("category"),
        })
        .collect())
}

pub async fn open_counts_by_queue(
    conn: &mut SqliteConnection,
) -> Result<Vec<QueueCount>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT f.queue AS queue,
            COUNT(DISTINCT COALESCE(k.route_key, f.case_id, f.complaint_id)) AS cases,
            COUNT(*) AS complaints
         FROM complaint_facets f LEFT JOIN classifications k ON k.complaint_id = f.complaint_id
         WHERE f.queue IS NOT NULL AND (f.status IS NULL OR f.status NOT IN ('answered', 'closed'))
         GROUP BY f.queue",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| QueueCount {
            queue: r.get("queue"),
            open_cases: r.get("cases"),
            open_complaints: r.get("complaints"),
        })
        .collect())
}

/// Rows of `sql`, whose one parameter is a JSON array of `keys` (`json_each(?)`), mapped to
/// a map by `entry`.
async fn rows_for_keys<V>(
    conn: &mut SqliteConnection,
    sql: &'static str,
    keys: &[&str],
    entry: impl Fn(&SqliteRow) -> (String, V),
) -> Result<HashMap<String, V>, sqlx::Error> {
    let keys = serde_json::to_string(keys).expect("strings serialise");
    let rows = sqlx::query(sql).bind(keys).fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(entry).collect())
}

/// The corrections of these complaints, in one query.
pub async fn corrections(
    conn: &mut SqliteConnection,
    complaint_ids: &[&str],
) -> Result<HashMap<String, Correction>, sqlx::Error> {
    rows_for_keys(
        conn,
        "SELECT * FROM classification_corrections
         WHERE complaint_id IN (SELECT value FROM json_each(?))",
        complaint_ids,
        |row| (row.get("complaint_id"), correction_from_row(row)),
    )
    .await
}

/// The route key each of these complaints is classified under, in one query.
pub async fn previous_route_keys(
    conn: &mut SqliteConnection,
    complaint_ids: &[&str],
) -> Result<HashMap<String, String>, sqlx::Error> {
    rows_for_keys(
        conn,
        "SELECT complaint_id, route_key FROM classifications
         WHERE complaint_id IN (SELECT value FROM json_each(?))",
        complaint_ids,
        |row| (row.get("complaint_id"), row.get("route_key")),
    )
    .await
}

/// The routes of these cases, in one query.
pub async fn case_routes(
    conn: &mut SqliteConnection,
    route_keys: &[&str],
) -> Result<HashMap<String, CaseRoute>, sqlx::Error> {
    rows_for_keys(
        conn,
        "SELECT * FROM case_routes WHERE route_key IN (SELECT value FROM json_each(?))",
        route_keys,
        |row| {
            let route = case_route_from_row(row);
            (route.route_key.clone(), route)
        },
    )
    .await
}

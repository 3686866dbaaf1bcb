//! Routing's writes: a batch of the pipeline (hundreds of complaints) in a handful of
//! statements — case routes, audit events and classifications as multi-row statements, and
//! the shared facets of each case's members as three statements over a JSON array. One
//! statement per row made routing the slowest part of an import.

use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{QueryBuilder, Row};

use crate::store::routes::{CaseRoute, ClassificationRecord, Correction, RouteEvent, RouteFacets};

/// Rows per multi-row statement (SQLite allows 32,766 bound values; the widest row has 12).
const ROWS_PER_STATEMENT: usize = 500;

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

pub async fn upsert_case_routes(
    tx: &mut SqliteConnection,
    routes: &[&CaseRoute],
) -> Result<(), sqlx::Error> {
    for chunk in routes.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO case_routes (route_key, queue, priority, informed, category,
                category_confident, tags, rule, pinned, complaints, created_at, updated_at) ",
        );
        query.push_values(chunk, |mut row, route| {
            row.push_bind(route.route_key.clone())
                .push_bind(route.queue.clone())
                .push_bind(route.priority.clone())
                .push_bind(route.informed.join(" "))
                .push_bind(route.category.clone())
                .push_bind(route.category_confident)
                .push_bind(route.tags.join(" "))
                .push_bind(route.rule.clone())
                .push_bind(route.pinned)
                .push_bind(route.complaints)
                .push_bind(route.created_at.clone())
                .push_bind(route.updated_at.clone());
        });
        query.push(
            " ON CONFLICT (route_key) DO UPDATE SET queue = excluded.queue,
                priority = excluded.priority, informed = excluded.informed,
                category = excluded.category, category_confident = excluded.category_confident,
                tags = excluded.tags, rule = excluded.rule, pinned = excluded.pinned,
                complaints = excluded.complaints, updated_at = excluded.updated_at",
        );
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

pub async fn add_route_events(
    tx: &mut SqliteConnection,
    events: &[&RouteEvent],
) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO routing_events (route_key, complaint_id, kind, queue, priority, detail,
                at) ",
        );
        query.push_values(chunk, |mut row, e| {
            row.push_bind(e.route_key.clone())
                .push_bind(e.complaint_id.clone())
                .push_bind(e.kind)
                .push_bind(e.queue.clone())
                .push_bind(e.priority.clone())
                .push_bind(e.detail.to_string())
                .push_bind(e.at.clone());
        });
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

pub async fn upsert_classifications(
    tx: &mut SqliteConnection,
    records: &[&ClassificationRecord],
) -> Result<(), sqlx::Error> {
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO classifications (complaint_id, route_key, model_version, category,
                category_source, confidence, low_confidence, top, tags, rules, why,
                classified_at) ",
        );
        query.push_values(chunk, |mut row, r| {
            row.push_bind(r.complaint_id.clone())
                .push_bind(r.route_key.clone())
                .push_bind(r.model_version.map(i64::from))
                .push_bind(r.category.clone())
                .push_bind(r.category_source.clone())
                .push_bind(r.confidence)
                .push_bind(r.low_confidence)
                .push_bind(serde_json::to_string(&r.top).expect("serialisable"))
                .push_bind(r.tags.join(" "))
                .push_bind(serde_json::to_string(&r.rules).expect("serialisable"))
                .push_bind(serde_json::to_string(&r.why).expect("serialisable"))
                .push_bind(r.classified_at.clone());
        });
        query.push(
            " ON CONFLICT (complaint_id) DO UPDATE SET route_key = excluded.route_key,
                model_version = excluded.model_version, category = excluded.category,
                category_source = excluded.category_source, confidence = excluded.confidence,
                low_confidence = excluded.low_confidence, top = excluded.top,
                tags = excluded.tags, rules = excluded.rules, why = excluded.why,
                classified_at = excluded.classified_at",
        );
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Sets each case's facets on every member classified under its route key (or on the
/// members it names), queueing the members that changed for re-indexing: three statements
/// whatever the number and size of the cases (one per member made a case of a thousand
/// complaints cost thousands of statements).
///
/// Routing owns the statuses `triage` and `assigned`; another stage's status (`overdue`,
/// `answered`) is replaced only when the case moves to a new queue.
pub async fn set_route_facets(
    tx: &mut SqliteConnection,
    cases: &[RouteFacets<'_>],
) -> Result<(), sqlx::Error> {
    // Whole cases by route key, and single members by id, each with the case's values.
    let mut whole = Vec::new();
    let mut single = Vec::new();
    for c in cases {
        let values = |id: &str| {
            serde_json::json!([
                id,
                c.tags,
                c.queue,
                c.priority,
                c.status,
                c.new_assignment,
                c.informed
            ])
        };
        match &c.only {
            None => whole.push(values(c.route_key)),
            Some(ids) => single.extend(ids.iter().map(|id| values(id))),
        }
    }
    let whole = serde_json::Value::Array(whole).to_string();
    let single = serde_json::Value::Array(single).to_string();
    const MEMBERS: &str = "SELECT k.complaint_id AS id, json_extract(j.value, '$[1]') AS tags,
            json_extract(j.value, '$[2]') AS queue, json_extract(j.value, '$[3]') AS priority,
            json_extract(j.value, '$[4]') AS status, json_extract(j.value, '$[5]') AS moved,
            json_extract(j.value, '$[6]') AS informed
        FROM json_each(?1) AS j
        JOIN classifications k ON k.route_key = json_extract(j.value, '$[0]')
        UNION ALL
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
            json_extract(value, '$[2]'), json_extract(value, '$[3]'),
            json_extract(value, '$[4]'), json_extract(value, '$[5]'),
            json_extract(value, '$[6]')
        FROM json_each(?2)";
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO complaint_facets (complaint_id) SELECT id FROM ({MEMBERS}) WHERE true
         ON CONFLICT DO NOTHING"
    )))
    .bind(&whole)
    .bind(&single)
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE complaint_facets SET tags = v.tags, queue = v.queue, informed = v.informed,
            priority = v.priority, status = CASE WHEN v.moved OR complaint_facets.status IS NULL
                OR complaint_facets.status IN ('triage', 'assigned')
                THEN v.status ELSE complaint_facets.status END
         FROM ({MEMBERS}) AS v
         WHERE complaint_facets.complaint_id = v.id
           AND (complaint_facets.tags IS NOT v.tags OR complaint_facets.queue IS NOT v.queue
                OR complaint_facets.informed IS NOT v.informed
                OR complaint_facets.priority IS NOT v.priority
                OR (complaint_facets.status IS NOT v.status
                    AND (v.moved OR complaint_facets.status IS NULL
                         OR complaint_facets.status IN ('triage', 'assigned'))))
         RETURNING complaint_facets.complaint_id AS id"
    )))
    .bind(&whole)
    .bind(&single)
    .fetch_all(&mut *tx)
    .await?;
    let mut changed: Vec<String> = rows.iter().map(|r| r.get("id")).collect();
    if changed.is_empty() {
        return Ok(());
    }
    changed.sort_unstable();
    sqlx::query("INSERT INTO index_queue (complaint_id) SELECT value FROM json_each(?)")
        .bind(serde_json::to_string(&changed).expect("strings serialise"))
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
    sqlx::query("DELETE FROM case_subjects WHERE origin <> 'staff' AND removed_at IS NULL")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

//! Writing routing decisions: a batch of the pipeline (hundreds of complaints) in a handful of
//! statements — case routes, audit events, classifications, the category facet of each
//! complaint and the shared facets of each case's members. One statement per row made routing
//! the slowest part of an import.
//!
//! Decisions are written in the order given; for a case routed several times in the batch
//! the last route is the case's, and the facets of its members are set once, to the final
//! values (the same state the decisions would leave written one by one).

use std::collections::HashMap;

use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{QueryBuilder, Row};

use super::decide::Decided;
use super::store::{CaseRoute, Correction};
use crate::store::facets::{self, Facet};

/// Rows per multi-row statement (SQLite allows 32,766 bound values; the widest row has 12).
const ROWS_PER_STATEMENT: usize = 500;

/// Writes `decided` (in order) and sets the facets they imply.
pub async fn write_decisions(
    tx: &mut SqliteConnection,
    decided: &[Decided],
) -> Result<(), sqlx::Error> {
    if decided.is_empty() {
        return Ok(());
    }
    // The last route of each case, in order of first appearance.
    let mut order: Vec<&str> = Vec::new();
    let mut last: HashMap<&str, &Decided> = HashMap::new();
    let mut moved: HashMap<&str, bool> = HashMap::new();
    let mut changed: HashMap<&str, bool> = HashMap::new();
    let mut arrived: HashMap<&str, Vec<&str>> = HashMap::new();
    for d in decided {
        let key = d.route.route_key.as_str();
        if last.insert(key, d).is_none() {
            order.push(key);
        }
        *moved.entry(key).or_default() |= d.routed.is_new_assignment;
        *changed.entry(key).or_default() |= d.case_facets_changed;
        arrived.entry(key).or_default().push(&d.record.complaint_id);
    }
    let routes: Vec<&CaseRoute> = order.iter().map(|k| &last[k].route).collect();
    upsert_case_routes(tx, &routes).await?;
    insert_events(tx, decided).await?;
    upsert_classifications(tx, decided).await?;
    let categories: Vec<(&str, Option<&str>)> = decided
        .iter()
        .map(|d| (d.record.complaint_id.as_str(), d.record.category.as_deref()))
        .collect();
    facets::set_facet_many(tx, Facet::Category, &categories).await?;
    let cases: Vec<CaseFacets> = order
        .iter()
        .map(|k| {
            let d = last[k];
            CaseFacets {
                route_key: k,
                // Unchanged case facets are already on the earlier members.
                only: (!changed[k] && !moved[k]).then(|| arrived[k].clone()),
                tags: d.route.tags.join(" "),
                queue: &d.route.queue,
                priority: &d.route.priority,
                status: d.status,
                new_assignment: moved[k],
            }
        })
        .collect();
    set_case_facets(tx, &cases).await
}

async fn upsert_case_routes(
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

async fn insert_events(tx: &mut SqliteConnection, decided: &[Decided]) -> Result<(), sqlx::Error> {
    for chunk in decided.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO routing_events (route_key, complaint_id, kind, queue, priority, detail,
                at) ",
        );
        query.push_values(chunk, |mut row, d| {
            let e = &d.event;
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

async fn upsert_classifications(
    tx: &mut SqliteConnection,
    decided: &[Decided],
) -> Result<(), sqlx::Error> {
    for chunk in decided.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO classifications (complaint_id, route_key, model_version, category,
                category_source, confidence, low_confidence, top, tags, rules, why,
                classified_at) ",
        );
        query.push_values(chunk, |mut row, d| {
            let r = &d.record;
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

/// The facets every member of a case shares.
struct CaseFacets<'a> {
    route_key: &'a str,
    /// Set only these members (the batch's own) rather than every member of the case.
    only: Option<Vec<&'a str>>,
    tags: String,
    queue: &'a str,
    priority: &'a str,
    status: &'a str,
    /// The case moved to a new queue in this batch.
    new_assignment: bool,
}

/// Sets each case's facets on every member classified under its route key, queueing the
/// members that changed for re-indexing: three statements whatever the number and size of the
/// cases (one per member made a case of a thousand complaints cost thousands of statements).
///
/// Routing owns the statuses `triage` and `assigned`; another stage's status (`overdue`,
/// `answered`) is replaced only when the case moves to a new queue.
async fn set_case_facets(
    tx: &mut SqliteConnection,
    cases: &[CaseFacets<'_>],
) -> Result<(), sqlx::Error> {
    // Whole cases by route key, and single members by id, each with the case's values.
    let mut whole = Vec::new();
    let mut single = Vec::new();
    for c in cases {
        let values = |id: &str| {
            serde_json::json!([id, c.tags, c.queue, c.priority, c.status, c.new_assignment])
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
            json_extract(j.value, '$[4]') AS status, json_extract(j.value, '$[5]') AS moved
        FROM json_each(?1) AS j
        JOIN classifications k ON k.route_key = json_extract(j.value, '$[0]')
        UNION ALL
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
            json_extract(value, '$[2]'), json_extract(value, '$[3]'),
            json_extract(value, '$[4]'), json_extract(value, '$[5]')
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
        "UPDATE complaint_facets SET tags = v.tags, queue = v.queue, priority = v.priority,
            status = CASE WHEN v.moved OR complaint_facets.status IS NULL
                OR complaint_facets.status IN ('triage', 'assigned')
                THEN v.status ELSE complaint_facets.status END
         FROM ({MEMBERS}) AS v
         WHERE complaint_facets.complaint_id = v.id
           AND (complaint_facets.tags IS NOT v.tags OR complaint_facets.queue IS NOT v.queue
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

/// Rows of `sql`, whose one parameter is a JSON array of `keys` (`json_each(?)`), mapped to
/// a map by `entry`.
async fn rows_for_keys<V>(
    tx: &mut SqliteConnection,
    sql: &'static str,
    keys: &[&str],
    entry: impl Fn(&sqlx::sqlite::SqliteRow) -> (String, V),
) -> Result<HashMap<String, V>, sqlx::Error> {
    let keys = serde_json::to_string(keys).expect("strings serialise");
    let rows = sqlx::query(sql).bind(keys).fetch_all(&mut *tx).await?;
    Ok(rows.iter().map(entry).collect())
}

/// The corrections of these complaints, in one query.
pub async fn corrections(
    tx: &mut SqliteConnection,
    complaint_ids: &[&str],
) -> Result<HashMap<String, Correction>, sqlx::Error> {
    rows_for_keys(
        tx,
        "SELECT * FROM classification_corrections
         WHERE complaint_id IN (SELECT value FROM json_each(?))",
        complaint_ids,
        |row| {
            (
                row.get("complaint_id"),
                super::store::correction_from_row(row),
            )
        },
    )
    .await
}

/// The route key each of these complaints is classified under, in one query.
pub async fn previous_route_keys(
    tx: &mut SqliteConnection,
    complaint_ids: &[&str],
) -> Result<HashMap<String, String>, sqlx::Error> {
    rows_for_keys(
        tx,
        "SELECT complaint_id, route_key FROM classifications
         WHERE complaint_id IN (SELECT value FROM json_each(?))",
        complaint_ids,
        |row| (row.get("complaint_id"), row.get("route_key")),
    )
    .await
}

/// The routes of these cases, in one query.
pub async fn case_routes(
    tx: &mut SqliteConnection,
    route_keys: &[&str],
) -> Result<HashMap<String, CaseRoute>, sqlx::Error> {
    rows_for_keys(
        tx,
        "SELECT * FROM case_routes WHERE route_key IN (SELECT value FROM json_each(?))",
        route_keys,
        |row| {
            let route = super::store::case_route_from_row(row);
            (route.route_key.clone(), route)
        },
    )
    .await
}

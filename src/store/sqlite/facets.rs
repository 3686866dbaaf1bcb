//! The facets' SQL: set inside a derived-data transaction, a change queues the complaint for
//! re-indexing.

use sqlx::sqlite::SqliteConnection;

use crate::store::facets::{Facet, Facets};

/// The facet's column of `complaint_facets`.
fn column(facet: Facet) -> &'static str {
    match facet {
        Facet::CaseId => "case_id",
        Facet::DuplicateOf => "duplicate_of",
        Facet::Category => "category",
        Facet::Tags => "tags",
        Facet::Queue => "queue",
        Facet::Informed => "informed",
        Facet::Priority => "priority",
        Facet::Status => "status",
        Facet::Deadline => "deadline",
    }
}

/// Sets facets of `complaint_id`; queues it for re-indexing when anything changed. Returns
/// whether anything changed.
pub async fn set_facets(
    tx: &mut SqliteConnection,
    complaint_id: &str,
    values: &[(Facet, Option<&str>)],
) -> Result<bool, sqlx::Error> {
    sqlx::query("INSERT INTO complaint_facets (complaint_id) VALUES (?) ON CONFLICT DO NOTHING")
        .bind(complaint_id)
        .execute(&mut *tx)
        .await?;
    let mut changed = false;
    for (facet, value) in values {
        let value = match facet {
            Facet::Tags | Facet::Informed => Some(value.unwrap_or_default()),
            _ => *value,
        };
        let column = column(*facet);
        let sql = format!(
            "UPDATE complaint_facets SET {column} = ? WHERE complaint_id = ? AND {column} IS NOT ?"
        );
        let result = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .bind(complaint_id)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        changed |= result.rows_affected() > 0;
    }
    if changed {
        queue_for_index(tx, complaint_id).await?;
    }
    Ok(changed)
}

/// Sets one facet on many complaints in three statements (a batch of the pipeline sets
/// hundreds); the last value given for a complaint wins. Queues the complaints whose value
/// changed for re-indexing and returns how many did.
pub async fn set_facet_many(
    tx: &mut SqliteConnection,
    facet: Facet,
    values: &[(&str, Option<&str>)],
) -> Result<usize, sqlx::Error> {
    if values.is_empty() {
        return Ok(0);
    }
    let mut last: std::collections::HashMap<&str, Option<&str>> = Default::default();
    for (id, value) in values {
        let value = match facet {
            Facet::Tags | Facet::Informed => Some(value.unwrap_or_default()),
            _ => *value,
        };
        last.insert(id, value);
    }
    let pairs: Vec<(&str, Option<&str>)> = last.into_iter().collect();
    let pairs = serde_json::to_string(&pairs).expect("strings serialise");
    sqlx::query(
        "INSERT INTO complaint_facets (complaint_id)
         SELECT json_extract(value, '$[0]') FROM json_each(?) WHERE true
         ON CONFLICT DO NOTHING",
    )
    .bind(&pairs)
    .execute(&mut *tx)
    .await?;
    let column = column(facet);
    let mut changed: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "UPDATE complaint_facets SET {column} = v.value
         FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS value
               FROM json_each(?)) AS v
         WHERE complaint_facets.complaint_id = v.id AND complaint_facets.{column} IS NOT v.value
         RETURNING complaint_facets.complaint_id"
    )))
    .bind(&pairs)
    .fetch_all(&mut *tx)
    .await?;
    changed.sort_unstable();
    if !changed.is_empty() {
        let ids = serde_json::to_string(&changed).expect("strings serialise");
        sqlx::query("INSERT INTO index_queue (complaint_id) SELECT value FROM json_each(?)")
            .bind(ids)
            .execute(&mut *tx)
            .await?;
    }
    Ok(changed.len())
}

/// Queues a complaint for re-indexing (its derived data changed outside [`set_facets`]).
pub async fn queue_for_index(
    tx: &mut SqliteConnection,
    complaint_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO index_queue (complaint_id) VALUES (?)")
        .bind(complaint_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Clears every facet (a full reprocess starts from nothing; the complaints are re-indexed as
/// the pipeline sets them again).
pub async fn clear_all(tx: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO index_queue (complaint_id) SELECT complaint_id FROM complaint_facets")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM complaint_facets")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Reads facets from a row that selected the `complaint_facets` columns (NULL when absent).
pub fn from_row(row: &sqlx::sqlite::SqliteRow) -> Facets {
    use sqlx::Row;
    let tags: Option<String> = row.try_get("tags").ok().flatten();
    let informed: Option<String> = row.try_get("informed").ok().flatten();
    Facets {
        case_id: row.try_get("case_id").ok().flatten(),
        duplicate_of: row.try_get("duplicate_of").ok().flatten(),
        category: row.try_get("category").ok().flatten(),
        tags: tags
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        queue: row.try_get("queue").ok().flatten(),
        informed: informed
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        priority: row.try_get("priority").ok().flatten(),
        status: row.try_get("status").ok().flatten(),
        deadline: row.try_get("deadline").ok().flatten(),
    }
}

/// The facet columns, for SELECT lists joined on `complaint_facets f`.
pub const SELECT_COLUMNS: &str = "f.case_id, f.duplicate_of, f.category, f.tags, f.queue, \
     f.informed, f.priority, f.status, f.deadline";

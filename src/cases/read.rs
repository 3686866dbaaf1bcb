//! Reading cases: the list, one case with its members and the why, and hot issues.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteRow;

use super::{CaseDetail, CaseError, CaseMember, CaseSummary, SNIPPET_CHARS, snippet};
use crate::grouping::{HeatConfig, HeatMember, HeatScore, heat_score};

/// Most cases one listing returns.
pub const MAX_LIST_LIMIT: i64 = 500;

fn summary(row: &SqliteRow) -> CaseSummary {
    let channels: String = row.get("channels");
    let status: Option<String> = row.get("status");
    CaseSummary {
        id: row.get("id"),
        title: row.get("title"),
        complaints: row.get("complaints"),
        complainants: row.get("complainants"),
        channels: channels.split_whitespace().map(str::to_string).collect(),
        first_seen: row.get("first_seen"),
        last_seen: row.get("last_seen"),
        status: status.unwrap_or_else(|| "open".to_string()),
    }
}

const SUMMARY_SELECT: &str = "SELECT c.id, c.title, c.complaints, c.complainants, c.channels,
    c.first_seen, c.last_seen, s.status FROM cases c LEFT JOIN case_status s ON s.case_id = c.id";

/// Cases, most recently active first; optionally only those of one status and with at least
/// `min_complaints` complaints.
pub async fn list_cases(
    pool: &SqlitePool,
    status: Option<&str>,
    min_complaints: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<CaseSummary>, CaseError> {
    let sql = format!(
        "{SUMMARY_SELECT} WHERE c.complaints >= ? AND (? IS NULL OR COALESCE(s.status, 'open') = ?)
         ORDER BY c.last_seen_ms DESC, c.id LIMIT ? OFFSET ?"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(min_complaints)
        .bind(status)
        .bind(status)
        .bind(limit.clamp(1, MAX_LIST_LIMIT))
        .bind(offset.max(0))
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(summary).collect())
}

/// One case with its members (earliest first) and the staff decisions about them.
pub async fn get_case(pool: &SqlitePool, case_id: &str) -> Result<CaseDetail, CaseError> {
    let sql = format!("{SUMMARY_SELECT} WHERE c.id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| CaseError::NotFound(case_id.to_string()))?;
    let case = summary(&row);
    let rows = sqlx::query(
        "SELECT m.complaint_id, m.reason, c.channel, c.source, c.submitted_at, c.title, c.text_norm
         FROM case_members m JOIN complaints c ON c.id = m.complaint_id
         WHERE m.case_id = ? ORDER BY m.seq",
    )
    .bind(case_id)
    .fetch_all(pool)
    .await?;
    let mut members = Vec::with_capacity(rows.len());
    for row in &rows {
        let reason: String = row.get("reason");
        let text: String = row.get("text_norm");
        members.push(CaseMember {
            complaint_id: row.get("complaint_id"),
            channel: row.get("channel"),
            source: row.get("source"),
            submitted_at: row.get("submitted_at"),
            title: row.get("title"),
            snippet: snippet(&text, SNIPPET_CHARS),
            why: serde_json::from_str(&reason)
                .map_err(|e| CaseError::Corrupt(format!("grouping reason: {e}")))?,
        });
    }
    let ids: std::collections::BTreeSet<&str> =
        members.iter().map(|m| m.complaint_id.as_str()).collect();
    let decisions = super::staff::load_decision_records(pool)
        .await?
        .into_iter()
        .filter(|(_, record)| mentions_any(&record.decision, &ids))
        .map(|(_, record)| record)
        .collect();
    Ok(CaseDetail {
        case,
        members,
        decisions,
    })
}

fn mentions_any(decision: &serde_json::Value, ids: &std::collections::BTreeSet<&str>) -> bool {
    match decision {
        serde_json::Value::String(s) => ids.contains(s.as_str()),
        serde_json::Value::Array(items) => items.iter().any(|v| mentions_any(v, ids)),
        serde_json::Value::Object(map) => map.values().any(|v| mentions_any(v, ids)),
        _ => false,
    }
}

/// A case on the hot list, with the parts of its score.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HotIssue {
    #[serde(flatten)]
    pub case: CaseSummary,
    /// Complaints of the case inside the window.
    pub window_complaints: i64,
    /// The heat score and its parts.
    #[schema(value_type = Object)]
    pub heat: HeatScore,
}

/// The hottest cases with a complaint in `[now - window, now]`, hottest first.
pub async fn hot_issues(
    pool: &SqlitePool,
    now: DateTime<Utc>,
    window: Duration,
    limit: usize,
    config: &HeatConfig,
) -> Result<Vec<HotIssue>, CaseError> {
    let since_ms = (now - window).timestamp_millis();
    let now_ms = now.timestamp_millis();
    let rows = sqlx::query(
        "SELECT case_id, submitted_ms, complainant, public_support, media_exposed
         FROM case_members WHERE submitted_ms >= ? AND submitted_ms <= ?
         ORDER BY case_id, seq",
    )
    .bind(since_ms)
    .bind(now_ms)
    .fetch_all(pool)
    .await?;
    let mut scored: Vec<(String, i64, HeatScore)> = Vec::new();
    let mut current: Option<String> = None;
    let mut members: Vec<HeatMember> = Vec::new();
    let mut flush = |case: Option<String>, members: &mut Vec<HeatMember>| {
        if let Some(case) = case {
            let score = heat_score(members, now, config);
            scored.push((case, members.len() as i64, score));
        }
        members.clear();
    };
    for row in &rows {
        let case_id: String = row.get("case_id");
        if current.as_deref() != Some(case_id.as_str()) {
            flush(current.take(), &mut members);
            current = Some(case_id);
        }
        let submitted_ms: i64 = row.get("submitted_ms");
        members.push(HeatMember {
            submitted_at: DateTime::from_timestamp_millis(submitted_ms).unwrap_or(now),
            complainant: row.get("complainant"),
            public_support: row.get::<i64, _>("public_support").max(0) as u64,
            media_exposed: row.get::<i64, _>("media_exposed") != 0,
        });
    }
    flush(current.take(), &mut members);
    scored.sort_by(|a, b| b.2.score.total_cmp(&a.2.score).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(limit);
    let mut hot = Vec::with_capacity(scored.len());
    for (case_id, window_complaints, heat) in scored {
        let case = get_summary(pool, &case_id).await?;
        hot.push(HotIssue {
            case,
            window_complaints,
            heat,
        });
    }
    Ok(hot)
}

async fn get_summary(pool: &SqlitePool, case_id: &str) -> Result<CaseSummary, CaseError> {
    let sql = format!("{SUMMARY_SELECT} WHERE c.id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| CaseError::NotFound(case_id.to_string()))?;
    Ok(summary(&row))
}

/// The case of every complaint of a source, by external id (evaluation).
pub async fn cases_by_external_id(
    pool: &SqlitePool,
    source: &str,
) -> Result<std::collections::HashMap<String, String>, CaseError> {
    let rows = sqlx::query(
        "SELECT c.external_id, m.case_id FROM complaints c
         JOIN case_members m ON m.complaint_id = c.id WHERE c.source = ?",
    )
    .bind(source)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| (row.get("external_id"), row.get("case_id")))
        .collect())
}

/// Parses a window such as `30d`, `12h` or `90m`.
pub fn parse_window(text: &str) -> Result<Duration, CaseError> {
    let text = text.trim();
    let invalid = || {
        CaseError::Invalid(format!(
            "window `{text}`: expected a number and a unit, e.g. 30d, 12h or 90m"
        ))
    };
    let Some(unit) = text.chars().last().filter(char::is_ascii_alphabetic) else {
        return Err(invalid());
    };
    let number: i64 = text[..text.len() - 1].parse().map_err(|_| invalid())?;
    if number <= 0 || number > 36_500 * 24 * 60 {
        return Err(invalid());
    }
    match unit {
        'd' => Ok(Duration::days(number)),
        'h' => Ok(Duration::hours(number)),
        'm' => Ok(Duration::minutes(number)),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_with_a_unit_and_reject_anything_else() {
        assert_eq!(parse_window("30d").unwrap(), Duration::days(30));
        assert_eq!(parse_window(" 12h ").unwrap(), Duration::hours(12));
        assert_eq!(parse_window("90m").unwrap(), Duration::minutes(90));
        for bad in ["", "d", "30", "30天", "-3d", "0d", "3w", "天"] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
    }
}

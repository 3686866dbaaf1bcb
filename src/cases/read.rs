//! Reading cases: the list, one case with its members and the why, and hot issues.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{CaseDetail, CaseError, CaseMember, CaseSummary, SNIPPET_CHARS, snippet};
use crate::grouping::{HeatConfig, HeatMember, HeatScore, heat_score};
use crate::store::Store;
use crate::store::cases::CaseFilter;

/// Most cases one listing returns.
pub const MAX_LIST_LIMIT: i64 = 500;

/// Cases matching `filter`, most recently active first (its limit kept within
/// [`MAX_LIST_LIMIT`]).
pub async fn list_cases(
    store: &Store,
    filter: CaseFilter<'_>,
) -> Result<Vec<CaseSummary>, CaseError> {
    let filter = CaseFilter {
        limit: filter.limit.clamp(1, MAX_LIST_LIMIT),
        offset: filter.offset.max(0),
        ..filter
    };
    Ok(store.list_cases(filter).await?)
}

/// One case with its members (earliest first) and the staff decisions about them.
pub async fn get_case(store: &Store, case_id: &str) -> Result<CaseDetail, CaseError> {
    let case = get_summary(store, case_id).await?;
    let members = store
        .case_members(case_id)
        .await?
        .into_iter()
        .map(member)
        .collect::<Result<Vec<_>, _>>()?;
    let ids: BTreeSet<&str> = members.iter().map(|m| m.complaint_id.as_str()).collect();
    let decisions = super::staff::load_decision_records(store)
        .await?
        .into_iter()
        .filter(|(_, record)| mentions_any(&record.decision, &ids))
        .map(|(_, record)| record)
        .collect();
    let subjects = store.case_subjects(case_id).await?;
    Ok(CaseDetail {
        case,
        members,
        decisions,
        subjects,
    })
}

/// One page of a case's members (in sequence order: at most `limit` after the first
/// `offset`) with the case's summary; for a reader that shows a case a page at a time and
/// must not load thousands of members to show fifty.
pub async fn get_case_page(
    store: &Store,
    case_id: &str,
    offset: i64,
    limit: i64,
) -> Result<(CaseSummary, Vec<CaseMember>), CaseError> {
    let case = get_summary(store, case_id).await?;
    let members = store
        .case_members_page(case_id, offset.max(0), limit.clamp(1, MAX_LIST_LIMIT))
        .await?
        .into_iter()
        .map(member)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((case, members))
}

/// A stored member as the API shows it, its grouping reason read back.
fn member(record: crate::store::cases::MemberRecord) -> Result<CaseMember, CaseError> {
    Ok(CaseMember {
        snippet: snippet(&record.text_start, SNIPPET_CHARS),
        why: serde_json::from_str(&record.reason_json)
            .map_err(|e| CaseError::Corrupt(format!("grouping reason: {e}")))?,
        complaint_id: record.complaint_id,
        channel: record.channel,
        source: record.source,
        submitted_at: record.submitted_at,
        title: record.title,
    })
}

fn mentions_any(decision: &serde_json::Value, ids: &BTreeSet<&str>) -> bool {
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
    /// When each of the window's complaints was submitted (Unix ms, oldest first; a trend line,
    /// not part of the answer).
    #[serde(skip)]
    pub window_times_ms: Vec<i64>,
}

/// The hottest cases with a complaint in `[now - window, now]`, hottest first.
pub async fn hot_issues(
    store: &Store,
    now: DateTime<Utc>,
    window: Duration,
    limit: usize,
    config: &HeatConfig,
) -> Result<Vec<HotIssue>, CaseError> {
    hot_issues_within(store, now, window, limit, config, None).await
}

/// [`hot_issues`] among the cases routed to one of `reach`'s queues or informed to one of
/// them (an investigator's): only their complaints count; `None` = every case.
pub async fn hot_issues_within(
    store: &Store,
    now: DateTime<Utc>,
    window: Duration,
    limit: usize,
    config: &HeatConfig,
    reach: Option<&[String]>,
) -> Result<Vec<HotIssue>, CaseError> {
    let since_ms = (now - window).timestamp_millis();
    let now_ms = now.timestamp_millis();
    let rows = store.members_between(since_ms, now_ms, reach).await?;
    let mut scored: Vec<(String, i64, HeatScore, Vec<i64>)> = Vec::new();
    let mut current: Option<String> = None;
    let mut members: Vec<HeatMember> = Vec::new();
    let mut flush = |case: Option<String>, members: &mut Vec<HeatMember>| {
        if let Some(case) = case {
            let score = heat_score(members, now, config);
            let mut times: Vec<i64> = members
                .iter()
                .map(|m| m.submitted_at.timestamp_millis())
                .collect();
            times.sort_unstable();
            scored.push((case, members.len() as i64, score, times));
        }
        members.clear();
    };
    for row in rows {
        if current.as_deref() != Some(row.case_id.as_str()) {
            flush(current.take(), &mut members);
            current = Some(row.case_id);
        }
        members.push(HeatMember {
            submitted_at: DateTime::from_timestamp_millis(row.submitted_ms).unwrap_or(now),
            complainant: row.complainant,
            public_support: row.public_support.max(0) as u64,
            media_exposed: row.media_exposed,
        });
    }
    flush(current.take(), &mut members);
    scored.sort_by(|a, b| b.2.score.total_cmp(&a.2.score).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(limit);
    let mut hot = Vec::with_capacity(scored.len());
    for (case_id, window_complaints, heat, window_times_ms) in scored {
        let case = get_summary(store, &case_id).await?;
        hot.push(HotIssue {
            case,
            window_complaints,
            heat,
            window_times_ms,
        });
    }
    Ok(hot)
}

async fn get_summary(store: &Store, case_id: &str) -> Result<CaseSummary, CaseError> {
    store
        .case_summary(case_id)
        .await?
        .ok_or_else(|| CaseError::NotFound(case_id.to_string()))
}

/// The case of every complaint of a source, by external id (evaluation).
pub async fn cases_by_external_id(
    store: &Store,
    source: &str,
) -> Result<HashMap<String, String>, CaseError> {
    Ok(store.cases_by_external_id(source).await?)
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

//! `GET requests`: its filters, with the spec's defaults, and the client's requests they
//! select.
//!
//! `service_request_id` (a comma list) selects by id and the other filters do not apply;
//! otherwise `service_code` (comma list), `status` (`open`, `closed`; comma list) and the
//! window `start_date`..`end_date` (RFC 3339, on the time filed): the last
//! [`MAX_WINDOW_DAYS`] by default, never longer. At most [`MAX_RESULTS`], newest first.

use chrono::{DateTime, Duration, Utc};

use super::filing::Form;
use super::requests::{Mapping, ServiceRequest, request};
use super::{MAX_RESULTS, MAX_WINDOW_DAYS};
use crate::store::open311::FilingFilter;
use crate::store::{Store, StoreError};

/// What a list asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListQuery {
    Ids(Vec<String>),
    Filtered {
        codes: Vec<String>,
        statuses: Vec<String>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

/// The values of a comma list.
fn list(params: &Form, name: &str) -> Vec<String> {
    params
        .get(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The query of `params` at `now`, or why it is not one (a 400).
pub fn list_query(params: &Form, now: DateTime<Utc>) -> Result<ListQuery, String> {
    let ids = list(params, "service_request_id");
    if !ids.is_empty() {
        if ids.len() > MAX_RESULTS {
            return Err(format!("at most {MAX_RESULTS} service_request_id values"));
        }
        return Ok(ListQuery::Ids(ids));
    }
    let statuses = list(params, "status");
    if let Some(other) = statuses
        .iter()
        .find(|s| !["open", "closed"].contains(&s.as_str()))
    {
        return Err(format!("status `{other}` is not one of open, closed"));
    }
    let date = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        params
            .get(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| format!("{name} `{v}` is not an RFC 3339 date and time"))
            })
            .transpose()
    };
    let window = Duration::days(MAX_WINDOW_DAYS);
    let (start, end) = match (date("start_date")?, date("end_date")?) {
        (Some(start), Some(end)) => (start, end),
        (Some(start), None) => (start, (start + window).min(now)),
        (None, Some(end)) => (end - window, end),
        (None, None) => (now - window, now),
    };
    if end < start {
        return Err("end_date is before start_date".into());
    }
    if end - start > window {
        return Err(format!(
            "start_date and end_date may span at most {MAX_WINDOW_DAYS} days"
        ));
    }
    Ok(ListQuery::Filtered {
        codes: list(params, "service_code"),
        statuses,
        start,
        end,
    })
}

/// The requests of `client` that `query` selects (reports left out).
pub async fn requests(
    store: &Store,
    mapping: &Mapping<'_>,
    client: &str,
    query: &ListQuery,
) -> Result<Vec<ServiceRequest>, StoreError> {
    let mut found = Vec::new();
    let (codes, statuses, start, end) = match query {
        ListQuery::Ids(ids) => {
            for id in ids {
                if let Some(filing) = store.open311_filing(client, id).await?
                    && let Some(request) = request(store, mapping, &filing).await?
                {
                    found.push(request);
                }
            }
            return Ok(found);
        }
        ListQuery::Filtered {
            codes,
            statuses,
            start,
            end,
        } => (codes, statuses, start, end),
    };
    // One code or none and no status: the store's limit is the answer's; otherwise read
    // further and filter here.
    let exact = statuses.is_empty() && codes.len() <= 1;
    let filter = FilingFilter {
        client,
        service_code: (codes.len() == 1).then(|| codes[0].as_str()),
        from_ms: start.timestamp_millis(),
        to_ms: end.timestamp_millis(),
        limit: if exact { MAX_RESULTS } else { 10 * MAX_RESULTS } as i64,
    };
    for filing in store.open311_filings(&filter).await? {
        if found.len() == MAX_RESULTS {
            break;
        }
        if !codes.is_empty() && !codes.contains(&filing.service_code) {
            continue;
        }
        let Some(request) = request(store, mapping, &filing).await? else {
            continue;
        };
        if statuses.is_empty() || statuses.iter().any(|s| s == request.status) {
            found.push(request);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> Result<ListQuery, String> {
        let now = DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        list_query(&Form::parse_query(text).unwrap(), now)
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_window_defaults_to_the_last_90_days_and_never_spans_more() {
        let ListQuery::Filtered { start, end, .. } = query("").unwrap() else {
            panic!("filters")
        };
        assert_eq!(
            (start, end),
            (at("2026-09-08T00:00:00Z"), at("2026-12-07T00:00:00Z"))
        );
        let ListQuery::Filtered { start, end, .. } =
            query("start_date=2026-01-01T00:00:00%2B08:00").unwrap()
        else {
            panic!("filters")
        };
        assert_eq!(
            (start, end),
            (at("2025-12-31T16:00:00Z"), at("2026-03-31T16:00:00Z"))
        );
        let error = query("start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z");
        assert!(error.unwrap_err().contains("90 days"));
        assert!(query("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z").is_err());
        assert!(
            query("end_date=yesterday")
                .unwrap_err()
                .contains("end_date")
        );
    }

    #[test]
    fn ids_win_over_filters_and_statuses_are_checked() {
        assert_eq!(
            query("service_request_id=a,+b,,&status=bogus").unwrap(),
            ListQuery::Ids(vec!["a".into(), "b".into()])
        );
        assert!(
            query("status=open,pending")
                .unwrap_err()
                .contains("pending")
        );
        let ListQuery::Filtered {
            codes, statuses, ..
        } = query("status=open,closed&service_code=general,enterprise").unwrap()
        else {
            panic!("filters")
        };
        assert_eq!(codes, ["general", "enterprise"]);
        assert_eq!(statuses, ["open", "closed"]);
    }
}

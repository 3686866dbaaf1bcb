//! 热点 (`/console/hot`): the hot issues of a window ranked, the read of `GET /v1/hot-issues`
//! (`api::cases::hot_as`: an investigator's count only their queues' cases, titles masked for
//! a caller who does not see identities), each with a trend line of its complaints per day
//! (inline SVG written on the server) and a link to its case.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::Deserialize;

use super::home::queue_name;
use super::labels;
use super::page::{ConsoleError, Layout, offset, render};
use super::svg::sparkline;
use crate::api::AppState;
use crate::api::cases::{HotParams, hot_as};
use crate::api::session::CurrentSession;

/// The windows offered: (parameter, days, label).
const WINDOWS: [(&str, i64, &str); 3] = [
    ("7d", 7, "近7天"),
    ("30d", 30, "近30天"),
    ("90d", 90, "近90天"),
];

/// Hot issues listed.
const LIMIT: usize = 20;

#[derive(Debug, Deserialize)]
pub struct HotQuery {
    pub window: Option<String>,
}

/// One hot issue as shown.
pub struct HotRow {
    pub rank: usize,
    pub id: String,
    pub title: String,
    pub window_complaints: i64,
    pub complaints: i64,
    pub score: String,
    pub channels: String,
    pub state: &'static str,
    pub queue: String,
    /// The trend line (SVG, escaped where it holds text).
    pub trend: String,
    /// The busiest day's count, said beside the line.
    pub peak: u64,
}

#[derive(Template)]
#[template(path = "console/hot.html")]
struct HotPage {
    layout: Layout,
    /// (parameter, label, chosen) of each window.
    windows: Vec<(&'static str, &'static str, bool)>,
    window_label: &'static str,
    rows: Vec<HotRow>,
}

/// `GET /console/hot?window=7d|30d|90d`.
pub async fn hot(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Query(query): Query<HotQuery>,
) -> Response {
    match build(&state, &session, query).await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

async fn build(
    state: &AppState,
    session: &CurrentSession,
    query: HotQuery,
) -> Result<HotPage, ConsoleError> {
    let (window, days, window_label) = WINDOWS
        .into_iter()
        .find(|(w, _, _)| Some(*w) == query.window.as_deref())
        .unwrap_or(WINDOWS[1]);
    let params = HotParams {
        window: Some(window.to_string()),
        limit: Some(LIMIT),
        at: None,
    };
    let now = Utc::now();
    let hot = hot_as(state, &session.principal, &params).await?;
    let offset = offset(state);
    let rows = hot
        .into_iter()
        .enumerate()
        .map(|(i, issue)| {
            let per_day = per_day(&issue.window_times_ms, now, days, offset);
            let peak = per_day.iter().copied().max().unwrap_or(0);
            let case = issue.case;
            HotRow {
                rank: i + 1,
                trend: sparkline(&per_day, &format!("{window_label}每日来件趋势")),
                peak,
                title: case.title,
                window_complaints: issue.window_complaints,
                complaints: case.complaints,
                score: format!("{:.1}", issue.heat.score),
                channels: case
                    .channels
                    .iter()
                    .map(|c| labels::channel(c))
                    .collect::<Vec<_>>()
                    .join("、"),
                state: labels::state(case.state.as_deref().unwrap_or("")),
                queue: queue_name(state, case.queue.as_deref()),
                id: case.id,
            }
        })
        .collect();
    Ok(HotPage {
        layout: Layout::new(state, session, "热点", "/console/hot"),
        windows: WINDOWS
            .iter()
            .map(|(w, _, label)| (*w, *label, *w == window))
            .collect(),
        window_label,
        rows,
    })
}

/// Complaints per local day of the `days` days up to `now` (oldest first), from their times.
pub fn per_day(times_ms: &[i64], now: DateTime<Utc>, days: i64, offset: FixedOffset) -> Vec<u64> {
    let today = now.with_timezone(&offset).date_naive();
    let first = today - Duration::days(days - 1);
    let mut counts = vec![0u64; days.max(1) as usize];
    for ms in times_ms {
        let Some(at) = DateTime::from_timestamp_millis(*ms) else {
            continue;
        };
        let day = at.with_timezone(&offset).date_naive();
        let index = (day - first).num_days();
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| counts.get_mut(i)) {
            *slot += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complaints_are_counted_per_local_day_oldest_first() {
        let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis();
        let times = [
            at("2026-12-07T00:30:00+08:00"),
            // 23:30 UTC on the 6th is the 7th in Beijing.
            at("2026-12-06T23:30:00Z"),
            at("2026-12-05T12:00:00+08:00"),
            // Before the window: not counted.
            at("2026-11-01T12:00:00+08:00"),
        ];
        assert_eq!(per_day(&times, now, 3, beijing), vec![1, 0, 2]);
    }
}

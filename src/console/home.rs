//! 工作台: what each role works on today, read through the case list the API uses
//! (`cases::read::list_cases`, narrowed to an investigator's queues as `GET /v1/cases` is)
//! and the statistics (`stats::read`, as `GET /v1/stats`).
//!
//! - triage (and admins): arrived today, awaiting triage, 退单 returned, 延期 requests waiting
//!   for a decision, overdue;
//! - investigators: per queue, the cases to accept (签收), in progress, due within two working
//!   days, overdue — each with its countdown;
//! - supervisors (and admins): this month's 三率 and the units with most overdue cases.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Datelike, TimeZone, Utc};

use super::labels;
use super::page::{ConsoleError, Countdown, Layout, countdown_text, local_text, offset, render};
use crate::api::AppState;
use crate::api::session::CurrentSession;
use crate::cases::CaseSummary;
use crate::cases::read::list_cases;
use crate::people::Role;
use crate::people::access::Permission;
use crate::people::pii;
use crate::store::cases::{CaseFilter, CaseSort};

/// Cases shown per list.
const LIST_LIMIT: i64 = 20;

/// One case in a list.
pub struct CaseRow {
    pub id: String,
    pub title: String,
    pub state: &'static str,
    pub queue: String,
    pub priority: &'static str,
    pub complaints: i64,
    pub channels: String,
    pub last_seen: String,
    /// The deadline shown (to accept by, for a case waiting for 签收; to answer by otherwise).
    pub due: Option<String>,
    pub countdown: Option<Countdown>,
}

/// A titled list of cases.
pub struct Section {
    pub title: String,
    pub rows: Vec<CaseRow>,
}

/// One role's part of the page.
pub struct Group {
    pub heading: String,
    pub sections: Vec<Section>,
}

/// This month's figures for a supervisor.
pub struct Supervision {
    pub period: String,
    pub response: String,
    pub resolution: String,
    pub satisfaction: String,
    pub overdue_now: i64,
    /// (unit, overdue now), most first.
    pub units: Vec<(String, i64)>,
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    layout: Layout,
    groups: Vec<Group>,
    supervision: Option<Supervision>,
}

/// `GET /console`.
pub async fn home(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Response {
    match build(&state, &session).await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

async fn build(state: &AppState, session: &CurrentSession) -> Result<HomePage, ConsoleError> {
    let principal = &session.principal;
    let has = |role: Role| principal.roles.contains(&role);
    let mut groups = Vec::new();
    if (has(Role::Triage) || has(Role::Admin)) && principal.may(Permission::CasesDecide) {
        groups.push(triage(state, session).await?);
    }
    if has(Role::Investigator) {
        for membership in &principal.queues {
            groups.push(investigator(state, session, &membership.queue).await?);
        }
    }
    let supervision =
        if (has(Role::Supervisor) || has(Role::Admin)) && principal.may(Permission::StatsRead) {
            Some(supervision(state).await?)
        } else {
            None
        };
    Ok(HomePage {
        layout: Layout::new(state, session, "工作台", "/console"),
        groups,
        supervision,
    })
}

/// A listing as the caller may see it: narrowed to their queues unless they read every case,
/// titles masked unless they see identities (as `GET /v1/cases` answers them).
async fn listed(
    state: &AppState,
    session: &CurrentSession,
    filter: CaseFilter<'_>,
) -> Result<Vec<CaseRow>, ConsoleError> {
    let principal = &session.principal;
    let reach = principal.reach();
    let filter = CaseFilter {
        queues: reach.as_deref(),
        limit: LIST_LIMIT,
        min_complaints: 1,
        ..filter
    };
    let cases = list_cases(&state.store, filter)
        .await
        .map_err(crate::api::error::ApiError::from)?;
    let masked = !principal.sees_identities();
    let now = Utc::now();
    Ok(cases
        .into_iter()
        .map(|case| row(state, case, masked, now))
        .collect())
}

/// A listed case as shown (its title masked when `masked`), with its deadline's countdown.
pub fn row(state: &AppState, case: CaseSummary, masked: bool, now: DateTime<Utc>) -> CaseRow {
    let offset = offset(state);
    let waiting = case.state.as_deref() == Some("assigned");
    let due = if waiting {
        case.accept_due_at.clone().or(case.due_at.clone())
    } else {
        case.due_at.clone()
    };
    let open = case
        .state
        .as_deref()
        .and_then(|s| s.parse::<crate::workflow::State>().ok())
        .is_none_or(|s| s.is_open());
    CaseRow {
        title: if masked {
            pii::mask_text(&case.title)
        } else {
            case.title.clone()
        },
        state: labels::state(case.state.as_deref().unwrap_or("")),
        queue: queue_name(state, case.queue.as_deref()),
        priority: labels::priority(case.priority.as_deref().unwrap_or("")),
        complaints: case.complaints,
        channels: case
            .channels
            .iter()
            .map(|c| labels::channel(c))
            .collect::<Vec<_>>()
            .join("、"),
        last_seen: local_text(&case.last_seen, offset),
        countdown: due
            .as_deref()
            .filter(|_| open)
            .and_then(|d| countdown_text(d, now)),
        due: due.as_deref().map(|d| local_text(d, offset)),
        id: case.id,
    }
}

/// A queue's name as staff know it.
pub fn queue_name(state: &AppState, key: Option<&str>) -> String {
    match key {
        Some(key) => state
            .routing
            .queue(key)
            .map_or_else(|| key.to_string(), |q| q.name.to_string()),
        None => "—".to_string(),
    }
}

/// Midnight today in the configured offset.
fn today_start(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    let offset = offset(state);
    let midnight = now
        .with_timezone(&offset)
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    offset
        .from_local_datetime(&midnight)
        .single()
        .map_or(now, |t| t.with_timezone(&Utc))
}

async fn triage(state: &AppState, session: &CurrentSession) -> Result<Group, ConsoleError> {
    let now = Utc::now();
    let today = CaseFilter {
        received_from: Some(today_start(state, now)),
        ..CaseFilter::default()
    };
    let awaiting = CaseFilter {
        state: Some("new"),
        ..CaseFilter::default()
    };
    let returned = CaseFilter {
        state: Some("returned"),
        ..CaseFilter::default()
    };
    let overdue = CaseFilter {
        overdue: Some(true),
        sort: CaseSort::Deadline,
        ..CaseFilter::default()
    };
    Ok(Group {
        heading: "分拣工作".into(),
        sections: vec![
            section("今日新收", listed(state, session, today).await?),
            section("待分拣", listed(state, session, awaiting).await?),
            section("退单待处理", listed(state, session, returned).await?),
            section("延期申请", extension_requests(state, session).await?),
            section("已超期", listed(state, session, overdue).await?),
        ],
    })
}

/// The cases whose 延期 requests wait for triage's decision, each with what it asks.
async fn extension_requests(
    state: &AppState,
    session: &CurrentSession,
) -> Result<Vec<CaseRow>, ConsoleError> {
    let masked = !session.principal.sees_identities();
    let now = Utc::now();
    let mut rows = Vec::new();
    for request in state.store.undecided_extension_requests(LIST_LIMIT).await? {
        let Some(case) = state.store.case_summary(&request.request.case_id).await? else {
            continue;
        };
        let mut row = row(state, case, masked, now);
        row.title = format!(
            "{}（申请延期{}个工作日）",
            row.title, request.request.working_days
        );
        rows.push(row);
    }
    Ok(rows)
}

fn section(title: &str, rows: Vec<CaseRow>) -> Section {
    Section {
        title: title.to_string(),
        rows,
    }
}

async fn investigator(
    state: &AppState,
    session: &CurrentSession,
    queue: &str,
) -> Result<Group, ConsoleError> {
    let now = Utc::now();
    let in_queue = |state_code: Option<&'static str>| CaseFilter {
        queue: Some(queue),
        state: state_code,
        sort: CaseSort::Deadline,
        ..CaseFilter::default()
    };
    let mut in_progress = Vec::new();
    for code in ["accepted", "investigating", "reopened"] {
        in_progress.extend(listed(state, session, in_queue(Some(code))).await?);
    }
    let soon = CaseFilter {
        due_before_ms: Some(two_working_days(state, now).timestamp_millis()),
        overdue: Some(false),
        ..in_queue(None)
    };
    let overdue = CaseFilter {
        overdue: Some(true),
        ..in_queue(None)
    };
    Ok(Group {
        heading: format!("{}：办理工作", queue_name(state, Some(queue))),
        sections: vec![
            section(
                "待签收",
                listed(state, session, in_queue(Some("assigned"))).await?,
            ),
            section("办理中", in_progress),
            section("两个工作日内到期", listed(state, session, soon).await?),
            section("已超期", listed(state, session, overdue).await?),
        ],
    })
}

/// The end of the second working day after today (the working-day calendar, as deadlines).
fn two_working_days(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    let offset = offset(state);
    let day_end = state
        .config
        .deadlines
        .day_end()
        .unwrap_or(chrono::NaiveTime::MIN);
    let (end, _) = state.calendar.current().add_working_days_provisional(
        now.with_timezone(&offset),
        2,
        day_end,
    );
    end.with_timezone(&Utc)
}

async fn supervision(state: &AppState) -> Result<Supervision, ConsoleError> {
    let offset = offset(state);
    let now = Utc::now();
    let local = now.with_timezone(&offset);
    let from = format!("{:04}-{:02}-01", local.year(), local.month());
    let request = crate::stats::StatsRequest {
        from: Some(&from),
        to: None,
        by: Some("unit"),
        series: None,
    };
    let query = crate::stats::parse(&request, offset, now)
        .map_err(|message| ConsoleError::new(axum::http::StatusCode::BAD_REQUEST, message))?;
    let report = crate::stats::read(&state.store, &request, &query).await?;
    let percent = |rate: Option<f64>| rate.map_or_else(|| "—".to_string(), |r| format!("{r:.1}%"));
    let rates = &report.total.rates;
    let mut units: Vec<(String, i64)> = report
        .groups
        .iter()
        .filter(|g| g.counts.overdue_now > 0)
        .map(|g| (queue_name(state, g.key.as_deref()), g.counts.overdue_now))
        .collect();
    units.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    units.truncate(5);
    Ok(Supervision {
        period: format!("{}年{}月", local.year(), local.month()),
        response: percent(rates.response),
        resolution: percent(rates.resolution),
        satisfaction: percent(rates.satisfaction),
        overdue_now: report.total.counts.overdue_now,
        units,
    })
}

//! 队列 (`/console/queues`, `/console/queues/{queue}`): each unit's cases, earliest deadline
//! first, with state and countdown — the read of `GET /v1/cases?queue=…&sort=deadline`
//! (`api::cases::list_as`: the same reach and masking). An investigator sees their own
//! units only; the others (`queues.read` with every case in reach) see every unit.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;

use super::home::{CaseRow, queue_name, row};
use super::page::{ConsoleError, Layout, render};
use crate::api::AppState;
use crate::api::cases::{ListParams, list_as};
use crate::api::session::CurrentSession;

/// Cases per unit on the overview.
const OVERVIEW_ROWS: i64 = 10;

/// Cases per page of one unit.
const PAGE_SIZE: i64 = 50;

/// One unit's queue as shown.
pub struct QueueView {
    pub key: String,
    pub name: String,
    pub rows: Vec<CaseRow>,
    /// More cases than shown.
    pub more: bool,
}

#[derive(Template)]
#[template(path = "console/queues.html")]
struct QueuesPage {
    layout: Layout,
    /// One unit (its page, with paging) or all of the caller's.
    single: bool,
    queues: Vec<QueueView>,
    page: i64,
    previous: Option<String>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PageParams {
    pub page: Option<i64>,
}

/// The units `session` may see: their own queues, or every queue for a caller whose reach is
/// every case.
fn units(state: &AppState, session: &CurrentSession) -> Vec<String> {
    match session.principal.reach() {
        Some(own) => own,
        None => state.routing.queues.keys().cloned().collect(),
    }
}

/// Up to `limit` cases of `queue` from `offset`, earliest deadline first, and whether more
/// follow.
async fn queue_rows(
    state: &AppState,
    session: &CurrentSession,
    queue: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<CaseRow>, bool), ConsoleError> {
    let params = ListParams {
        queue: Some(queue.to_string()),
        sort: Some("deadline".into()),
        limit: Some(limit + 1),
        offset: Some(offset),
        ..ListParams::default()
    };
    let mut cases = list_as(state, &session.principal, &params).await?;
    let more = cases.len() as i64 > limit;
    cases.truncate(limit as usize);
    let now = Utc::now();
    // `list_as` masked the titles for a caller who does not see identities.
    let rows = cases
        .into_iter()
        .map(|case| row(state, case, false, now))
        .collect();
    Ok((rows, more))
}

/// `GET /console/queues`.
pub async fn overview(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Response {
    let build = async {
        let mut queues = Vec::new();
        for key in units(&state, &session) {
            let (rows, more) = queue_rows(&state, &session, &key, OVERVIEW_ROWS, 0).await?;
            queues.push(QueueView {
                name: queue_name(&state, Some(&key)),
                key,
                rows,
                more,
            });
        }
        Ok::<_, ConsoleError>(QueuesPage {
            layout: Layout::new(&state, &session, "队列", "/console/queues"),
            single: false,
            queues,
            page: 1,
            previous: None,
            next: None,
        })
    };
    match build.await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

/// `GET /console/queues/{queue}?page=N`.
pub async fn one(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(queue): Path<String>,
    Query(params): Query<PageParams>,
) -> Response {
    let build = async {
        if !units(&state, &session).contains(&queue) {
            // Not a queue, or not one of the caller's: as a case out of reach.
            return Err(ConsoleError::not_found());
        }
        let page = params.page.unwrap_or(1).max(1);
        let (rows, more) =
            queue_rows(&state, &session, &queue, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
        let href = |n: i64| format!("/console/queues/{queue}?page={n}");
        Ok::<_, ConsoleError>(QueuesPage {
            layout: Layout::new(&state, &session, "队列", "/console/queues"),
            single: true,
            queues: vec![QueueView {
                name: queue_name(&state, Some(&queue)),
                key: queue.clone(),
                rows,
                more,
            }],
            page,
            previous: (page > 1).then(|| href(page - 1)),
            next: more.then(|| href(page + 1)),
        })
    };
    match build.await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

//! 工作日历 (`/console/admin/calendar`): the years the working-day calendar knows (as
//! `GET /v1/calendar`), and, for admins, a year's TOML stored through `api::calendar::store`,
//! as `PUT /v1/calendar/{year}` stores it — then the provisional deadlines it counted again
//! (or kept, extended by hand), as the recount reports them.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use serde::Deserialize;

use super::{ADMIN_HOME, admin_nav};
use crate::api::AppState;
use crate::api::calendar::{parse_toml, same_year, store, years};
use crate::api::session::CurrentSession;
use crate::console::page::{ConsoleError, Layout, local_time, offset, render};
use crate::people::access::Permission;

/// One known year.
pub struct YearRow {
    pub year: i32,
    pub origin: String,
    pub holidays: usize,
    pub working_weekends: usize,
}

/// A deadline counted again (or kept, extended by hand) when a year was stored.
pub struct Recounted {
    pub case_id: String,
    pub old_due: String,
    /// `None`: an extended deadline kept as it was, for staff to check.
    pub new_due: Option<String>,
}

/// What storing a year did.
pub struct StoredView {
    pub year: i32,
    pub holidays: usize,
    pub working_weekends: usize,
    pub replaced: Option<String>,
    pub recounted: usize,
    pub kept_extended: usize,
    pub cases: Vec<Recounted>,
}

#[derive(Template)]
#[template(path = "console/admin_calendar.html")]
struct CalendarPage {
    layout: Layout,
    admin_nav: Vec<(&'static str, &'static str, bool)>,
    years: Vec<YearRow>,
    last_day: String,
    may_store: bool,
    stored: Option<StoredView>,
    error: Option<String>,
    /// The form's text, kept after a refusal.
    year: String,
    text: String,
}

/// `GET /console/admin/calendar`.
pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Response {
    render(&build(
        &state,
        &session,
        None,
        None,
        String::new(),
        String::new(),
    ))
}

fn build(
    state: &AppState,
    session: &CurrentSession,
    stored: Option<StoredView>,
    error: Option<String>,
    year: String,
    text: String,
) -> CalendarPage {
    let view = years(state);
    CalendarPage {
        layout: Layout::new(state, session, "工作日历", ADMIN_HOME),
        admin_nav: admin_nav(session, "/console/admin/calendar"),
        years: view
            .years
            .into_iter()
            .map(|y| YearRow {
                year: y.year,
                origin: y.origin,
                holidays: y.holidays,
                working_weekends: y.working_weekends,
            })
            .collect(),
        last_day: view.last_day.unwrap_or_else(|| "—".into()),
        may_store: session.principal.may(Permission::CalendarManage),
        stored,
        error,
        year,
        text,
    }
}

/// The upload form: the year and its TOML (the calendar files' format).
#[derive(Debug, Deserialize)]
pub struct UploadForm {
    year: String,
    toml: String,
}

/// `POST /console/admin/calendar`.
pub async fn upload(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Form(form): Form<UploadForm>,
) -> Response {
    match stored(&state, &session, &form).await {
        Ok(view) => render(&build(
            &state,
            &session,
            Some(view),
            None,
            String::new(),
            String::new(),
        )),
        Err(error) if error.status.is_client_error() => {
            let page = build(
                &state,
                &session,
                None,
                Some(error.message),
                form.year,
                form.toml,
            );
            let mut response = render(&page);
            *response.status_mut() = error.status;
            response
        }
        Err(error) => error.page(&state, Some(&session)),
    }
}

async fn stored(
    state: &AppState,
    session: &CurrentSession,
    form: &UploadForm,
) -> Result<StoredView, ConsoleError> {
    let year: i32 = form
        .year
        .trim()
        .parse()
        .map_err(|_| ConsoleError::new(StatusCode::BAD_REQUEST, "请填写年份，例如 2027。"))?;
    let days = same_year(parse_toml(&form.toml)?, year)?;
    let done = store(state, &session.principal, &days, Utc::now()).await?;
    let offset = offset(state);
    let cases = done
        .cases
        .into_iter()
        .map(|c| Recounted {
            old_due: local_time(c.old_due, offset),
            new_due: c.new_due.map(|t| local_time(t, offset)),
            case_id: c.case_id,
        })
        .collect();
    Ok(StoredView {
        year: done.year,
        holidays: done.holidays,
        working_weekends: done.working_weekends,
        replaced: done.replaced,
        recounted: done.recounted,
        kept_extended: done.kept_extended,
        cases,
    })
}

/// This page's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/console/admin/calendar", get(show).post(upload))
}

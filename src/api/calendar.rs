//! The working-day calendar on the API: `GET /v1/calendar` (the years known and where each
//! comes from), `GET /v1/calendar/{year}` (its days) and `PUT /v1/calendar/{year}` (admins store
//! a year: checked, kept in the store, audited, provisional deadlines counted again at once).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Principal;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Path};
use crate::calendar::{CalendarError, YearDays};
use crate::notify::NotifyError;
use crate::notify::calendar_years::{StoredYear, store_year};

/// A year the calendar knows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarYearSummary {
    pub year: i32,
    /// `embedded 2026.toml`, a file's path, or `stored by NAME at TIME`.
    pub origin: String,
    pub holidays: usize,
    pub working_weekends: usize,
}

/// The calendar's years.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarView {
    pub years: Vec<CalendarYearSummary>,
    /// The last day deadlines are counted on without being provisional.
    pub last_day: Option<String>,
}

/// One year's days.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarYearView {
    pub year: i32,
    pub origin: String,
    /// Days off, `YYYY-MM-DD`, sorted.
    #[schema(value_type = Vec<String>)]
    pub holidays: Vec<chrono::NaiveDate>,
    /// Saturdays and Sundays that are working days in lieu (调休上班).
    #[schema(value_type = Vec<String>)]
    pub working_weekends: Vec<chrono::NaiveDate>,
}

/// A year to store, as JSON (a TOML body in the calendar files' format is taken too, with
/// `Content-Type: application/toml`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarYearBody {
    /// Optional; when given it must equal the path's year.
    pub year: Option<i32>,
    #[schema(value_type = Vec<String>)]
    pub holidays: Vec<chrono::NaiveDate>,
    #[schema(value_type = Vec<String>)]
    pub working_weekends: Vec<chrono::NaiveDate>,
}

/// What storing a year did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalendarStored {
    pub year: i32,
    pub holidays: usize,
    pub working_weekends: usize,
    /// Where the year came from before (`null`: it was not known).
    pub replaced: Option<String>,
    /// Provisional deadlines counted again on the year.
    pub recounted: usize,
    /// Extended provisional deadlines left as they were, marked for staff to check.
    pub kept_extended: usize,
}

impl From<StoredYear> for CalendarStored {
    fn from(s: StoredYear) -> Self {
        CalendarStored {
            year: s.year,
            holidays: s.holidays,
            working_weekends: s.working_weekends,
            replaced: s.replaced,
            recounted: s.recounted,
            kept_extended: s.kept_extended,
        }
    }
}

/// The calendar's years.
#[utoipa::path(
    get,
    path = "/v1/calendar",
    tag = "deadlines",
    responses((status = 200, description = "The years known", body = CalendarView))
)]
pub async fn list(State(state): State<AppState>) -> Json<CalendarView> {
    Json(years(&state))
}

/// The calendar's years, as `GET /v1/calendar` answers them (the console shows them too).
pub fn years(state: &AppState) -> CalendarView {
    let calendar = state.calendar.current();
    let years = calendar
        .years()
        .into_iter()
        .filter_map(|year| {
            let days = calendar.year_days(year)?;
            Some(CalendarYearSummary {
                year,
                origin: calendar.origin(year).unwrap_or_default().to_string(),
                holidays: days.holidays.len(),
                working_weekends: days.working_weekends.len(),
            })
        })
        .collect();
    CalendarView {
        years,
        last_day: calendar.last_day().map(|d| d.to_string()),
    }
}

/// One year's days.
#[utoipa::path(
    get,
    path = "/v1/calendar/{year}",
    tag = "deadlines",
    params(("year" = i32, Path, description = "The year")),
    responses(
        (status = 200, description = "The year's days", body = CalendarYearView),
        (status = 404, description = "The calendar does not know the year", body = super::error::ErrorBody),
    )
)]
pub async fn get_year(
    State(state): State<AppState>,
    Path(year): Path<i32>,
) -> Result<Json<CalendarYearView>, ApiError> {
    let calendar = state.calendar.current();
    let days = calendar.year_days(year).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("the calendar does not know {year}; store it with PUT /v1/calendar/{year}"),
        )
    })?;
    Ok(Json(CalendarYearView {
        year,
        origin: calendar.origin(year).unwrap_or_default().to_string(),
        holidays: days.holidays,
        working_weekends: days.working_weekends,
    }))
}

/// Stores a year of the working-day calendar (admins): checked, kept in the store and audited;
/// deadlines that were provisional for lack of it are counted again at once.
#[utoipa::path(
    put,
    path = "/v1/calendar/{year}",
    tag = "deadlines",
    params(("year" = i32, Path, description = "The year")),
    request_body(content = CalendarYearBody, description = "JSON, or the calendar file's TOML with `Content-Type: application/toml`"),
    responses(
        (status = 200, description = "Stored; what was counted again", body = CalendarStored),
        (status = 403, description = "Not an admin", body = super::error::ErrorBody),
        (status = 422, description = "Not a valid year (`calendar_invalid`): the message says which date and why", body = super::error::ErrorBody),
    )
)]
pub async fn put_year(
    State(state): State<AppState>,
    principal: Principal,
    Path(year): Path<i32>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CalendarStored>, ApiError> {
    let days = parse_body(year, &headers, &body)?;
    let stored = store(&state, &principal, &days, chrono::Utc::now()).await?;
    Ok(Json(stored.into()))
}

/// Stores `days` for `principal` at `now`, as `PUT /v1/calendar/{year}` does (the console's
/// upload form calls it too): checked, kept, audited, provisional deadlines counted again.
pub async fn store(
    state: &AppState,
    principal: &Principal,
    days: &YearDays,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<StoredYear, ApiError> {
    store_year(
        &state.store,
        &state.calendar,
        &state.config,
        days,
        &principal.actor.to_string(),
        now,
    )
    .await
    .map_err(|e| match e {
        NotifyError::Calendar(CalendarError::Invalid { message, .. }) => invalid(message),
        NotifyError::Calendar(e) => invalid(e.to_string()),
        NotifyError::Store(e) => ApiError::from(e),
        other => ApiError::internal("calendar", &other),
    })
}

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::CalendarInvalid, message)
}

/// The year of a PUT body: TOML when the content type says so, JSON otherwise.
fn parse_body(year: i32, headers: &HeaderMap, body: &[u8]) -> Result<YearDays, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::new(ErrorCode::UndecodableBody, "the body is not UTF-8"))?;
    let days = if content_type.contains("toml") {
        parse_toml(text)?
    } else {
        let body: CalendarYearBody = serde_json::from_str(text).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidBody,
                format!(
                    "expected {{\"holidays\": [\"YYYY-MM-DD\", …], \"working_weekends\": [...]}}: {e}"
                ),
            )
        })?;
        YearDays {
            year: body.year.unwrap_or(year),
            holidays: body.holidays,
            working_weekends: body.working_weekends,
        }
    };
    same_year(days, year)
}

/// A year in the calendar files' TOML, as a PUT with `Content-Type: application/toml` reads it.
pub fn parse_toml(text: &str) -> Result<YearDays, ApiError> {
    crate::calendar::parse_year(text, "the request body").map_err(|e| match e {
        CalendarError::Invalid { message, .. } => invalid(message),
        other => invalid(other.to_string()),
    })
}

/// `days`, when they are for `year`.
pub fn same_year(days: YearDays, year: i32) -> Result<YearDays, ApiError> {
    if days.year != year {
        return Err(invalid(format!(
            "the body is for {}, the path for {year}",
            days.year
        )));
    }
    Ok(days)
}

/// This module's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/calendar", get(list))
        .route("/v1/calendar/{year}", get(get_year).put(put_year))
}

//! `GET /v1/reports/monthly?month=YYYY-MM&format=html|csv`: the monthly report to the city
//! government (see [`crate::reports`]): a printable HTML page in Chinese, or its figures as
//! CSV. Counts, rates and masked hot-issue titles only.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::Query;
use crate::reports::{ReportError, csv, html, monthly as monthly_report};

/// Which month, and how.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MonthlyParams {
    /// `YYYY-MM`: the month in local days (`default_utc_offset_hours`).
    pub month: String,
    /// `html` (default) or `csv`.
    pub format: Option<String>,
}

impl From<ReportError> for ApiError {
    fn from(error: ReportError) -> Self {
        match error {
            ReportError::Invalid(message) => {
                ApiError::new(ErrorCode::InvalidParameter, message).with("parameter", "month")
            }
            ReportError::Store(error) => ApiError::from(error),
            other => ApiError::internal("monthly report", &other),
        }
    }
}

/// The monthly report: received by channel, the 三率 and timeliness per unit, overdue now, hot
/// issues, 责任追究 per unit and measure; the same figures as `GET /v1/stats` for the month.
#[utoipa::path(
    get,
    path = "/v1/reports/monthly",
    tag = "stats",
    params(MonthlyParams),
    responses(
        (status = 200, description = "The report: an HTML page (`text/html`) or CSV (`text/csv`)", body = String, content_type = "text/html"),
        (status = 400, description = "A month that is not YYYY-MM or has not begun, or another format (named)", body = super::error::ErrorBody),
    )
)]
pub async fn monthly(
    State(state): State<AppState>,
    Query(params): Query<MonthlyParams>,
) -> Result<Response, ApiError> {
    let csv_wanted = match params.format.as_deref() {
        None | Some("html") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("`format` is `html` or `csv`, not `{other}`"),
            )
            .with("parameter", "format"));
        }
    };
    let report = monthly_report(
        &state.store,
        &state.config,
        &state.routing,
        &params.month,
        chrono::Utc::now(),
    )
    .await?;
    Ok(if csv_wanted {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            csv::to_csv(&report),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html::to_html(&report)?,
        )
            .into_response()
    })
}

/// This module's routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/reports/monthly", get(monthly))
}

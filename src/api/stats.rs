//! `GET /v1/stats`: what a complaint centre is measured by — received, the 三率, the
//! timeliness rates, overdue now, 退单 and 重办 — for a period, per unit, channel or category,
//! with a series by day, week or month, and the 责任追究 records of the period per unit and
//! measure; JSON or CSV. Counts and rates only: no personal data.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Query};
use crate::stats::{Report, StatsRequest, parse, read, read_report, to_csv};
use crate::store::stats::StatsMeasures;

/// The period and how to split it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    /// `YYYY-MM-DD` (local midnight) or RFC 3339; default 30 days before `to`.
    pub from: Option<String>,
    /// `YYYY-MM-DD` (that day included) or RFC 3339 (excluded); default now.
    pub to: Option<String>,
    /// `unit`, `channel` or `category`.
    pub by: Option<String>,
    /// `day`, `week` or `month`.
    pub series: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The statistics of a period.
#[utoipa::path(
    get,
    path = "/v1/stats",
    tag = "stats",
    params(StatsParams),
    responses(
        (status = 200, description = "Counts and rates (a rate with nothing to count is null); CSV with `format=csv`", body = Report),
        (status = 400, description = "A parameter that does not hold (named)", body = super::error::ErrorBody),
    )
)]
pub async fn stats(
    State(state): State<AppState>,
    Query(params): Query<StatsParams>,
) -> Result<Response, ApiError> {
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("`format` is `json` or `csv`, not `{other}`"),
            )
            .with("parameter", "format"));
        }
    };
    let report = report_for(&state, &params).await?;
    Ok(if csv {
        csv_answer(&report)
    } else {
        Json(report).into_response()
    })
}

/// The report `params` asks for (its `format` aside): the API's (`GET /v1/stats`) and the
/// console's (`/console/stats`), one code path — `stats::read_report` over the period parsed
/// in the configured offset.
pub async fn report_for(state: &AppState, params: &StatsParams) -> Result<Report, ApiError> {
    counted_report(state, params, StatsMeasures::All).await
}

/// [`report_for`] counting `received` alone (every other count zero, every rate null, the
/// accountability section empty — not read): the console's received-over-time charts, which
/// use nothing else.
pub async fn received_report_for(
    state: &AppState,
    params: &StatsParams,
) -> Result<Report, ApiError> {
    counted_report(state, params, StatsMeasures::ReceivedOnly).await
}

async fn counted_report(
    state: &AppState,
    params: &StatsParams,
    counted: StatsMeasures,
) -> Result<Report, ApiError> {
    let request = StatsRequest {
        from: params.from.as_deref(),
        to: params.to.as_deref(),
        by: params.by.as_deref(),
        series: params.series.as_deref(),
    };
    let offset = state.config.parse_options().default_offset;
    let mut query = parse(&request, offset, chrono::Utc::now())
        .map_err(|message| ApiError::new(ErrorCode::InvalidParameter, message))?;
    query.measures = counted;
    let measures = &state.config.accountability.measures;
    let report = match counted {
        StatsMeasures::All => read_report(&state.store, &request, &query, measures).await,
        StatsMeasures::ReceivedOnly => read(&state.store, &request, &query).await,
    };
    report.map_err(|e| ApiError::internal("stats", &e))
}

/// `report` as the CSV answer of `GET /v1/stats?format=csv`.
pub fn csv_answer(report: &Report) -> Response {
    (
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        to_csv(report),
    )
        .into_response()
}

/// This module's routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/stats", get(stats))
}

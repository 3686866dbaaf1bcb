//! `POST /v1/webhooks/{source}`: the checks of [`crate::webhook`]'s order, each with its own
//! answer, then the body stored through [`crate::webhook::accept_body`].

use std::net::IpAddr;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use connectors::CommitSummary;
use connectors::body::BodyError;
use futures::StreamExt;
use governor::clock::{Clock, DefaultClock};

use super::AppState;
use super::error::ApiError;
use super::extract::{ClientAddr, Path};
use crate::intake::{IntakeReport, Origin};
use crate::webhook::auth::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::webhook::{BodyRefused, accept_body};

/// The webhook's route.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/v1/webhooks/{source}", axum::routing::post(receive))
}

/// The 202 answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WebhookAnswer {
    pub accepted: Vec<crate::intake::Accepted>,
    pub rejected: Vec<crate::intake::Rejected>,
}

impl From<IntakeReport> for WebhookAnswer {
    fn from(report: IntakeReport) -> Self {
        WebhookAnswer {
            accepted: report.accepted,
            rejected: report.rejected,
        }
    }
}

/// Receives pushed complaints.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{source}",
    tag = "intake",
    params(("source" = String, Path, description = "Configured webhook source name")),
    request_body(
        content = String,
        description = "One canonical item, a JSON array of up to `max_batch_items` items, or JSON Lines (`application/x-ndjson`). UTF-8 or the charset named in Content-Type (GB18030/GBK common).",
        content_type = "application/json"
    ),
    responses(
        (status = 202, description = "Stored (valid items) and dead-lettered (invalid items)", body = WebhookAnswer),
        (status = 400, description = "Body is not JSON (line and column given) or holds no item", body = crate::api::error::ErrorBody),
        (status = 401, description = "Missing, wrong, expired or replayed signature", body = crate::api::error::ErrorBody),
        (status = 404, description = "Unknown source", body = crate::api::error::ErrorBody),
        (status = 408, description = "Body arrived too slowly, or the request took too long", body = crate::api::error::ErrorBody),
        (status = 413, description = "Body or batch too large", body = crate::api::error::ErrorBody),
        (status = 429, description = "Rate limit, or too many refused requests; see Retry-After", body = crate::api::error::ErrorBody),
        (status = 503, description = "Store unavailable; retry", body = crate::api::error::ErrorBody),
    )
)]
pub async fn receive(
    State(state): State<AppState>,
    Path(source): Path<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let outcome = receive_checked(&state, &source, client, &headers, body).await;
    // The sender's status in `GET /v1/sources` (an unknown source has none).
    let now = chrono::Utc::now();
    match &outcome {
        Ok(report) => state.sources.pushed(&source, now, &report.counts().into()),
        Err(error) => {
            // A body that was not JSON is still kept, and the answer names its dead letter.
            let kept = CommitSummary {
                dead_lettered: u64::from(error.details.contains_key("dead_letter_id")),
                ..CommitSummary::default()
            };
            state.sources.push_refused(&source, now, error.code, &kept);
        }
    }
    let report = outcome?;
    Ok((StatusCode::ACCEPTED, Json(WebhookAnswer::from(report))).into_response())
}

/// Checks, splits and stores one request; the report of its items, or the refusal.
async fn receive_checked(
    state: &AppState,
    source: &str,
    client: Option<IpAddr>,
    headers: &HeaderMap,
    body: Body,
) -> Result<IntakeReport, ApiError> {
    let Some(runtime) = state.webhooks.get(source).cloned() else {
        return Err(refuse(
            state,
            "unknown",
            client,
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_source",
                format!("no webhook source named `{source}` is configured"),
            ),
        ));
    };
    let max_body = state.config.intake.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return Err(refuse(state, source, client, too_large(max_body)));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // Whatever the headers alone can refuse is refused before the body is read, so an
    // unauthenticated sender cannot make the gateway buffer `max_body_bytes` for it.
    let now = chrono::Utc::now().timestamp();
    if let Err(error) =
        runtime
            .verifier
            .check_headers(header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER), now)
    {
        return Err(refuse(state, source, client, unauthorized(&error)));
    }
    let bytes = match read_body(body, declared, max_body).await {
        Ok(bytes) => bytes,
        Err(error) if error.status == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(refuse(state, source, client, error));
        }
        Err(error) => {
            crate::telemetry::webhook_rejected(source, error.code);
            return Err(error);
        }
    };
    let now = chrono::Utc::now().timestamp();
    if let Err(error) = runtime.verifier.verify(
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &bytes,
        now,
    ) {
        return Err(refuse(state, source, client, unauthorized(&error)));
    }
    if let Err(not_until) = runtime.limiter.check() {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        crate::telemetry::webhook_rejected(source, "rate_limited");
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "source `{source}` is over its rate limit; retry after {} s",
                secs.max(1)
            ),
        );
        error.retry_after_secs = Some(secs.max(1));
        return Err(error);
    }
    let content_type = header(header::CONTENT_TYPE.as_str()).map(str::to_string);
    let origin = Origin {
        source: source.to_string(),
        channel: runtime.channel,
    };
    store_body(state, &origin, bytes, content_type.as_deref()).await
}

fn unauthorized(error: &auth::AuthError) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, error.code(), error.to_string())
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("body is larger than {max} bytes"),
    )
    .with("max_body_bytes", max)
}

/// A refusal before the sender is authenticated: counted under `source` (a configured name or
/// `unknown`, never the requested name) and answered as is, or — when the source or the client
/// address has used its refusal allowance — as 429 `too_many_refusals`.
fn refuse(state: &AppState, source: &str, client: Option<IpAddr>, error: ApiError) -> ApiError {
    match state.refusals.check(source, client) {
        Ok(()) => {
            crate::telemetry::webhook_rejected(source, error.code);
            error
        }
        Err(wait) => {
            crate::telemetry::webhook_rejected(source, "too_many_refusals");
            let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
            let mut limited = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_refusals",
                format!("too many refused requests; retry after {secs} s"),
            );
            limited.retry_after_secs = Some(secs);
            limited
        }
    }
}

/// Reads the body, at most `max` bytes (413 past it); 408 `body_too_slow` when it arrives
/// slower than the edge's minimum rate, 400 `body_incomplete` when it breaks off.
async fn read_body(body: Body, declared: Option<usize>, max: usize) -> Result<Bytes, ApiError> {
    // The declared length is at most `max` here; reserving it saves the regrowth copies.
    let mut buffer = bytes::BytesMut::with_capacity(declared.unwrap_or(0).min(max));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            if crate::http::min_rate::is_too_slow(&error) {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_too_slow",
                    "the request body arrived too slowly",
                )
            } else {
                ApiError::bad_request("body_incomplete", "the request body broke off")
            }
        })?;
        if buffer.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// Stores a body, answering a refusal as the API does.
async fn store_body(
    state: &AppState,
    origin: &Origin,
    bytes: Bytes,
    content_type: Option<&str>,
) -> Result<IntakeReport, ApiError> {
    accept_body(&state.store, &state.config, origin, &bytes, content_type)
        .await
        .map_err(|refused| refusal(&origin.source, refused))
}

/// The answer to a body that was not accepted.
fn refusal(source: &str, refused: BodyRefused) -> ApiError {
    let (error, dead_letter_id) = match refused {
        BodyRefused::Store(error) => return ApiError::from(error),
        BodyRefused::TooManyItems(error) => {
            let max = match &error {
                BodyError::TooManyItems { max, .. } => *max,
                _ => 0,
            };
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch_too_large",
                error.to_string(),
            )
            .with("max_batch_items", max);
        }
        BodyRefused::Unsplittable {
            error,
            dead_letter_id,
        } => (error, dead_letter_id),
    };
    let (code, mut answer) = match &error {
        BodyError::Json { line, column, .. } => (
            "malformed_json",
            ApiError::bad_request("malformed_json", error.to_string())
                .with("line", *line)
                .with("column", *column),
        ),
        BodyError::Decode(_) => (
            "undecodable_body",
            ApiError::bad_request("undecodable_body", error.to_string()),
        ),
        BodyError::Empty => (
            "empty_body",
            ApiError::bad_request("empty_body", error.to_string()),
        ),
        _ => (
            "invalid_body",
            ApiError::bad_request("invalid_body", error.to_string()),
        ),
    };
    crate::telemetry::webhook_rejected(source, code);
    if let Some(id) = dead_letter_id {
        answer = answer.with("dead_letter_id", id);
    }
    answer
}

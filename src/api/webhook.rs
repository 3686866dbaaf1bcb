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
use super::error::{ApiError, ErrorCode};
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
            state
                .sources
                .push_refused(&source, now, error.code.as_str(), &kept);
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
                ErrorCode::UnknownSource,
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
        Err(error) if error.code == ErrorCode::BodyTooLarge => {
            return Err(refuse(state, source, client, error));
        }
        Err(error) => {
            crate::telemetry::webhook_rejected(source, error.code.as_str());
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
        crate::telemetry::webhook_rejected(source, ErrorCode::RateLimited.as_str());
        let mut error = ApiError::new(
            ErrorCode::RateLimited,
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
        historical: false,
    };
    store_body(state, &origin, bytes, content_type.as_deref()).await
}

fn unauthorized(error: &auth::AuthError) -> ApiError {
    ApiError::new(auth_code(error), error.to_string())
}

/// The code of an authentication failure (the same text as [`auth::AuthError::code`]).
fn auth_code(error: &auth::AuthError) -> ErrorCode {
    use auth::AuthError;
    match error {
        AuthError::MissingSignature => ErrorCode::SignatureMissing,
        AuthError::MissingTimestamp => ErrorCode::TimestampMissing,
        AuthError::MalformedTimestamp => ErrorCode::TimestampMalformed,
        AuthError::MalformedSignature => ErrorCode::SignatureMalformed,
        AuthError::Expired { .. } => ErrorCode::SignatureExpired,
        AuthError::BadSignature => ErrorCode::SignatureInvalid,
        AuthError::Replayed => ErrorCode::SignatureReplayed,
        AuthError::NoSecret => ErrorCode::SourceSecretMissing,
    }
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        ErrorCode::BodyTooLarge,
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
            crate::telemetry::webhook_rejected(source, error.code.as_str());
            error
        }
        Err(wait) => {
            crate::telemetry::webhook_rejected(source, ErrorCode::TooManyRefusals.as_str());
            let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
            let mut limited = ApiError::new(
                ErrorCode::TooManyRefusals,
                format!("too many refused requests; retry after {secs} s"),
            );
            limited.retry_after_secs = Some(secs);
            limited
        }
    }
}

/// Reads the body, at most `max` bytes (413 past it); 408 `body_too_slow` when it arrives
/// slower than the edge's minimum rate, 400 `body_incomplete` when it breaks off.
pub(super) async fn read_body(
    body: Body,
    declared: Option<usize>,
    max: usize,
) -> Result<Bytes, ApiError> {
    // The declared length is at most `max` here; reserving it saves the regrowth copies.
    let mut buffer = bytes::BytesMut::with_capacity(declared.unwrap_or(0).min(max));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            if crate::http::min_rate::is_too_slow(&error) {
                ApiError::new(
                    ErrorCode::BodyTooSlow,
                    "the request body arrived too slowly",
                )
            } else {
                ApiError::new(ErrorCode::BodyIncomplete, "the request body broke off")
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
            return ApiError::new(ErrorCode::BatchTooLarge, error.to_string())
                .with("max_batch_items", max);
        }
        BodyRefused::Unsplittable {
            error,
            dead_letter_id,
        } => (error, dead_letter_id),
    };
    let mut answer = match &error {
        BodyError::Json { line, column, .. } => {
            ApiError::new(ErrorCode::MalformedJson, error.to_string())
                .with("line", *line)
                .with("column", *column)
        }
        BodyError::Decode(_) => ApiError::new(ErrorCode::UndecodableBody, error.to_string()),
        BodyError::Empty => ApiError::new(ErrorCode::EmptyBody, error.to_string()),
        // JSON that is neither an object nor an array: 400 here, unlike the JSON extractor's
        // 422 (the one specific code answered with two statuses, see `super::codes`).
        _ => ApiError::new(ErrorCode::InvalidBody, error.to_string())
            .with_status(StatusCode::BAD_REQUEST),
    };
    crate::telemetry::webhook_rejected(source, answer.code.as_str());
    if let Some(id) = dead_letter_id {
        answer = answer.with("dead_letter_id", id);
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_auth_failure_is_answered_401_with_its_own_code() {
        let all = [
            auth::AuthError::MissingSignature,
            auth::AuthError::MissingTimestamp,
            auth::AuthError::MalformedTimestamp,
            auth::AuthError::MalformedSignature,
            auth::AuthError::Expired {
                skew_secs: 400,
                max_secs: 300,
            },
            auth::AuthError::BadSignature,
            auth::AuthError::Replayed,
            auth::AuthError::NoSecret,
        ];
        for error in all {
            let answer = unauthorized(&error);
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{error:?}");
            assert_eq!(answer.code.as_str(), error.code(), "{error:?}");
        }
    }

    #[test]
    fn refused_bodies_keep_their_codes_and_statuses() {
        let unsplittable = |error| BodyRefused::Unsplittable {
            error,
            dead_letter_id: Some("dl-1".to_string()),
        };
        let answer = refusal("s", unsplittable(BodyError::Shape("a string")));
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_body")
        );
        assert_eq!(answer.details["dead_letter_id"], "dl-1");
        let answer = refusal("s", unsplittable(BodyError::Empty));
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::BAD_REQUEST, "empty_body")
        );
        let answer = refusal(
            "s",
            BodyRefused::TooManyItems(BodyError::TooManyItems { count: 9, max: 3 }),
        );
        assert_eq!(
            (answer.status, answer.code.as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large")
        );
        assert_eq!(too_large(10).status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}

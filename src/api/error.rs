//! API errors: one type, one JSON shape, stable machine codes.
//!
//! Every error answers `{"error": {"code": "...", "message": "..."}}` (plus fields a client can
//! act on, such as `line`/`column` or `dead_letter_id`). 5xx details are logged, never returned.
//!
//! That holds for answers the handlers never see too: [`no_route`] answers unknown paths, and
//! [`shape_errors`], the router's outermost layer, rewrites any other 4xx/5xx that is not JSON
//! (a method not allowed, the request timeout, a rejection of axum's own extractors) into the
//! shape, with the code [`ErrorCode::for_status`] gives its status.
//!
//! The codes and their statuses are one table: [`ErrorCode`].

use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

pub use super::codes::ErrorCode;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The code's status ([`ErrorCode::status`]) unless [`ApiError::with_status`] says otherwise.
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub details: Map<String, Value>,
    pub retry_after_secs: Option<u64>,
    /// What went wrong inside, for the log (never answered): [`log_server_errors`] logs it.
    pub cause: Option<String>,
}

/// The cause of a 5xx answer, carried in the response's extensions from [`ApiError`] to the
/// logging layer.
#[derive(Debug, Clone)]
pub struct ServerErrorCause(pub String);

/// The error body, for the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `signature_invalid`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    /// An answer with `code`, at the code's status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status: code.status(),
            code,
            message: message.into(),
            details: Map::new(),
            retry_after_secs: None,
            cause: None,
        }
    }

    /// An answer with the general code of `status` ([`ErrorCode::for_status`]), at `status`
    /// itself: the fallbacks `internal` and `client_error` stand for several statuses.
    pub fn for_status(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::for_status(status), message).with_status(status)
    }

    /// Answers with `status` instead of the code's own: only for the codes documented in
    /// [`super::codes`] as answered with more than one status.
    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    /// Adds a field next to `code` and `message`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// Answers with `Retry-After` (whole seconds, at least one).
    pub fn retry_after(mut self, wait: std::time::Duration) -> ApiError {
        self.retry_after_secs = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        self
    }

    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(ErrorCode::NotFound, format!("no {what} with id `{id}`"))
    }

    /// An internal failure: answered without detail; [`log_server_errors`] logs the cause.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> ApiError {
        let mut answer = ApiError::new(
            ErrorCode::Unavailable,
            "the gateway could not complete the request; retry later",
        );
        answer.cause = Some(format!("{context}: {error}"));
        answer
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = self.details;
        error.insert("code".into(), Value::String(self.code.as_str().into()));
        error.insert("message".into(), Value::String(self.message));
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(ServerErrorCause(cause));
        }
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&secs.to_string()).expect("digits are a valid header"),
            );
        }
        response
    }
}

/// Seconds a client is asked to wait when the store is full.
const STORE_FULL_RETRY_SECS: u64 = 30;

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        if error.is_full() {
            let mut answer = ApiError::new(
                ErrorCode::StoreFull,
                "the gateway's store is full; nothing was stored, retry later",
            );
            answer.retry_after_secs = Some(STORE_FULL_RETRY_SECS);
            answer.cause = Some(format!("store full: {error}"));
            return answer;
        }
        ApiError::internal("store", &error)
    }
}

impl From<crate::index::IndexError> for ApiError {
    fn from(error: crate::index::IndexError) -> Self {
        ApiError::internal("search index", &error)
    }
}

/// Unknown routes: 404 `not_found` naming the method and path.
pub async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no route for {method} {}", uri.path()),
    )
}

/// Headers of a rewritten answer that a client acts on, kept from the original.
const KEPT_HEADERS: [header::HeaderName; 3] =
    [header::ALLOW, header::RETRY_AFTER, header::CONNECTION];

/// Logs the cause of every 5xx answer a handler gave one (an internal failure; a full store as
/// a warning); the answer itself never carries it. Every 5xx is also counted and logged without
/// detail by the trace layer; a 5xx without a cause (`/readyz` while the index catches up) is
/// an expected state, not a failure, and is not logged again here.
pub async fn log_server_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let response = next.run(request).await;
    let status = response.status();
    if let Some(ServerErrorCause(cause)) = response.extensions().get::<ServerErrorCause>() {
        if cause.starts_with("store full") {
            tracing::warn!(%method, path, status = status.as_u16(), cause, "request refused");
        } else {
            tracing::error!(%method, path, status = status.as_u16(), cause, "request failed");
        }
    }
    response
}

/// The safety net: a 4xx/5xx answer that is not JSON becomes the error shape, its code from
/// [`ErrorCode::for_status`] and its message the original plain text (if short) or the status's
/// reason.
pub async fn shape_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    // JSON, the Open311 server's XML errors (already in the spec's shape), and the console's
    // error pages (HTML for a browser).
    if content_type.starts_with("application/json")
        || content_type.starts_with("text/xml")
        || content_type.starts_with("text/html")
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = if content_type.starts_with("text/plain") {
        axum::body::to_bytes(body, 2048)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    } else {
        None
    };
    let message = text.unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase()
    });
    let mut shaped = ApiError::for_status(status, message).into_response();
    for name in KEPT_HEADERS {
        if let Some(value) = parts.headers.get(&name) {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    shaped
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn plain_and_empty_errors_get_the_shape_and_keep_allow() {
        let plain = (StatusCode::UNPROCESSABLE_ENTITY, "missing field `x`").into_response();
        let shaped = shape_errors(plain).await;
        assert_eq!(shaped.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = body_json(shaped).await;
        assert_eq!(body["error"]["code"], "unprocessable");
        assert_eq!(body["error"]["message"], "missing field `x`");

        let mut empty = StatusCode::METHOD_NOT_ALLOWED.into_response();
        empty
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
        let shaped = shape_errors(empty).await;
        assert_eq!(shaped.headers()[header::ALLOW], "GET,HEAD");
        let body = body_json(shaped).await;
        assert_eq!(body["error"]["code"], "method_not_allowed");
        assert_eq!(body["error"]["message"], "method not allowed");
    }

    #[tokio::test]
    async fn json_errors_and_successes_pass_unchanged() {
        let error = ApiError::new(ErrorCode::InvalidParameter, "no").into_response();
        let body = body_json(shape_errors(error).await).await;
        assert_eq!(body["error"]["code"], "invalid_parameter");
        let ok = (StatusCode::OK, "fine").into_response();
        assert_eq!(shape_errors(ok).await.status(), StatusCode::OK);
    }

    /// (status, code) of an answer, as a client sees it.
    async fn answered(response: Response) -> (u16, String) {
        let status = response.status().as_u16();
        let body = body_json(shape_errors(response).await).await;
        (status, body["error"]["code"].as_str().unwrap().to_string())
    }

    #[tokio::test]
    async fn representative_paths_answer_the_same_status_and_code_as_before() {
        let cases: Vec<(Response, (u16, &str))> = vec![
            (
                ApiError::not_found("case", "c-1").into_response(),
                (404, "not_found"),
            ),
            (
                ApiError::internal("store", &"boom").into_response(),
                (503, "unavailable"),
            ),
            (
                ApiError::from(crate::store::StoreError::Full("disk".into())).into_response(),
                (503, "store_full"),
            ),
            (
                ApiError::from(crate::store::StoreError::WriterGone).into_response(),
                (503, "unavailable"),
            ),
            (
                no_route(Method::GET, Uri::from_static("/nowhere"))
                    .await
                    .into_response(),
                (404, "not_found"),
            ),
            (
                ApiError::new(ErrorCode::TokenInvalid, "no").into_response(),
                (401, "token_invalid"),
            ),
            (
                ApiError::new(ErrorCode::InvalidBody, "no").into_response(),
                (422, "invalid_body"),
            ),
            // The safety net: the general code of the status, the status kept.
            (
                StatusCode::PAYLOAD_TOO_LARGE.into_response(),
                (413, "body_too_large"),
            ),
            (
                StatusCode::BAD_REQUEST.into_response(),
                (400, "bad_request"),
            ),
            (
                StatusCode::REQUEST_TIMEOUT.into_response(),
                (408, "request_timeout"),
            ),
            (
                StatusCode::GATEWAY_TIMEOUT.into_response(),
                (504, "timeout"),
            ),
            (StatusCode::BAD_GATEWAY.into_response(), (502, "internal")),
            (
                StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                (500, "internal"),
            ),
            (
                StatusCode::IM_A_TEAPOT.into_response(),
                (418, "client_error"),
            ),
            (StatusCode::GONE.into_response(), (410, "gone")),
        ];
        for (response, expected) in cases {
            let (status, code) = answered(response).await;
            assert_eq!((status, code.as_str()), expected);
        }
        let full = ApiError::from(crate::store::StoreError::Full("disk".into())).into_response();
        assert_eq!(full.headers()[header::RETRY_AFTER], "30");
    }

    #[tokio::test]
    async fn an_internal_failure_is_answered_without_its_cause_which_goes_to_the_log_layer() {
        let error = ApiError::internal("store", &"disk I/O error at page 7");
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let cause = response.extensions().get::<ServerErrorCause>().cloned();
        assert_eq!(
            cause.map(|c| c.0).as_deref(),
            Some("store: disk I/O error at page 7")
        );
        let body = body_json(response).await;
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(!body.to_string().contains("page 7"), "{body}");
    }
}

//! API errors: one type, one JSON shape, stable machine codes.
//!
//! Every error answers `{"error": {"code": "...", "message": "..."}}` (plus fields a client can
//! act on, such as `line`/`column` or `dead_letter_id`). 5xx details are logged, never returned.
//!
//! That holds for answers the handlers never see too: [`no_route`] answers unknown paths, and
//! [`shape_errors`], the router's outermost layer, rewrites any other 4xx/5xx that is not JSON
//! (a method not allowed, the request timeout, a rejection of axum's own extractors) into the
//! shape, with the code [`code_for_status`] gives its status.

use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Map<String, Value>,
    pub retry_after_secs: Option<u64>,
}

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
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Map::new(),
            retry_after_secs: None,
        }
    }

    /// Adds a field next to `code` and `message`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.details.insert(key.to_string(), value.into());
        self
    }

    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} with id `{id}`"),
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// An internal failure: logged in full, answered without detail.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%error, context, "request failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the gateway could not complete the request; retry later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = self.details;
        error.insert("code".into(), Value::String(self.code.into()));
        error.insert("message".into(), Value::String(self.message));
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
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
            tracing::warn!(%error, "request refused: the store is full");
            let mut answer = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_full",
                "the gateway's store is full; nothing was stored, retry later",
            );
            answer.retry_after_secs = Some(STORE_FULL_RETRY_SECS);
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

/// The code of an error answer that has no more specific one: the one table by status.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        409 => "conflict",
        411 => "length_required",
        413 => "body_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        429 => "rate_limited",
        431 => "headers_too_large",
        501 => "not_implemented",
        503 => "unavailable",
        504 => "timeout",
        500..=599 => "internal",
        _ => "client_error",
    }
}

/// Unknown routes: 404 `not_found` naming the method and path.
pub async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {method} {}", uri.path()),
    )
}

/// Headers of a rewritten answer that a client acts on, kept from the original.
const KEPT_HEADERS: [header::HeaderName; 3] =
    [header::ALLOW, header::RETRY_AFTER, header::CONNECTION];

/// The safety net: a 4xx/5xx answer that is not JSON becomes the error shape, its code from
/// [`code_for_status`] and its message the original plain text (if short) or the status's
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
    if content_type.starts_with("application/json") {
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
    let mut shaped = ApiError::new(status, code_for_status(status), message).into_response();
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
        let error = ApiError::bad_request("invalid_parameter", "no").into_response();
        let body = body_json(shape_errors(error).await).await;
        assert_eq!(body["error"]["code"], "invalid_parameter");
        let ok = (StatusCode::OK, "fine").into_response();
        assert_eq!(shape_errors(ok).await.status(), StatusCode::OK);
    }
}

//! Extractors whose rejections are [`ApiError`]s, so a bad query string, path or JSON body is
//! answered in the one error shape with a code from [`super::codes::ErrorCode::for_status`]
//! (or a more specific one named here).
//!
//! - [`Query`]: `unknown_parameter` (400, naming the parameter and the known ones) or
//!   `invalid_parameter` (400, e.g. an enum value not among the allowed ones, listed).
//! - [`Path`]: `invalid_path` (400).
//! - [`Json`]: `malformed_json` (400), `invalid_body` (422), `unsupported_media_type` (415),
//!   `body_too_large` (413), `body_too_slow` (408). It is also the JSON answer type.
//! - [`ClientAddr`]: the client's IP address, when the accept loop provided it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::{ApiError, ErrorCode};
use crate::index::search_query::InvalidParameter;

/// Query-string parameters; unknown ones are refused when `T` denies unknown fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    let text = rejection.body_text();
    // serde's message, e.g. "unknown field `chanel`, expected one of `q`, `channel`, …".
    let detail = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text)
        .to_string();
    match unknown_field(&detail) {
        Some(name) => ApiError::new(
            ErrorCode::UnknownParameter,
            format!("unknown query parameter `{name}`: {detail}"),
        )
        .with("parameter", name),
        None => ApiError::new(
            ErrorCode::InvalidParameter,
            format!("query string: {detail}"),
        ),
    }
}

/// The name in serde's "unknown field `name`, …".
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

/// Path parameters.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> ApiError {
    let status = rejection.status();
    if status.is_server_error() {
        return ApiError::internal("path extraction", &rejection.body_text());
    }
    ApiError::new(ErrorCode::InvalidPath, rejection.body_text())
}

/// A JSON request body, or a JSON answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    if crate::http::min_rate::is_too_slow(&rejection) {
        return ApiError::new(
            ErrorCode::BodyTooSlow,
            "the request body arrived too slowly",
        );
    }
    let status = rejection.status();
    if status.is_server_error() {
        return ApiError::internal("json extraction", &rejection.body_text());
    }
    // axum answers these 400, 422 and 415: the table's statuses of their codes.
    let code = match &rejection {
        JsonRejection::JsonSyntaxError(_) => ErrorCode::MalformedJson,
        JsonRejection::JsonDataError(_) => ErrorCode::InvalidBody,
        JsonRejection::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType,
        _ => return ApiError::for_status(status, rejection.body_text()),
    };
    ApiError::new(code, rejection.body_text())
}

/// The client's IP address (`None` when the request did not come through the accept loop,
/// e.g. a test calling the router directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ))
    }
}

/// `value`, when given (not blank), is one of `allowed`: 400 `invalid_parameter` naming the
/// parameter and the allowed values otherwise.
pub fn one_of(
    name: &'static str,
    value: Option<&str>,
    allowed: &[&'static str],
) -> Result<(), ApiError> {
    Ok(crate::index::search_query::one_of(name, value, allowed)?)
}

/// A parameter that does not hold, in the error shape.
impl From<InvalidParameter> for ApiError {
    fn from(invalid: InvalidParameter) -> Self {
        let answer = ApiError::new(ErrorCode::InvalidParameter, invalid.message)
            .with("parameter", invalid.param);
        match invalid.allowed {
            Some(allowed) => answer.with("allowed", allowed),
            None => answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_unknown_field_in_serdes_message() {
        assert_eq!(
            unknown_field("unknown field `chanel`, expected one of `q`, `channel`").as_deref(),
            Some("chanel")
        );
        assert_eq!(unknown_field("invalid digit found in string"), None);
    }

    #[tokio::test]
    async fn json_rejections_keep_their_statuses_and_codes() {
        #[derive(Debug, serde::Deserialize)]
        struct Body {
            #[allow(dead_code)]
            n: u32,
        }
        async fn answer(content_type: Option<&str>, body: &'static str) -> (u16, &'static str) {
            let mut request = axum::http::Request::builder().method("POST").uri("/");
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let request = request.body(axum::body::Body::from(body)).unwrap();
            let error = Json::<Body>::from_request(request, &()).await.unwrap_err();
            (error.status.as_u16(), error.code.as_str())
        }
        let json = Some("application/json");
        assert_eq!(answer(json, "{").await, (400, "malformed_json"));
        assert_eq!(answer(json, r#"{"n": "x"}"#).await, (422, "invalid_body"));
        assert_eq!(answer(None, "{}").await, (415, "unsupported_media_type"));
    }

    #[test]
    fn one_of_lists_the_allowed_values() {
        assert!(one_of("status", None, &["open"]).is_ok());
        assert!(one_of("status", Some(" "), &["open"]).is_ok());
        assert!(one_of("status", Some("open"), &["open"]).is_ok());
        let error = one_of("status", Some("bogus"), &["open", "closed"]).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParameter);
        assert_eq!(error.status, axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(
            error.details["allowed"],
            serde_json::json!(["open", "closed"])
        );
    }
}

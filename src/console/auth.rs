//! Who is using the console, and may they: one middleware on every console route.
//!
//! The session is the API's (`api::session::current_session`: the same cookie, idle and
//! absolute ends, disabled accounts); the route's permission comes from [`super::ROUTES`] and
//! is decided by `Principal::may`, the one matrix. Every form post carries the session's CSRF
//! token as the hidden field `csrf`; a post without it (or with another) is refused with a 403
//! page before any handler runs.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::page::{ConsoleError, see_other};
use super::route_permission;
use crate::api::AppState;
use crate::api::codes::ErrorCode;
use crate::api::session::current_session;

/// Largest console form body read.
const FORM_LIMIT: usize = 256 * 1024;

/// The name of the hidden field holding the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The middleware: resolves the session, checks the route's permission and a post's CSRF
/// token, hands the [`CurrentSession`] to the handler.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let method = request.method().clone();
    // A HEAD is answered by the GET's handler, so it needs the GET's permission.
    let asked = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let Some(permission) = route_permission(asked, &route) else {
        // The login, the stylesheet and the not-found page need no session.
        return next.run(request).await;
    };
    let session = match current_session(&state, request.headers()).await {
        Ok(Some(session)) => session,
        Ok(None) => return signed_out(&state, &request, false),
        Err(error) if error.code == ErrorCode::SessionExpired => {
            return signed_out(&state, &request, true);
        }
        Err(error) => return ConsoleError::from(error).page(&state, None),
    };
    if !session.principal.may(permission) {
        return ConsoleError::forbidden(format!(
            "您的角色不能使用这个页面或操作（需要权限 {}）。",
            permission.as_str()
        ))
        .page(&state, Some(&session));
    }
    if method == Method::POST {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
            return ConsoleError::new(StatusCode::PAYLOAD_TOO_LARGE, "提交的内容过大或不完整。")
                .page(&state, Some(&session));
        };
        let sent = form_field(&bytes, CSRF_FIELD).unwrap_or_default();
        if !session.csrf_matches(&sent) {
            return ConsoleError::forbidden(
                "表单缺少有效的安全令牌（CSRF），操作没有执行。请回到页面刷新后重试。",
            )
            .page(&state, Some(&session));
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(session);
    next.run(request).await
}

/// Not signed in (or the session ended): a page asked for goes to the login and comes back;
/// a post answers 401.
fn signed_out(state: &AppState, request: &Request, expired: bool) -> Response {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        let back = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/console");
        let mut to = format!(
            "/console/login?next={}",
            utf8_percent_encode(back, NON_ALPHANUMERIC)
        );
        if expired {
            to.push_str("&expired=1");
        }
        return see_other(&to, None);
    }
    let message = if expired {
        "会话已结束，请重新登录后再提交。"
    } else {
        "请先登录。"
    };
    ConsoleError::new(StatusCode::UNAUTHORIZED, message).page(state, None)
}

/// The first value of `name` in a form body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// Any other path under `/console`: the 404 page (framed for a signed-in user).
pub async fn not_found(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = current_session(&state, &headers).await.ok().flatten();
    ConsoleError::not_found().page(&state, session.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_field_is_read_from_a_form_body() {
        let body = b"action=accept&csrf=abc%2B1&note=%E5%A5%BD";
        assert_eq!(form_field(body, "csrf").as_deref(), Some("abc+1"));
        assert_eq!(form_field(body, "note").as_deref(), Some("好"));
        assert_eq!(form_field(b"action=accept", "csrf"), None);
        assert_eq!(form_field(b"%%%", "csrf"), None);
    }
}

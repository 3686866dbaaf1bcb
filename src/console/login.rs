//! 登录 and 退出: a plain form post, signed in and out by the API's session code
//! (`api::session::sign_in` / `sign_out`): the same cookie, login limits, lock after repeated
//! failures and audit entries as `POST /v1/session`.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;

use super::page::{ConsoleError, Layout, render, see_other};
use crate::api::AppState;
use crate::api::codes::ErrorCode;
use crate::api::extract::ClientAddr;
use crate::api::session::{CurrentSession, current_session, sign_in, sign_out};

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    layout: Layout,
    /// Where to go once signed in.
    next: String,
    name: String,
    /// Why the last attempt failed, or why the user is here.
    notice: Option<String>,
    /// No account exists yet: how to create the first admin.
    first_admin: bool,
}

/// The login page's parameters.
#[derive(Debug, Deserialize)]
pub struct LoginParams {
    next: Option<String>,
    expired: Option<String>,
}

/// Where a login may send the browser: a console page of this gateway, nothing else.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next)
            if (next == "/console" || next.starts_with("/console/"))
                && !next.contains("//")
                && !next.contains('\\') =>
        {
            next.to_string()
        }
        _ => "/console".to_string(),
    }
}

async fn page(state: &AppState, next: String, name: String, notice: Option<String>) -> LoginPage {
    let first_admin = matches!(state.store.user_count().await, Ok(0));
    LoginPage {
        layout: Layout::anonymous(state, "登录"),
        next,
        name,
        notice,
        first_admin,
    }
}

/// `GET /console/login`: the form (a signed-in user goes on at once).
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<LoginParams>,
) -> Response {
    let next = safe_next(params.next.as_deref());
    if let Ok(Some(_)) = current_session(&state, &headers).await {
        return see_other(&next, None);
    }
    let notice = params
        .expired
        .is_some()
        .then(|| "会话已结束，请重新登录。".to_string());
    render(&page(&state, next, String::new(), notice).await)
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

/// `POST /console/login`: signs in and goes on, or shows the form again with why not.
pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(login): Form<LoginForm>,
) -> Response {
    // No session yet, so no CSRF token: a login posted from another site is refused instead.
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site");
    if cross_site {
        return ConsoleError::forbidden("不接受从其他网站提交的登录。").page(&state, None);
    }
    let next = safe_next(login.next.as_deref());
    match sign_in(&state, &login.name, login.password, address).await {
        Ok(signed_in) => see_other(&next, Some(signed_in.cookie)),
        Err(error) => {
            let status = error.status;
            let notice = match error.code {
                ErrorCode::LoginFailed => "用户名或密码错误。".to_string(),
                ErrorCode::AccountLocked => format!(
                    "账户因连续登录失败已被锁定，请联系管理员解锁（complaint-gateway user unlock {}）。",
                    login.name.trim()
                ),
                ErrorCode::TooManyLogins => format!(
                    "登录尝试过于频繁，请{}秒后再试。",
                    error.retry_after_secs.unwrap_or(60)
                ),
                _ => return ConsoleError::from(error).page(&state, None),
            };
            let retry_after = error.retry_after_secs;
            let mut response =
                render(&page(&state, next, login.name.trim().to_string(), Some(notice)).await);
            *response.status_mut() = status;
            if let Some(secs) = retry_after
                && let Ok(value) = secs.to_string().parse()
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// `POST /console/logout`: ends the session (its CSRF token checked by the middleware).
pub async fn logout(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    headers: HeaderMap,
) -> Response {
    match sign_out(&state, &session.principal, &headers).await {
        Ok(clear) => see_other("/console/login", Some(clear)),
        Err(error) => ConsoleError::from(error).page(&state, Some(&session)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_only_goes_on_to_a_console_page() {
        assert_eq!(
            safe_next(Some("/console/cases/abc?x=1")),
            "/console/cases/abc?x=1"
        );
        assert_eq!(safe_next(Some("/console")), "/console");
        for elsewhere in [
            "https://example.net/console",
            "//example.net/console",
            "/console//example.net",
            "/consoleX",
            "/v1/cases",
            "/console/\\example.net",
        ] {
            assert_eq!(safe_next(Some(elsewhere)), "/console", "{elsewhere}");
        }
        assert_eq!(safe_next(None), "/console");
    }
}

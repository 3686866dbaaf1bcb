//! What every console page shares: the layout (navigation by the caller's permissions, the
//! signed-in user, the logout form with the CSRF token, the time in the configured offset),
//! the error pages, and the times and countdowns shown in Beijing time.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, FixedOffset, Utc};

use super::{NAV, route_permission};
use crate::api::AppState;
use crate::api::error::{ApiError, ServerErrorCause};
use crate::api::session::CurrentSession;

/// A link of the top navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavLink {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

/// The frame of every page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// The signed-in user (`None` on the login page and on errors before a session).
    pub user: Option<String>,
    /// The user's roles, in Chinese.
    pub roles: String,
    pub nav: Vec<NavLink>,
    /// The session's CSRF token, carried by every form as the hidden field `csrf`.
    pub csrf: String,
    /// Now, in the configured offset.
    pub now: String,
    /// "北京时间" for UTC+8, else "UTC+h".
    pub zone: String,
}

impl Layout {
    /// The frame of a page for a signed-in session; `current` is the navigation entry's href.
    pub fn new(state: &AppState, session: &CurrentSession, title: &str, current: &str) -> Layout {
        let offset = offset(state);
        Layout {
            title: title.to_string(),
            user: Some(session.principal.actor.to_string()),
            roles: session
                .principal
                .roles
                .iter()
                .map(|r| role_label(r.as_str()))
                .collect::<Vec<_>>()
                .join("、"),
            nav: nav_for(session, current),
            csrf: session.csrf.clone(),
            now: local_time(Utc::now(), offset),
            zone: zone_label(offset),
        }
    }

    /// The frame of a page shown without a session (login, errors).
    pub fn anonymous(state: &AppState, title: &str) -> Layout {
        let offset = offset(state);
        Layout {
            title: title.to_string(),
            user: None,
            roles: String::new(),
            nav: Vec::new(),
            csrf: String::new(),
            now: local_time(Utc::now(), offset),
            zone: zone_label(offset),
        }
    }
}

/// The navigation entries `session` may use: each entry's route needs its permission in the
/// console's table ([`super::ROUTES`]), decided by the one matrix (`people::access`).
pub fn nav_for(session: &CurrentSession, current: &str) -> Vec<NavLink> {
    NAV.iter()
        .filter(|(_, href)| route_permission("GET", href).is_some_and(|p| session.principal.may(p)))
        .map(|(label, href)| NavLink {
            label,
            href,
            current: *href == current,
        })
        .collect()
}

/// The Chinese name of a role.
pub fn role_label(role: &str) -> &'static str {
    match role {
        "admin" => "管理员",
        "triage" => "分拣员",
        "investigator" => "办理人员",
        "supervisor" => "督查人员",
        _ => "其他",
    }
}

/// The offset the console shows times in: the configuration's (`default_utc_offset_hours`),
/// the one "today" and the statistics are counted in.
pub fn offset(state: &AppState) -> FixedOffset {
    state.config.parse_options().default_offset
}

fn zone_label(offset: FixedOffset) -> String {
    let hours = offset.local_minus_utc() / 3600;
    if offset.local_minus_utc() == 8 * 3600 {
        "北京时间".into()
    } else {
        format!("UTC{hours:+}")
    }
}

/// `at` as the console shows it: `2026-12-07 21:05`.
pub fn local_time(at: DateTime<Utc>, offset: FixedOffset) -> String {
    at.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A stored RFC 3339 time as the console shows it (the text itself when it does not parse).
pub fn local_text(at: &str, offset: FixedOffset) -> String {
    match DateTime::parse_from_rfc3339(at) {
        Ok(t) => local_time(t.with_timezone(&Utc), offset),
        Err(_) => at.to_string(),
    }
}

/// A deadline's time left, as shown beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Countdown {
    /// `剩余 1天3小时` or `已超期 5小时`.
    pub text: String,
    pub overdue: bool,
    /// Less than a day left.
    pub soon: bool,
}

/// The countdown to `due` at `now`.
pub fn countdown(due: DateTime<Utc>, now: DateTime<Utc>) -> Countdown {
    let left = due - now;
    let overdue = left <= chrono::Duration::zero();
    let span = if overdue { -left } else { left };
    let minutes = span.num_minutes();
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    let amount = if days > 0 {
        format!("{days}天{hours}小时")
    } else if hours > 0 {
        format!("{hours}小时{mins}分")
    } else {
        format!("{mins}分")
    };
    Countdown {
        text: if overdue {
            format!("已超期 {amount}")
        } else {
            format!("剩余 {amount}")
        },
        overdue,
        soon: !overdue && left < chrono::Duration::days(1),
    }
}

/// The countdown to a stored RFC 3339 deadline.
pub fn countdown_text(due: &str, now: DateTime<Utc>) -> Option<Countdown> {
    DateTime::parse_from_rfc3339(due)
        .ok()
        .map(|t| countdown(t.with_timezone(&Utc), now))
}

/// What a console page may load and who may frame it: its own stylesheet and forms, nothing
/// else (no script runs on these pages; no other site may frame them to trick a click).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Renders `page` as an HTML answer.
pub fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = Html(html).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            let mut response = (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(FALLBACK_ERROR.to_string()),
            )
                .into_response();
            response
                .extensions_mut()
                .insert(ServerErrorCause(format!("console template: {error}")));
            response
        }
    }
}

/// What is answered when even the error page cannot be rendered.
const FALLBACK_ERROR: &str = "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\">\
<title>服务器内部错误</title><h1>服务器内部错误</h1><p>页面暂时无法显示，请稍后重试。</p></html>";

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: String,
    /// Where to go from here.
    back: &'static str,
}

/// A console error: its status, a message in Chinese, and the cause for the log.
#[derive(Debug)]
pub struct ConsoleError {
    pub status: StatusCode,
    pub message: String,
    pub cause: Option<String>,
}

impl ConsoleError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ConsoleError {
        ConsoleError {
            status,
            message: message.into(),
            cause: None,
        }
    }

    pub fn not_found() -> ConsoleError {
        ConsoleError::new(
            StatusCode::NOT_FOUND,
            "没有找到这个页面或案件，或者您无权查看它。",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ConsoleError {
        ConsoleError::new(StatusCode::FORBIDDEN, message)
    }

    /// The error page, framed for `session` when there is one.
    pub fn page(self, state: &AppState, session: Option<&CurrentSession>) -> Response {
        let (heading, back) = heading(self.status);
        let layout = match session {
            Some(session) => Layout::new(state, session, heading, ""),
            None => Layout::anonymous(state, heading),
        };
        let mut response = render(&ErrorPage {
            layout,
            status: self.status.as_u16(),
            heading,
            message: self.message,
            back,
        });
        if response.status() == StatusCode::OK {
            *response.status_mut() = self.status;
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(ServerErrorCause(cause));
        }
        response
    }
}

/// The heading of an error page and the link back.
fn heading(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 | 422 => ("请求无效", "/console"),
        401 => ("需要登录", "/console/login"),
        403 => ("无权操作", "/console"),
        404 => ("页面不存在", "/console"),
        409 => ("操作无法完成", "/console"),
        429 => ("操作过于频繁", "/console"),
        _ if status.is_server_error() => ("服务器内部错误", "/console"),
        _ => ("请求未能完成", "/console"),
    }
}

impl From<ApiError> for ConsoleError {
    /// The API's error as the console says it: its status kept, the message in Chinese (the
    /// API's own message follows for a client error: it names what was wrong).
    fn from(error: ApiError) -> ConsoleError {
        let status = error.status;
        let message = if status.is_server_error() {
            "系统暂时无法完成这个请求，请稍后重试。".to_string()
        } else {
            match status.as_u16() {
                404 => "没有找到这个页面或案件，或者您无权查看它。".to_string(),
                403 => format!("您的角色不能进行这项操作（{}）。", error.message),
                409 => format!("案件的当前状态不允许这项操作（{}）。", error.message),
                _ => format!("请求无效：{}", error.message),
            }
        };
        ConsoleError {
            status,
            message,
            cause: error.cause,
        }
    }
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(error: crate::store::StoreError) -> ConsoleError {
        ApiError::from(error).into()
    }
}

/// The console's safety net: a 4xx or 5xx answer that is not a page (a request axum's own
/// extractors refused, a method not served) becomes the error page of its status.
pub async fn html_errors(State(state): State<AppState>, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        return response;
    }
    let message = match status.as_u16() {
        405 => "这个地址不接受这种请求方式。".to_string(),
        _ if status.is_server_error() => "系统暂时无法完成这个请求，请稍后重试。".to_string(),
        _ => "请求无效，请回到页面重试。".to_string(),
    };
    let mut page = ConsoleError::new(status, message).page(&state, None);
    if let Some(cause) = response.extensions().get::<ServerErrorCause>() {
        page.extensions_mut().insert(cause.clone());
    }
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            page.headers_mut().insert(name, value.clone());
        }
    }
    page
}

/// A redirect after a form post (`303 See Other`), optionally setting a cookie.
pub fn see_other(to: &str, cookie: Option<HeaderValue>) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_say_what_is_left_or_how_late() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let later = now + chrono::Duration::hours(27) + chrono::Duration::minutes(5);
        let left = countdown(later, now);
        assert_eq!(left.text, "剩余 1天3小时");
        assert!(!left.overdue && !left.soon);
        let soon = countdown(now + chrono::Duration::minutes(90), now);
        assert_eq!(soon.text, "剩余 1小时30分");
        assert!(soon.soon);
        let late = countdown(now - chrono::Duration::minutes(7), now);
        assert_eq!(late.text, "已超期 7分");
        assert!(late.overdue && !late.soon);
    }

    #[test]
    fn times_are_shown_in_the_configured_offset() {
        let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(
            local_text("2026-12-07T23:30:00Z", beijing),
            "2026-12-08 07:30"
        );
        assert_eq!(zone_label(beijing), "北京时间");
        assert_eq!(
            zone_label(FixedOffset::east_opt(-5 * 3600).unwrap()),
            "UTC-5"
        );
        assert_eq!(local_text("not a time", beijing), "not a time");
    }

    fn layout(user: Option<&str>) -> Layout {
        Layout {
            title: "页面".into(),
            user: user.map(str::to_string),
            roles: "分拣员".into(),
            nav: vec![NavLink {
                label: "工作台",
                href: "/console",
                current: true,
            }],
            csrf: "token-123".into(),
            now: "2026-12-07 21:00".into(),
            zone: "北京时间".into(),
        }
    }

    #[test]
    fn an_error_page_has_a_body_in_chinese_and_a_signed_in_frame_carries_the_token() {
        for (status, user) in [(404u16, None), (500, Some("wang")), (403, Some("li"))] {
            let status = StatusCode::from_u16(status).unwrap();
            let (heading, back) = heading(status);
            let html = ErrorPage {
                layout: layout(user),
                status: status.as_u16(),
                heading,
                message: "说明<script>".into(),
                back,
            }
            .render()
            .unwrap();
            assert!(html.contains(heading), "{html}");
            assert!(
                html.contains("说明&#60;script&#62;") || html.contains("说明&lt;script&gt;"),
                "escaped: {html}"
            );
            assert_eq!(
                html.contains("name=\"csrf\" value=\"token-123\""),
                user.is_some(),
                "the logout form only for a signed-in user"
            );
        }
    }

    fn session(roles: &[crate::people::Role]) -> CurrentSession {
        CurrentSession {
            principal: crate::api::auth::Principal {
                actor: crate::people::Actor::User("someone".into()),
                roles: roles.to_vec(),
                queues: Vec::new(),
                via: crate::api::auth::Via::Session,
            },
            csrf: "t".into(),
        }
    }

    #[test]
    fn the_navigation_shows_what_the_matrix_grants() {
        use crate::people::Role;
        assert!(
            nav_for(&session(&[]), "/console").is_empty(),
            "no role, no entry"
        );
        for role in Role::ALL {
            let nav = nav_for(&session(&[role]), "/console");
            let hrefs: Vec<&str> = nav.iter().map(|l| l.href).collect();
            let expected: Vec<&str> = NAV
                .iter()
                .filter(|(_, href)| {
                    route_permission("GET", href)
                        .is_some_and(|p| crate::people::access::granted(role, p))
                })
                .map(|(_, href)| *href)
                .collect();
            assert_eq!(hrefs, expected, "{role}");
            assert!(nav.iter().any(|l| l.current && l.href == "/console"));
        }
    }

    #[test]
    fn every_error_status_has_a_chinese_heading() {
        for status in [400u16, 401, 403, 404, 409, 429, 500, 503] {
            let (heading, back) = heading(StatusCode::from_u16(status).unwrap());
            assert!(!heading.is_ascii(), "{status}: {heading}");
            assert!(back.starts_with("/console"));
        }
    }
}

//! 渠道 (`/console/sources`): every source's health as `GET /v1/sources` answers it
//! (`api::sources::source_list`), masked as that answer is for a caller who may not see
//! complainants (`pii::mask_json`, the auth middleware's masking of an `intake.read` answer),
//! each with a state badge: 正常, 退避中 (retrying) or 失败 (failed).

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::labels;
use super::page::{ConsoleError, Layout, local_time, offset, render};
use crate::api::AppState;
use crate::api::auth::Principal;
use crate::api::session::CurrentSession;
use crate::people::pii;
use crate::sources::status::{SourceState, SourceStatus};

/// `value` as the API answers it to `principal`: masked (`pii::mask_json`) when the caller may
/// not see complainants, as the auth middleware masks an `intake.read` answer.
pub fn as_answered(principal: &Principal, value: &impl Serialize) -> serde_json::Value {
    let mut value = serde_json::to_value(value).unwrap_or_default();
    if !principal.sees_identities() {
        pii::mask_json(&mut value);
    }
    value
}

/// A source's state as the badge shows it: (class, label).
pub fn badge(status: &SourceStatus) -> (&'static str, &'static str) {
    match status.state {
        SourceState::Failed => ("bad", "失败"),
        SourceState::Retrying => ("warn", "退避中"),
        SourceState::Starting => ("idle", "启动中"),
        SourceState::Stopped => ("idle", "已停止"),
        SourceState::Push if status.consecutive_failures > 0 => ("warn", "推送被拒"),
        SourceState::Push => ("ok", "正常（推送）"),
        SourceState::Ok | SourceState::Polling if !status.healthy => ("warn", "退避中"),
        SourceState::Polling => ("ok", "正常（拉取中）"),
        SourceState::Ok => ("ok", "正常"),
    }
}

/// One source as shown.
pub struct SourceRow {
    pub name: String,
    pub channel: &'static str,
    pub kind: String,
    pub upstream: String,
    pub badge_class: &'static str,
    pub badge: &'static str,
    pub last_success: String,
    pub last_poll: String,
    pub next_poll: String,
    /// (time, kind, message, permanent).
    pub last_error: Option<(String, String, String, bool)>,
    pub failures: u32,
    pub polls: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub revisions: u64,
    pub dead_lettered: u64,
    pub skipped: u64,
    pub since: String,
    pub warnings: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/sources.html")]
struct SourcesPage {
    layout: Layout,
    healthy: bool,
    sources: Vec<SourceRow>,
}

/// `GET /console/sources`.
pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Response {
    match build(&state, &session) {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

fn build(state: &AppState, session: &CurrentSession) -> Result<SourcesPage, ConsoleError> {
    let list = crate::api::sources::source_list(state);
    let answered = as_answered(&session.principal, &list);
    let sources: Vec<SourceStatus> =
        serde_json::from_value(answered["sources"].clone()).map_err(|e| ConsoleError {
            status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            message: "系统暂时无法完成这个请求，请稍后重试。".into(),
            cause: Some(format!("console sources: {e}")),
        })?;
    let offset = offset(state);
    let at = |t: Option<DateTime<Utc>>| t.map_or_else(|| "—".into(), |t| local_time(t, offset));
    let rows = sources
        .into_iter()
        .map(|s| {
            let (badge_class, badge) = badge(&s);
            SourceRow {
                channel: labels::channel(&s.channel),
                upstream: s.upstream.clone().unwrap_or_else(|| "—".into()),
                badge_class,
                badge,
                last_success: at(s.last_success_at),
                last_poll: at(s.last_poll_at),
                next_poll: at(s.next_poll_at),
                last_error: s.last_error.as_ref().map(|e| {
                    (
                        local_time(e.at, offset),
                        e.kind.clone(),
                        e.message.clone(),
                        e.permanent,
                    )
                }),
                failures: s.consecutive_failures,
                polls: s.polls,
                stored: s.received.stored,
                duplicates: s.received.duplicates,
                revisions: s.received.revisions,
                dead_lettered: s.received.dead_lettered,
                skipped: s.skipped,
                since: local_time(s.counting_since, offset),
                warnings: s
                    .warnings
                    .iter()
                    .map(|w| (local_time(w.at, offset), w.message.clone()))
                    .collect(),
                kind: s.kind,
                name: s.name,
            }
        })
        .collect();
    Ok(SourcesPage {
        layout: Layout::new(state, session, "渠道", "/console/sources"),
        healthy: list.healthy,
        sources: rows,
    })
}

/// This page's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/console/sources", get(show))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: crate::people::Role) -> Principal {
        Principal {
            actor: crate::people::Actor::User("someone".into()),
            roles: vec![role],
            queues: Vec::new(),
            via: crate::api::auth::Via::Session,
        }
    }

    #[test]
    fn an_answer_is_masked_for_a_supervisor_as_the_api_masks_it() {
        let raw = crate::api::complaints::RawPayload::new(
            "请回电13812345678".as_bytes(),
            "text/plain; charset=utf-8",
        );
        let answer = serde_json::json!({"reason": "missing body", "raw": raw});
        let shown = as_answered(&principal(crate::people::Role::Supervisor), &answer);
        assert_eq!(shown["raw"]["withheld"], true);
        assert_eq!(shown["raw"]["base64"], "");
        assert!(!shown.to_string().contains("13812345678"), "{shown}");
        let full = as_answered(&principal(crate::people::Role::Triage), &answer);
        assert_eq!(full["raw"]["text"], "请回电13812345678");
        assert_ne!(full["raw"]["base64"], "");
    }

    #[test]
    fn every_console_route_needs_what_its_api_route_needs() {
        use axum::http::Method;
        let pairs = [
            (
                "POST",
                "/console/cases/{id}/follow-ups",
                "/v1/cases/{id}/follow-ups",
            ),
            (
                "POST",
                "/console/cases/{id}/extensions",
                "/v1/cases/{id}/extensions",
            ),
            (
                "POST",
                "/console/cases/{id}/extensions/{request}/approve",
                "/v1/cases/{id}/extensions/{request}/approve",
            ),
            (
                "POST",
                "/console/cases/{id}/extensions/{request}/deny",
                "/v1/cases/{id}/extensions/{request}/deny",
            ),
            (
                "POST",
                "/console/cases/{id}/classification",
                "/v1/complaints/{id}/classification",
            ),
            ("GET", "/console/sources", "/v1/sources"),
            ("GET", "/console/dead-letters", "/v1/dead-letters"),
            ("GET", "/console/dead-letters/{id}", "/v1/dead-letters/{id}"),
            (
                "POST",
                "/console/dead-letters/{id}/replay",
                "/v1/dead-letters/{id}/replay",
            ),
            ("GET", "/console/replies", "/v1/replies"),
            (
                "POST",
                "/console/replies/{id}/sent",
                "/v1/replies/{id}/sent",
            ),
            ("POST", "/console/admin/calendar", "/v1/calendar/{year}"),
            ("POST", "/console/cases/{id}/merge", "/v1/cases/{id}/merge"),
            ("POST", "/console/cases/{id}/split", "/v1/cases/{id}/split"),
        ];
        for (method, console, api) in pairs {
            let api_method = if console == "/console/admin/calendar" && method == "POST" {
                Method::PUT
            } else {
                method.parse().unwrap()
            };
            let needed = crate::api::auth::route_permission(&api_method, api);
            assert!(needed.is_some(), "{api}");
            assert_eq!(
                crate::console::route_permission(method, console),
                needed,
                "{console}"
            );
        }
        // Every 管理 page is for admins, though the API lets `queues.read` read the calendar
        // and the queues.
        for route in [
            "/console/admin/users",
            "/console/admin/tokens",
            "/console/admin/calendar",
            "/console/admin/routing",
        ] {
            assert_eq!(
                crate::console::route_permission("GET", route),
                Some(crate::people::access::Permission::PeopleManage)
            );
        }
    }

    #[test]
    fn the_badge_says_ok_backing_off_or_failed() {
        let now = Utc::now();
        let mut s = SourceStatus::new("hotline", "hotline", "http_json", now);
        s.state = SourceState::Ok;
        assert_eq!(badge(&s).1, "正常");
        s.state = SourceState::Retrying;
        s.healthy = false;
        assert_eq!(badge(&s), ("warn", "退避中"));
        s.state = SourceState::Polling;
        assert_eq!(badge(&s).1, "退避中", "a retry's poll is still backing off");
        s.state = SourceState::Failed;
        assert_eq!(badge(&s), ("bad", "失败"));
        s.state = SourceState::Push;
        s.consecutive_failures = 0;
        assert_eq!(badge(&s).0, "ok");
    }
}

//! The console: server-rendered pages in Chinese under `/console` for the complaint centre's
//! triage staff, the units' investigators and the supervisors.
//!
//! - [`auth`]: one middleware on every console route: the session (the API's cookie and
//!   session code, `api::session`), the route's permission from [`ROUTES`] decided by the one
//!   matrix (`people::access`), and the CSRF token of every form post (the hidden field
//!   `csrf`). Not signed in: a page redirects to the login, a post answers 401.
//! - [`login`]: 登录 and 退出, through `api::session::sign_in` / `sign_out` (the same limits,
//!   lock and audit as `POST /v1/session`).
//! - [`home`]: 工作台, by role.
//! - [`case`]: 案件: members a page at a time with why each was grouped ([`case_members`],
//!   masked exactly as the API masks them for this caller), the two deadlines, why it was
//!   classified and routed ([`case_why`]), similar cases ([`case_similar`]), the history, the
//!   workflow steps the caller may take and the staff forms ([`case_forms`], [`case_merge`]).
//! - [`search`] 检索, [`queues`] 队列, [`hot`] 热点, [`stats`] 统计: the reads of
//!   `GET /v1/search`, `GET /v1/cases?queue=…&sort=deadline`, `GET /v1/hot-issues` and
//!   `GET /v1/stats` (the same functions, the same permissions), charts in [`svg`].
//! - [`replies`] 待回复: the replies to send by phone or letter (`GET /v1/replies`, through
//!   `api::answers::reply_page`, masked as that answer is) and the form that records one sent
//!   (`api::answers::mark_sent`, the code of `POST /v1/replies/{id}/sent`).
//! - [`page`]: the layout, the error pages (401/403/404/500, never an empty body), times in
//!   the configured offset and countdowns.
//!
//! Templates are in `templates/console/` (askama: compiled with the crate, HTML escaped); the
//! stylesheet is served at `/console/static/console.css`.

mod admin;
mod auth;
mod case;
mod case_forms;
mod case_members;
mod case_merge;
mod case_similar;
mod case_why;
mod dead_letters;
mod home;
mod hot;
mod labels;
mod login;
pub mod page;
mod queues;
mod replies;
mod search;
mod sources;
mod stats;
mod svg;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};

use crate::api::AppState;
use crate::people::access::Permission;

/// The permission of every console route that needs a session: (method, route, permission).
/// The navigation shows an entry only when its route's permission is granted.
pub const ROUTES: &[(&str, &str, Permission)] = &[
    ("GET", "/console", Permission::SelfRead),
    ("POST", "/console/logout", Permission::SelfRead),
    ("GET", "/console/cases/{id}", Permission::CasesRead),
    (
        "POST",
        "/console/cases/{id}/transitions",
        Permission::CasesWork,
    ),
    ("GET", "/console/search", Permission::CasesRead),
    ("GET", "/console/queues", Permission::QueuesRead),
    ("GET", "/console/queues/{queue}", Permission::QueuesRead),
    ("GET", "/console/hot", Permission::CasesRead),
    ("GET", "/console/stats", Permission::StatsRead),
    ("GET", "/console/stats/csv", Permission::StatsRead),
    // 案件's other forms, 渠道, 待回复, 死信 and 管理: the API's permission of each
    // (`api::auth::ROUTES`); accounts and tokens have no API route: `people.manage` (admins).
    (
        "POST",
        "/console/cases/{id}/follow-ups",
        Permission::CasesDecide,
    ),
    (
        "POST",
        "/console/cases/{id}/extensions",
        Permission::CasesWork,
    ),
    (
        "POST",
        "/console/cases/{id}/extensions/{request}/approve",
        Permission::CasesDecide,
    ),
    (
        "POST",
        "/console/cases/{id}/extensions/{request}/deny",
        Permission::CasesDecide,
    ),
    (
        "POST",
        "/console/cases/{id}/classification",
        Permission::CasesDecide,
    ),
    ("POST", "/console/cases/{id}/merge", Permission::CasesDecide),
    ("POST", "/console/cases/{id}/split", Permission::CasesDecide),
    ("GET", "/console/sources", Permission::IntakeRead),
    ("GET", "/console/replies", Permission::IntakeRead),
    (
        "POST",
        "/console/replies/{id}/sent",
        Permission::CasesDecide,
    ),
    ("GET", "/console/dead-letters", Permission::IntakeRead),
    ("GET", "/console/dead-letters/{id}", Permission::IntakeRead),
    (
        "POST",
        "/console/dead-letters/{id}/replay",
        Permission::IntakeReplay,
    ),
    ("GET", "/console/admin/users", Permission::PeopleManage),
    ("POST", "/console/admin/users", Permission::PeopleManage),
    (
        "POST",
        "/console/admin/users/{name}/disable",
        Permission::PeopleManage,
    ),
    (
        "POST",
        "/console/admin/users/{name}/enable",
        Permission::PeopleManage,
    ),
    (
        "POST",
        "/console/admin/users/{name}/unlock",
        Permission::PeopleManage,
    ),
    ("GET", "/console/admin/tokens", Permission::PeopleManage),
    ("POST", "/console/admin/tokens", Permission::PeopleManage),
    (
        "POST",
        "/console/admin/tokens/{id}/revoke",
        Permission::PeopleManage,
    ),
    // 管理's pages are for admins, as the top navigation's 管理 entry is; storing a year keeps
    // the API's `calendar.manage`.
    ("GET", "/console/admin/calendar", Permission::PeopleManage),
    (
        "POST",
        "/console/admin/calendar",
        Permission::CalendarManage,
    ),
    ("GET", "/console/admin/routing", Permission::PeopleManage),
];

/// Console routes anyone may use: the login and the stylesheet.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("GET", "/console/static/console.css"),
];

/// The top navigation: (label, route). Shown to a user whose roles grant the route's
/// permission in [`ROUTES`].
pub const NAV: &[(&str, &str)] = &[
    ("工作台", "/console"),
    ("检索", "/console/search"),
    ("队列", "/console/queues"),
    ("待回复", "/console/replies"),
    ("热点", "/console/hot"),
    ("统计", "/console/stats"),
    ("渠道", "/console/sources"),
    ("死信", "/console/dead-letters"),
    ("管理", admin::ADMIN_HOME),
];

/// The permission `route` needs for `method`; `None` for a public route or one not served.
pub fn route_permission(method: &str, route: &str) -> Option<Permission> {
    ROUTES
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, p)| *p)
}

/// The console's stylesheet.
const STYLESHEET: &str = include_str!("../../templates/console/console.css");

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

/// The console's routes, behind [`auth::authenticate`]. Merged after the API's query-parameter
/// check (the console's parameters are not in the OpenAPI document); its 4xx and 5xx answers
/// are HTML pages, which the API's error shaping leaves alone.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/console", get(home::home))
        .route(
            "/console/",
            get(|| async { page::see_other("/console", None) }),
        )
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/cases/{id}", get(case::show))
        .route("/console/cases/{id}/transitions", post(case::transition))
        .route("/console/search", get(search::search))
        .route("/console/queues", get(queues::overview))
        .route("/console/queues/{queue}", get(queues::one))
        .route("/console/hot", get(hot::hot))
        .route("/console/stats", get(stats::stats))
        .route("/console/stats/csv", get(stats::csv))
        .merge(case_forms::routes())
        .merge(case_merge::routes())
        .merge(sources::routes())
        .merge(replies::routes())
        .merge(dead_letters::routes())
        .merge(admin::routes())
        .route("/console/static/console.css", get(stylesheet))
        .route("/console/{*rest}", any(auth::not_found))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::map_response_with_state(
            state,
            page::html_errors,
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_public_or_has_a_permission_and_every_nav_entry_a_route() {
        for (method, route, _) in ROUTES {
            assert!(
                !PUBLIC_ROUTES.contains(&(method, route)),
                "{method} {route} is both public and guarded"
            );
        }
        for (label, href) in NAV {
            assert!(
                route_permission("GET", href).is_some(),
                "{label}: {href} has no permission"
            );
        }
        assert_eq!(
            route_permission("POST", "/console/cases/{id}/transitions"),
            Some(Permission::CasesWork)
        );
        assert_eq!(route_permission("GET", "/console/login"), None);
        // Every 管理 page needs the admin permission, whatever else a role may read.
        for (_, href) in admin::ADMIN_NAV {
            assert_eq!(
                route_permission("GET", href),
                Some(Permission::PeopleManage),
                "{href}"
            );
        }
    }
}

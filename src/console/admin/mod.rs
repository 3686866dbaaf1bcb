//! 管理: accounts and roles ([`users`]), tokens ([`tokens`]), the working-day calendar
//! ([`calendar`]) and the loaded routing configuration, read only ([`routing`]).
//!
//! Accounts and tokens change through `people::accounts`, the functions the `user` and `token`
//! commands call (same checks, same audit entries), recorded under the signed-in admin;
//! the calendar through `api::calendar::store`, as `PUT /v1/calendar/{year}`.

pub mod calendar;
pub mod routing;
pub mod tokens;
pub mod users;

use axum::Router;
use axum::http::StatusCode;

use super::page::ConsoleError;
use super::route_permission;
use crate::api::AppState;
use crate::api::session::CurrentSession;
use crate::people::accounts::AccountError;

/// The 管理 pages' own navigation: (label, route); shown when the route's permission is granted.
pub const ADMIN_NAV: &[(&str, &str)] = &[
    ("用户与角色", "/console/admin/users"),
    ("令牌", "/console/admin/tokens"),
    ("工作日历", "/console/admin/calendar"),
    ("路由规则与队列", "/console/admin/routing"),
];

/// The entry of the top navigation every 管理 page sits under.
pub const ADMIN_HOME: &str = "/console/admin/users";

/// The 管理 links `session` may use: (label, href, current).
pub fn admin_nav(
    session: &CurrentSession,
    current: &str,
) -> Vec<(&'static str, &'static str, bool)> {
    ADMIN_NAV
        .iter()
        .filter(|(_, href)| route_permission("GET", href).is_some_and(|p| session.principal.may(p)))
        .map(|(label, href)| (*label, *href, *href == current))
        .collect()
}

impl From<AccountError> for ConsoleError {
    fn from(error: AccountError) -> ConsoleError {
        match error {
            AccountError::Invalid(message) => {
                ConsoleError::new(StatusCode::BAD_REQUEST, format!("请求无效：{message}"))
            }
            AccountError::NoUser(name) => {
                ConsoleError::new(StatusCode::NOT_FOUND, format!("没有用户 {name}。"))
            }
            AccountError::NoToken(id) => ConsoleError::new(
                StatusCode::NOT_FOUND,
                format!("没有令牌 {id}（或它已被撤销）。"),
            ),
            AccountError::Taken(name) => {
                ConsoleError::new(StatusCode::CONFLICT, format!("用户名 {name} 已被使用。"))
            }
            AccountError::Store(error) => error.into(),
        }
    }
}

/// The 管理 pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(users::routes())
        .merge(tokens::routes())
        .merge(calendar::routes())
        .merge(routing::routes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_admin_link_has_a_permission() {
        for (label, href) in ADMIN_NAV {
            assert!(route_permission("GET", href).is_some(), "{label}: {href}");
        }
        assert!(ADMIN_NAV.iter().any(|(_, href)| *href == ADMIN_HOME));
    }
}

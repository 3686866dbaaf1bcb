//! 用户与角色 (`/console/admin/users`): every account with its roles, queues and state; a new
//! account (roles, queues, an initial password typed or made here and shown once); disabling,
//! enabling and unlocking — each through `people::accounts` (`add_user`, `set_disabled`,
//! `unlock`), as the `user` command does, audited the same under the signed-in admin.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use super::{ADMIN_HOME, admin_nav};
use crate::api::AppState;
use crate::api::session::CurrentSession;
use crate::console::home::queue_name;
use crate::console::page::{
    ConsoleError, Layout, local_text, offset, render, role_label, see_other,
};
use crate::people::Role;
use crate::people::accounts::{self, Membership, UserSpec};
use crate::people::secrets;

/// Characters of a password made here.
const MADE_PASSWORD_CHARS: usize = 16;

/// One account as listed.
pub struct UserRow {
    pub name: String,
    pub display_name: String,
    pub roles: String,
    pub queues: String,
    /// 正常, 已停用 or 已锁定.
    pub state: &'static str,
    pub disabled: bool,
    pub locked: bool,
    pub failed_logins: i64,
    pub created: String,
    pub password: bool,
}

/// What the last form did, shown above the list.
pub struct Outcome {
    pub message: String,
    /// A password made here: shown this once.
    pub password: Option<String>,
    pub error: bool,
}

#[derive(Template)]
#[template(path = "console/admin_users.html")]
struct UsersPage {
    layout: Layout,
    admin_nav: Vec<(&'static str, &'static str, bool)>,
    users: Vec<UserRow>,
    roles: Vec<(&'static str, &'static str)>,
    queues: Vec<(String, String)>,
    outcome: Option<Outcome>,
    /// The signed-in admin: not offered to disable their own account here.
    me: String,
}

/// `GET /console/admin/users`.
pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Response {
    page(&state, &session, None, StatusCode::OK).await
}

async fn page(
    state: &AppState,
    session: &CurrentSession,
    outcome: Option<Outcome>,
    status: StatusCode,
) -> Response {
    match build(state, session, outcome).await {
        Ok(page) => {
            let mut response = render(&page);
            if response.status() == StatusCode::OK {
                *response.status_mut() = status;
            }
            response
        }
        Err(error) => error.page(state, Some(session)),
    }
}

async fn build(
    state: &AppState,
    session: &CurrentSession,
    outcome: Option<Outcome>,
) -> Result<UsersPage, ConsoleError> {
    let offset = offset(state);
    let users = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            display_name: u.display_name.clone().unwrap_or_default(),
            roles: u
                .roles
                .iter()
                .map(|r| role_label(r))
                .collect::<Vec<_>>()
                .join("、"),
            queues: u
                .queues
                .iter()
                .map(|q| {
                    let name = queue_name(state, Some(&q.queue));
                    if q.lead {
                        format!("{name}（负责人）")
                    } else {
                        name
                    }
                })
                .collect::<Vec<_>>()
                .join("、"),
            state: match (u.disabled, &u.locked_at) {
                (true, _) => "已停用",
                (false, Some(_)) => "已锁定",
                (false, None) => "正常",
            },
            disabled: u.disabled,
            locked: u.locked_at.is_some(),
            failed_logins: u.failed_logins,
            created: local_text(&u.created_at, offset),
            password: u.password_hash.is_some(),
            name: u.name,
        })
        .collect();
    Ok(UsersPage {
        layout: Layout::new(state, session, "用户与角色", ADMIN_HOME),
        admin_nav: admin_nav(session, "/console/admin/users"),
        users,
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str(), role_label(r.as_str())))
            .collect(),
        queues: state
            .routing
            .queues
            .iter()
            .map(|(key, q)| (key.clone(), q.name.clone()))
            .collect(),
        outcome,
        me: session.principal.actor.to_string(),
    })
}

/// The new account's form, read from its fields (`role` and `queue` repeat).
#[derive(Debug, Default)]
pub struct NewUserForm {
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub roles: Vec<String>,
    pub queues: Vec<String>,
    pub leads: Vec<String>,
}

impl NewUserForm {
    pub fn parse(body: &[u8]) -> NewUserForm {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let mut form = NewUserForm::default();
        let filled = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        for (key, value) in fields {
            match key.as_str() {
                "name" => form.name = value.trim().to_string(),
                "display_name" => form.display_name = filled(&value),
                "email" => form.email = filled(&value),
                // A password is taken as typed (its rules refuse surrounding spaces).
                "password" => form.password = Some(value).filter(|v| !v.is_empty()),
                "role" => form.roles.push(value),
                "queue" => form.queues.push(value),
                "lead" => form.leads.push(value),
                _ => {}
            }
        }
        form
    }

    /// The roles and queues, as the command line's `--role`, `--queue` and `--lead` give them.
    pub fn membership(&self) -> Result<Membership, String> {
        let mut roles = Vec::new();
        for name in &self.roles {
            roles.push(name.parse::<Role>()?);
        }
        Ok(Membership::new(roles, &self.queues, &self.leads))
    }
}

/// `POST /console/admin/users`: creates the account; a password left empty is made here and
/// shown once on the answer (never logged, never stored but as its hash).
pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    body: Bytes,
) -> Response {
    let form = NewUserForm::parse(&body);
    let failed = |message: String| Outcome {
        message,
        password: None,
        error: true,
    };
    let membership = match form.membership() {
        Ok(m) => m,
        Err(message) => {
            let outcome = failed(format!("请求无效：{message}"));
            return page(&state, &session, Some(outcome), StatusCode::BAD_REQUEST).await;
        }
    };
    let made = form
        .password
        .is_none()
        .then(|| secrets::random_text(MADE_PASSWORD_CHARS));
    let spec = UserSpec {
        name: form.name.clone(),
        display_name: form.display_name,
        email: form.email,
        password: form.password.or_else(|| made.clone()),
        membership,
    };
    let routing = state.routing.clone();
    let known = move |key: &str| routing.queues.contains_key(key);
    match accounts::add_user(&state.store, &session.principal.actor, spec, &known).await {
        Ok(()) => {
            let outcome = Outcome {
                message: format!("已创建用户 {}。", form.name),
                password: made,
                error: false,
            };
            page(&state, &session, Some(outcome), StatusCode::OK).await
        }
        Err(error) => {
            let error = ConsoleError::from(error);
            let outcome = failed(error.message);
            page(&state, &session, Some(outcome), error.status).await
        }
    }
}

/// `POST /console/admin/users/{name}/disable|enable|unlock`.
async fn change(state: &AppState, session: &CurrentSession, name: &str, what: &str) -> Response {
    let actor = &session.principal.actor;
    let store = &state.store;
    let done = match what {
        "disable" => accounts::set_disabled(store, actor, name, true).await,
        "enable" => accounts::set_disabled(store, actor, name, false).await,
        _ => accounts::unlock(store, actor, name).await,
    };
    match done {
        Ok(()) => see_other(ADMIN_HOME, None),
        Err(error) => ConsoleError::from(error).page(state, Some(session)),
    }
}

pub async fn disable(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(name): Path<String>,
) -> Response {
    change(&state, &session, &name, "disable").await
}

pub async fn enable(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(name): Path<String>,
) -> Response {
    change(&state, &session, &name, "enable").await
}

pub async fn unlock(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(name): Path<String>,
) -> Response {
    change(&state, &session, &name, "unlock").await
}

/// This page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/admin/users", get(show).post(create))
        .route("/console/admin/users/{name}/disable", post(disable))
        .route("/console/admin/users/{name}/enable", post(enable))
        .route("/console/admin/users/{name}/unlock", post(unlock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_account_form_reads_repeated_roles_and_queues() {
        let form = NewUserForm::parse(
            "csrf=t&name=+li.si+&display_name=&password=&role=investigator&role=triage\
             &queue=finance&lead=finance&queue=audit"
                .as_bytes(),
        );
        assert_eq!(form.name, "li.si");
        assert_eq!(form.display_name, None);
        assert_eq!(form.password, None, "empty: a password is made");
        let m = form.membership().unwrap();
        assert_eq!(m.roles, vec![Role::Triage, Role::Investigator]);
        assert_eq!(m.queues.len(), 2);
        assert!(m.queues.iter().any(|q| q.queue == "finance" && q.lead));
        assert!(m.queues.iter().any(|q| q.queue == "audit" && !q.lead));
        let bad = NewUserForm::parse(b"name=x&role=boss");
        assert!(bad.membership().is_err());
    }
}

//! 令牌 (`/console/admin/tokens`): every API token with its state; a new one for an account
//! (its text shown once on the answer, never again, never logged); revoking one at once —
//! through `people::accounts::create_token` and `revoke_token`, as the `token` command does.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;

use super::{ADMIN_HOME, admin_nav};
use crate::api::AppState;
use crate::api::session::CurrentSession;
use crate::console::page::{ConsoleError, Layout, local_text, offset, render, see_other};
use crate::people::accounts::{self, parse_lifetime, token_state};

/// The lifetimes offered: (value, label).
const LIFETIMES: [(&str, &str); 4] = [
    ("", "不过期"),
    ("30d", "30 天"),
    ("90d", "90 天"),
    ("365d", "一年"),
];

/// One token as listed.
pub struct TokenRow {
    pub id: String,
    pub user: String,
    pub name: String,
    pub state: &'static str,
    pub active: bool,
    pub created: String,
    pub expires: String,
    pub last_used: String,
}

/// A token just made: shown this once.
pub struct Minted {
    pub id: String,
    pub user: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "console/admin_tokens.html")]
struct TokensPage {
    layout: Layout,
    admin_nav: Vec<(&'static str, &'static str, bool)>,
    tokens: Vec<TokenRow>,
    /// Enabled accounts, for a new token.
    users: Vec<String>,
    lifetimes: [(&'static str, &'static str); 4],
    minted: Option<Minted>,
}

/// `GET /console/admin/tokens`.
pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Response {
    match build(&state, &session, None).await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

async fn build(
    state: &AppState,
    session: &CurrentSession,
    minted: Option<Minted>,
) -> Result<TokensPage, ConsoleError> {
    let offset = offset(state);
    let now = Utc::now();
    let or_dash = |t: &Option<String>| {
        t.as_deref()
            .map_or_else(|| "—".to_string(), |t| local_text(t, offset))
    };
    let tokens = state
        .store
        .tokens(None)
        .await?
        .into_iter()
        .map(|t| {
            let code = token_state(&t, now);
            TokenRow {
                state: match code {
                    "active" => "有效",
                    "expired" => "已过期",
                    _ => "已撤销",
                },
                active: code == "active",
                created: local_text(&t.created_at, offset),
                expires: t
                    .expires_at
                    .as_deref()
                    .map_or_else(|| "不过期".to_string(), |e| local_text(e, offset)),
                last_used: or_dash(&t.last_used_at),
                id: t.id,
                user: t.user,
                name: t.name,
            }
        })
        .collect();
    let users = state
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| u.name)
        .collect();
    Ok(TokensPage {
        layout: Layout::new(state, session, "令牌", ADMIN_HOME),
        admin_nav: admin_nav(session, "/console/admin/tokens"),
        tokens,
        users,
        lifetimes: LIFETIMES,
        minted,
    })
}

/// The new token's form.
#[derive(Debug, Deserialize)]
pub struct NewTokenForm {
    user: String,
    name: String,
    #[serde(default)]
    expires: String,
}

/// `POST /console/admin/tokens`: makes the token and answers the page with its text, once.
pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Form(form): Form<NewTokenForm>,
) -> Response {
    let expires_at = match form.expires.trim() {
        "" => None,
        text => match parse_lifetime(text) {
            Ok(lifetime) => Some(Utc::now() + lifetime),
            Err(message) => {
                return ConsoleError::new(StatusCode::BAD_REQUEST, format!("请求无效：{message}"))
                    .page(&state, Some(&session));
            }
        },
    };
    let actor = &session.principal.actor;
    let user = form.user.trim();
    let made = accounts::create_token(&state.store, actor, user, form.name.trim(), expires_at);
    let minted = match made.await {
        Ok(minted) => Minted {
            id: minted.id,
            user: user.to_string(),
            text: minted.text,
        },
        Err(error) => return ConsoleError::from(error).page(&state, Some(&session)),
    };
    match build(&state, &session, Some(minted)).await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

/// `POST /console/admin/tokens/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
) -> Response {
    match accounts::revoke_token(&state.store, &session.principal.actor, &id).await {
        Ok(()) => see_other("/console/admin/tokens", None),
        Err(error) => ConsoleError::from(error).page(&state, Some(&session)),
    }
}

/// This page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/admin/tokens", get(show).post(create))
        .route("/console/admin/tokens/{id}/revoke", post(revoke))
}

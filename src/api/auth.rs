//! Who is calling, and may they: one middleware on every staff route ([`authenticate`]).
//!
//! The caller is resolved from `Authorization: Bearer …`: a user's token (`cgt_<id>_<secret>`,
//! checked against the store on every request, so a revocation, an expiry or a disabled
//! account takes effect at once), or a token from `api.token_envs` (a service account with
//! `api.service_role`). With no account, no configured token and a loopback listener the API
//! is open, as on a developer's machine; once an account exists nothing is open.
//!
//! The route's permission comes from one table ([`ROUTES`]); a route without a row is refused.
//! Refusals: 401 `authentication_required` / `token_invalid`, 403 `permission_denied` naming
//! the permission. Handlers take the [`Principal`] and record decisions under its actor.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use crate::people::access::{Permission, any_granted, membership_granted};
use crate::people::privacy::View;
use crate::people::{Actor, Role, secrets};
use crate::store::audit::NewAuditEvent;
use crate::store::people::QueueMembership;
use crate::store::{WriteBatch, format_utc};

/// The permission of every staff route: (method, route as declared, permission).
pub const ROUTES: &[(&str, &str, Permission)] = &[
    ("GET", "/v1/me", Permission::SelfRead),
    ("GET", "/v1/queues", Permission::QueuesRead),
    ("GET", "/v1/queues/{key}/workload", Permission::QueuesRead),
    ("GET", "/v1/search", Permission::CasesRead),
    ("GET", "/v1/complaints/{id}", Permission::CasesRead),
    (
        "GET",
        "/v1/complaints/{id}/classification",
        Permission::CasesRead,
    ),
    (
        "POST",
        "/v1/complaints/{id}/classification",
        Permission::CasesDecide,
    ),
    ("GET", "/v1/cases", Permission::CasesRead),
    ("GET", "/v1/cases/{id}", Permission::CasesRead),
    ("GET", "/v1/cases/{id}/history", Permission::CasesRead),
    ("POST", "/v1/cases/{id}/merge", Permission::CasesDecide),
    ("POST", "/v1/cases/{id}/split", Permission::CasesDecide),
    ("POST", "/v1/cases/{id}/status", Permission::CasesDecide),
    ("GET", "/v1/cases/{id}/deadline", Permission::CasesRead),
    (
        "POST",
        "/v1/cases/{id}/deadline/extend",
        Permission::CasesDecide,
    ),
    ("POST", "/v1/cases/{id}/answer", Permission::CasesAnswer),
    ("POST", "/v1/cases/{id}/transitions", Permission::CasesWork),
    ("GET", "/v1/cases/{id}/workflow", Permission::CasesRead),
    ("POST", "/v1/cases/{id}/follow-ups", Permission::CasesDecide),
    ("GET", "/v1/cases/{id}/follow-ups", Permission::CasesRead),
    ("POST", "/v1/cases/{id}/extensions", Permission::CasesWork),
    (
        "POST",
        "/v1/cases/{id}/extensions/{request}/approve",
        Permission::CasesDecide,
    ),
    (
        "POST",
        "/v1/cases/{id}/extensions/{request}/deny",
        Permission::CasesDecide,
    ),
    ("GET", "/v1/hot-issues", Permission::CasesRead),
    ("GET", "/v1/stats", Permission::StatsRead),
    (
        "POST",
        "/v1/cases/{id}/accountability",
        Permission::AccountabilityManage,
    ),
    (
        "GET",
        "/v1/cases/{id}/accountability",
        Permission::AccountabilityRead,
    ),
    (
        "PUT",
        "/v1/cases/{id}/accountability/{record}",
        Permission::AccountabilityManage,
    ),
    (
        "DELETE",
        "/v1/cases/{id}/accountability/{record}",
        Permission::AccountabilityManage,
    ),
    ("GET", "/v1/accountability", Permission::StatsRead),
    ("GET", "/v1/reports/monthly", Permission::StatsRead),
    ("POST", "/v1/cases/{id}/subjects", Permission::CasesDecide),
    (
        "DELETE",
        "/v1/cases/{id}/subjects/{queue}",
        Permission::CasesDecide,
    ),
    ("GET", "/v1/dead-letters", Permission::IntakeRead),
    ("GET", "/v1/dead-letters/{id}", Permission::IntakeRead),
    (
        "POST",
        "/v1/dead-letters/{id}/replay",
        Permission::IntakeReplay,
    ),
    ("GET", "/v1/sources", Permission::IntakeRead),
    ("GET", "/v1/sources/{name}", Permission::IntakeRead),
    ("GET", "/v1/outbox", Permission::OutboxRead),
    ("GET", "/v1/audit", Permission::AuditRead),
    ("GET", "/v1/calendar", Permission::QueuesRead),
    ("GET", "/v1/calendar/{year}", Permission::QueuesRead),
    ("PUT", "/v1/calendar/{year}", Permission::CalendarManage),
    ("GET", "/v1/replies", Permission::IntakeRead),
    ("POST", "/v1/replies/{id}/sent", Permission::CasesDecide),
    ("GET", "/v1/callbacks", Permission::IntakeRead),
    ("POST", "/v1/callbacks/{id}/retry", Permission::IntakeReplay),
];

/// Routes any caller may use: signing in and out (`api::session`).
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[("POST", "/v1/session"), ("DELETE", "/v1/session")];

/// The permission a route needs; `None` when the table has no row for it.
pub fn route_permission(method: &Method, route: &str) -> Option<Permission> {
    ROUTES
        .iter()
        .find(|(m, r, _)| *m == method.as_str() && *r == route)
        .map(|(_, _, p)| *p)
}

/// How the caller was recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// No account and no token exist, and the listener is loopback.
    Open,
    /// A token of `api.token_envs`.
    Service,
    /// A user's token (its id).
    Token(String),
    /// A browser session (its cookie).
    Session,
}

/// The authenticated caller of a staff route.
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    pub roles: Vec<Role>,
    pub queues: Vec<QueueMembership>,
    pub via: Via,
}

/// The caller's view of the one case or complaint a `cases.read` route names, decided by the
/// middleware and handed to the handler (so it is computed once per request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopedView(pub View);

impl Principal {
    /// The caller as the workflow's rules see it.
    pub fn caller(&self) -> crate::workflow::machine::Caller<'_> {
        crate::workflow::machine::Caller {
            roles: &self.roles,
            queues: &self.queues,
        }
    }

    pub fn may(&self, permission: Permission) -> bool {
        any_granted(&self.roles, permission)
    }

    /// Whether one of this caller's queues, as an investigator, grants `permission` beyond the
    /// roles (`people::access::membership_granted`: the accountability queue's 责任追究).
    pub fn membership_grants(&self, permission: Permission, accountability_queue: &str) -> bool {
        self.roles.contains(&Role::Investigator)
            && self
                .queues
                .iter()
                .any(|q| membership_granted(&q.queue, permission, accountability_queue))
    }

    /// The queues whose cases this caller may read when it may not read every case (an
    /// investigator's: routed or informed to them; none for a caller without queues); `None`
    /// for a caller who reads every case.
    pub fn reach(&self) -> Option<Vec<String>> {
        (!self.may(Permission::CasesReadAll))
            .then(|| self.queues.iter().map(|q| q.queue.clone()).collect())
    }

    /// Whether one of this caller's roles sees complainants (admin, triage).
    pub fn sees_identities(&self) -> bool {
        self.roles
            .iter()
            .any(|r| matches!(r, Role::Admin | Role::Triage))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Principal, ApiError> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::internal("principal", &"a staff handler outside the auth layer")
        })
    }
}

/// How often a token's use is written down (its `last_used_at` and an audit entry).
const USE_RECORD_INTERVAL: Duration = Duration::from_secs(60);

/// What the authenticator remembers between requests: which token secrets were verified
/// (argon2 takes tens of milliseconds; the token's row is still read on every request) and
/// when each token's use was last recorded.
#[derive(Default)]
pub struct Authenticator {
    verified: secrets::VerifiedSecrets,
    recorded: Mutex<HashMap<String, Instant>>,
}

impl Authenticator {
    /// True once per token per [`USE_RECORD_INTERVAL`].
    fn due_for_record(&self, id: &str) -> bool {
        let mut recorded = self.recorded.lock().expect("not poisoned");
        let now = Instant::now();
        match recorded.get(id) {
            Some(at) if now.duration_since(*at) < USE_RECORD_INTERVAL => false,
            _ => {
                recorded.insert(id.to_string(), now);
                true
            }
        }
    }
}

/// The middleware: resolves the caller, checks the route's permission, hands the
/// [`Principal`] to the handler.
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
    let Some(permission) = route_permission(request.method(), &route) else {
        if ROUTES.iter().any(|(_, r, _)| *r == route) {
            // A method the route does not serve: the router answers 405 (every method it
            // serves has a row; the permission-matrix test fails otherwise).
            return next.run(request).await;
        }
        return ApiError::new(
            ErrorCode::PermissionDenied,
            format!("no permission is declared for {} {route}", request.method()),
        )
        .into_response();
    };
    let principal = match resolve(&state, request.headers(), request.method()).await {
        Ok(principal) => principal,
        Err(refusal) => return refusal.into_response(),
    };
    let accountability_queue = &state.config.accountability.queue;
    if !principal.may(permission) && !principal.membership_grants(permission, accountability_queue)
    {
        let roles: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
        return ApiError::new(
            ErrorCode::PermissionDenied,
            format!(
                "this needs the permission `{}`, which your roles ({}) do not grant",
                permission.as_str(),
                if roles.is_empty() {
                    "none".into()
                } else {
                    roles.join(", ")
                }
            ),
        )
        .with("permission", permission.as_str())
        .into_response();
    }
    // Whole-store reads by a caller who may not know complainants (a supervisor who is not
    // also triage): the answer, whatever its shape, is masked before it leaves. One case or
    // complaint (`cases.read`): the caller's view of it decides (`people::privacy`).
    let sees_identities = principal.sees_identities();
    let mut shown = Vec::new();
    let mut scoped = None;
    let masked = match permission {
        // Search and the outbox within an investigator's reach: the handler masks each hit or
        // notification by the caller's view of its case.
        _ if principal.reach().is_some() && super::privacy::VIEWED_PER_ITEM.contains(&&*route) => {
            false
        }
        Permission::CasesReadAll | Permission::IntakeRead | Permission::OutboxRead => {
            !sees_identities
        }
        // A list within reach (`GET /v1/cases`, hot issues): masked unless admin or triage;
        // the handler narrows it to the caller's queues.
        Permission::CasesRead if !route.contains("{id}") => !sees_identities,
        // One case or complaint, read or worked on: out of reach answers 404.
        Permission::CasesRead | Permission::CasesWork => {
            match super::privacy::scoped_view(&state, &principal, &route, request.uri(), &mut shown)
                .await
            {
                Ok(View::Hidden) => {
                    return super::privacy::hidden(&route, request.uri()).into_response();
                }
                Ok(view) => {
                    scoped = Some(ScopedView(view));
                    view == View::Masked
                }
                Err(error) => return error.into_response(),
            }
        }
        _ => false,
    };
    let viewer =
        (!masked && route == "/v1/cases/{id}" && !shown.is_empty()).then(|| principal.clone());
    request.extensions_mut().insert(principal);
    if let Some(scoped) = scoped {
        request.extensions_mut().insert(scoped);
    }
    let response = next.run(request).await;
    if let Some(viewer) = viewer
        && response.status().is_success()
    {
        // A case shown in full with personal data in its members' text: recorded.
        let detail = super::privacy::shown_at("GET /v1/cases/{id}");
        if let Err(error) = super::privacy::record_view(&state, &viewer, shown, detail).await {
            return error.into_response();
        }
    }
    if masked {
        super::privacy::mask_answer(response).await
    } else {
        response
    }
}

fn token_refused(message: &str) -> ApiError {
    ApiError::new(ErrorCode::TokenInvalid, message)
}

async fn resolve(
    state: &AppState,
    headers: &header::HeaderMap,
    method: &Method,
) -> Result<Principal, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = bearer else {
        return match super::session::resolve_session(state, headers, method).await? {
            Some(principal) => Ok(principal),
            None => open_or_refuse(state).await,
        };
    };
    if let Some((id, secret)) = secrets::split_token(presented) {
        return user_token(state, id, secret).await;
    }
    let service = state
        .api_tokens
        .iter()
        .find(|t| constant_time_eq(t.token.as_bytes(), presented.as_bytes()));
    match service {
        Some(token) => Ok(Principal {
            actor: Actor::Service(token.env.clone()),
            roles: vec![state.config.api.service_role],
            queues: Vec::new(),
            via: Via::Service,
        }),
        None => Err(token_refused("the bearer token is not valid")),
    }
}

/// No credentials: open only while nothing could authenticate and the listener is loopback.
async fn open_or_refuse(state: &AppState) -> Result<Principal, ApiError> {
    let loopback = state.config.listen.ip().is_loopback();
    if loopback && state.api_tokens.is_empty() {
        let users = state
            .store
            .user_count()
            .await
            .map_err(|e| ApiError::internal("counting users", &e))?;
        if users == 0 {
            return Ok(Principal {
                actor: Actor::Open,
                roles: vec![Role::Admin],
                queues: Vec::new(),
                via: Via::Open,
            });
        }
    }
    Err(ApiError::new(
        ErrorCode::AuthenticationRequired,
        "sign in: send `Authorization: Bearer <token>` (an admin creates one with \
         `complaint-gateway token create --user NAME --name LABEL`)",
    ))
}

async fn user_token(state: &AppState, id: &str, secret: &str) -> Result<Principal, ApiError> {
    let store = &state.store;
    let token = store
        .token(id)
        .await
        .map_err(|e| ApiError::internal("reading a token", &e))?
        .ok_or_else(|| token_refused("the bearer token is not valid"))?;
    if token.revoked_at.is_some() {
        return Err(token_refused("the token was revoked"));
    }
    let now = Utc::now();
    if let Some(expires_at) = &token.expires_at
        && DateTime::parse_from_rfc3339(expires_at).is_ok_and(|t| t <= now)
    {
        return Err(token_refused("the token has expired"));
    }
    if !state.auth.verified.verify(id, secret, &token.hash).await {
        return Err(token_refused("the bearer token is not valid"));
    }
    let user = store
        .user(&token.user)
        .await
        .map_err(|e| ApiError::internal("reading a user", &e))?
        .filter(|u| !u.disabled)
        .ok_or_else(|| token_refused("the token's account is disabled"))?;
    if state.auth.due_for_record(id) {
        record_use(state, id, &user.name, now);
    }
    Ok(Principal {
        actor: Actor::User(user.name),
        roles: user.roles.iter().filter_map(|r| r.parse().ok()).collect(),
        queues: user.queues,
        via: Via::Token(id.to_string()),
    })
}

/// Writes a token's use down (its `last_used_at`, and an audit entry through the group
/// commit) without holding the request up.
fn record_use(state: &AppState, id: &str, user: &str, now: DateTime<Utc>) {
    let (store, id, user) = (state.store.clone(), id.to_string(), user.to_string());
    tokio::spawn(async move {
        let at = format_utc(now);
        let entry = NewAuditEvent {
            at: at.clone(),
            actor: user,
            action: "token.use".into(),
            case_id: None,
            complaint_ids: Vec::new(),
            detail: json!({"token": id}).to_string(),
        };
        let batch = WriteBatch {
            audit: vec![entry],
            ..WriteBatch::default()
        };
        let recorded = async {
            store.submit(batch).await?;
            let mut tx = store.begin_decision().await?;
            tx.touch_token(&id, &at).await?;
            tx.commit().await
        };
        if let Err(error) = recorded.await {
            tracing::warn!(%error, token = %id, "could not record a token's use");
        }
    });
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Principal {
    /// An audit entry of a decision this caller made.
    pub fn decision(
        &self,
        action: &str,
        case_id: Option<&str>,
        detail: serde_json::Value,
    ) -> NewAuditEvent {
        NewAuditEvent {
            at: format_utc(Utc::now()),
            actor: self.actor.to_string(),
            action: action.into(),
            case_id: case_id.map(str::to_string),
            complaint_ids: Vec::new(),
            detail: detail.to_string(),
        }
    }
}

/// The answer's note on request fields that are read no more (`by`, `corrected_by`, …: a
/// decision is recorded under the authenticated caller): a `Deprecation` header and a
/// `Warning` naming the fields, when any was sent.
pub fn ignored_fields_note(sent: &[&str]) -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    if sent.is_empty() {
        return headers;
    }
    let note = format!(
        "299 complaint-gateway \"ignored: {}; decisions are recorded under the authenticated \
         caller, and the field will be refused in a later release\"",
        sent.join(", ")
    );
    headers.insert("deprecation", axum::http::HeaderValue::from_static("true"));
    if let Ok(value) = axum::http::HeaderValue::from_str(&note) {
        headers.insert(header::WARNING, value);
    }
    headers
}

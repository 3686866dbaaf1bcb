//! Browser sessions: `POST /v1/session` (login) and `DELETE /v1/session` (logout), and how a
//! request carrying the session cookie is recognised ([`resolve_session`]).
//!
//! - The cookie (`cg_session`) is `HttpOnly; SameSite=Strict; Path=/` (and `Secure` with
//!   `api.cookie_secure`); the store keeps only the SHA-256 of its value.
//! - A session ends after `api.session_idle_minutes` without a request and
//!   `api.session_max_hours` after login; logout ends it at once.
//! - Every state-changing request made with the cookie carries the session's CSRF token in
//!   `X-CSRF-Token` (given in the login answer); without it: 403 `csrf_invalid`.
//! - Logins are limited per account name and per client address (429 `too_many_logins` with
//!   `Retry-After`); `api.lock_after_failures` consecutive failures lock the account until an
//!   admin runs `complaint-gateway user unlock NAME`. An unknown name and a wrong password get
//!   the same answer, after the same work.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppState;
use super::auth::{Principal, Via};
use super::error::{ApiError, ErrorCode};
use super::extract::{ClientAddr, Json};
use crate::people::{Actor, secrets};
use crate::store::audit::NewAuditEvent;
use crate::store::people::SessionRecord;
use crate::store::{WriteBatch, format_utc};

/// The session cookie's name.
pub const COOKIE: &str = "cg_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Length of session ids and CSRF tokens.
const SECRET_CHARS: usize = 32;
/// How often a session's last-seen time is written (its idle end is this precise).
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// Login attempts per account name and per client address.
pub struct LoginLimits {
    by_user: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl LoginLimits {
    pub fn new(per_minute: u32) -> LoginLimits {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        LoginLimits {
            by_user: DefaultKeyedRateLimiter::keyed(quota),
            by_address: DefaultKeyedRateLimiter::keyed(quota),
        }
    }

    /// Takes one attempt; `Err` with the wait when the name or the address has used its
    /// allowance.
    fn check(&self, user: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        let by_user = self
            .by_user
            .check_key(&user.to_string())
            .err()
            .map(|n| n.wait_time_from(now));
        let by_address = address.and_then(|a| {
            self.by_address
                .check_key(&a)
                .err()
                .map(|n| n.wait_time_from(now))
        });
        match by_user.max(by_address) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }
}

/// A login.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub name: String,
    pub password: String,
}

/// A new session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub user: String,
    pub roles: Vec<String>,
    /// Send it as `X-CSRF-Token` with every state-changing request.
    pub csrf_token: String,
    /// The absolute end of the session.
    pub expires_at: String,
    /// Minutes without a request after which the session ends.
    pub idle_minutes: u32,
}

fn event(actor: &str, action: &str, detail: serde_json::Value) -> NewAuditEvent {
    NewAuditEvent {
        at: format_utc(Utc::now()),
        actor: actor.into(),
        action: action.into(),
        case_id: None,
        complaint_ids: Vec::new(),
        detail: detail.to_string(),
    }
}

fn failed() -> ApiError {
    ApiError::new(ErrorCode::LoginFailed, "wrong name or password")
}

fn db(error: crate::store::StoreError) -> ApiError {
    ApiError::internal("session", &error)
}

/// Signs in with name and password; sets the session cookie.
#[utoipa::path(
    post,
    path = "/v1/session",
    tag = "people",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the cookie is set", body = SessionView),
        (status = 401, description = "Wrong name or password", body = super::error::ErrorBody),
        (status = 403, description = "The account is locked", body = super::error::ErrorBody),
        (status = 429, description = "Too many attempts", body = super::error::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let signed_in = sign_in(&state, &request.name, request.password, address).await?;
    let mut response = axum::Json(signed_in.view).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, signed_in.cookie);
    Ok(response)
}

/// A session just begun: its `Set-Cookie` value and what the login answer shows.
pub struct SignedIn {
    pub cookie: HeaderValue,
    pub view: SessionView,
}

/// Signs `name` in with `password` from `address`: the login limits, the lock after repeated
/// failures, the same work for an unknown name, the audit entries and the new session. The one
/// login of every surface (`POST /v1/session`, the console's form).
pub async fn sign_in(
    state: &AppState,
    name: &str,
    password: String,
    address: Option<IpAddr>,
) -> Result<SignedIn, ApiError> {
    let name = name.trim().to_string();
    if let Err(wait) = state.login_limits.check(&name, address) {
        return Err(ApiError::new(
            ErrorCode::TooManyLogins,
            "too many login attempts; wait before trying again",
        )
        .retry_after(wait));
    }
    let user = state.store.user(&name).await.map_err(db)?;
    let hash = user
        .as_ref()
        .filter(|u| !u.disabled)
        .and_then(|u| u.password_hash.clone());
    // The same argon2 work whether or not the account exists.
    let valid = tokio::task::spawn_blocking(move || match hash {
        Some(hash) => secrets::verify_secret(&password, &hash),
        None => {
            secrets::verify_secret(
                &password,
                DUMMY_HASH.get_or_init(|| secrets::hash_secret("x")),
            );
            false
        }
    })
    .await
    .unwrap_or(false);
    let Some(user) = user.filter(|u| !u.disabled) else {
        let entry = event(
            &name,
            "login_failed",
            json!({"reason": "no such active account"}),
        );
        state
            .store
            .submit(WriteBatch {
                audit: vec![entry],
                ..WriteBatch::default()
            })
            .await
            .map_err(db)?;
        return Err(failed());
    };
    let config = &state.config.api;
    let locked_message = format!(
        "the account is locked after {} failed logins; an admin unlocks it with \
         `complaint-gateway user unlock {name}`",
        config.lock_after_failures
    );
    let mut tx = state.store.begin_decision().await.map_err(db)?;
    if user.locked_at.is_some() {
        tx.append_audit(&[event(&name, "login_refused", json!({"reason": "locked"}))])
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        return Err(ApiError::new(ErrorCode::AccountLocked, locked_message));
    }
    let now = Utc::now();
    if !valid {
        let (count, locked) = tx
            .record_failed_login(&name, config.lock_after_failures.into(), &format_utc(now))
            .await
            .map_err(db)?
            .unwrap_or((0, false));
        let entry = event(
            &name,
            "login_failed",
            json!({"failures": count, "locked": locked}),
        );
        tx.append_audit(&[entry]).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        return Err(if locked {
            ApiError::new(ErrorCode::AccountLocked, locked_message)
        } else {
            failed()
        });
    }
    let id = secrets::random_text(SECRET_CHARS);
    let expires_at = now + chrono::Duration::hours(config.session_max_hours.into());
    let session = SessionRecord {
        id_hash: secrets::session_hash(&id),
        user: name.clone(),
        csrf: secrets::random_text(SECRET_CHARS),
        created_at: format_utc(now),
        last_seen_at: format_utc(now),
        expires_at: format_utc(expires_at),
    };
    tx.clear_failed_logins(&name).await.map_err(db)?;
    tx.add_session(&session).await.map_err(db)?;
    tx.append_audit(&[event(&name, "login", json!({}))])
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        u64::from(config.session_max_hours) * 3600,
        if config.cookie_secure { "; Secure" } else { "" }
    );
    let cookie =
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal("session cookie", &e))?;
    let view = SessionView {
        user: name,
        roles: user.roles,
        csrf_token: session.csrf,
        expires_at: session.expires_at,
        idle_minutes: config.session_idle_minutes,
    };
    Ok(SignedIn { cookie, view })
}

static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Signs out: the session ends at once and the cookie is cleared.
#[utoipa::path(
    delete,
    path = "/v1/session",
    tag = "people",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No session", body = super::error::ErrorBody),
        (status = 403, description = "Missing CSRF token", body = super::error::ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let principal = match resolve_session(&state, &headers, &Method::DELETE).await? {
        Some(principal) => principal,
        None => {
            return Err(ApiError::new(
                ErrorCode::AuthenticationRequired,
                "no session to end",
            ));
        }
    };
    let clear = sign_out(&state, &principal, &headers).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, clear);
    Ok(response)
}

/// Ends the session of `headers`' cookie (signed in as `principal`, its CSRF token already
/// checked) with its audit entry; answers the `Set-Cookie` value that clears the cookie. The
/// one logout of every surface.
pub async fn sign_out(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
) -> Result<HeaderValue, ApiError> {
    let id = session_cookie(headers).unwrap_or_default();
    let mut tx = state.store.begin_decision().await.map_err(db)?;
    tx.delete_session(&secrets::session_hash(id))
        .await
        .map_err(db)?;
    tx.append_audit(&[event(&principal.actor.to_string(), "logout", json!({}))])
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    let clear = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    HeaderValue::from_str(&clear).map_err(|e| ApiError::internal("session cookie", &e))
}

/// The session cookie's value, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

fn expired() -> ApiError {
    ApiError::new(
        ErrorCode::SessionExpired,
        "the session has ended; sign in again (POST /v1/session)",
    )
}

/// The caller of a request that carries the session cookie: `Ok(None)` without the cookie.
/// A state-changing request must carry the session's CSRF token in [`CSRF_HEADER`].
pub async fn resolve_session(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Option<Principal>, ApiError> {
    let Some(session) = current_session(state, headers).await? else {
        return Ok(None);
    };
    let changes_state = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !session.csrf_matches(sent) {
            return Err(ApiError::new(
                ErrorCode::CsrfInvalid,
                format!(
                    "a change made with the session cookie needs the `{CSRF_HEADER}` header from the login answer"
                ),
            ));
        }
    }
    Ok(Some(session.principal))
}

/// A signed-in session: its caller and its CSRF token.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub principal: Principal,
    /// What every change made with this session must carry (a header on the API, a hidden
    /// field in the console's forms).
    pub csrf: String,
}

impl CurrentSession {
    /// Whether `sent` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, sent: &str) -> bool {
        super::auth::constant_time_eq(sent.as_bytes(), self.csrf.as_bytes())
    }
}

/// The session of the request's cookie, still running, of an enabled account: `Ok(None)`
/// without the cookie, `session_expired` when it ended. Records the activity (at most once a
/// minute). The CSRF token is the caller's to check ([`CurrentSession::csrf_matches`]).
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, ApiError> {
    let Some(id) = session_cookie(headers) else {
        return Ok(None);
    };
    let id_hash = secrets::session_hash(id);
    let session = state
        .store
        .session(&id_hash)
        .await
        .map_err(db)?
        .ok_or_else(expired)?;
    let now = Utc::now();
    let at = |t: &str| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc));
    let idle = chrono::Duration::minutes(state.config.api.session_idle_minutes.into());
    let last_seen = at(&session.last_seen_at).map_err(|_| expired())?;
    if at(&session.expires_at).is_ok_and(|end| end <= now) || last_seen + idle <= now {
        return Err(expired());
    }
    let user = state
        .store
        .user(&session.user)
        .await
        .map_err(db)?
        .filter(|u| !u.disabled)
        .ok_or_else(expired)?;
    if now - last_seen >= TOUCH_EVERY {
        let store = state.store.clone();
        tokio::spawn(async move {
            let touched = async {
                let mut tx = store.begin_decision().await?;
                tx.touch_session(&id_hash, &format_utc(now)).await?;
                tx.commit().await
            };
            if let Err(error) = touched.await {
                tracing::warn!(%error, "could not record a session's activity");
            }
        });
    }
    Ok(Some(CurrentSession {
        principal: Principal {
            actor: Actor::User(user.name),
            roles: user.roles.iter().filter_map(|r| r.parse().ok()).collect(),
            queues: user.queues,
            via: Via::Session,
        },
        csrf: session.csrf,
    }))
}

/// This module's routes (outside the staff layer: login needs no caller).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/v1/session", axum::routing::post(login).delete(logout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            "theme=dark; cg_session=abc123".parse().unwrap(),
        );
        assert_eq!(session_cookie(&headers), Some("abc123"));
        let mut other = HeaderMap::new();
        other.append(
            header::COOKIE,
            "cg_sessionx=1; cg_session=".parse().unwrap(),
        );
        assert_eq!(session_cookie(&other), None);
    }

    #[test]
    fn login_limits_count_per_name_and_per_address() {
        let limits = LoginLimits::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limits.check("wang", Some(a)).is_ok());
        assert!(limits.check("wang", Some(b)).is_ok());
        assert!(
            limits.check("wang", Some(b)).is_err(),
            "the name's allowance is used"
        );
        assert!(limits.check("li", Some(a)).is_ok());
        assert!(
            limits.check("zhao", Some(a)).is_err(),
            "the address's allowance is used"
        );
    }
}

//! The HTTP API: one router built from the application state (STYLE #6), so tests drive it with
//! `tower::ServiceExt::oneshot` or over a real socket.
//!
//! - [`error`]: the error type, its JSON shape and the code table; the safety net that puts
//!   every other 4xx/5xx answer into the shape.
//! - [`extract`]: query, path and JSON extractors whose rejections are in the shape.
//! - [`params`]: query parameters checked against the OpenAPI document.
//! - [`cases`]: cases, staff merge / split / status, hot issues.
//! - [`complaints`]: one complaint with revisions and raw payload.
//! - [`search`]: full-text search.
//! - [`dead_letters`]: list, inspect, replay.
//! - [`sources`]: the health of every pull source and webhook sender.
//! - [`classification`]: a complaint's category, tags and route with why; corrections; queues.
//! - [`deadlines`]: case deadlines (read, extend, answer) and the notification outbox.
//! - [`people`]: who am I, the audit record, a case's decisions.
//! - [`accountability`]: 责任追究 records of substantiated cases, and a period's list.
//! - [`reports`]: the monthly report (HTML or CSV).
//! - [`webhook`]: intake pushed by channel operators.
//! - [`open311`]: the Open311 GeoReport v2 server (its own keys, its own error shape).
//!
//! Each module serves its own routes (`router()`); [`router`] merges them under the shared
//! layers.
//!
//! Staff endpoints (`/v1/*` except webhooks) go through [`auth`]: the caller is authenticated
//! and the route's permission checked in one place; webhooks authenticate by signature; health
//! and metrics are open.

pub mod accountability;
pub mod answers;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod classification;
pub mod codes;
pub mod complaints;
pub mod dead_letters;
pub mod deadlines;
pub mod error;
pub mod extensions;
pub mod extract;
pub mod follow_ups;
pub mod open311;
pub mod params;
pub mod people;
pub mod privacy;
pub mod reports;
pub mod search;
pub mod session;
pub mod sources;
mod state;
pub mod stats;
pub mod subjects;
pub mod webhook;
pub mod workflow;

pub use state::AppState;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use utoipa::OpenApi;

use crate::http::min_rate::MinRateBody;
use error::ErrorCode;

/// The OpenAPI document served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "complaint-gateway",
        description = "Durable intake, search and triage of citizen complaints from every channel."
    ),
    paths(
        webhook::receive,
        search::search,
        complaints::get_complaint,
        cases::list,
        cases::get_one,
        cases::merge_cases,
        cases::split_case,
        cases::status,
        cases::hot,
        subjects::name_subject,
        subjects::remove_subject,
        dead_letters::list,
        dead_letters::get_one,
        dead_letters::replay_one,
        sources::list,
        sources::get_one,
        classification::get_classification,
        classification::correct_classification,
        classification::list_queues,
        deadlines::get_deadline,
        deadlines::extend,
        deadlines::answer,
        deadlines::list_outbox,
        people::me,
        people::audit,
        people::case_history,
        workflow::transition,
        workflow::workflow,
        workflow::workload,
        follow_ups::record_follow_up,
        follow_ups::list_follow_ups,
        stats::stats,
        accountability::record_accountability,
        accountability::list_case_accountability,
        accountability::edit_accountability,
        accountability::withdraw_accountability,
        accountability::list_accountability,
        reports::monthly,
        extensions::ask_extension,
        extensions::approve_extension,
        extensions::deny_extension,
        calendar::list,
        answers::replies,
        answers::reply_sent,
        answers::callbacks,
        answers::retry_callback,
        calendar::get_year,
        calendar::put_year,
        session::login,
        session::logout,
        open311::get_root,
        open311::post_request,
        open311::get_request,
        open311::get_token,
        healthz,
        readyz,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// The two ways a staff caller authenticates, declared so Swagger UI can send a token: a
/// bearer token (`cgt_…` or a service token) or the session cookie (with `X-CSRF-Token` on
/// changes). Applied to every staff route; webhooks, sessions and health stay without.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`cgt_…` from `complaint-gateway token create`, or a token of `api.token_envs`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                session::COOKIE,
                "set by POST /v1/session; changes also need the X-CSRF-Token header",
            ))),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "api_key",
                "an Open311 client's key, from `complaint-gateway open311 client add` (the POST's form may carry it instead)",
            ))),
        );
        let staff = |path: &str| auth::ROUTES.iter().any(|(_, route, _)| *route == path);
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path.starts_with("/open311/") {
                for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                    operation.security = Some(vec![SecurityRequirement::new(
                        "api_key",
                        Vec::<String>::new(),
                    )]);
                }
                continue;
            }
            if !staff(path) {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                operation.security = Some(vec![
                    SecurityRequirement::new("bearer", Vec::<String>::new()),
                    SecurityRequirement::new("session", Vec::<String>::new()),
                ]);
            }
        }
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let http = state.config.http.clone();
    let min_rate = http.min_rate();
    let staff = Router::new()
        .merge(search::router())
        .merge(complaints::router())
        .merge(classification::router())
        .merge(cases::router())
        .merge(dead_letters::router())
        .merge(sources::router())
        .merge(deadlines::router())
        .merge(people::router())
        .merge(workflow::router())
        .merge(follow_ups::router())
        .merge(stats::router())
        .merge(accountability::router())
        .merge(reports::router())
        .merge(extensions::router())
        .merge(calendar::router())
        .merge(answers::router())
        .merge(subjects::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    Router::new()
        .merge(webhook::router())
        .merge(session::router())
        .merge(staff)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
        .route_layer(axum::middleware::from_fn_with_state(
            query_rules(),
            params::check_query,
        ))
        // Open311 takes the spec's parameters (its api_key above all), checked by its handlers.
        .merge(open311::router())
        // The console: HTML pages with their own parameters, sessions and error pages.
        .merge(crate::console::router(state.clone()))
        .fallback(error::no_route)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            http.request_timeout(),
        ))
        .layer(axum::middleware::map_request(
            move |request: Request| async move {
                request.map(|body| Body::new(MinRateBody::new(body, min_rate)))
            },
        ))
        // Outside everything above, so their answers are shaped too.
        .layer(axum::middleware::map_response(error::shape_errors))
        .layer(axum::middleware::from_fn(error::log_server_errors))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of a request: method, path and the *names* of its query parameters. Values stay
/// out of the logs: a search can hold a complainant's name or phone number.
fn request_span(request: &Request) -> tracing::Span {
    let names: Vec<&str> = request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .filter(|name| !name.is_empty())
        .collect();
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        params = %names.join(","),
    )
}

/// The documented query parameters of every route.
fn query_rules() -> std::sync::Arc<params::QueryRules> {
    let document = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document is JSON");
    std::sync::Arc::new(params::QueryRules::from_openapi(&document))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// Readiness: the store answers and the search index is within reach of the store.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses((status = 200, description = "Ready"), (status = 503, description = "Not ready; see body"))
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store_seq = match state.store.max_seq().await {
        Ok(seq) => seq,
        Err(error) => {
            tracing::warn!(%error, "readiness: store unavailable");
            return (
                ErrorCode::Unavailable.status(),
                axum::Json(json!({
                    "status": "store unavailable",
                    "error": {"code": ErrorCode::Unavailable.as_str(), "message": "the store does not answer"},
                })),
            )
                .into_response();
        }
    };
    let index_seq = state.index.progress().map(|p| p.seq).unwrap_or(0);
    let ready = state.index_ready.load(std::sync::atomic::Ordering::Relaxed);
    let mut body = json!({
        "status": if ready { "ready" } else { "indexing" },
        "store_seq": store_seq,
        "index_seq": index_seq,
        "index_lag": (store_seq - index_seq).max(0),
    });
    if !ready {
        // Every 5xx carries the error shape; the progress fields stay beside it.
        body["error"] = json!({"code": ErrorCode::NotReady.as_str(), "message": "the search index is catching up with the store"});
    }
    let status = if ready {
        StatusCode::OK
    } else {
        ErrorCode::NotReady.status()
    };
    (status, axum::Json(body)).into_response()
}

/// Prometheus text. The lag gauges are measured at scrape time, so a background worker that
/// yields to intake under a burst does not leave a stale value behind.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::telemetry::engine_memory(crate::store::engine_memory_bytes());
    crate::telemetry::heap_in_use();
    if let Ok(stored) = state.store.max_seq().await {
        let index = state.index.clone();
        if let Ok(Ok(progress)) = tokio::task::spawn_blocking(move || index.progress()).await {
            crate::telemetry::index_lag(stored.saturating_sub(progress.seq));
        }
        if let Ok(cursor) = crate::pipeline::Pipeline::cursor(&state.store).await {
            crate::telemetry::pipeline_lag(stored.saturating_sub(cursor));
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::prometheus().render(),
    )
}

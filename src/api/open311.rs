//! `/open311/v2/…`: the Open311 GeoReport v2 server's endpoints (mapping and rules in
//! [`crate::open311`]). Outside the staff permission table: every endpoint authenticates by
//! the client's `api_key` (query, or the POST's form), and a client reads only the requests it
//! filed. Errors are the spec's: `[{"code", "description"}]` or `<errors><error>…`, 400
//! (missing or invalid field), 403 (key), 404 (unknown request), 413 (body over
//! `open311.max_body_bytes`, refused before it is parsed), 415, 429 (with `Retry-After`), 503.

use std::net::IpAddr;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::AppState;
use super::extract::{ClientAddr, Path};
use crate::open311 as o311;
use crate::open311::filing::{FileError, Form};
use crate::open311::format::{Format, Node, render};
use crate::open311::requests::{Mapping, ServiceRequest};
use crate::store::StoreError;
use crate::store::open311::{Open311Client, Open311Filing};

/// The Open311 routes.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/open311/v2/{file}",
            axum::routing::get(get_root).post(post_request),
        )
        .route(
            "/open311/v2/requests/{file}",
            axum::routing::get(get_request),
        )
        .route("/open311/v2/tokens/{file}", axum::routing::get(get_token))
}

/// An answer in the spec's error shape.
#[derive(Debug)]
pub struct Open311Error {
    status: StatusCode,
    description: String,
    format: Format,
    retry_after_secs: Option<u64>,
}

impl Open311Error {
    fn new(status: StatusCode, format: Format, description: impl Into<String>) -> Open311Error {
        Open311Error {
            status,
            description: description.into(),
            format,
            retry_after_secs: None,
        }
    }

    fn store(format: Format, error: &StoreError) -> Open311Error {
        let mut answer = Open311Error::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format,
            "the gateway could not complete the request; retry later",
        );
        if error.is_full() {
            answer.retry_after_secs = Some(30);
            tracing::warn!(%error, "open311: the store is full");
        } else {
            tracing::error!(%error, "open311: store failure");
        }
        answer
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let body = render(
            self.format,
            "errors",
            &o311::errors(self.status.as_u16(), &self.description),
        );
        let mut response = answer(self.status, self.format, body);
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&secs.to_string()).expect("digits"),
            );
        }
        response
    }
}

fn answer(status: StatusCode, format: Format, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, format.content_type())],
        body,
    )
        .into_response()
}

fn ok(format: Format, root: &str, node: &Node) -> Response {
    answer(StatusCode::OK, format, render(format, root, node))
}

/// `name.json` / `name.xml`; an unknown extension is a 404 (in JSON).
fn split(file: &str) -> Result<(&str, Format), Open311Error> {
    Format::split(file).ok_or_else(|| {
        Open311Error::new(
            StatusCode::NOT_FOUND,
            Format::Json,
            format!("no resource `{file}`: name it with .json or .xml"),
        )
    })
}

/// The query's parameters, percent-decoded (strict UTF-8).
fn parameters(query: Option<&str>, format: Format) -> Result<Form, Open311Error> {
    Form::parse_query(query.unwrap_or(""))
        .map_err(|e| Open311Error::new(StatusCode::BAD_REQUEST, format, e.to_string()))
}

/// The parameters of the endpoints that take no filter.
const KEY_ONLY: &[&str] = &["api_key", "jurisdiction_id"];

/// Refuses a parameter the endpoint does not take (checked once the key is: a caller without
/// one learns nothing about the endpoint).
fn only(params: &Form, allowed: &[&str], format: Format) -> Result<(), Open311Error> {
    match params.names().find(|name| !allowed.contains(name)) {
        None => Ok(()),
        Some(name) => Err(Open311Error::new(
            StatusCode::BAD_REQUEST,
            format,
            format!(
                "unknown parameter `{name}`: this endpoint takes {}",
                allowed.join(", ")
            ),
        )),
    }
}

/// The client whose key this is, or the refusal (403; 429 once an address keeps presenting
/// bad keys, counted with the webhook's refusals).
async fn client(
    state: &AppState,
    key: Option<&str>,
    address: Option<IpAddr>,
    format: Format,
) -> Result<Open311Client, Open311Error> {
    let checked = state
        .open311
        .keys
        .check(&state.store, key)
        .await
        .map_err(|e| Open311Error::store(format, &e))?;
    checked.map_err(|refused| {
        if let Err(wait) = state.refusals.check("open311:keys", address) {
            return limited(format, wait, "too many refused requests");
        }
        Open311Error::new(StatusCode::FORBIDDEN, format, refused.to_string())
    })
}

fn limited(format: Format, wait: std::time::Duration, what: &str) -> Open311Error {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut error = Open311Error::new(
        StatusCode::TOO_MANY_REQUESTS,
        format,
        format!("{what}; retry after {secs} s"),
    );
    error.retry_after_secs = Some(secs);
    error
}

fn mapping(state: &AppState) -> Mapping<'_> {
    Mapping {
        routing: &state.routing,
        services: &state.open311.services,
        offset: state.config.parse_options().default_offset,
    }
}

/// What every GET endpoint does first: the query's parameters, the client its key names, and
/// no parameter outside `allowed` (checked once the key is).
async fn authenticated(
    state: &AppState,
    query: Option<&str>,
    address: Option<IpAddr>,
    format: Format,
    allowed: &[&str],
) -> Result<(Form, Open311Client), Open311Error> {
    let params = parameters(query, format)?;
    let me = client(state, params.get("api_key"), address, format).await?;
    only(&params, allowed, format)?;
    Ok((params, me))
}

/// One of the client's filings (as `found` read it) with its request as published: 404 with
/// `missing` for anyone else's, for a report and for a complaint gone.
async fn visible(
    state: &AppState,
    format: Format,
    found: Result<Option<Open311Filing>, StoreError>,
    missing: impl Fn() -> String,
) -> Result<(Open311Filing, ServiceRequest), Open311Error> {
    let db = |e: StoreError| Open311Error::store(format, &e);
    let not_found = || Open311Error::new(StatusCode::NOT_FOUND, format, missing());
    let filing = found.map_err(db)?.ok_or_else(not_found)?;
    let request = o311::requests::request(&state.store, &mapping(state), &filing)
        .await
        .map_err(db)?
        .ok_or_else(not_found)?;
    Ok((filing, request))
}

/// Open311 GeoReport v2: `discovery`, `services` or `requests`, as `.json` or `.xml`.
#[utoipa::path(
    get,
    path = "/open311/v2/{file}",
    tag = "open311",
    params(
        ("file" = String, Path, description = "`discovery`, `services` or `requests`, with `.json` or `.xml`"),
        ("api_key" = String, Query, description = "The client's key (`open311 client add`)"),
        ("jurisdiction_id" = Option<String>, Query, description = "Accepted and ignored"),
        ("service_request_id" = Option<String>, Query, description = "requests: a comma list of ids (the other filters then do not apply)"),
        ("service_code" = Option<String>, Query, description = "requests: a comma list of service codes"),
        ("start_date" = Option<String>, Query, description = "requests: RFC 3339; filed at or after"),
        ("end_date" = Option<String>, Query, description = "requests: RFC 3339; filed at or before (at most 90 days after start_date; the last 90 days by default)"),
        ("status" = Option<String>, Query, description = "requests: `open`, `closed` (comma list)"),
    ),
    responses(
        (status = 200, description = "The discovery document, the services, or the client's own requests (at most 1,000)"),
        (status = 400, description = "An invalid or unknown parameter: `[{code, description}]` / `<errors>`"),
        (status = 403, description = "No key, a wrong key or a disabled client"),
        (status = 404, description = "No such resource"),
    )
)]
pub async fn get_root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
) -> Result<Response, Open311Error> {
    let (name, format) = split(&file)?;
    const FILTERS: &[&str] = &[
        "api_key",
        "jurisdiction_id",
        "service_request_id",
        "service_code",
        "start_date",
        "end_date",
        "status",
    ];
    let allowed = match name {
        "discovery" | "services" => KEY_ONLY,
        "requests" => FILTERS,
        _ => {
            return Err(Open311Error::new(
                StatusCode::NOT_FOUND,
                format,
                format!("no resource `{name}`"),
            ));
        }
    };
    let (params, me) = authenticated(&state, query.as_deref(), address, format, allowed).await?;
    match name {
        "discovery" => {
            let settings = &state.config.open311;
            let url = settings.base_url.clone().unwrap_or_else(|| {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}/open311/v2")
            });
            Ok(ok(
                format,
                "discovery",
                &o311::discovery(&url, &settings.contact),
            ))
        }
        "services" => Ok(ok(
            format,
            "services",
            &o311::service_list(&state.open311.services),
        )),
        _ => list_requests(&state, &me, &params, format).await,
    }
}

/// `GET requests`: the client's own requests, by ids or by the filters.
async fn list_requests(
    state: &AppState,
    me: &Open311Client,
    params: &Form,
    format: Format,
) -> Result<Response, Open311Error> {
    let query = o311::query::list_query(params, Utc::now())
        .map_err(|why| Open311Error::new(StatusCode::BAD_REQUEST, format, why))?;
    let found = o311::query::requests(&state.store, &mapping(state), &me.name, &query)
        .await
        .map_err(|e| Open311Error::store(format, &e))?;
    let list = Node::List(found.iter().map(o311::request).collect());
    Ok(ok(format, "service_requests", &list))
}

/// One of the client's requests (404 for anyone else's, and for a report).
#[utoipa::path(
    get,
    path = "/open311/v2/requests/{file}",
    tag = "open311",
    params(
        ("file" = String, Path, description = "The service_request_id with `.json` or `.xml`"),
        ("api_key" = String, Query, description = "The client's key"),
    ),
    responses(
        (status = 200, description = "A list holding the request"),
        (status = 403, description = "No key, a wrong key or a disabled client"),
        (status = 404, description = "Not one of the client's requests, or a report"),
    )
)]
pub async fn get_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(address): ClientAddr,
) -> Result<Response, Open311Error> {
    let (id, format) = split(&file)?;
    let (_, me) = authenticated(&state, query.as_deref(), address, format, KEY_ONLY).await?;
    let filing = state.store.open311_filing(&me.name, id).await;
    let (_, request) = visible(&state, format, filing, || {
        format!("no service request `{id}`")
    })
    .await?;
    Ok(ok(
        format,
        "service_requests",
        &Node::List(vec![o311::request(&request)]),
    ))
}

/// The request a POST's token stands for.
#[utoipa::path(
    get,
    path = "/open311/v2/tokens/{file}",
    tag = "open311",
    params(
        ("file" = String, Path, description = "The token with `.json` or `.xml`"),
        ("api_key" = String, Query, description = "The client's key"),
    ),
    responses(
        (status = 200, description = "`service_request_id` and `token`"),
        (status = 403, description = "No key, a wrong key or a disabled client"),
        (status = 404, description = "No such token of the client's"),
    )
)]
pub async fn get_token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(address): ClientAddr,
) -> Result<Response, Open311Error> {
    let (token, format) = split(&file)?;
    let (_, me) = authenticated(&state, query.as_deref(), address, format, KEY_ONLY).await?;
    let filing = state.store.open311_filing_by_token(&me.name, token).await;
    let (filing, _) = visible(&state, format, filing, || format!("no token `{token}`")).await?;
    Ok(ok(
        format,
        "service_requests",
        &o311::token(&filing.complaint_id, &filing.token),
    ))
}

/// Files a complaint (`requests.json` / `requests.xml`, a form).
#[utoipa::path(
    post,
    path = "/open311/v2/{file}",
    tag = "open311",
    params(("file" = String, Path, description = "`requests.json` or `requests.xml`")),
    request_body(
        content = String,
        description = "`application/x-www-form-urlencoded`: api_key, service_code and description required; lat and long, address_string, address_id, email, first_name, last_name, phone, media_url, device_id, account_id, attribute[CODE] optional. At most `open311.max_body_bytes` (64 KiB).",
        content_type = "application/x-www-form-urlencoded"
    ),
    responses(
        (status = 201, description = "Filed: `service_request_id` and `token`"),
        (status = 200, description = "The same request came again the same day: the earlier one"),
        (status = 400, description = "A field missing or invalid"),
        (status = 403, description = "No key, a wrong key or a disabled client"),
        (status = 413, description = "The body is over the cap"),
        (status = 415, description = "Not a form"),
        (status = 429, description = "Over the POST rate of the client or the address; see Retry-After"),
        (status = 503, description = "The store cannot take it now; retry"),
    )
)]
///
/// The declared length is checked before a byte is read
/// and the body is read against the cap (413 either way), then the form is parsed, the key
/// checked, the rate counted, the fields checked, and the complaint stored through intake.
pub async fn post_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Open311Error> {
    let (name, format) = split(&file)?;
    if name != "requests" {
        return Err(Open311Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format,
            format!(
                "`{name}` is read with GET; requests are filed with POST requests.{{json,xml}}"
            ),
        ));
    }
    let max = state.config.open311.max_body_bytes;
    let too_large = || {
        Open311Error::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format,
            format!("the body is larger than {max} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let bytes = match super::webhook::read_body(body, declared, max).await {
        Ok(bytes) => bytes,
        Err(error) if error.status == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
        Err(error) => return Err(Open311Error::new(error.status, format, error.message)),
    };
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form_type {
        return Err(Open311Error::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format,
            "send the request as application/x-www-form-urlencoded",
        ));
    }
    let bad = |why: String| Open311Error::new(StatusCode::BAD_REQUEST, format, why);
    let form = Form::parse(&bytes).map_err(|e| bad(e.to_string()))?;
    let query = parameters(query.as_deref(), format)?;
    let key = form.get("api_key").or(query.get("api_key"));
    let me = client(&state, key, address, format).await?;
    only(&query, KEY_ONLY, format)?;
    if let Err(wait) = state.open311.limits.check(&me.name, address) {
        return Err(limited(format, wait, "too many requests filed"));
    }
    let filed = o311::filing::file(
        &state.store,
        &state.config,
        &state.open311.services,
        &me.name,
        &form,
    )
    .await
    .map_err(|error| match error {
        FileError::Form(error) => bad(error.to_string()),
        FileError::Refused {
            reason,
            dead_letter_id,
        } => bad(format!("{reason} (kept as dead letter {dead_letter_id})")),
        FileError::Store(error) => Open311Error::store(format, &error),
    })?;
    let status = if filed.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(answer(
        status,
        format,
        render(format, "service_requests", &o311::filed(&filed)),
    ))
}

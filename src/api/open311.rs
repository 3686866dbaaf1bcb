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
use chrono::{DateTime, Duration, Utc};

use super::AppState;
use super::extract::{ClientAddr, Path};
use crate::open311::filing::{FileError, Form};
use crate::open311::format::{Format, Node, render};
use crate::open311::requests::Mapping;
use crate::open311::{self as o311, MAX_RESULTS, MAX_WINDOW_DAYS};
use crate::store::StoreError;
use crate::store::open311::{FilingFilter, Open311Client};

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
        if let Err(wait) = state.refusals.check("open311", address) {
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

/// `GET discovery`, `services` and `requests` (`.json` / `.xml`).
async fn get_root(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
) -> Result<Response, Open311Error> {
    let (name, format) = split(&file)?;
    const COMMON: &[&str] = &["api_key", "jurisdiction_id"];
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
        "discovery" | "services" => COMMON,
        "requests" => FILTERS,
        _ => {
            return Err(Open311Error::new(
                StatusCode::NOT_FOUND,
                format,
                format!("no resource `{name}`"),
            ));
        }
    };
    let params = parameters(query.as_deref(), format)?;
    let me = client(&state, params.get("api_key"), address, format).await?;
    only(&params, allowed, format)?;
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
    let bad = |why: String| Open311Error::new(StatusCode::BAD_REQUEST, format, why);
    let db = |e: StoreError| Open311Error::store(format, &e);
    let list = |name: &str| -> Vec<String> {
        params
            .get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mapping = mapping(state);
    let mut found = Vec::new();
    let ids = list("service_request_id");
    if !ids.is_empty() {
        if ids.len() > MAX_RESULTS {
            return Err(bad(format!(
                "at most {MAX_RESULTS} service_request_id values"
            )));
        }
        // With ids, the other filters do not apply (the spec's rule).
        for id in &ids {
            if let Some(filing) = state.store.open311_filing(&me.name, id).await.map_err(db)?
                && let Some(request) = o311::requests::request(&state.store, &mapping, &filing)
                    .await
                    .map_err(db)?
            {
                found.push(o311::request(&request));
            }
        }
        return Ok(ok(format, "service_requests", &Node::List(found)));
    }
    let statuses = list("status");
    if let Some(other) = statuses
        .iter()
        .find(|s| !["open", "closed"].contains(&s.as_str()))
    {
        return Err(bad(format!("status `{other}` is not one of open, closed")));
    }
    let date = |name: &str| -> Result<Option<DateTime<Utc>>, Open311Error> {
        params
            .get(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| bad(format!("{name} `{v}` is not an RFC 3339 date and time")))
            })
            .transpose()
    };
    let window = Duration::days(MAX_WINDOW_DAYS);
    let now = Utc::now();
    let (start, end) = match (date("start_date")?, date("end_date")?) {
        (Some(start), Some(end)) => (start, end),
        (Some(start), None) => (start, (start + window).min(now)),
        (None, Some(end)) => (end - window, end),
        (None, None) => (now - window, now),
    };
    if end < start {
        return Err(bad("end_date is before start_date".into()));
    }
    if end - start > window {
        return Err(bad(format!(
            "start_date and end_date may span at most {MAX_WINDOW_DAYS} days"
        )));
    }
    let codes = list("service_code");
    let one_code = (codes.len() == 1).then(|| codes[0].as_str());
    let exact = statuses.is_empty() && codes.len() <= 1;
    let filter = FilingFilter {
        client: &me.name,
        service_code: one_code,
        from_ms: start.timestamp_millis(),
        to_ms: end.timestamp_millis(),
        limit: if exact { MAX_RESULTS } else { 10 * MAX_RESULTS } as i64,
    };
    let filings = state.store.open311_filings(&filter).await.map_err(db)?;
    for filing in filings {
        if found.len() == MAX_RESULTS {
            break;
        }
        if !codes.is_empty() && !codes.contains(&filing.service_code) {
            continue;
        }
        let Some(request) = o311::requests::request(&state.store, &mapping, &filing)
            .await
            .map_err(db)?
        else {
            continue;
        };
        if statuses.is_empty() || statuses.iter().any(|s| s == request.status) {
            found.push(o311::request(&request));
        }
    }
    Ok(ok(format, "service_requests", &Node::List(found)))
}

/// `GET requests/{id}`: one of the client's requests (404 for anyone else's, and for a
/// report).
async fn get_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(address): ClientAddr,
) -> Result<Response, Open311Error> {
    let (id, format) = split(&file)?;
    let params = parameters(query.as_deref(), format)?;
    let me = client(&state, params.get("api_key"), address, format).await?;
    only(&params, KEY_ONLY, format)?;
    let db = |e: StoreError| Open311Error::store(format, &e);
    let not_found = || {
        Open311Error::new(
            StatusCode::NOT_FOUND,
            format,
            format!("no service request `{id}`"),
        )
    };
    let filing = state
        .store
        .open311_filing(&me.name, id)
        .await
        .map_err(db)?
        .ok_or_else(not_found)?;
    let request = o311::requests::request(&state.store, &mapping(&state), &filing)
        .await
        .map_err(db)?
        .ok_or_else(not_found)?;
    Ok(ok(
        format,
        "service_requests",
        &Node::List(vec![o311::request(&request)]),
    ))
}

/// `GET tokens/{token}`: the request a POST's token stands for.
async fn get_token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(address): ClientAddr,
) -> Result<Response, Open311Error> {
    let (token, format) = split(&file)?;
    let params = parameters(query.as_deref(), format)?;
    let me = client(&state, params.get("api_key"), address, format).await?;
    only(&params, KEY_ONLY, format)?;
    let db = |e: StoreError| Open311Error::store(format, &e);
    let not_found =
        || Open311Error::new(StatusCode::NOT_FOUND, format, format!("no token `{token}`"));
    let filing = state
        .store
        .open311_filing_by_token(&me.name, token)
        .await
        .map_err(db)?
        .ok_or_else(not_found)?;
    o311::requests::request(&state.store, &mapping(&state), &filing)
        .await
        .map_err(db)?
        .ok_or_else(not_found)?;
    Ok(ok(
        format,
        "service_requests",
        &o311::token(&filing.complaint_id, &filing.token),
    ))
}

/// `POST requests`: files a complaint. The declared length is checked before a byte is read
/// and the body is read against the cap (413 either way), then the form is parsed, the key
/// checked, the rate counted, the fields checked, and the complaint stored through intake.
async fn post_request(
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

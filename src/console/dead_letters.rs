//! 死信 (`/console/dead-letters`, `/console/dead-letters/{id}`): the items that could not be
//! accepted, read as `GET /v1/dead-letters` and `GET /v1/dead-letters/{id}` read them
//! (`api::dead_letters::list_page` / `one`) and masked as those answers are for a caller who
//! may not see complainants ([`super::sources::as_answered`]). The raw bytes are shown as
//! escaped text when they decode, as a hex dump otherwise — never as HTML. The replay form
//! posts to `/console/dead-letters/{id}/replay`, which runs `api::dead_letters::replay_letter`,
//! as `POST /v1/dead-letters/{id}/replay` does (an empty correction re-parses the kept bytes).

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::labels;
use super::page::{ConsoleError, Layout, local_text, offset, render, see_other};
use super::sources::as_answered;
use crate::api::AppState;
use crate::api::dead_letters::{DeadLetterParams, list_page, one, replay_letter};
use crate::api::session::CurrentSession;

/// Dead letters per page.
const PAGE_SIZE: i64 = 50;
/// Most raw bytes shown as a hex dump.
const HEX_LIMIT: usize = 64 * 1024;

/// The list's filters.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    source: Option<String>,
    /// 1-based.
    #[serde(default)]
    page: Option<i64>,
    /// `1`: the replayed ones too.
    #[serde(default)]
    all: Option<String>,
}

/// One dead letter in the list.
pub struct LetterRow {
    pub id: String,
    pub received: String,
    pub source: String,
    pub channel: &'static str,
    pub external_id: String,
    pub reason: String,
    pub replayed_as: Option<String>,
}

#[derive(Template)]
#[template(path = "console/dead_letters.html")]
struct ListPage {
    layout: Layout,
    total: i64,
    rows: Vec<LetterRow>,
    source: String,
    all: bool,
    page: i64,
    pages: i64,
    /// The query string of the filters, for the paging links.
    filters: String,
}

/// The raw bytes as shown.
pub enum Raw {
    Text(String),
    Hex { dump: String, truncated: bool },
    Withheld,
}

#[derive(Template)]
#[template(path = "console/dead_letter.html")]
struct DetailPage {
    layout: Layout,
    row: LetterRow,
    content_type: String,
    size: usize,
    raw: Raw,
    may_replay: bool,
    /// The correction sent with a refused replay, kept for another try.
    corrected: String,
    error: Option<String>,
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

fn row(state: &AppState, letter: &Value) -> LetterRow {
    LetterRow {
        id: text(letter, "id"),
        received: local_text(&text(letter, "received_at"), offset(state)),
        source: text(letter, "source"),
        channel: labels::channel(letter["channel"].as_str().unwrap_or_default()),
        external_id: letter["external_id"]
            .as_str()
            .map_or_else(|| "—".into(), str::to_string),
        reason: text(letter, "reason"),
        replayed_as: letter["replayed_as"].as_str().map(str::to_string),
    }
}

/// `GET /console/dead-letters`.
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Query(query): Query<ListQuery>,
) -> Response {
    match build_list(&state, &session, query).await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

async fn build_list(
    state: &AppState,
    session: &CurrentSession,
    query: ListQuery,
) -> Result<ListPage, ConsoleError> {
    let page = query.page.unwrap_or(1).max(1);
    let source = query
        .source
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let all = query.all.as_deref() == Some("1");
    let params = DeadLetterParams {
        source: source.clone(),
        include_replayed: all,
        limit: Some(PAGE_SIZE),
        offset: Some((page - 1) * PAGE_SIZE),
    };
    let answer = as_answered(&session.principal, &list_page(state, params).await?);
    let total = answer["total"].as_i64().unwrap_or(0);
    let rows = answer["dead_letters"]
        .as_array()
        .map(|letters| letters.iter().map(|l| row(state, l)).collect())
        .unwrap_or_default();
    let mut filters = Vec::new();
    if let Some(source) = &source {
        filters.push(("source", source.clone()));
    }
    if all {
        filters.push(("all", "1".to_string()));
    }
    Ok(ListPage {
        layout: Layout::new(state, session, "死信", "/console/dead-letters"),
        total,
        rows,
        source: source.unwrap_or_default(),
        all,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        filters: serde_urlencoded::to_string(&filters).unwrap_or_default(),
    })
}

/// `GET /console/dead-letters/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
) -> Response {
    match build_detail(&state, &session, &id, String::new(), None).await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

async fn build_detail(
    state: &AppState,
    session: &CurrentSession,
    id: &str,
    corrected: String,
    error: Option<String>,
) -> Result<DetailPage, ConsoleError> {
    let letter = as_answered(&session.principal, &one(state, id).await?);
    let raw = &letter["raw"];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw["base64"].as_str().unwrap_or_default())
        .unwrap_or_default();
    let shown = if raw["withheld"].as_bool() == Some(true) {
        Raw::Withheld
    } else if let Some(text) = raw["text"].as_str() {
        Raw::Text(text.to_string())
    } else {
        Raw::Hex {
            dump: hex_dump(&bytes[..bytes.len().min(HEX_LIMIT)]),
            truncated: bytes.len() > HEX_LIMIT,
        }
    };
    Ok(DetailPage {
        layout: Layout::new(state, session, "死信详情", "/console/dead-letters"),
        row: row(state, &letter),
        content_type: text(raw, "content_type"),
        size: bytes.len(),
        raw: shown,
        may_replay: session
            .principal
            .may(crate::people::access::Permission::IntakeReplay),
        corrected,
        error,
    })
}

/// `bytes` as a hex dump: offset, sixteen bytes in hex, and the printable ASCII of them.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 + 16);
    for (line, chunk) in bytes.chunks(16).enumerate() {
        out.push_str(&format!("{:08x}  ", line * 16));
        for i in 0..16 {
            match chunk.get(i) {
                Some(b) => out.push_str(&format!("{b:02x} ")),
                None => out.push_str("   "),
            }
            if i == 7 {
                out.push(' ');
            }
        }
        out.push_str(" |");
        out.extend(chunk.iter().map(|b| {
            if b.is_ascii_graphic() || *b == b' ' {
                *b as char
            } else {
                '.'
            }
        }));
        out.push_str("|\n");
    }
    out
}

/// The replay form.
#[derive(Debug, Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    corrected: String,
}

/// `POST /console/dead-letters/{id}/replay`: replays through the API's function; refused, the
/// detail again with the reason and the correction kept.
pub async fn replay(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    Form(form): Form<ReplayForm>,
) -> Response {
    let corrected = form.corrected.trim();
    let body = (!corrected.is_empty()).then(|| corrected.as_bytes().to_vec());
    match replay_letter(&state, &id, body).await {
        Ok(_) => see_other(&format!("/console/dead-letters/{id}"), None),
        Err(error) if error.status.is_client_error() && error.status != StatusCode::NOT_FOUND => {
            let message = ConsoleError::from(error).message;
            match build_detail(&state, &session, &id, form.corrected, Some(message)).await {
                Ok(page) => {
                    let mut response = render(&page);
                    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    response
                }
                Err(error) => error.page(&state, Some(&session)),
            }
        }
        Err(error) => ConsoleError::from(error).page(&state, Some(&session)),
    }
}

/// This page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/dead-letters", get(list))
        .route("/console/dead-letters/{id}", get(show))
        .route("/console/dead-letters/{id}/replay", post(replay))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hex_dump_shows_offsets_bytes_and_printable_ascii() {
        let dump = hex_dump(b"<b>\xff\x00abcdefghijklmnop");
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with("00000000  3c 62 3e ff 00 61"),
            "{dump}"
        );
        assert!(lines[0].ends_with("|<b>..abcdefghijk|"), "{dump}");
        assert!(lines[1].starts_with("00000010  6c 6d 6e 6f 70"), "{dump}");
        assert!(lines[1].ends_with("|lmnop|"), "{dump}");
    }
}

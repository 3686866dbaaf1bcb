//! 待回复 (`/console/replies`): the answers staff send by phone or letter — answered complaints
//! whose channel has no system to call back — read as `GET /v1/replies` reads them
//! (`api::answers::reply_page`: 待发送 `pending` by default, 已发送 with `?state=sent`, one
//! case with `case_id`, paged by `before`) and masked as that answer is for a caller who may
//! not see complainants ([`super::sources::as_answered`]). Each pending row has a form posting
//! to `/console/replies/{id}/sent` (how it was sent, a note), which runs
//! `api::answers::mark_sent`, as `POST /v1/replies/{id}/sent` does (once, audited as
//! `reply.sent`); done, back to the list with a notice; refused, the list again saying why.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::FixedOffset;
use serde::Deserialize;
use serde_json::Value;

use super::labels;
use super::page::{ConsoleError, Layout, local_text, offset, render, see_other};
use super::route_permission;
use super::sources::as_answered;
use crate::answers::REPLY_METHODS;
use crate::api::AppState;
use crate::api::answers::{OutcomeParams, ReplySent, mark_sent, reply_page};
use crate::api::error::{ApiError, ErrorCode};
use crate::api::session::CurrentSession;

/// Replies per page.
const PAGE_SIZE: i64 = 50;

/// The list's filters.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// `sent`: 已发送; anything else the API refuses; none: 待发送.
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    case_id: Option<String>,
    /// The page after this reply (the last id of the previous page).
    #[serde(default)]
    before: Option<i64>,
    /// The reply the last form recorded as sent (the notice after its redirect).
    #[serde(default)]
    sent: Option<i64>,
}

/// One reply as shown.
pub struct ReplyRow {
    pub id: i64,
    pub case_id: String,
    pub channel_name: String,
    pub external_id: String,
    /// The answering unit.
    pub unit: String,
    pub finding: &'static str,
    pub reply: String,
    pub answered_at: String,
    pub pending: bool,
    /// How it was sent, by whom, when, and the note (sent rows).
    pub method: &'static str,
    pub done_by: String,
    pub done_at: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "console/replies.html")]
struct RepliesPage {
    layout: Layout,
    /// The 已发送 list (else 待发送).
    sent: bool,
    /// The case filter ("" for every case).
    case_id: String,
    /// The 待发送 and 已发送 lists of the same case filter, and 已发送 or 待发送 of every case.
    pending_href: String,
    sent_href: String,
    all_href: String,
    rows: Vec<ReplyRow>,
    /// The caller may record a reply sent (the form's route's permission).
    may_mark: bool,
    /// The methods offered: (code, label).
    methods: Vec<(&'static str, &'static str)>,
    /// Texts were masked for this caller.
    masked: bool,
    /// The next page's link, when there are more.
    next: Option<String>,
    /// Paged on: the first page's link.
    first: Option<String>,
    /// The reply the last form recorded.
    done: Option<i64>,
    /// Why the last form was refused.
    error: Option<String>,
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

fn row(offset: FixedOffset, reply: &Value) -> ReplyRow {
    let time = |key: &str| {
        reply[key]
            .as_str()
            .map_or_else(String::new, |t| local_text(t, offset))
    };
    ReplyRow {
        id: reply["id"].as_i64().unwrap_or_default(),
        case_id: text(reply, "case_id"),
        channel_name: text(reply, "channel_name"),
        external_id: text(reply, "external_id"),
        unit: reply["queue"]
            .as_str()
            .map_or_else(|| "—".into(), str::to_string),
        finding: labels::finding(reply["finding"].as_str().unwrap_or_default()),
        reply: text(reply, "reply"),
        answered_at: time("answered_at"),
        pending: reply["state"] == "pending",
        method: labels::reply_method(reply["method"].as_str().unwrap_or_default()),
        done_by: text(reply, "done_by"),
        done_at: time("done_at"),
        note: text(reply, "note"),
    }
}

/// The list's address: `sent` for 已发送, one case's, after a reply, with a notice.
fn href(sent: bool, case_id: &str, before: Option<i64>, done: Option<i64>) -> String {
    let mut query: Vec<(&str, String)> = Vec::new();
    if sent {
        query.push(("state", "sent".into()));
    }
    if !case_id.is_empty() {
        query.push(("case_id", case_id.to_string()));
    }
    if let Some(before) = before {
        query.push(("before", before.to_string()));
    }
    if let Some(done) = done {
        query.push(("sent", done.to_string()));
    }
    let query = serde_urlencoded::to_string(&query).unwrap_or_default();
    if query.is_empty() {
        "/console/replies".into()
    } else {
        format!("/console/replies?{query}")
    }
}

/// `GET /console/replies`.
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Query(query): Query<ListQuery>,
) -> Response {
    match build(&state, &session, query, None).await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

async fn build(
    state: &AppState,
    session: &CurrentSession,
    query: ListQuery,
    error: Option<String>,
) -> Result<RepliesPage, ConsoleError> {
    let case_id = query
        .case_id
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let params = OutcomeParams {
        state: query.state.clone(),
        case_id: (!case_id.is_empty()).then(|| case_id.clone()),
        before: query.before,
        // One more than shown: whether a next page follows.
        limit: Some(PAGE_SIZE + 1),
    };
    let answer = as_answered(&session.principal, &reply_page(state, &params).await?);
    let offset = offset(state);
    let mut rows: Vec<ReplyRow> = answer["items"]
        .as_array()
        .map(|items| items.iter().map(|r| row(offset, r)).collect())
        .unwrap_or_default();
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let sent = query.state.as_deref() == Some("sent");
    let principal = &session.principal;
    Ok(RepliesPage {
        layout: Layout::new(state, session, "待回复", "/console/replies"),
        next: rows
            .last()
            .filter(|_| more)
            .map(|r| href(sent, &case_id, Some(r.id), None)),
        first: query.before.map(|_| href(sent, &case_id, None, None)),
        pending_href: href(false, &case_id, None, None),
        sent_href: href(true, &case_id, None, None),
        all_href: href(sent, "", None, None),
        sent,
        case_id,
        rows,
        may_mark: route_permission("POST", "/console/replies/{id}/sent")
            .is_some_and(|p| principal.may(p)),
        methods: REPLY_METHODS
            .iter()
            .map(|m| (*m, labels::reply_method(m)))
            .collect(),
        masked: !principal.sees_identities(),
        done: query.sent,
        error,
    })
}

/// The mark-sent form.
#[derive(Debug, Deserialize)]
pub struct SentForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    note: Option<String>,
    /// The list's case filter, kept across the post.
    #[serde(default)]
    case_id: Option<String>,
}

/// `POST /console/replies/{id}/sent`: records the reply sent through the API's function; done,
/// back to 待发送 with a notice (303); refused, 待发送 again saying why, with the refusal's
/// status.
pub async fn sent(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    Form(form): Form<SentForm>,
) -> Response {
    let id = id.trim();
    let case_id = form
        .case_id
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let result = match id.parse::<i64>() {
        Ok(n) => {
            let sent = ReplySent {
                method: form.method.trim().to_string(),
                note: form.note,
            };
            mark_sent(&state, &session.principal, n, &sent)
                .await
                .map(|_| n)
        }
        Err(_) => Err(ApiError::not_found("reply", id)),
    };
    let error = match result {
        Ok(n) => return see_other(&href(false, &case_id, None, Some(n)), None),
        Err(error) if error.status.is_client_error() => error,
        Err(error) => return ConsoleError::from(error).page(&state, Some(&session)),
    };
    let status = error.status;
    let message = refusal(&state, id, error).await;
    let query = ListQuery {
        case_id: Some(case_id),
        ..ListQuery::default()
    };
    match build(&state, &session, query, Some(message)).await {
        Ok(page) => {
            let mut response = render(&page);
            if response.status() == StatusCode::OK {
                *response.status_mut() = status;
            }
            response
        }
        Err(error) => error.page(&state, Some(&session)),
    }
}

/// Why recording reply `id` was refused, as the page says it.
async fn refusal(state: &AppState, id: &str, error: ApiError) -> String {
    match error.code {
        ErrorCode::InvalidParameter => format!(
            "未记录：请从列表中选择发送方式（{}）。",
            REPLY_METHODS
                .iter()
                .map(|m| labels::reply_method(m))
                .collect::<Vec<_>>()
                .join("、")
        ),
        ErrorCode::NotFound => format!("未记录：没有编号为 {id} 的待回复答复。"),
        ErrorCode::AlreadyDecided => {
            let outcome = match id.parse::<i64>() {
                Ok(n) => state.store.answer_outcome(n).await.ok().flatten(),
                Err(_) => None,
            };
            match outcome {
                Some(o) => format!(
                    "未记录：答复 {id} 已由 {} 于 {} 记为已发送（{}），不能再次记录。",
                    o.done_by.unwrap_or_default(),
                    o.done_at
                        .as_deref()
                        .map(|t| local_text(t, offset(state)))
                        .unwrap_or_default(),
                    labels::reply_method(o.method.as_deref().unwrap_or_default())
                ),
                None => format!("未记录：答复 {id} 已经记为已发送，不能再次记录。"),
            }
        }
        _ => ConsoleError::from(error).message,
    }
}

/// This page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/replies", get(list))
        .route("/console/replies/{id}/sent", post(sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_s_links_keep_its_filters() {
        assert_eq!(href(false, "", None, None), "/console/replies");
        assert_eq!(
            href(true, "c 1&x", Some(40), None),
            "/console/replies?state=sent&case_id=c+1%26x&before=40"
        );
        assert_eq!(href(false, "", None, Some(7)), "/console/replies?sent=7");
    }

    #[test]
    fn a_reply_is_shown_with_its_labels_and_local_times() {
        let reply = serde_json::json!({
            "id": 3, "case_id": "c1", "channel_name": "信访举报", "external_id": "X-1",
            "queue": null, "state": "sent", "finding": "substantiated", "reply": "已处理",
            "answered_at": "2026-03-02T01:00:00.000Z", "method": "letter", "note": null,
            "done_by": "centre", "done_at": "2026-03-03T02:00:00.000Z"
        });
        let shown = row(FixedOffset::east_opt(8 * 3600).unwrap(), &reply);
        assert_eq!((shown.id, shown.case_id.as_str()), (3, "c1"));
        assert!(!shown.pending);
        assert_eq!(shown.unit, "—", "no unit recorded");
        assert_eq!(shown.finding, "查实");
        assert_eq!(shown.method, "信函");
        assert_eq!(shown.answered_at, "2026-03-02 09:00");
        assert_eq!(shown.done_at, "2026-03-03 10:00");
        assert_eq!(shown.note, "", "no note");
    }
}

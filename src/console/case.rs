//! 案件 (`/console/cases/{id}`, linked from every 交办 email): the case's complaints, its two
//! deadlines with countdowns, its history, and the workflow steps the caller may take.
//!
//! Who sees what is the API's decision, through the same functions: the caller's view of the
//! case (`api::privacy::case_view`: out of reach is "not found", masked for the accused unit,
//! an anonymous complainant or a supervisor), each member masked by `api::privacy::mask` (as
//! `GET /v1/complaints/{id}`), the history's details by `pii::mask_json` (as the API masks a
//! masked answer), and an unmasked view of personal data recorded (`personal_data.view`).
//! A step (分拣, 交办, 签收, 开始办理, 办结, 退单, 结案) posts to
//! `/console/cases/{id}/transitions`, which runs `workflow::service::run`, as
//! `POST /v1/cases/{id}/transitions` does.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;

use super::home::queue_name;
use super::labels;
use super::page::{ConsoleError, Countdown, Layout, countdown_text, local_text, offset, render};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::privacy::{case_view, holds_personal_data, mask, record_view, shown_at};
use crate::api::session::CurrentSession;
use crate::api::workflow::WorkflowView;
use crate::cases::CaseError;
use crate::people::pii;
use crate::people::privacy::View;
use crate::store::audit::AuditFilter;
use crate::workflow::{Action, Details, Finding};

/// Most history entries shown.
const HISTORY_LIMIT: i64 = 500;

/// A deadline with its countdown.
pub struct Deadline {
    pub label: &'static str,
    pub at: String,
    pub countdown: Option<Countdown>,
}

/// The complainant as shown (every field already masked or withheld as the view says).
pub struct ComplainantView {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub anonymous: bool,
}

/// One member complaint.
pub struct MemberView {
    pub id: String,
    pub channel_code: String,
    pub channel: &'static str,
    pub source: String,
    pub received: String,
    pub title: Option<String>,
    pub body: String,
    /// `None` when the view withholds it, or the complaint names nobody.
    pub complainant: Option<ComplainantView>,
    pub attachments: Vec<(String, String)>,
}

/// One history entry.
pub struct HistoryRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "console/case.html")]
struct CasePage {
    layout: Layout,
    id: String,
    title: String,
    state: &'static str,
    queue: String,
    assignee: String,
    priority: &'static str,
    /// Why the case is where it is (a return's reason).
    note: Option<String>,
    masked: bool,
    deadlines: Vec<Deadline>,
    members: Vec<MemberView>,
    history: Vec<HistoryRow>,
    /// The steps the caller may take now, among those the console offers.
    actions: Vec<&'static str>,
    return_reasons: Vec<(&'static str, &'static str)>,
    /// Why triage closes a case that was not answered.
    close_reasons: Vec<(&'static str, &'static str)>,
    /// The case was answered: it closes without a reason.
    answered: bool,
    findings: Vec<(&'static str, &'static str)>,
    /// (key, unit name, holds the case now) of every queue, for 交办.
    queues: Vec<(String, String, bool)>,
    /// 回访, 延期 and the correction (`case_forms`).
    forms: super::case_forms::CaseForms,
}

impl CasePage {
    fn may(&self, action: &str) -> bool {
        self.actions.contains(&action)
    }
}

/// The steps the case page offers as forms (the others: the API, later pages).
const OFFERED: [Action; 7] = [
    Action::Triage,
    Action::Assign,
    Action::Accept,
    Action::Start,
    Action::Answer,
    Action::Return,
    Action::Close,
];

/// `GET /console/cases/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
) -> Response {
    match build(&state, &session, &id).await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

/// The caller's view of case `id`: not found when there is none or it is out of reach.
pub(super) async fn visible(
    state: &AppState,
    session: &CurrentSession,
    id: &str,
) -> Result<View, ConsoleError> {
    match case_view(state, &session.principal, id).await? {
        Some((View::Hidden, _)) | None => Err(ConsoleError::not_found()),
        Some((view, _)) => Ok(view),
    }
}

async fn build(
    state: &AppState,
    session: &CurrentSession,
    id: &str,
) -> Result<CasePage, ConsoleError> {
    let view = visible(state, session, id).await?;
    let masked = view == View::Masked;
    let detail = match crate::cases::read::get_case(&state.store, id).await {
        Ok(detail) => detail,
        Err(CaseError::NotFound(_)) => return Err(ConsoleError::not_found()),
        Err(error) => return Err(ApiError::from(error).into()),
    };
    let offset = offset(state);
    let now = Utc::now();
    let mut members = Vec::with_capacity(detail.members.len());
    let mut shown = Vec::new();
    for member in &detail.members {
        let Some(mut complaint) = state.store.complaint(&member.complaint_id).await? else {
            continue;
        };
        if masked {
            mask(&mut complaint);
        } else if holds_personal_data(&complaint) {
            shown.push(complaint.id.clone());
        }
        let complainant = complaint.item.complainant.as_ref().map(|c| {
            let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
            ComplainantView {
                name: or_dash(&c.name),
                phone: or_dash(&c.phone),
                email: or_dash(&c.email),
                address: or_dash(&c.address),
                anonymous: c.anonymous,
            }
        });
        members.push(MemberView {
            channel: labels::channel(&complaint.channel),
            received: local_text(&complaint.received_at, offset),
            attachments: complaint
                .item
                .attachments
                .iter()
                .filter(|a| a.url.starts_with("http://") || a.url.starts_with("https://"))
                .map(|a| {
                    (
                        a.url.clone(),
                        a.name.clone().unwrap_or_else(|| a.url.clone()),
                    )
                })
                .collect(),
            channel_code: complaint.channel,
            source: complaint.source,
            title: complaint.title,
            body: complaint.body,
            complainant,
            id: complaint.id,
        });
    }
    record_view(
        state,
        &session.principal,
        shown,
        shown_at("GET /console/cases/{id}"),
    )
    .await?;
    let case = &detail.case;
    let deadline = |label, at: &Option<String>| {
        at.as_deref().map(|at| Deadline {
            label,
            at: local_text(at, offset),
            countdown: countdown_text(at, now),
        })
    };
    let open = case
        .state
        .as_deref()
        .and_then(|s| s.parse::<crate::workflow::State>().ok())
        .is_none_or(|s| s.is_open());
    let mut deadlines: Vec<Deadline> = [
        deadline("签收时限", &case.accept_due_at),
        deadline("办结时限", &case.due_at),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !open {
        deadlines.iter_mut().for_each(|d| d.countdown = None);
    }
    let workflow = crate::workflow::transition::current_read(&state.store, &state.routing, id)
        .await
        .map_err(ApiError::from)?;
    let (actions, note) = match &workflow {
        Some(case_state) => {
            let view = WorkflowView::new(case_state, &session.principal)?;
            let actions = OFFERED
                .into_iter()
                .filter(|a| view.yours.contains(a))
                .map(Action::as_str)
                .collect();
            (actions, case_state.note.clone())
        }
        None => (Vec::new(), None),
    };
    let member_ids = members.iter().map(|m| m.id.clone()).collect();
    let forms =
        super::case_forms::build(state, session, id, workflow.as_ref(), member_ids, masked).await?;
    Ok(CasePage {
        layout: Layout::new(state, session, "案件详情", ""),
        id: case.id.clone(),
        title: if masked {
            pii::mask_text(&case.title)
        } else {
            case.title.clone()
        },
        state: labels::state(case.state.as_deref().unwrap_or("")),
        queue: queue_name(state, case.queue.as_deref()),
        assignee: case.assignee.clone().unwrap_or_else(|| "—".into()),
        priority: labels::priority(case.priority.as_deref().unwrap_or("")),
        note: note.map(|n| if masked { pii::mask_text(&n) } else { n }),
        masked,
        deadlines,
        members,
        history: history(state, id, masked).await?,
        actions,
        return_reasons: crate::workflow::machine::RETURN_REASONS
            .iter()
            .map(|r| (*r, labels::return_reason(r)))
            .collect(),
        close_reasons: crate::workflow::machine::CLOSE_WITHOUT_ANSWER
            .iter()
            .map(|r| (*r, labels::return_reason(r)))
            .collect(),
        answered: case.state.as_deref() == Some("answered"),
        queues: state
            .routing
            .queues
            .iter()
            .map(|(key, queue)| {
                let holds = case.queue.as_deref() == Some(key.as_str());
                (key.clone(), queue.name.clone(), holds)
            })
            .collect(),
        findings: [
            Finding::Substantiated,
            Finding::PartlySubstantiated,
            Finding::Unsubstantiated,
            Finding::Other,
        ]
        .into_iter()
        .map(|f| (f.as_str(), f.label()))
        .collect(),
        forms,
    })
}

/// The case's audit entries, oldest first; their details masked for a masked view.
async fn history(
    state: &AppState,
    id: &str,
    masked: bool,
) -> Result<Vec<HistoryRow>, ConsoleError> {
    let filter = AuditFilter {
        case_id: Some(id.to_string()),
        limit: HISTORY_LIMIT,
        ..AuditFilter::default()
    };
    let offset = offset(state);
    let entries = state.store.audit_entries(&filter).await?;
    Ok(entries
        .into_iter()
        .map(|record| {
            let event = record.event;
            let mut detail = serde_json::from_str(&event.detail)
                .unwrap_or(serde_json::Value::String(event.detail));
            if masked {
                pii::mask_json(&mut detail);
            }
            let detail = match detail {
                serde_json::Value::Object(map) if map.is_empty() => String::new(),
                serde_json::Value::Null => String::new(),
                other => crate::cases::snippet(&other.to_string(), 300),
            };
            HistoryRow {
                at: local_text(&event.at, offset),
                actor: event.actor,
                action: labels::audit_action(&event.action),
                detail,
            }
        })
        .collect())
}

/// A step's form.
#[derive(Debug, Deserialize)]
pub struct TransitionForm {
    action: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    finding: Option<String>,
    #[serde(default)]
    reply: Option<String>,
    #[serde(default)]
    queue: Option<String>,
}

/// A filled field, trimmed.
fn filled(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `POST /console/cases/{id}/transitions`: takes one step through the workflow service (the
/// API's), then shows the case again.
pub async fn transition(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    Form(form): Form<TransitionForm>,
) -> Response {
    match take(&state, &session, &id, form).await {
        Ok(()) => super::page::see_other(&format!("/console/cases/{id}"), None),
        Err(error) => error.page(&state, Some(&session)),
    }
}

async fn take(
    state: &AppState,
    session: &CurrentSession,
    id: &str,
    form: TransitionForm,
) -> Result<(), ConsoleError> {
    visible(state, session, id).await?;
    let invalid = |message: String| {
        ConsoleError::new(
            axum::http::StatusCode::BAD_REQUEST,
            format!("请求无效：{message}"),
        )
    };
    let action: Action = serde_json::from_value(serde_json::Value::String(form.action.clone()))
        .map_err(|_| invalid(format!("没有这种操作（{}）", form.action)))?;
    let finding = match filled(form.finding) {
        Some(code) => Some(
            serde_json::from_value::<Finding>(serde_json::Value::String(code.clone()))
                .map_err(|_| invalid(format!("没有这种办理结论（{code}）")))?,
        ),
        None => None,
    };
    let details = Details {
        reason: filled(form.reason),
        note: filled(form.note),
        finding,
        reply: filled(form.reply),
        queue: filled(form.queue),
        ..Details::default()
    };
    let principal = &session.principal;
    crate::workflow::service::run(
        &state.store,
        state.clocks(),
        id,
        action,
        &details,
        principal.caller(),
        &principal.actor,
        Utc::now(),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(())
}

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
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;

use super::case_members::MembersPage;
use super::home::queue_name;
use super::labels;
use super::page::{ConsoleError, Countdown, Layout, countdown_text, local_text, offset, render};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::privacy::{case_view, record_view, shown_at};
use crate::api::session::CurrentSession;
use crate::api::workflow::WorkflowView;
use crate::people::access::Permission;
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
    /// The page of complaints shown (`?members=N`) and the links to the others.
    members: MembersPage,
    /// 为何分类与交办.
    why: super::case_why::WhyRouted,
    /// 相似案件.
    similar: Vec<super::case_similar::SimilarCase>,
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
    /// 合并 and 拆分 (`case_merge`): the caller may decide on cases.
    regroup: bool,
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

/// The case page's parameters.
#[derive(Debug, Default, Deserialize)]
pub struct CaseParams {
    /// The first complaint shown (an offset; the page shows `MEMBERS_PAGE` from it).
    #[serde(default)]
    members: Option<String>,
}

/// `GET /console/cases/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    Query(params): Query<CaseParams>,
) -> Response {
    let from = params
        .members
        .and_then(|m| m.trim().parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    match build(&state, &session, &id, from).await {
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
    from: i64,
) -> Result<CasePage, ConsoleError> {
    let view = visible(state, session, id).await?;
    let masked = view == View::Masked;
    let (case, members, shown) = super::case_members::load(state, id, from, masked).await?;
    let offset = offset(state);
    let now = Utc::now();
    record_view(
        state,
        &session.principal,
        shown,
        shown_at("GET /console/cases/{id}"),
    )
    .await?;
    let case = &case;
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
    let member_ids = members
        .members
        .iter()
        .map(|m| (m.id.clone(), format!("第 {} 件（{}）", m.number, m.id)))
        .collect();
    let forms =
        super::case_forms::build(state, session, id, workflow.as_ref(), member_ids, masked).await?;
    let why = super::case_why::build(state, id, &members, masked).await?;
    // 紧急程度 as routing decides it now (a staff correction included); the deadline keeps
    // the priority it was counted with.
    let route = state.store.case_route(id).await?;
    let priority = route
        .as_ref()
        .map(|r| r.priority.clone())
        .or_else(|| case.priority.clone());
    let similar = super::case_similar::find(state, session, case, masked).await?;
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
        priority: labels::priority(priority.as_deref().unwrap_or("")),
        note: note.map(|n| if masked { pii::mask_text(&n) } else { n }),
        masked,
        deadlines,
        members,
        why,
        similar,
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
        regroup: session.principal.may(Permission::CasesDecide),
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

//! The case page's remaining forms: 回访 (with the reopen option), 延期 (asked by the unit,
//! approved or denied by the centre) and the correction of category and queue. Each is offered
//! only when the matrix grants its route's permission and the case's state allows it, posts
//! with the CSRF token, and runs the function the API's handler runs:
//! `api::follow_ups::record_for` (`POST /v1/cases/{id}/follow-ups`),
//! `api::extensions::ask_for` and `decide_extension` (`POST /v1/cases/{id}/extensions`,
//! `…/{request}/approve|deny`) and `api::classification::correct`
//! (`POST /v1/complaints/{id}/classification`, on one of the case's complaints).

use axum::Extension;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use super::case::visible;
use super::page::{ConsoleError, local_text, offset, see_other};
use crate::api::AppState;
use crate::api::classification::CorrectionRequest;
use crate::api::error::ApiError;
use crate::api::extensions::{ExtensionAsk, ExtensionDecision};
use crate::api::session::CurrentSession;
use crate::people::access::Permission;
use crate::people::pii;
use crate::store::workflow::CaseState;
use crate::workflow::extension::{MAX_WORKING_DAYS, may_decide, may_request};
use crate::workflow::follow_up::{Contact, FollowUpRequest, Verdict};
use crate::workflow::{Action, State as Flow};

/// A 延期 request as shown.
pub struct ExtensionRow {
    pub id: i64,
    pub by: String,
    pub at: String,
    pub days: i64,
    pub reason: String,
    /// 待审批, 已批准, 未批准.
    pub state: &'static str,
    pub pending: bool,
    pub decision: String,
}

/// A 回访 as shown.
pub struct FollowUpRow {
    pub at: String,
    pub by: String,
    pub outcome: String,
    pub note: String,
}

/// What the case page offers beyond the workflow's steps.
#[derive(Default)]
pub struct CaseForms {
    pub follow_up: bool,
    /// The 回访 form may reopen the case (an unhappy verdict).
    pub reopen: bool,
    pub ask_extension: bool,
    pub decide_extension: bool,
    pub correct: bool,
    pub extensions: Vec<ExtensionRow>,
    pub follow_ups: Vec<FollowUpRow>,
    /// The case's complaints, for the correction: (id, label).
    pub complaints: Vec<(String, String)>,
    /// Categories the routing file names, offered as suggestions.
    pub categories: Vec<String>,
    pub contacts: Vec<(&'static str, &'static str)>,
    pub verdicts: Vec<(&'static str, &'static str)>,
    pub priorities: Vec<(&'static str, &'static str)>,
    pub max_days: i64,
}

/// The forms `session` may use on case `id` in `workflow`'s state; `complaints` are the
/// members shown (id, label).
pub async fn build(
    state: &AppState,
    session: &CurrentSession,
    id: &str,
    workflow: Option<&CaseState>,
    complaints: Vec<(String, String)>,
    masked: bool,
) -> Result<CaseForms, ConsoleError> {
    let principal = &session.principal;
    let offset = offset(state);
    let shown = |text: String| if masked { pii::mask_text(&text) } else { text };
    let flow = workflow.and_then(|w| w.state.parse::<Flow>().ok());
    let queue = workflow.and_then(|w| w.queue_key.as_deref());
    let caller = principal.caller();
    let answered = matches!(flow, Some(Flow::Answered | Flow::Closed));
    let requests = state.store.extension_requests(id).await?;
    let pending = requests.iter().any(|r| r.state == "requested");
    let extensions = requests
        .into_iter()
        .map(|r| ExtensionRow {
            state: match r.state.as_str() {
                "requested" => "待审批",
                "approved" => "已批准",
                _ => "未批准",
            },
            pending: r.state == "requested",
            decision: match (&r.decided_by, &r.decided_at) {
                (Some(by), Some(at)) => {
                    let note = r.decision_note.clone().map(shown).unwrap_or_default();
                    format!("{by} 于 {} {note}", local_text(at, offset))
                }
                _ => String::new(),
            },
            id: r.id,
            by: r.request.requested_by,
            at: local_text(&r.request.requested_at, offset),
            days: r.request.working_days,
            reason: shown(r.request.reason),
        })
        .collect();
    let follow_ups = crate::api::follow_ups::views(state, id)
        .await?
        .into_iter()
        .map(|f| FollowUpRow {
            at: local_text(&f.recorded_at, offset),
            by: f.recorded_by,
            outcome: if f.reached {
                format!(
                    "已联系（{}）：{}，{}{}",
                    contact_label(&f.contact),
                    if f.solved == Some(true) {
                        "已解决"
                    } else {
                        "未解决"
                    },
                    f.verdict_label.unwrap_or_default(),
                    if f.reopened { "，已重办" } else { "" }
                )
            } else {
                format!("未联系上（{}）", contact_label(&f.contact))
            },
            note: f.note.map(shown).unwrap_or_default(),
        })
        .collect();
    let follow_up = principal.may(Permission::CasesDecide) && answered;
    let reopen = follow_up
        && flow.is_some_and(|f| crate::workflow::machine::next(f, Action::Reopen).is_some())
        && crate::workflow::machine::may_take(caller, Action::Reopen, queue);
    let mut categories: Vec<String> = state
        .routing
        .overrides
        .iter()
        .map(|(o, _)| o.category.clone())
        .chain(
            state
                .routing
                .routes
                .iter()
                .flat_map(|r| r.rule.categories.iter().cloned()),
        )
        .filter(|c| c != "*")
        .collect();
    categories.sort();
    categories.dedup();
    Ok(CaseForms {
        follow_up,
        reopen,
        ask_extension: principal.may(Permission::CasesWork)
            && !pending
            && flow.is_some_and(|f| may_request(caller, f, queue)),
        decide_extension: principal.may(Permission::CasesDecide) && pending && may_decide(caller),
        correct: principal.may(Permission::CasesDecide) && flow.is_none_or(Flow::is_open),
        extensions,
        follow_ups,
        complaints,
        categories,
        contacts: [
            Contact::Phone,
            Contact::Sms,
            Contact::Visit,
            Contact::Email,
            Contact::Other,
        ]
        .into_iter()
        .map(|c| (c.as_str(), contact_label(c.as_str())))
        .collect(),
        verdicts: [
            Verdict::Satisfied,
            Verdict::BasicallySatisfied,
            Verdict::Dissatisfied,
        ]
        .into_iter()
        .map(|v| (v.as_str(), v.label()))
        .collect(),
        priorities: crate::routing::config::PRIORITIES
            .iter()
            .map(|p| (*p, super::labels::priority(p)))
            .collect(),
        max_days: MAX_WORKING_DAYS,
    })
}

fn contact_label(code: &str) -> &'static str {
    match code {
        "phone" => "电话",
        "sms" => "短信",
        "visit" => "上门",
        "email" => "电子邮件",
        _ => "其他方式",
    }
}

fn filled(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn invalid(message: impl Into<String>) -> ConsoleError {
    ConsoleError::new(
        StatusCode::BAD_REQUEST,
        format!("请求无效：{}", message.into()),
    )
}

/// After a form: the case again, or the error page.
fn done(
    state: &AppState,
    session: &CurrentSession,
    id: &str,
    result: Result<(), ConsoleError>,
) -> Response {
    match result {
        Ok(()) => see_other(&format!("/console/cases/{id}"), None),
        Err(error) => error.page(state, Some(session)),
    }
}

/// The 回访 form.
#[derive(Debug, Deserialize)]
pub struct FollowUpForm {
    /// `yes` or `no`.
    reached: String,
    contact: String,
    #[serde(default)]
    note: Option<String>,
    /// `yes` or `no`; read when reached.
    #[serde(default)]
    solved: Option<String>,
    #[serde(default)]
    verdict: Option<String>,
    #[serde(default)]
    reopen: Option<String>,
}

impl FollowUpForm {
    /// The API's request of this form.
    pub fn request(self) -> Result<FollowUpRequest, ConsoleError> {
        let reached = self.reached == "yes";
        let contact: Contact = serde_json::from_value(serde_json::Value::String(self.contact))
            .map_err(|_| invalid("没有这种联系方式"))?;
        let verdict = match filled(self.verdict).filter(|_| reached) {
            Some(code) => Some(Verdict::parse(&code).ok_or_else(|| invalid("没有这种评价"))?),
            None => None,
        };
        Ok(FollowUpRequest {
            reached,
            contact,
            note: filled(self.note),
            solved: filled(self.solved).filter(|_| reached).map(|s| s == "yes"),
            verdict,
            reopen: self.reopen.as_deref() == Some("1"),
        })
    }
}

/// `POST /console/cases/{id}/follow-ups`.
pub async fn follow_up(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    Form(form): Form<FollowUpForm>,
) -> Response {
    let result = async {
        visible(&state, &session, &id).await?;
        let request = form.request()?;
        crate::api::follow_ups::record_for(&state, &session.principal, &id, &request).await?;
        Ok(())
    }
    .await;
    done(&state, &session, &id, result)
}

/// The 延期 request form.
#[derive(Debug, Deserialize)]
pub struct ExtensionForm {
    working_days: String,
    reason: String,
}

/// `POST /console/cases/{id}/extensions`.
pub async fn ask(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    Form(form): Form<ExtensionForm>,
) -> Response {
    let result = async {
        visible(&state, &session, &id).await?;
        let working_days: i64 = form
            .working_days
            .trim()
            .parse()
            .map_err(|_| invalid(format!("延期天数是 1 到 {MAX_WORKING_DAYS} 的整数")))?;
        let ask = ExtensionAsk {
            working_days,
            reason: form.reason,
        };
        crate::api::extensions::ask_for(&state, &session.principal, &id, &ask).await?;
        Ok(())
    }
    .await;
    done(&state, &session, &id, result)
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    note: Option<String>,
}

async fn decide(
    state: AppState,
    session: CurrentSession,
    (id, request): (String, i64),
    approve: bool,
    form: DecisionForm,
) -> Response {
    let result = async {
        visible(&state, &session, &id).await?;
        let decision = ExtensionDecision {
            note: filled(form.note),
        };
        crate::api::extensions::decide_extension(
            &state,
            &session.principal,
            (id.clone(), request),
            approve,
            decision,
        )
        .await?;
        Ok::<(), ConsoleError>(())
    }
    .await;
    done(&state, &session, &id, result)
}

/// `POST /console/cases/{id}/extensions/{request}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(ids): Path<(String, i64)>,
    Form(form): Form<DecisionForm>,
) -> Response {
    decide(state, session, ids, true, form).await
}

/// `POST /console/cases/{id}/extensions/{request}/deny`.
pub async fn deny(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(ids): Path<(String, i64)>,
    Form(form): Form<DecisionForm>,
) -> Response {
    decide(state, session, ids, false, form).await
}

/// The correction form.
#[derive(Debug, Deserialize)]
pub struct CorrectionForm {
    complaint: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /console/cases/{id}/classification`: corrects one of the case's complaints.
pub async fn correct(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    Form(form): Form<CorrectionForm>,
) -> Response {
    let result = async {
        visible(&state, &session, &id).await?;
        let members = crate::cases::read::get_case(&state.store, &id)
            .await
            .map_err(ApiError::from)?
            .members;
        if !members.iter().any(|m| m.complaint_id == form.complaint) {
            return Err(invalid("这件来件不属于本案件"));
        }
        let request = CorrectionRequest {
            category: filled(form.category),
            tags: None,
            queue: filled(form.queue),
            priority: filled(form.priority),
            note: filled(form.note),
            corrected_by: None,
        };
        crate::api::classification::correct(&state, &session.principal, &form.complaint, request)
            .await?;
        Ok(())
    }
    .await;
    done(&state, &session, &id, result)
}

/// These forms' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/cases/{id}/follow-ups", post(follow_up))
        .route("/console/cases/{id}/extensions", post(ask))
        .route(
            "/console/cases/{id}/extensions/{request}/approve",
            post(approve),
        )
        .route("/console/cases/{id}/extensions/{request}/deny", post(deny))
        .route("/console/cases/{id}/classification", post(correct))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(
        reached: &str,
        solved: Option<&str>,
        verdict: Option<&str>,
        reopen: bool,
    ) -> FollowUpForm {
        FollowUpForm {
            reached: reached.into(),
            contact: "phone".into(),
            note: Some("  ".into()),
            solved: solved.map(str::to_string),
            verdict: verdict.map(str::to_string),
            reopen: reopen.then(|| "1".to_string()),
        }
    }

    #[test]
    fn the_follow_up_form_becomes_the_apis_request() {
        let r = form("yes", Some("no"), Some("dissatisfied"), true)
            .request()
            .unwrap();
        assert!(r.reached && r.reopen);
        assert_eq!(r.solved, Some(false));
        assert_eq!(r.verdict, Some(Verdict::Dissatisfied));
        assert_eq!(r.note, None, "a blank note is no note");
        // Not reached: the verdict fields left selected on the page are not sent.
        let r = form("no", Some("yes"), Some("satisfied"), false)
            .request()
            .unwrap();
        assert!(!r.reached);
        assert_eq!((r.solved, r.verdict), (None, None));
        assert!(crate::workflow::follow_up::validate(&r).is_ok());
        assert!(
            form("yes", Some("yes"), Some("great"), false)
                .request()
                .is_err()
        );
    }
}

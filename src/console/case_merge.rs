//! The case page's 合并 and 拆分 forms: staff group complaints by hand. Each runs the function
//! its API route runs — `api::cases::merge_as` (`POST /v1/cases/{id}/merge`) and
//! `api::cases::split_as` (`POST /v1/cases/{id}/split`): the same checks, the workflow and the
//! deadlines following, the same audit entry — under the same permission (`cases.decide`).
//! Both cases of a merge must be within the caller's reach; a refusal is a page saying why in
//! Chinese (a case merged with itself, an unknown case, a complaint not in the case).
//! 交办 and the correction of the queue are the case page's other forms (`case`,
//! `case_forms`).

use axum::Extension;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use super::case::visible;
use super::page::{ConsoleError, see_other};
use crate::api::AppState;
use crate::api::session::CurrentSession;

fn invalid(message: impl Into<String>) -> ConsoleError {
    ConsoleError::new(StatusCode::BAD_REQUEST, message.into())
}

/// A filled field, trimmed.
fn filled(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

/// The 合并 form.
#[derive(Debug, Deserialize)]
pub struct MergeForm {
    /// The other case's id.
    #[serde(default)]
    with: String,
    #[serde(default)]
    why: String,
}

/// `POST /console/cases/{id}/merge`: merges case `with` and this one, then shows the merged
/// case (it keeps the id of the case founded first).
pub async fn merge(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    Form(form): Form<MergeForm>,
) -> Response {
    let result = async {
        visible(&state, &session, &id).await?;
        let with = filled(&form.with).ok_or_else(|| invalid("请填写要合并的案件编号。"))?;
        if with == id {
            return Err(invalid("不能把案件与它自己合并：请填写另一个案件的编号。"));
        }
        let why = filled(&form.why).ok_or_else(|| invalid("请填写合并的理由。"))?;
        if visible(&state, &session, &with).await.is_err() {
            return Err(ConsoleError::new(
                StatusCode::NOT_FOUND,
                format!("没有找到案件 {with}，或者您无权查看它：没有合并。"),
            ));
        }
        let merged = crate::api::cases::merge_as(&state, &session.principal, &id, &with, why);
        Ok::<String, ConsoleError>(merged.await?)
    }
    .await;
    match result {
        Ok(merged) => see_other(&format!("/console/cases/{merged}"), None),
        Err(error) => error.page(&state, Some(&session)),
    }
}

/// The 拆分 form.
#[derive(Debug, Deserialize)]
pub struct SplitForm {
    /// The complaint taken out into a case of its own.
    #[serde(default)]
    complaint: String,
    #[serde(default)]
    why: String,
}

/// `POST /console/cases/{id}/split`: takes one complaint out into a case of its own, then
/// shows the case the others are in (renamed when its founder left).
pub async fn split(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    Form(form): Form<SplitForm>,
) -> Response {
    let result = async {
        visible(&state, &session, &id).await?;
        let complaint = filled(&form.complaint).ok_or_else(|| invalid("请选择要拆分出的来件。"))?;
        let why = filled(&form.why).ok_or_else(|| invalid("请填写拆分的理由。"))?;
        let member = state
            .store
            .complaint(&complaint)
            .await?
            .and_then(|c| c.facets.case_id);
        if member.as_deref() != Some(id.as_str()) {
            return Err(invalid(format!(
                "来件 {complaint} 不属于本案件：没有拆分。"
            )));
        }
        let done = crate::api::cases::split_as(&state, &session.principal, &id, &complaint, why);
        Ok::<_, ConsoleError>(done.await?)
    }
    .await;
    match result {
        Ok(done) => see_other(&format!("/console/cases/{}", done.remaining_case), None),
        Err(error) => error.page(&state, Some(&session)),
    }
}

/// These forms' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/cases/{id}/merge", post(merge))
        .route("/console/cases/{id}/split", post(split))
}

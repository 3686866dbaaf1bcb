//! A filed complaint as an Open311 service request: what a client may read of it.
//!
//! - `status`: `closed` once the complaint's case is answered (办结) or closed, else `open`; a
//!   case merged into another follows the surviving case.
//! - `status_notes`: the reply of the case's latest answer, once closed.
//! - `agency_responsible`: the unit (routing queue's name) holding the case.
//! - `expected_datetime`: the case's answer-by deadline while it runs.
//! - `requested_datetime`, `updated_datetime`: RFC 3339 in the configured offset.
//! - `description`: the complaint's text with phone numbers, ID numbers and e-mail addresses
//!   masked; the complainant (name, phone, e-mail) is never returned.
//!
//! **Reports (举报) are never published**: a complaint that came through the petition channel,
//! or whose case is tagged `report` (triage marks one with a classification correction), is
//! answered as not found, to its own client too.

use chrono::{DateTime, FixedOffset, SecondsFormat};

use super::services::Service;
use crate::routing::RoutingConfig;
use crate::store::open311::Open311Filing;
use crate::store::workflow::CaseState;
use crate::store::{Complaint, Store, StoreError};
use crate::workflow::State;

/// The tag that marks a report (举报).
pub const REPORT_TAG: &str = "report";

/// Merges followed at most this far (a chain longer than this is not expected).
const MAX_MERGE_HOPS: usize = 16;

/// One service request as a client reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRequest {
    pub service_request_id: String,
    pub status: &'static str,
    pub status_notes: Option<String>,
    pub service_name: Option<String>,
    pub service_code: String,
    pub description: String,
    pub agency_responsible: Option<String>,
    pub requested_datetime: String,
    pub updated_datetime: String,
    pub expected_datetime: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
    /// The complaint is a report: never shown.
    pub(crate) report: bool,
}

/// What mapping needs besides the store.
pub struct Mapping<'a> {
    pub routing: &'a RoutingConfig,
    pub services: &'a [Service],
    /// The offset times are written in.
    pub offset: FixedOffset,
}

/// The request of `filing`; `None` when its complaint is gone or is a report.
pub async fn request(
    store: &Store,
    mapping: &Mapping<'_>,
    filing: &Open311Filing,
) -> Result<Option<ServiceRequest>, StoreError> {
    let Some(complaint) = store.complaint(&filing.complaint_id).await? else {
        return Ok(None);
    };
    let mapped = map(store, mapping, filing, &complaint).await?;
    Ok(Some(mapped).filter(|r| !r.report))
}

async fn map(
    store: &Store,
    mapping: &Mapping<'_>,
    filing: &Open311Filing,
    complaint: &Complaint,
) -> Result<ServiceRequest, StoreError> {
    let case_id = complaint
        .facets
        .case_id
        .clone()
        .unwrap_or_else(|| complaint.id.clone());
    let mut report =
        complaint.channel == "petition" || complaint.facets.tags.iter().any(|t| t == REPORT_TAG);
    let mut state = case_state(store, mapping.routing, &case_id).await?;
    for _ in 0..MAX_MERGE_HOPS {
        report |= store
            .case_route(&state.case_id)
            .await?
            .is_some_and(|r| r.tags.iter().any(|t| t == REPORT_TAG));
        match (state.state.as_str(), state.merged_into.clone()) {
            ("merged", Some(into)) => state = case_state(store, mapping.routing, &into).await?,
            _ => break,
        }
    }
    let workflow_state = state.state.parse::<State>().unwrap_or(State::New);
    let closed = matches!(workflow_state, State::Answered | State::Closed);
    let answer = store.case_answers(&state.case_id).await?.pop();
    let deadline = store.case_deadline(&state.case_id).await?;
    let time = |text: &str| DateTime::parse_from_rfc3339(text).ok();
    let updated = [
        time(&complaint.received_at),
        time(&state.updated_at),
        answer.as_ref().and_then(|a| time(&a.answer.answered_at)),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(complaint.submitted_at);
    let written = |t: DateTime<FixedOffset>| {
        t.with_timezone(&mapping.offset)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    };
    let location = complaint.item.location.as_ref();
    Ok(ServiceRequest {
        service_request_id: complaint.id.clone(),
        status: if closed { "closed" } else { "open" },
        status_notes: answer.filter(|_| closed).map(|a| a.answer.reply),
        service_name: mapping
            .services
            .iter()
            .find(|s| s.code == filing.service_code)
            .map(|s| s.name.clone()),
        service_code: filing.service_code.clone(),
        description: crate::people::pii::mask_text(&complaint.body),
        agency_responsible: state
            .queue_key
            .as_deref()
            .and_then(|key| mapping.routing.queue(key))
            .map(|q| q.name.to_string()),
        requested_datetime: written(complaint.submitted_at),
        updated_datetime: written(updated),
        expected_datetime: deadline
            .filter(|d| d.state == "open" && workflow_state.is_open())
            .and_then(|d| time(&d.due_at))
            .map(written),
        address: location.and_then(|l| l.address.clone()),
        lat: location.and_then(|l| l.lat),
        long: location.and_then(|l| l.lon),
        media_url: complaint.item.attachments.first().map(|a| a.url.clone()),
        report,
    })
}

/// Where `case_id` stands: as recorded, or as the workflow starts it (see
/// [`crate::workflow::transition::initial`]).
async fn case_state(
    store: &Store,
    routing: &RoutingConfig,
    case_id: &str,
) -> Result<CaseState, StoreError> {
    if let Some(state) = store.case_state(case_id).await? {
        return Ok(state);
    }
    let queue = store.case_route(case_id).await?.map(|r| r.queue);
    Ok(crate::workflow::transition::initial(
        case_id, queue, routing,
    ))
}

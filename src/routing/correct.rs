//! Applying a human correction at once: the correction is saved (it wins over the model and
//! the rules, and survives `reprocess`), the complaint's case is routed again with it, and the
//! change is recorded as a route event — all in the caller's decision transaction. Used by
//! `POST /v1/complaints/{id}/classification` and by the workflow's `assign` to another queue.

use super::decide::{DecideInput, ModelOpinion, RouteEvent, decide_and_write};
use super::rules::fold;
use super::{Correction, RoutedCase, RoutingConfig};
use crate::store::{Complaint, DerivedTx, StoreError};

/// Saves `correction` of `complaint` and routes its case again with it at `now` (RFC 3339).
pub async fn apply_correction(
    tx: &mut dyn DerivedTx,
    routing: &RoutingConfig,
    complaint: &Complaint,
    correction: Correction,
    now: &str,
) -> Result<RoutedCase, StoreError> {
    let id = &complaint.id;
    tx.save_correction(id, &correction).await?;
    let previous = tx.classification(id).await?;
    let opinion = previous.as_ref().and_then(|p| {
        p.model_version.map(|version| ModelOpinion {
            version,
            top: p.top.clone(),
        })
    });
    let case_id = previous
        .as_ref()
        .map(|p| p.route_key.clone())
        .filter(|key| key != id)
        .or(complaint.facets.case_id.clone());
    let input = DecideInput {
        complaint_id: id.clone(),
        case_id,
        folded_text: fold(&complaint.text_norm),
        channel: complaint.channel.clone(),
        target_unit: complaint.item.target_unit.clone(),
        district: complaint
            .item
            .location
            .as_ref()
            .and_then(|l| l.district.clone()),
        opinion,
        correction: Some(correction),
    };
    let routed = decide_and_write(tx, routing, &input, now).await?;
    let corrected = RouteEvent {
        route_key: routed.route_key.clone(),
        complaint_id: id.clone(),
        kind: "corrected",
        queue: routed.queue.clone(),
        priority: routed.priority.clone(),
        detail: serde_json::json!({"category": routed.category, "tags": routed.tags}),
        at: now.to_string(),
    };
    tx.add_route_events(&[&corrected]).await?;
    Ok(routed)
}

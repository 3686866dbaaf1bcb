//! The unit holding a case keeps it in reach when routing moves the case's route without
//! moving the case: a correction that sends a unit's accepted case to the triage queue leaves
//! the case with the unit (taking a case back is the centre's decision or the unit's 退单), so
//! the unit must still open, list and finish it.

use serde_json::{Value, json};

use super::workflow::{call, case_in, investigator, step, triage};
use crate::common::TestApp;

#[tokio::test]
async fn a_unit_keeps_its_accepted_case_when_a_correction_routes_it_to_triage() {
    let app = TestApp::start().await;
    let case = case_in(
        &app,
        "holder-1",
        "办理不动产登记被要求反复补交材料，窗口人员态度冷漠。",
        "finance",
    )
    .await;
    let li = investigator(&app, "li", "finance", false).await;
    let centre = triage(&app, "centre").await;
    let (status, accepted) = step(&app, &li, &case, json!({"action": "accept"})).await;
    assert_eq!(status, 200, "{accepted}");

    // The centre corrects the route to the triage queue: the workflow leaves the case with
    // the unit that accepted it.
    let path = format!("/v1/complaints/{case}/classification");
    let (status, corrected) = call(&app, &centre, "POST", &path, json!({"queue": "triage"})).await;
    assert_eq!(status, 200, "{corrected}");
    let (_, classified) = call(&app, &centre, "GET", &path, Value::Null).await;
    assert_eq!(classified["route"]["queue"], "triage", "{classified}");
    let workflow_path = format!("/v1/cases/{case}/workflow");
    let (status, seen) = call(&app, &centre, "GET", &workflow_path, Value::Null).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(
        (&seen["state"], &seen["queue"]),
        (&json!("accepted"), &json!("finance")),
        "the unit still holds the case: {seen}"
    );

    // The unit still sees it, lists it and works it.
    let (status, seen) = call(&app, &li, "GET", &workflow_path, Value::Null).await;
    assert_eq!(status, 200, "the holding unit opens its case: {seen}");
    let (status, detail) = call(&app, &li, "GET", &format!("/v1/cases/{case}"), Value::Null).await;
    assert_eq!(status, 200, "{detail}");
    let (status, listed) = call(&app, &li, "GET", "/v1/cases?queue=finance", Value::Null).await;
    assert_eq!(status, 200, "{listed}");
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == json!(case)),
        "listed for the holding unit: {listed}"
    );
    let (status, started) = step(&app, &li, &case, json!({"action": "start"})).await;
    assert_eq!(status, 200, "{started}");

    // Another unit does not gain it.
    let zhao = investigator(&app, "zhao", "personnel", false).await;
    let (status, _) = call(&app, &zhao, "GET", &workflow_path, Value::Null).await;
    assert_eq!(status, 404);
    app.stop().await;
}

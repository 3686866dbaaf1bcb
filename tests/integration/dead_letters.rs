//! Dead letters: kept verbatim with the reason, listed, replayed after a fix.

use serde_json::{Value, json};

use crate::common::TestApp;

#[tokio::test]
async fn dead_letter_then_replay_with_a_correction() {
    let app = TestApp::start().await;
    let broken = json!({"external_id": "dl-1", "title": "井盖缺失", "body": "   "});
    let answer: Value = app.push(&broken).await.json().await.unwrap();
    let letter_id = answer["rejected"][0]["dead_letter_id"]
        .as_str()
        .unwrap()
        .to_string();

    let listed = app.get_json("/v1/dead-letters").await;
    assert_eq!(listed["total"], 1);
    assert_eq!(
        listed["dead_letters"][0]["reason"],
        "missing required field `body`"
    );
    assert_eq!(listed["dead_letters"][0]["external_id"], "dl-1");
    assert_eq!(listed["dead_letters"][0]["raw"]["text"], broken.to_string());

    let replay = format!("{}/v1/dead-letters/{letter_id}/replay", app.base);
    // Replaying the same bytes fails the same way, and stores nothing.
    let again = app.client.post(&replay).send().await.unwrap();
    assert_eq!(again.status(), 422);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["error"]["code"], "still_invalid");

    // With a corrected item it is stored and the dead letter is marked.
    let fixed = json!({"external_id": "dl-1", "title": "井盖缺失", "body": "和平路与建设路交叉口井盖缺失，夜间危险。"});
    let stored = app.client.post(&replay).json(&fixed).send().await.unwrap();
    assert_eq!(stored.status(), 200);
    let stored: Value = stored.json().await.unwrap();
    let complaint_id = stored["accepted"][0]["id"].as_str().unwrap().to_string();
    app.wait_searchable("井盖缺失", 1).await;

    assert_eq!(app.get_json("/v1/dead-letters").await["total"], 0);
    let all = app.get_json("/v1/dead-letters?include_replayed=true").await;
    assert_eq!(all["dead_letters"][0]["replayed_as"], complaint_id.as_str());
    let twice = app.client.post(&replay).json(&fixed).send().await.unwrap();
    assert_eq!(twice.status(), 409);

    let missing = app
        .client
        .post(format!("{}/v1/dead-letters/nope/replay", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_body_dead_lettered_for_bad_json_replays_once_fixed() {
    let app = TestApp::start().await;
    let bad = b"[{\"external_id\": \"j-1\", \"body\": \"\xe5\x85\xac\xe4\xba\xa4\xe6\x8a\x95\xe8\xaf\x89\"},]";
    let response = app
        .push_signed("demo", bad, "application/json", crate::common::SECRET)
        .await;
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    let id = answer["error"]["dead_letter_id"].as_str().unwrap();
    let fixed = b"[{\"external_id\": \"j-1\", \"body\": \"\xe5\x85\xac\xe4\xba\xa4\xe6\x8a\x95\xe8\xaf\x89\"}]".to_vec();
    let replayed = app
        .client
        .post(format!("{}/v1/dead-letters/{id}/replay", app.base))
        .body(fixed)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 200);
    app.wait_searchable("公交", 1).await;
    app.stop().await;
}

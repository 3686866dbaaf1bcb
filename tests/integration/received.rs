//! "What arrived today": a complaint re-sent by its channel a year after it was written is new
//! to the gateway; `received_from`/`received_to` find it on search and on the case list by when
//! it arrived, while `from`/`to` keep filtering on when it says it was submitted.

use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn a_re_sent_old_complaint_is_found_by_when_it_arrived() {
    let app = TestApp::start().await;
    let today = chrono::Utc::now().date_naive();
    let last_year = (today - chrono::Duration::days(365)).to_string();
    let tomorrow = (today + chrono::Duration::days(2)).to_string();
    let yesterday = (today - chrono::Duration::days(2)).to_string();
    let today = today.to_string();
    let submitted = format!("{last_year}T09:30:00+08:00");
    let old = app
        .push_for_id(&json!({"external_id": "old-1", "title": "补发的旧投诉",
            "body": "去年反映的排水沟堵塞问题至今未处理。", "submitted_at": submitted}))
        .await;
    let fresh = app
        .push_for_id(&json!({"external_id": "new-1", "title": "新投诉",
            "body": "今天小区门口排水沟又堵塞了。"}))
        .await;
    app.classified(&old).await;
    app.classified(&fresh).await;
    app.wait_searchable("排水沟", 2).await;

    let ids = |result: &serde_json::Value| -> Vec<String> {
        let mut ids: Vec<String> = result["hits"]
            .as_array()
            .unwrap_or_else(|| panic!("hits: {result}"))
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![old.clone(), fresh.clone()];
    both.sort();
    // By submission: the old one is not today's.
    let result = app.search(&[("q", "排水沟"), ("from", &yesterday)]).await;
    assert_eq!(ids(&result), [fresh.as_str()], "{result}");
    // By arrival: both arrived today.
    let result = app
        .search(&[("q", "排水沟"), ("received_from", &yesterday)])
        .await;
    assert_eq!(ids(&result), both, "{result}");
    let result = app
        .search(&[
            ("received_from", &yesterday),
            ("received_to", &tomorrow),
            ("to", &today),
        ])
        .await;
    assert!(ids(&result).contains(&old), "{result}");
    let result = app
        .search(&[("q", "排水沟"), ("received_to", &yesterday)])
        .await;
    assert_eq!(ids(&result), Vec::<String>::new(), "{result}");
    let response = app.get("/v1/search?received_from=not-a-date").await;
    assert_eq!(response.status().as_u16(), 400);

    // The case list: the old complaint's case arrived today too.
    let cases = |query: String| {
        let app = &app;
        async move {
            let listed = app.get_json(&format!("/v1/cases?{query}")).await;
            let mut ids: Vec<String> = listed
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        }
    };
    let arrived = cases(format!("received_from={yesterday}")).await;
    assert!(arrived.contains(&old), "{arrived:?}");
    assert!(cases(format!("received_to={yesterday}")).await.is_empty());
    assert!(
        cases(format!("received_from={last_year}&received_to={yesterday}"))
            .await
            .is_empty(),
        "nothing arrived last year"
    );
}

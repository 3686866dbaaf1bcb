//! 待回复 in the browser: triage opens it from the navigation, finds the answered case's reply
//! to send, records it sent by phone with a note through its row's form, sees the notice and
//! the reply under 已发送, and the API (with the browser's session) shows it sent that way.

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{
    check_page, click, get_json_with, path_now, screenshot, session_cookie, shows,
};
use crate::common::TestApp;

/// Triage (on any signed-in page) records the reply of answered case `case` as sent by phone.
pub async fn send_a_reply(client: &Client, app: &TestApp, case: &str) {
    click(client, "nav a[href='/console/replies']").await;
    shows(client, "记为已发送").await;
    check_page(client, "replies (to send)").await;
    screenshot(client, "replies").await;

    let row = client
        .find(Locator::XPath(&format!(
            "//tr[.//a[@href='/console/cases/{case}']]"
        )))
        .await
        .expect("the answered case's reply is listed");
    let row_id = row.attr("id").await.unwrap().expect("the row's id");
    let id = row_id.strip_prefix("reply-").unwrap().to_string();
    row.find(Locator::Css("select[name=method] option[value=phone]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let note = "已电话告知投诉人，对答复无异议。";
    row.find(Locator::Css("input[name=note]"))
        .await
        .unwrap()
        .send_keys(note)
        .await
        .unwrap();
    row.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = shows(client, &format!("已记录答复 {id} 为已发送")).await;
    assert_eq!(path_now(client).await, "/console/replies");
    assert!(
        !page.contains(&format!("id=\"{row_id}\"")),
        "no longer to send"
    );
    check_page(client, "replies (recorded)").await;

    click(client, "#tab-sent").await;
    let sent = shows(client, "已发送（电话）").await;
    let listed = client
        .find(Locator::Id(&row_id))
        .await
        .expect("listed under 已发送")
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("已发送（电话）") && listed.contains(note),
        "{listed}"
    );
    assert!(sent.contains("aria-current=\"page\" id=\"tab-sent\""));
    check_page(client, "replies (sent)").await;
    screenshot(client, "replies-sent").await;

    let cookie = session_cookie(client).await;
    let api = get_json_with(
        app,
        &cookie,
        &format!("/v1/replies?state=sent&case_id={case}"),
    )
    .await;
    let item = &api["items"][0];
    assert_eq!(item["id"].to_string(), id, "{api}");
    assert_eq!(
        (&item["method"], &item["note"]),
        (&json!("phone"), &json!(note))
    );
}

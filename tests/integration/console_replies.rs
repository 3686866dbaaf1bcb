//! The console's 待回复 through the HTTP router, signed in as people are (a session cookie and
//! the form's CSRF token): an answer on a channel without a system to call back is listed for
//! triage with its case, channel, unit, finding and reply; a supervisor reads it masked as
//! `GET /v1/replies` answers them and has no form; triage's refused posts (an unknown method,
//! an unknown reply, no CSRF token) say why on the page; marked sent, it moves to 已发送 and the
//! API shows it sent with its method, note and the audit entry; a second time is refused; an
//! investigator is refused the page and has no 待回复 in the navigation.

use serde_json::{Value, json};

use super::console_case::{Console, add_user};
use super::workflow::{call_open, case_in};
use crate::common::TestApp;

const REPLY: &str = "已督促物业更换灯具，本周内修复。如仍未修复请拨打13812345678。";
const PHONE: &str = "13812345678";

/// The table row of reply `id` on a 待回复 page, if listed.
fn row(page: &str, id: i64) -> Option<String> {
    let start = page.find(&format!("<tr id=\"reply-{id}\""))?;
    let end = start + page[start..].find("</tr>")?;
    Some(page[start..end].to_string())
}

#[tokio::test]
async fn the_console_lists_replies_to_send_and_records_one_sent() {
    let app = TestApp::start().await;
    let case = case_in(&app, "reply-console", "小区门口路灯不亮已两周。", "finance").await;
    // The centre enters the unit's answer (the open API, before any account exists).
    let path = format!("/v1/cases/{case}/answer");
    let (status, body) = call_open(&app, "POST", &path, json!({"summary": REPLY})).await;
    assert_eq!(status, 200, "{body}");
    let data = app.data_dir();
    add_user(&data, "centre", &["--role", "triage"]).await;
    add_user(&data, "boss", &["--role", "supervisor"]).await;
    add_user(
        &data,
        "inv-fin",
        &["--role", "investigator", "--queue", "finance"],
    )
    .await;
    let triage = Console::sign_in(&app, "centre").await;
    let listed = triage.json("/v1/replies").await;
    let reply = &listed["items"][0];
    let id = reply["id"].as_i64().unwrap();
    let unit = reply["queue"].as_str().unwrap();

    // Triage: 待回复 in the navigation, the row with its case, channel, unit, finding, reply
    // (the phone in it shown, as the API shows it to triage) and the form.
    let (status, page) = triage.get("/console/replies").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<a href=\"/console/replies\" aria-current=\"page\">待回复</a>"),
        "the navigation's entry"
    );
    let pending = row(&page, id).unwrap_or_else(|| panic!("reply {id} listed: {page}"));
    for shown in [
        format!("href=\"/console/cases/{case}\""),
        "网上政府在线".to_string(),
        "reply-console".to_string(),
        unit.to_string(),
        "<td>其他</td>".to_string(),
        REPLY.to_string(),
        format!("action=\"/console/replies/{id}/sent\""),
        "<option value=\"letter\">信函</option>".to_string(),
    ] {
        assert!(pending.contains(&shown), "{shown}: {pending}");
    }

    // The supervisor reads it as the API answers them: masked, and without the form.
    let boss = Console::sign_in(&app, "boss").await;
    let (status, page) = boss.get("/console/replies").await;
    assert_eq!(status, 200, "{page}");
    let masked = row(&page, id).expect("listed for the supervisor");
    assert!(!masked.contains(PHONE) && masked.contains("[电话已隐去]"));
    assert!(!masked.contains("<form"), "no form without cases.decide");
    let api = boss.json("/v1/replies").await;
    assert!(!api.to_string().contains(PHONE), "the API masks it too");
    let sent = format!("/console/replies/{id}/sent");
    let (status, _, refused) = boss.post(&sent, &[("method", "phone")]).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("cases.decide"));

    // Refused posts say why on the page, and record nothing.
    let (status, _, page) = triage.post(&sent, &[("method", "fax")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("id=\"reply-error\""), "{page}");
    assert!(
        page.contains("请从列表中选择发送方式（电话、短信、信函"),
        "{page}"
    );
    assert!(row(&page, id).is_some(), "the list again, still pending");
    let (status, _, page) = triage
        .post("/console/replies/999999/sent", &[("method", "phone")])
        .await;
    assert_eq!(status, 404);
    assert!(page.contains("没有编号为 999999 的待回复答复"), "{page}");
    let (status, _, page) = triage
        .post("/console/replies/abc/sent", &[("method", "phone")])
        .await;
    assert_eq!(status, 404);
    assert!(page.contains("没有编号为 abc 的待回复答复"), "{page}");
    let without_token = reqwest::Client::new()
        .post(format!("{}{sent}", app.base))
        .header("cookie", &triage.cookie)
        .form(&[("method", "phone")])
        .send()
        .await
        .unwrap();
    assert_eq!(without_token.status().as_u16(), 403, "no CSRF token");
    assert_eq!(
        triage.json("/v1/replies").await["items"][0]["state"],
        "pending"
    );

    // Marked sent: back to the list with a notice, off 待发送, on 已发送 with how and by whom.
    let note = "已寄挂号信，编号 GH-0042";
    let (status, location, body) = triage
        .post(&sent, &[("method", "letter"), ("note", note)])
        .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(location, format!("/console/replies?sent={id}"));
    let (status, page) = triage.get(&location).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("已记录答复 {id} 为已发送")),
        "{page}"
    );
    assert!(row(&page, id).is_none(), "no longer to send");
    let (_, page) = triage.get("/console/replies?state=sent").await;
    let done = row(&page, id).unwrap_or_else(|| panic!("under 已发送: {page}"));
    assert!(
        done.contains("已发送（信函）") && done.contains("centre"),
        "{done}"
    );
    assert!(done.contains(note), "{done}");
    assert!(page.contains("<strong aria-current=\"page\" id=\"tab-sent\">已发送</strong>"));
    let api = triage.json("/v1/replies?state=sent").await;
    let item = &api["items"][0];
    assert_eq!(item["id"], id, "{api}");
    assert_eq!(
        (
            &item["state"],
            &item["method"],
            &item["note"],
            &item["done_by"]
        ),
        (
            &json!("sent"),
            &json!("letter"),
            &json!(note),
            &json!("centre")
        )
    );
    let history = triage.json(&format!("/v1/cases/{case}/history")).await;
    let recorded: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "reply.sent")
        .collect();
    assert_eq!(recorded.len(), 1, "{history}");
    assert_eq!(recorded[0]["actor"], "centre");

    // A second time: refused, saying who recorded it.
    let (status, _, page) = triage.post(&sent, &[("method", "phone")]).await;
    assert_eq!(status, 409);
    assert!(
        page.contains(&format!("答复 {id} 已由 centre 于")) && page.contains("（信函）"),
        "{page}"
    );

    // The unit's investigator: no 待回复 in the navigation, the page refused.
    let investigator = Console::sign_in(&app, "inv-fin").await;
    let (status, home) = investigator.get("/console").await;
    assert_eq!(status, 200);
    assert!(!home.contains("/console/replies"), "no nav entry");
    let (status, page) = investigator.get("/console/replies").await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("intake.read") && !page.contains(REPLY));
    app.stop().await;
}

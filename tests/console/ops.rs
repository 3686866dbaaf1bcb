//! The console's 渠道, 死信 and 管理 pages and the case page's 回访 and 延期 forms, in the
//! browser: an admin walks 渠道 and 死信 (a dead letter whose raw body holds a `<script>` is
//! shown as text, a non-text one as a hex dump, one is replayed with a correction), creates an
//! investigator on 管理 who then signs in, makes and revokes a token; the investigator accepts
//! a case and asks for a 延期, triage (refused 管理: 403) approves it; the admin stores the next
//! year's calendar and sees the case's extended provisional deadline listed; the investigator
//! answers and triage records the 回访, then records the answer sent by phone on 待回复. Each
//! new page is checked and screenshotted.

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{
    PASSWORD, add_user, browser, browser_log, check_page, click, fill, get_json_with, goto, log_in,
    log_out, path_now, routed_case, screenshot, session_cookie, shows, sign_in_at, start_driver,
    take_step,
};
use crate::common::{SECRET, TestApp};

/// A dead letter from a push the gateway refuses: its id.
async fn dead_letter(app: &TestApp, body: &[u8]) -> String {
    let response = app
        .push_signed("demo", body, "application/json", SECRET)
        .await;
    let answer: serde_json::Value = response.json().await.unwrap();
    answer["rejected"][0]["dead_letter_id"]
        .as_str()
        .or(answer["error"]["dead_letter_id"].as_str())
        .unwrap_or_else(|| panic!("a dead letter: {answer}"))
        .to_string()
}

/// The admin's walk through 渠道 and 死信.
async fn sources_and_dead_letters(client: &Client, app: &TestApp, scripted: &str, binary: &str) {
    let nav = client.source().await.unwrap();
    for entry in ["渠道", "死信", "管理"] {
        assert!(
            nav.contains(&format!(">{entry}</a>")),
            "the admin's nav: {entry}"
        );
    }
    goto(client, app, "/console/sources").await;
    let page = client.source().await.unwrap();
    assert!(
        page.contains("demo") && page.contains("正常（推送）"),
        "the webhook sender"
    );
    check_page(client, "sources").await;
    screenshot(client, "sources").await;

    goto(client, app, "/console/dead-letters").await;
    let page = client.source().await.unwrap();
    assert!(page.contains("missing required field `body`"), "the reason");
    assert!(page.contains(&format!("/console/dead-letters/{scripted}")));
    check_page(client, "dead letters").await;
    screenshot(client, "dead-letters").await;

    // The raw body's `<script>` is text on the page, escaped in its HTML, and never ran.
    goto(client, app, &format!("/console/dead-letters/{scripted}")).await;
    let raw = client.find(Locator::Id("raw-text")).await.unwrap();
    let shown = raw.text().await.unwrap();
    assert!(
        shown.contains("<script>document.title='x'</script>"),
        "{shown}"
    );
    let html = client.source().await.unwrap();
    assert!(html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"));
    assert_ne!(client.title().await.unwrap(), "x", "the script did not run");
    check_page(client, "dead letter (text)").await;
    screenshot(client, "dead-letter").await;

    // Replayed as it is, it fails the same way: said on the page, the correction kept.
    click(client, "form[action$='/replay'] button").await;
    shows(client, "重放未成功").await;
    let _ = browser_log(client).await;
    // With a correction it is stored.
    let fixed = json!({"external_id": "console-dl", "title": "路灯不亮",
        "body": "长青路东段路灯连续一周不亮，夜间行人看不清路面。"});
    fill(client, "corrected", &fixed.to_string()).await;
    click(client, "form[action$='/replay'] button").await;
    shows(client, "已重放为投诉").await;
    assert!(client.find(Locator::Id("replayed-as")).await.is_ok());
    check_page(client, "dead letter (replayed)").await;

    goto(client, app, &format!("/console/dead-letters/{binary}")).await;
    let dump = client.find(Locator::Id("raw-hex")).await.unwrap();
    assert!(
        dump.text().await.unwrap().starts_with("00000000  00 01 ff"),
        "a hex dump"
    );
    check_page(client, "dead letter (hex)").await;
    screenshot(client, "dead-letter-hex").await;
}

/// The admin's 管理: a new investigator (who then signs in), a token made and revoked, the
/// routing view.
async fn admin_pages(client: &Client, app: &TestApp) {
    click(client, "nav a[href='/console/admin/users']").await;
    shows(client, "新建用户").await;
    check_page(client, "admin users").await;
    screenshot(client, "admin-users").await;
    fill(client, "user-name", "inv-sup").await;
    fill(client, "user-display", "监察局办理员").await;
    fill(client, "user-password", PASSWORD).await;
    click(client, "#role-investigator").await;
    click(client, "#queue-supervision").await;
    click(client, "#new-user-form button[type=submit]").await;
    let page = shows(client, "已创建用户 inv-sup").await;
    assert!(
        !page.contains("id=\"new-password\"") && !page.contains(PASSWORD),
        "a typed password is not shown back"
    );
    assert!(page.contains("id=\"user-inv-sup\""));
    check_page(client, "admin users (created)").await;
    assert!(
        !page.contains("/console/admin/users/chief/disable"),
        "not offered to disable oneself"
    );
    // Disabled, then enabled again (the account's row says so each time).
    click(
        client,
        "form[action='/console/admin/users/inv-sup/disable'] button",
    )
    .await;
    let row = |page: &str| {
        let start = page.find("id=\"user-inv-sup\"").unwrap();
        page[start..start + page[start..].find("</tr>").unwrap()].to_string()
    };
    let page = shows(client, "/console/admin/users/inv-sup/enable").await;
    assert!(row(&page).contains("已停用"));
    click(
        client,
        "form[action='/console/admin/users/inv-sup/enable'] button",
    )
    .await;
    let page = shows(client, "/console/admin/users/inv-sup/disable").await;
    assert!(row(&page).contains("正常"));
    // Recorded as the command line records it, under the admin who used the page.
    let cookie = session_cookie(client).await;
    let audit = get_json_with(app, &cookie, "/v1/audit?user=chief").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"]["user"] == "inv-sup")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["user.add", "user.disable", "user.enable"],
        "{audit}"
    );

    goto(client, app, "/console/admin/tokens").await;
    check_page(client, "admin tokens").await;
    fill(client, "token-name", "热线系统对接").await;
    click(client, "form[action='/console/admin/tokens'] button").await;
    shows(client, "只显示这一次").await;
    let token = client
        .find(Locator::Id("new-token"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(token.starts_with("cgt_"), "{token}");
    let me = reqwest::Client::new()
        .get(format!("{}/v1/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(me.status().is_success(), "the new token works");
    check_page(client, "admin tokens (created)").await;
    screenshot(client, "admin-tokens").await;
    goto(client, app, "/console/admin/tokens").await;
    assert!(
        !client.source().await.unwrap().contains(&token),
        "shown once"
    );
    click(client, "form[action$='/revoke'] button").await;
    shows(client, "已撤销").await;
    let me = reqwest::Client::new()
        .get(format!("{}/v1/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 401, "revoked at once");

    goto(client, app, "/console/admin/routing").await;
    let page = client.source().await.unwrap();
    assert!(page.contains("市监察局") && page.contains("路由表"));
    check_page(client, "admin routing").await;
    screenshot(client, "admin-routing").await;

    // The phone-sized 管理 and 死信.
    client.set_window_size(390, 844).await.unwrap();
    for (path, name) in [
        ("/console/admin/users", "admin-users-390px"),
        ("/console/dead-letters", "dead-letters-390px"),
    ] {
        goto(client, app, path).await;
        check_page(client, name).await;
        screenshot(client, name).await;
    }
    client.set_window_size(1280, 800).await.unwrap();
}

/// The admin stores 2027: the case's extended deadline, provisional for want of 2027, is listed.
async fn calendar_upload(client: &Client, app: &TestApp, case: &str) {
    goto(client, app, "/console/admin/calendar").await;
    check_page(client, "admin calendar").await;
    fill(client, "calendar-year", "2027").await;
    fill(
        client,
        "calendar-toml",
        "year = 2027\nholidays = [\"2027-01-01\"]\nworking_weekends = []\n",
    )
    .await;
    click(client, "form[action='/console/admin/calendar'] button").await;
    let page = shows(client, "已保存 2027 年的工作日历").await;
    assert!(
        page.contains(&format!("href=\"/console/cases/{case}\"")),
        "the recounted deadline's case is listed"
    );
    check_page(client, "admin calendar (stored)").await;
    screenshot(client, "admin-calendar").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_pages_and_case_forms_in_a_real_browser() {
    let _one_browser = super::browser::one_at_a_time().await;
    let started = std::time::Instant::now();
    let app = TestApp::start().await;
    let scripted = dead_letter(
        &app,
        br#"{"external_id": "console-dl", "title": "<script>document.title='x'</script>", "body": "  "}"#,
    )
    .await;
    let binary = dead_letter(&app, b"\x00\x01\xff{not json").await;
    let (complaint, case) = routed_case(
        &app,
        &json!({
            "external_id": "console-ops",
            "title": "市监察局办事窗口拖延",
            "body": "我在市监察局窗口递交材料已经一个月，一直说在审核，没有任何答复。",
        }),
    )
    .await;
    let corrected = app
        .client
        .post(format!(
            "{}/v1/complaints/{complaint}/classification",
            app.base
        ))
        .json(&json!({"queue": "supervision"}))
        .send()
        .await
        .unwrap();
    assert!(corrected.status().is_success());
    let (other_complaint, other_case) = routed_case(
        &app,
        &json!({
            "external_id": "console-ops-2",
            "title": "菜市场占道经营",
            "body": "幸福路菜市场门口摊位占满人行道，早高峰行人只能走机动车道。",
        }),
    )
    .await;
    add_user(&app, "chief", &["--role", "admin"]);
    add_user(&app, "desk", &["--role", "triage"]);

    let driver = start_driver().await;
    let client = browser(&driver).await;

    log_in(&client, &app, "chief").await;
    let _ = browser_log(&client).await;
    sources_and_dead_letters(&client, &app, &scripted, &binary).await;
    admin_pages(&client, &app).await;
    log_out(&client, &app).await;

    // The account made on 管理 signs in, accepts the case and asks for a 延期.
    sign_in_at(&client, &app, "inv-sup", &format!("/console/cases/{case}")).await;
    take_step(&client, "accept", "已签收").await;
    fill(&client, "extension-days", "15").await;
    fill(
        &client,
        "extension-reason",
        "需要调取近三个月的窗口办件记录核实。",
    )
    .await;
    click(&client, "#ask-extension button").await;
    shows(&client, "待审批").await;
    check_page(&client, "case (extension asked)").await;
    log_out(&client, &app).await;

    // Triage: no 管理 (403), and approves the 延期.
    log_in(&client, &app, "desk").await;
    assert!(!client.source().await.unwrap().contains(">管理</a>"));
    goto(&client, &app, "/console/admin/users").await;
    let refused = client.source().await.unwrap();
    assert!(refused.contains("无权操作") && refused.contains("people.manage"));
    screenshot(&client, "admin-403").await;
    let _ = browser_log(&client).await;
    // Nor the calendar and routing pages, though triage reads the queues.
    for page in ["/console/admin/calendar", "/console/admin/routing"] {
        goto(&client, &app, page).await;
        let refused = client.source().await.unwrap();
        assert!(refused.contains("无权操作"), "{page}");
        let _ = browser_log(&client).await;
    }
    goto(&client, &app, &format!("/console/cases/{case}")).await;
    click(&client, "button[id^='approve-']").await;
    shows(&client, "已批准").await;
    check_page(&client, "case (extension approved)").await;
    screenshot(&client, "case-extension").await;
    // Triage corrects another case's unit and priority with the case page's form.
    goto(&client, &app, &format!("/console/cases/{other_case}")).await;
    client
        .find(Locator::Css("#correct-queue option[value=finance]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("#correct-priority option[value=high]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&client, "correct-note", "占道经营归口有误，改交。").await;
    click(&client, "#correct-form button[type=submit]").await;
    let corrected = shows(&client, "<dd>市财政局</dd>").await;
    assert!(
        corrected.contains("<dt>紧急程度</dt><dd>紧急</dd>"),
        "the corrected priority is shown"
    );
    assert!(
        corrected.contains("占道经营归口有误"),
        "the correction is listed"
    );
    let cookie = session_cookie(&client).await;
    let path = format!("/v1/complaints/{other_complaint}/classification");
    let route = &get_json_with(&app, &cookie, &path).await["route"];
    assert_eq!(
        (&route["queue"], &route["priority"]),
        (&json!("finance"), &json!("high"))
    );
    check_page(&client, "case (corrected)").await;
    log_out(&client, &app).await;

    log_in(&client, &app, "chief").await;
    calendar_upload(&client, &app, &case).await;
    log_out(&client, &app).await;

    sign_in_at(&client, &app, "inv-sup", &format!("/console/cases/{case}")).await;
    fill(
        &client,
        "reply",
        "经核查，材料审核超期属实，已督促窗口三日内办结并致歉。",
    )
    .await;
    take_step(&client, "answer", "已办结").await;
    log_out(&client, &app).await;

    // Triage records the 回访 of the answered case.
    sign_in_at(&client, &app, "desk", &format!("/console/cases/{case}")).await;
    fill(&client, "follow-note", "投诉人表示窗口已主动联系并办结。").await;
    click(&client, "#follow-up-form button[type=submit]").await;
    let page = shows(&client, "已联系（电话）").await;
    assert!(page.contains("满意"));
    assert_eq!(path_now(&client).await, format!("/console/cases/{case}"));
    check_page(&client, "case (follow-up)").await;
    screenshot(&client, "case-follow-up").await;
    // The answer goes back by phone: 待回复's form records it sent.
    crate::replies::send_a_reply(&client, &app, &case).await;

    client.close().await.unwrap();
    drop(driver);
    app.stop().await;
    println!(
        "console operations browser test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

//! 检索, 队列, 热点 and 统计 in the browser: triage finds a fresh complaint by a substring and
//! opens its case; the accused unit's investigator searches and sees only their unit's
//! complaints, masked, and only their unit's queue; hot issues carry trend lines; the
//! supervisor's 统计 counts the answer given while the page was open, its CSV is the API's,
//! and the supervisor's search shows every complaint masked. Every page is screenshotted and passes the browser-log check (load times printed).

use std::process::Command;

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use super::browser::{
    add_user, browser, browser_log, check_page, follow_link, goto, log_in, log_out, path_now,
    routed_case, screenshot, session_cookie, sign_in_at, start_driver,
};
use super::common::{TestApp, binary, eventually};

/// Words both complaints hold (the investigator's search).
const SHARED: &str = "本人特此反映";
/// Only the fresh complaint holds it (triage's search).
const FRESH_WORDS: &str = "积水漫过人行道";
const ACCUSED_PHONE: &str = "13977778888";

/// A token for `user` (the command line, beside the running gateway).
fn token_for(app: &TestApp, user: &str) -> String {
    let out = Command::new(binary())
        .arg("--data-dir")
        .arg(app.data_dir())
        .args(["token", "create", "--user", user, "--name", "find-tests"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Takes `action` on `case` through the API as the token's user.
async fn step(app: &TestApp, token: &str, case: &str, body: Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/cases/{case}/transitions", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "{body}: {status} {}",
        response.text().await.unwrap()
    );
}

/// The text of the element `css`.
async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Searches `q` with the page's form.
async fn search_for(client: &Client, app: &TestApp, q: &str) -> String {
    goto(client, app, "/console/search").await;
    client
        .find(Locator::Id("q"))
        .await
        .unwrap()
        .send_keys(q)
        .await
        .unwrap();
    client
        .find(Locator::Css(".search-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the search's results", || async {
        let source = client.source().await.ok()?;
        source.contains("id=\"total\"").then_some(source)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_queues_hot_and_stats_in_a_real_browser() {
    let _one_browser = super::browser::one_at_a_time().await;
    let app = TestApp::start().await;
    let (fresh_id, fresh_case) = routed_case(
        &app,
        &json!({
            "external_id": "find-fresh",
            "title": "和平路桥洞下雨后积水",
            "body": format!("{SHARED}：和平路桥洞每逢下雨{FRESH_WORDS}，行人只能绕行机动车道，请排水部门处理。"),
            "complainant": {"name": "柳某", "phone": "13600001111"}
        }),
    )
    .await;
    let (accused_id, accused_case) = routed_case(
        &app,
        &json!({
            "external_id": "find-accused",
            "title": "市监察局办事窗口态度生硬",
            "body": format!("{SHARED}：市监察局办事窗口工作人员态度生硬，拒不说明理由。联系电话{ACCUSED_PHONE}。"),
            "target_unit": "市监察局",
            "complainant": {"name": "诸葛某某", "phone": ACCUSED_PHONE}
        }),
    )
    .await;
    for (id, queue) in [(&accused_id, "supervision"), (&fresh_id, "finance")] {
        let corrected = app
            .client
            .post(format!("{}/v1/complaints/{id}/classification", app.base))
            .json(&json!({"queue": queue}))
            .send()
            .await
            .unwrap();
        assert!(corrected.status().is_success(), "{}", corrected.status());
    }
    // The index has both, each with its case and its unit, before anyone signs in.
    for (case, queue) in [(&accused_case, "supervision"), (&fresh_case, "finance")] {
        eventually(&format!("{case} is searchable in {queue}"), || async {
            let found = app.search(&[("q", SHARED), ("queue", queue)]).await;
            let hits = found["hits"].as_array()?;
            hits.iter()
                .any(|h| h["case_id"] == case.as_str())
                .then_some(())
        })
        .await;
    }
    add_user(&app, "centre", &["--role", "triage"]);
    add_user(
        &app,
        "inv-jc",
        &["--role", "investigator", "--queue", "supervision"],
    );
    add_user(&app, "boss", &["--role", "supervisor"]);
    let unit = token_for(&app, "inv-jc");

    let driver = start_driver().await;
    let client = browser(&driver).await;

    // Triage: a substring of the fresh complaint finds it, highlighted; its link opens the case.
    log_in(&client, &app, "centre").await;
    let home = client.source().await.unwrap();
    for href in [
        "/console/search",
        "/console/queues",
        "/console/hot",
        "/console/stats",
    ] {
        assert!(
            home.contains(&format!("href=\"{href}\"")),
            "triage's navigation: {href}"
        );
    }
    let found = search_for(&client, &app, FRESH_WORDS).await;
    assert_eq!(
        text_of(&client, "#total").await,
        "1",
        "one complaint holds it"
    );
    assert!(found.contains(&format!("href=\"/console/cases/{fresh_case}\"")));
    assert!(found.contains("<mark>"), "the match is highlighted");
    assert!(
        found.contains("渠道") && found.contains("收到日期"),
        "the facets"
    );
    check_page(&client, "search (triage)").await;
    screenshot(&client, "search-triage").await;
    let case_path = format!("/console/cases/{fresh_case}");
    follow_link(
        &client,
        &app,
        &format!(".hit a[href='{case_path}']"),
        &case_path,
    )
    .await;
    assert!(client.source().await.unwrap().contains(FRESH_WORDS));
    check_page(&client, "case (from search)").await;
    // A facet narrows the query: the finance unit's link keeps the words.
    search_for(&client, &app, SHARED).await;
    assert_eq!(text_of(&client, "#total").await, "2");
    client
        .find(Locator::Css(".facet a[href*='queue=finance']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the narrowed search", || async {
        let url = client.current_url().await.ok()?;
        url.as_str().contains("queue=finance").then_some(())
    })
    .await;
    assert_eq!(
        text_of(&client, "#total").await,
        "1",
        "narrowed to one unit"
    );
    check_page(&client, "search (narrowed)").await;

    goto(&client, &app, "/console/queues").await;
    let queues = client.source().await.unwrap();
    assert!(queues.contains(&format!("/console/cases/{fresh_case}")));
    assert!(queues.contains(&format!("/console/cases/{accused_case}")));
    assert!(queues.contains("countdown"), "each case's countdown");
    check_page(&client, "queues (triage)").await;
    screenshot(&client, "queues-triage").await;
    goto(&client, &app, "/console/hot").await;
    let hot = client.source().await.unwrap();
    assert!(hot.contains(&format!("/console/cases/{fresh_case}")));
    assert!(hot.contains("<svg class=\"spark\""), "a trend line");
    check_page(&client, "hot (triage)").await;
    screenshot(&client, "hot-triage").await;
    log_out(&client, &app).await;

    // The accused unit's investigator: their unit's complaint only, the phone masked.
    log_in(&client, &app, "inv-jc").await;
    let home = client.source().await.unwrap();
    assert!(
        !home.contains("href=\"/console/stats\""),
        "no 统计 without stats.read"
    );
    let found = search_for(&client, &app, SHARED).await;
    assert_eq!(text_of(&client, "#total").await, "1", "their reach only");
    assert!(found.contains(&format!("/console/cases/{accused_case}")));
    assert!(!found.contains(&format!("/console/cases/{fresh_case}")));
    assert!(
        !found.contains("和平路"),
        "another unit's complaint is not shown"
    );
    assert!(!found.contains(ACCUSED_PHONE), "the phone is masked");
    assert!(found.contains("[电话已隐去]"));
    check_page(&client, "search (investigator)").await;
    screenshot(&client, "search-investigator").await;
    let by_phone = search_for(&client, &app, ACCUSED_PHONE).await;
    assert_eq!(
        text_of(&client, "#total").await,
        "0",
        "a masked phone is not confirmed"
    );
    assert!(!by_phone.contains("诸葛"));
    goto(&client, &app, "/console/queues").await;
    let queues = client.source().await.unwrap();
    assert!(queues.contains(&format!("/console/cases/{accused_case}")));
    assert!(!queues.contains(&format!("/console/cases/{fresh_case}")));
    check_page(&client, "queues (investigator)").await;
    goto(&client, &app, "/console/queues/finance").await;
    assert!(
        client.source().await.unwrap().contains("页面不存在"),
        "another unit's queue"
    );
    let _ = browser_log(&client).await;
    goto(&client, &app, "/console/hot").await;
    assert!(!client.source().await.unwrap().contains(&fresh_case));
    check_page(&client, "hot (investigator)").await;
    log_out(&client, &app).await;

    // The supervisor's 统计 counts the answer given while it is open.
    step(&app, &unit, &accused_case, json!({"action": "accept"})).await;
    step(&app, &unit, &accused_case, json!({"action": "start"})).await;
    sign_in_at(&client, &app, "boss", "/console/stats").await;
    assert_eq!(path_now(&client).await, "/console/stats");
    let before: i64 = text_of(&client, "#total-answered").await.parse().unwrap();
    let received: i64 = text_of(&client, "#total-received").await.parse().unwrap();
    assert!(
        received >= 2,
        "this month's complaints are counted: {received}"
    );
    let page = client.source().await.unwrap();
    assert!(page.contains("<svg class=\"chart\""), "the charts");
    assert!(page.contains("12345热线") || page.contains("网上政府") || page.contains("其他渠道"));
    check_page(&client, "stats (supervisor)").await;
    screenshot(&client, "stats-supervisor").await;
    step(
        &app,
        &unit,
        &accused_case,
        json!({"action": "answer", "finding": "substantiated",
               "reply": "经核查情况属实，已对窗口人员批评教育并整改。"}),
    )
    .await;
    client.refresh().await.unwrap();
    let after: i64 = text_of(&client, "#total-answered").await.parse().unwrap();
    assert_eq!(after, before + 1, "the answer is counted on 统计");
    check_page(&client, "stats (after the answer)").await;
    // The CSV download is the API's CSV of the same period.
    let csv_href = client
        .find(Locator::Css("a[download]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let cookie = session_cookie(&client).await;
    let plain = reqwest::Client::new();
    let get = |path: String| {
        let request = plain
            .get(format!("{}{path}", app.base))
            .header("cookie", &cookie);
        async move { request.send().await.unwrap() }
    };
    let console_csv = get(csv_href.clone()).await;
    assert_eq!(console_csv.status().as_u16(), 200);
    assert!(
        console_csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let console_csv = console_csv.text().await.unwrap();
    let query = csv_href.split_once('?').unwrap().1;
    let api_csv = get(format!("/v1/stats?{query}&by=unit&series=day&format=csv"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(console_csv, api_csv, "the console's CSV is the API's");
    // The supervisor reads every case, every complainant masked.
    let found = search_for(&client, &app, SHARED).await;
    assert_eq!(text_of(&client, "#total").await, "2");
    assert!(!found.contains(ACCUSED_PHONE), "the phone is masked");
    assert!(found.contains("[电话已隐去]"));
    check_page(&client, "search (supervisor)").await;
    goto(&client, &app, "/console/stats").await;
    client.set_window_size(390, 844).await.unwrap();
    client.refresh().await.unwrap();
    check_page(&client, "stats (390 px)").await;
    screenshot(&client, "stats-supervisor-390px").await;
    client.set_window_size(1280, 800).await.unwrap();

    client.close().await.unwrap();
    drop(driver);
    app.stop().await;
}

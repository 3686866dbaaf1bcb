//! The console in a real browser: Debian's headless Chromium driven over WebDriver
//! (`chromedriver`, started here on a free loopback port) with fantoccini.
//!
//! Its own test binary (the one exception to the single integration binary), one test, so the
//! pages are walked serially by one browser: triage logs in and finds a fresh complaint's case
//! on the 工作台 and opens it; a console form posted without its CSRF token is refused; an
//! unknown page answers a 404 page with a body; the accused unit's investigator opens the case
//! about their unit and the complainant's name and phone are not in the page's HTML, then
//! accepts it (签收) and answers it (办结) with the page's forms; a supervisor sees the month's
//! figures and may not take a step; triage closes the case (结案). Every page
//! type is screenshotted to `target/console-screenshots/`, each normal page is checked for
//! console errors and failed requests, and each page's `load` time is printed (never asserted).
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `.ci/run` installs both); fails saying so when either is missing.

#[path = "console/browser.rs"]
mod browser;
mod common;
#[path = "console/find.rs"]
mod find;
#[path = "console/ops.rs"]
mod ops;
#[path = "console/replies.rs"]
mod replies;

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use browser::{
    add_user, browser, browser_log, check_page, csrf_token, follow_link, get_json_with, goto,
    log_in, log_out, path_now, routed_case, screenshot, session_cookie, sign_in_at, start_driver,
    submit_login, take_step,
};
use common::{TestApp, eventually};

const NAME: &str = "司马某某";
const PHONE: &str = "13698765432";

/// A wrong password: the login form again, saying so (the API's login underneath).
async fn wrong_password_is_refused(client: &Client, app: &TestApp) {
    goto(client, app, "/console/login").await;
    submit_login(client, "centre", "not the password").await;
    let page = eventually("the refused login", || async {
        let source = client.source().await.ok()?;
        source.contains("用户名或密码错误").then_some(source)
    })
    .await;
    assert!(page.contains("value=\"centre\""), "the name is kept");
    assert_eq!(path_now(client).await, "/console/login");
    let _ = browser_log(client).await;
}

/// What a supervisor may not do, and what the audit record shows them: a step on a case
/// (`cases.work` is not theirs: 403 even with the CSRF token), and triage's view of personal
/// data on the case page, recorded (read through the API with the same session cookie).
async fn supervisor_limits_and_the_record(
    client: &Client,
    app: &TestApp,
    case: &str,
    viewed: &str,
) {
    let csrf = csrf_token(client).await;
    let cookie = session_cookie(client).await;
    let plain = reqwest::Client::new();
    let response = plain
        .post(format!("{}/console/cases/{case}/transitions", app.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("action", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.text().await.unwrap().contains("cases.work"));
    let audit = get_json_with(app, &cookie, "/v1/audit?action=personal_data.view").await;
    let console_views: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"]["route"] == "GET /console/cases/{id}")
        .collect();
    assert_eq!(console_views.len(), 1, "{audit}");
    assert_eq!(console_views[0]["actor"], "centre");
    assert_eq!(console_views[0]["complaint_ids"], json!([viewed]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let _one_browser = browser::one_at_a_time().await;
    let started = std::time::Instant::now();
    let app = TestApp::start().await;
    // A fresh complaint of today, and one about 市监察局 sent to that very bureau.
    let (fresh_id, fresh_case) = routed_case(
        &app,
        &json!({
            "external_id": "console-fresh",
            "title": "幸福里小区门口井盖缺失",
            "body": "幸福里小区东门外的井盖丢失三天，夜里有行人差点掉进去，请尽快处理。",
            "complainant": {"name": "欧某", "phone": "13511112222"}
        }),
    )
    .await;
    let (accused_id, accused_case) = routed_case(
        &app,
        &json!({
            "external_id": "console-accused",
            "title": "市监察局窗口推诿",
            "body": format!("我去市监察局办理材料，窗口人员一再推诿。我的电话{PHONE}。"),
            "target_unit": "市监察局",
            "complainant": {"name": NAME, "phone": PHONE}
        }),
    )
    .await;
    // Before any account exists the API is open on loopback: triage's corrections by hand,
    // the accused complaint to the bureau it accuses, the other to another unit.
    for (id, queue) in [(&accused_id, "supervision"), (&fresh_id, "finance")] {
        let corrected = app
            .client
            .post(format!("{}/v1/complaints/{id}/classification", app.base))
            .json(&json!({"queue": queue}))
            .send()
            .await
            .unwrap();
        assert!(corrected.status().is_success(), "{}", corrected.status());
        eventually(&format!("{id} is with {queue}"), || async {
            let c = app
                .get_json(&format!("/v1/complaints/{id}/classification"))
                .await;
            (c["route"]["queue"] == queue).then_some(())
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

    let driver = start_driver().await;
    let client = browser(&driver).await;

    // The login page, then triage's 工作台 lists the fresh case.
    goto(&client, &app, "/console").await;
    assert_eq!(path_now(&client).await, "/console/login");
    check_page(&client, "login").await;
    screenshot(&client, "login").await;
    wrong_password_is_refused(&client, &app).await;
    log_in(&client, &app, "centre").await;
    let home = client.source().await.unwrap();
    assert!(home.contains("今日新收"), "triage's home");
    assert!(
        home.contains(&format!("/console/cases/{fresh_case}")),
        "the fresh complaint's case is listed"
    );
    check_page(&client, "home (triage)").await;
    screenshot(&client, "home-triage").await;

    // Its case page, reached by the link.
    let case_path = format!("/console/cases/{fresh_case}");
    follow_link(&client, &app, &format!("a[href='{case_path}']"), &case_path).await;
    let case_page = client.source().await.unwrap();
    assert!(
        case_page.contains("幸福里小区东门外的井盖丢失"),
        "the complaint's text"
    );
    assert!(
        case_page.contains("13511112222"),
        "triage sees the complainant"
    );
    assert!(case_page.contains("办结时限"), "the answer deadline");
    check_page(&client, "case (triage)").await;
    screenshot(&client, "case-triage").await;

    // A console form posted without its CSRF token is refused, and nothing happens.
    client
        .execute(
            "document.querySelector('#logout input[name=csrf]').remove(); \
             document.querySelector('#logout').submit();",
            vec![],
        )
        .await
        .unwrap();
    eventually("the refusal page", || async {
        let source = client.source().await.ok()?;
        source.contains("403").then_some(source)
    })
    .await;
    let refused = client.source().await.unwrap();
    assert!(refused.contains("CSRF"), "the refusal says why");
    screenshot(&client, "error-403").await;
    let _ = browser_log(&client).await;
    goto(&client, &app, "/console").await;
    assert_eq!(path_now(&client).await, "/console", "still signed in");
    let _ = browser_log(&client).await;
    let cookie = session_cookie(&client).await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = plain
        .post(format!("{}/console/logout", app.base))
        .header("cookie", &cookie)
        .form(&[("csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.text().await.unwrap().contains("CSRF"));
    let response = plain
        .post(format!("{}/console/logout", app.base))
        .form(&[("csrf", "any")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401, "a post without a session");
    assert!(response.text().await.unwrap().contains("请先登录"));

    // An unknown page: 404 with a page.
    goto(&client, &app, "/console/no-such-page").await;
    let missing = client.source().await.unwrap();
    assert!(missing.contains("页面不存在"), "the 404 page has a body");
    screenshot(&client, "error-404").await;
    // The log is read for real: the 404 document is there as an error.
    let logged = browser_log(&client).await;
    assert!(
        logged
            .iter()
            .any(|e| e["level"] == "SEVERE" && e["message"].to_string().contains("404")),
        "the browser log holds the 404: {logged:?}"
    );
    let response = plain
        .get(format!("{}/console/cases/no-such-case", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(response.text().await.unwrap().contains("页面不存在"));

    // The phone-sized 工作台.
    client.set_window_size(390, 844).await.unwrap();
    goto(&client, &app, "/console").await;
    check_page(&client, "home (390 px)").await;
    screenshot(&client, "home-triage-390px").await;
    client.set_window_size(1280, 800).await.unwrap();
    log_out(&client, &app).await;
    assert_eq!(path_now(&client).await, "/console/login");

    // The accused unit's investigator: the case is theirs to accept, without the complainant.
    log_in(&client, &app, "inv-jc").await;
    let home = client.source().await.unwrap();
    assert!(home.contains("待签收"), "the investigator's home");
    assert!(
        home.contains(&format!("/console/cases/{accused_case}")),
        "the accused case waits for 签收"
    );
    assert!(
        !home.contains(&format!("/console/cases/{fresh_case}")),
        "another unit's case is out of reach"
    );
    check_page(&client, "home (investigator)").await;
    screenshot(&client, "home-investigator").await;
    goto(&client, &app, &format!("/console/cases/{accused_case}")).await;
    let masked = client.source().await.unwrap();
    assert!(
        masked.contains("窗口人员一再推诿"),
        "the complaint's text is shown"
    );
    assert!(!masked.contains(NAME), "the complainant's name is absent");
    assert!(!masked.contains(PHONE), "the complainant's phone is absent");
    assert!(
        masked.contains("[电话已隐去]"),
        "the phone in the text is masked"
    );
    assert!(masked.contains("为何归并"), "why it is in the case");
    assert!(masked.contains("为何分类与交办"), "why it went to the unit");
    check_page(&client, "case (investigator, masked)").await;
    screenshot(&client, "case-investigator-masked").await;
    goto(&client, &app, &format!("/console/cases/{fresh_case}")).await;
    let elsewhere = client.source().await.unwrap();
    assert!(
        elsewhere.contains("页面不存在"),
        "out of reach is not found"
    );
    assert!(!elsewhere.contains("井盖"));
    let _ = browser_log(&client).await;
    goto(&client, &app, &format!("/console/cases/{accused_case}")).await;
    let _ = browser_log(&client).await;
    take_step(&client, "accept", "已签收").await;
    check_page(&client, "case (accepted)").await;
    client
        .find(Locator::Id("reply"))
        .await
        .unwrap()
        .send_keys("经核查，窗口人员存在推诿情况，已责令整改并当面致歉。")
        .await
        .unwrap();
    take_step(&client, "answer", "已办结").await;
    check_page(&client, "case (answered)").await;
    screenshot(&client, "case-answered").await;
    log_out(&client, &app).await;

    // The supervisor's figures.
    log_in(&client, &app, "boss").await;
    let home = client.source().await.unwrap();
    for figure in ["响应率", "解决率", "满意率"] {
        assert!(home.contains(figure), "{figure}");
    }
    check_page(&client, "home (supervisor)").await;
    screenshot(&client, "home-supervisor").await;
    supervisor_limits_and_the_record(&client, &app, &accused_case, &fresh_id).await;
    log_out(&client, &app).await;

    // Triage closes the answered case from its page.
    sign_in_at(
        &client,
        &app,
        "centre",
        &format!("/console/cases/{accused_case}"),
    )
    .await;
    take_step(&client, "close", "已结案").await;
    check_page(&client, "case (closed)").await;
    let history = client.source().await.unwrap();
    for step in ["流程：签收", "流程：办结", "流程：结案"] {
        assert!(history.contains(step), "the history shows {step}");
    }

    client.close().await.unwrap();
    drop(driver);
    app.stop().await;
    println!(
        "console browser test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(started.elapsed() < Duration::from_secs(300));
}

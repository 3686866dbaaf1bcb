//! The console's case page through the HTTP router, signed in as people are (a session cookie
//! and the form's CSRF token): its complaints a page at a time with why each was grouped,
//! masked for the accused unit's investigator on every page; why it was classified and routed
//! (the model's top 3, the rule, the corrections); the corrected priority; similar cases
//! within the caller's reach; the merge and split forms and their refusals; and 管理 closed to
//! triage.

use std::path::Path;

use serde_json::{Value, json};

use super::import_export::run_beside;
use crate::common::{TestApp, config_text, eventually};

const PASSWORD: &str = "案件页测试 2026";

/// A signed-in browser: its session cookie and CSRF token (`console_replies` signs in so too).
pub(super) struct Console {
    base: String,
    pub(super) cookie: String,
    csrf: String,
    http: reqwest::Client,
}

/// Creates `name` with a password and `args` (roles, queues).
pub(super) async fn add_user(data: &Path, name: &str, args: &[&str]) {
    let mut all = vec!["user", "add", name, "--password-stdin"];
    all.extend_from_slice(args);
    let line = format!("{PASSWORD}\n");
    let (ok, _, stderr) = run_beside(data, &all, Some(line.as_bytes())).await;
    assert!(ok, "user add {name}: {stderr}");
}

impl Console {
    /// Signs in as `name` (the session the console's login makes: `POST /v1/session`).
    pub(super) async fn sign_in(app: &TestApp, name: &str) -> Console {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = http
            .post(format!("{}/v1/session", app.base))
            .json(&json!({"name": name, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{name} signs in");
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_string();
        let body: Value = response.json().await.unwrap();
        Console {
            base: app.base.clone(),
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_string(),
            http,
        }
    }

    pub(super) async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub(super) async fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Posts a console form with the CSRF token: status, where it redirects to, the page.
    pub(super) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, location, response.text().await.unwrap())
    }
}

/// The complaints a case page shows.
fn members_shown(page: &str) -> usize {
    page.matches("<article class=\"member\"").count()
}

#[tokio::test]
async fn a_large_case_shows_fifty_complaints_a_page_with_why_masked_for_the_accused_unit() {
    let app = TestApp::start().await;
    // 55 complaints of the same text about 市监察局, each from someone else.
    let items: Vec<Value> = (0..55)
        .map(|n| {
            json!({
                "external_id": format!("paged-{n}"),
                "title": "市监察局窗口推诿",
                "body": "我去市监察局办理材料，窗口人员一再推诿，材料交了三次还说不齐，请督促整改。",
                "target_unit": "市监察局",
                "complainant": {"name": format!("司马第{n}号"), "phone": format!("1369876{n:04}")}
            })
        })
        .collect();
    let response = app.push(&Value::Array(items)).await;
    assert!(response.status().is_success(), "{}", response.status());
    let answer: Value = response.json().await.unwrap();
    let first = answer["accepted"][0]["id"].as_str().unwrap().to_string();
    let case = app.classified(&first).await["route"]["route_key"]
        .as_str()
        .unwrap()
        .to_string();
    eventually("the case holds the 55 complaints", || async {
        let detail = app.get_json(&format!("/v1/cases/{case}")).await;
        (detail["complaints"] == 55).then_some(())
    })
    .await;
    // The case goes to the bureau it accuses (before any account exists the API is open).
    let corrected = app
        .client
        .post(format!("{}/v1/complaints/{first}/classification", app.base))
        .json(&json!({"queue": "supervision"}))
        .send()
        .await
        .unwrap();
    assert!(corrected.status().is_success());
    let data = app.data_dir();
    add_user(&data, "centre", &["--role", "triage"]).await;
    add_user(
        &data,
        "inv-jc",
        &["--role", "investigator", "--queue", "supervision"],
    )
    .await;
    let triage = Console::sign_in(&app, "centre").await;
    let investigator = Console::sign_in(&app, "inv-jc").await;

    // Triage: the first 50, in the order they joined, a link to the rest, each with why.
    let (status, page) = triage.get(&format!("/console/cases/{case}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(members_shown(&page), 50);
    assert!(page.contains("来件（55）"), "the total");
    assert!(page.contains("第 1–50 件，共 55 件"));
    assert!(page.contains(&format!("/console/cases/{case}?members=50")));
    assert!(page.contains("司马第0号"), "triage sees the complainant");
    assert!(!page.contains("司马第54号"), "the 55th is on the next page");
    assert_eq!(page.matches("为何归并").count(), 50);
    assert!(
        page.contains("没有相近的来件：据此新立案件"),
        "the founder's reason"
    );
    assert!(
        page.contains("与来件 ") && page.contains("内容相同（重复投诉）"),
        "a copy's reason names the complaint it matched"
    );

    // The next page: the last 5.
    let (status, rest) = triage
        .get(&format!("/console/cases/{case}?members=50"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(members_shown(&rest), 5);
    assert!(rest.contains("第 51–55 件，共 55 件"));
    assert!(rest.contains("司马第54号") && rest.contains("13698760054"));
    assert!(
        rest.contains(&format!("/console/cases/{case}?members=0")),
        "back"
    );

    // The accused unit's investigator: the same pages, never the identities.
    for path in [
        format!("/console/cases/{case}"),
        format!("/console/cases/{case}?members=50"),
    ] {
        let (status, masked) = investigator.get(&path).await;
        assert_eq!(status, 200, "{path}");
        assert!(masked.contains("按保密规定"), "{path}: the notice");
        assert!(!masked.contains("司马第"), "{path}: no name");
        assert!(!masked.contains("1369876"), "{path}: no phone");
        assert!(masked.contains("为何归并"));
    }
    let (_, last) = investigator
        .get(&format!("/console/cases/{case}?members=50"))
        .await;
    assert_eq!(members_shown(&last), 5);
    app.stop().await;
}

const TRAIN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/routing-train.jsonl"
);

#[tokio::test]
async fn why_routed_priority_similar_cases_merge_split_and_admin_on_the_case_page() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, stderr) = run_beside(&data, &["classifier", "train", "--input", TRAIN], None).await;
    assert!(ok, "{stderr}");
    let text = config_text(dir.path(), "");
    let app = TestApp::start_in(dir, &text).await;
    let river = app
        .push_for_id(&json!({
            "external_id": "why-river",
            "title": "河道发黑发臭",
            "body": "北湖区滨江路居民反映：上游的生猪养殖场污水未经处理直接排入河道，水面漂满垃圾散发恶臭，请环保局派人夜间突击检测。",
            "complainant": {"name": "欧某", "phone": "13511112222"}
        }))
        .await;
    let other = app
        .push_for_id(&json!({
            "external_id": "why-other",
            "title": "南山镇河道发黑",
            "body": "南山镇东村的小河这个月开始发黑，岸边堆着建筑垃圾，村委会说不归他们管。",
        }))
        .await;
    let unrelated = app
        .push_for_id(&json!({
            "external_id": "why-unrelated",
            "title": "社保卡补办太慢",
            "body": "社保卡丢失后去补办，说要等两个月，能不能快一点。",
        }))
        .await;
    let c = app.classified(&river).await;
    assert_eq!(c["category"], "环境保护", "{c}");
    let case = c["route"]["route_key"].as_str().unwrap().to_string();
    let other_case = app.classified(&other).await["route"]["route_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(case, other_case, "two cases");
    app.classified(&unrelated).await;
    app.wait_searchable("南山镇", 1).await;
    let data = app.data_dir();
    add_user(&data, "centre", &["--role", "triage"]).await;
    add_user(
        &data,
        "inv-office",
        &["--role", "investigator", "--queue", "general_office"],
    )
    .await;
    let triage = Console::sign_in(&app, "centre").await;

    // Why: the model's top 3 with the best one's probability, and the rule that routed it.
    let (status, page) = triage.get(&format!("/console/cases/{case}")).await;
    assert_eq!(status, 200, "{page}");
    let top = &c["top"][0];
    let best = format!(
        "{} <span class=\"score\">{:.2}</span>",
        top["label"].as_str().unwrap(),
        top["probability"].as_f64().unwrap()
    );
    assert!(page.contains("为何分类与交办"));
    assert!(
        page.contains(&best),
        "the top category with its score: {best}"
    );
    assert_eq!(
        page.matches("<span class=\"score\">").count(),
        3,
        "the top 3"
    );
    assert!(page.contains("模型 v1"));
    assert!(page.contains("交办规则 known_category"), "the route rule");
    assert!(
        page.contains("<dt>紧急程度</dt><dd>一般</dd>"),
        "normal first"
    );

    // Similar cases: the other river case, linked; never the case itself.
    let similar = page.split("id=\"similar\"").nth(1).unwrap();
    assert!(
        similar.contains(&format!("href=\"/console/cases/{other_case}\"")),
        "{similar}"
    );
    assert!(!similar.contains(&format!("href=\"/console/cases/{case}\"")));

    // A staff correction of the priority: 紧急程度 follows it, the correction is listed.
    let (status, location, body) = triage
        .post(
            &format!("/console/cases/{case}/classification"),
            &[
                ("complaint", river.as_str()),
                ("priority", "urgent"),
                ("note", "涉及饮用水源"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(location, format!("/console/cases/{case}"));
    let (_, page) = triage.get(&format!("/console/cases/{case}")).await;
    assert!(
        page.contains("<dt>紧急程度</dt><dd>特急</dd>"),
        "the corrected priority"
    );
    assert!(
        page.contains("更正为 紧急程度 特急（涉及饮用水源）"),
        "the correction"
    );
    assert!(page.contains("<td>人工更正</td>"), "the routing trail");

    // The investigator of the river's unit: the other case is out of their reach (finance).
    let moved = triage
        .post(
            &format!("/console/cases/{other_case}/classification"),
            &[("complaint", other.as_str()), ("queue", "finance")],
        )
        .await;
    assert_eq!(moved.0, 303, "{}", moved.2);
    let office = Console::sign_in(&app, "inv-office").await;
    let (status, theirs) = office.get(&format!("/console/cases/{case}")).await;
    assert_eq!(status, 200, "{theirs}");
    let similar = theirs.split("id=\"similar\"").nth(1).unwrap();
    assert!(
        !similar.contains(&other_case),
        "a case outside the investigator's queues is not suggested"
    );
    assert!(
        !theirs.contains("id=\"merge-form\""),
        "no merge form for them"
    );
    let (status, _, refused) = office
        .post(
            &format!("/console/cases/{case}/merge"),
            &[("with", other_case.as_str()), ("why", "同一条河")],
        )
        .await;
    assert_eq!(status, 403, "cases.decide: {refused}");
    let (status, _) = office
        .get(&format!("/console/cases/{case}?members=abc"))
        .await;
    assert_eq!(status, 200, "a bad offset is the first page");

    // Merge: refused with itself and with an unknown case, then done.
    let merge = format!("/console/cases/{case}/merge");
    let (status, _, page) = triage
        .post(&merge, &[("with", case.as_str()), ("why", "同一条河")])
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("不能把案件与它自己合并"), "{page}");
    let (status, _, page) = triage
        .post(&merge, &[("with", "no-such-case"), ("why", "同一条河")])
        .await;
    assert_eq!(status, 404);
    assert!(page.contains("没有找到案件 no-such-case"), "{page}");
    let (status, _, page) = triage
        .post(&merge, &[("with", other_case.as_str()), ("why", " ")])
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("请填写合并的理由"), "{page}");
    let (_, page) = triage.get(&format!("/console/cases/{case}")).await;
    assert!(page.contains("id=\"merge-form\""), "triage may merge");
    let (status, location, page) = triage
        .post(
            &merge,
            &[("with", other_case.as_str()), ("why", "同一条河")],
        )
        .await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(location, format!("/console/cases/{case}"), "founded first");
    let merged = triage.json(&format!("/v1/cases/{case}")).await;
    let ids: Vec<&str> = merged["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["complaint_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [river.as_str(), other.as_str()], "{merged}");

    // Split the other complaint out again.
    let split = format!("/console/cases/{case}/split");
    let (status, _, page) = triage
        .post(
            &split,
            &[("complaint", unrelated.as_str()), ("why", "不是同一件事")],
        )
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("不属于本案件"), "{page}");
    let (_, page) = triage.get(&format!("/console/cases/{case}")).await;
    assert!(page.contains("id=\"split-form\""));
    let (status, location, page) = triage
        .post(
            &split,
            &[("complaint", other.as_str()), ("why", "不是同一条河")],
        )
        .await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(location, format!("/console/cases/{case}"));
    let after = triage.json(&format!("/v1/cases/{case}")).await;
    assert_eq!(after["complaints"], 1, "{after}");

    // 管理 is for admins: triage reads queues, but not these pages.
    for path in ["/console/admin/calendar", "/console/admin/routing"] {
        let (status, page) = triage.get(path).await;
        assert_eq!(status, 403, "{path}");
        assert!(page.contains("people.manage"), "{path}: {page}");
    }
    app.stop().await;
}

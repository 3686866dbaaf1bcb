//! An investigator's reach beyond case lists and detail: search (hits, `total`, facet filters)
//! narrowed in the index to the complaints of cases routed or informed to their queues, each
//! hit shown as their view of it; hot issues and the outbox likewise; a reassignment takes the
//! case out of the former queue's reach on the running gateway, whichever member it was made
//! through; the centre's unmasked search answers are recorded.

use std::collections::BTreeSet;

use complaint_gateway::people::pii::id_number_checks;
use serde_json::{Value, json};
use sqlx::Connection;

use super::access::{account, call, sqlite};
use super::privacy::routed_queue;
use crate::common::{TestApp, eventually};

/// The word every complaint of the main fixture holds.
const WORD: &str = "化粪池";
const PHONE_ACCUSED: &str = "13876543210";
const PHONE_INFORMING: &str = "13711112222";
const NAME: &str = "欧阳某某";

/// A made-up resident ID number with a valid check character.
fn id_number() -> String {
    let body = "11010519491231002";
    ('0'..='9')
        .chain(['X'])
        .map(|c| format!("{body}{c}"))
        .find(|id| id_number_checks(id))
        .unwrap()
}

fn ids(values: &Value, key: &str) -> BTreeSet<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&String]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn search_as(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, answer) = call(app, "GET", &format!("/v1/search?{query}"), Some(token)).await;
    assert_eq!(status, 200, "{query}: {answer}");
    answer
}

/// The hit of `id` in a search answer.
fn hit<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .unwrap_or_else(|| panic!("no hit {id}: {answer}"))
}

/// Sends `id`'s case to `queue` as a correction by `token`'s holder (none while the API is
/// open); the answer shows the new route.
async fn reroute(app: &TestApp, id: &str, queue: &str, token: Option<&str>) {
    let mut request = app
        .client
        .post(format!("{}/v1/complaints/{id}/classification", app.base))
        .json(&json!({"queue": queue}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["route"]["queue"], queue, "{answer}");
}

/// The case (route key) of a routed complaint.
async fn case_of(app: &TestApp, id: &str) -> String {
    let classified = app
        .get_json(&format!("/v1/complaints/{id}/classification"))
        .await;
    classified["route"]["route_key"]
        .as_str()
        .unwrap()
        .to_string()
}

fn item(external_id: &str, title: &str, body: String, district: &str, phone: &str) -> Value {
    json!({
        "external_id": external_id,
        "title": title,
        "body": body,
        "location": {"district": district},
        "complainant": {"name": NAME, "phone": phone}
    })
}

#[tokio::test]
async fn an_investigator_searches_counts_and_reads_the_outbox_within_their_queues_only() {
    let app = TestApp::start().await;
    // About the audit bureau (triage sends it there), another unit's (finance), and funds
    // misuse (the routing file sends it to finance, informing audit). Three districts: three
    // cases.
    let accused = app
        .push_for_id(&item(
            "scope-accused",
            "审计局门前化粪池满溢",
            format!(
                "市审计局门前的化粪池满溢，污水流到路面。联系电话{PHONE_ACCUSED}，身份证号{}。",
                id_number()
            ),
            "城东区",
            PHONE_ACCUSED,
        ))
        .await;
    let other = app
        .push_for_id(&item(
            "scope-other",
            "物业清掏化粪池乱收费",
            "城西区锦华苑物业清掏化粪池每户收两百元，收费没有依据。".into(),
            "城西区",
            "13700001111",
        ))
        .await;
    let informing = app
        .push_for_id(&item(
            "scope-informing",
            "化粪池改造资金被挪用",
            format!(
                "城北区化粪池改造专项资金被挪用，工程至今没有动工。举报人电话{PHONE_INFORMING}。"
            ),
            "城北区",
            PHONE_INFORMING,
        ))
        .await;
    for id in [&accused, &other, &informing] {
        routed_queue(&app, id).await;
    }
    // Before any account exists the API is open on loopback: triage's corrections.
    reroute(&app, &accused, "audit", None).await;
    reroute(&app, &other, "finance", None).await;
    assert_eq!(routed_queue(&app, &informing).await, "finance");
    let route = app
        .get_json(&format!("/v1/complaints/{informing}/classification"))
        .await;
    assert_eq!(route["route"]["informed"], json!(["audit"]), "{route}");
    let (case_accused, case_other, case_informing) = (
        case_of(&app, &accused).await,
        case_of(&app, &other).await,
        case_of(&app, &informing).await,
    );
    assert_eq!(set(&[&case_accused, &case_other, &case_informing]).len(), 3);

    let data = app.data_dir();
    let inv = account(
        &data,
        "inv-audit",
        &["--role", "investigator", "--queue", "audit"],
    )
    .await;
    let idle = account(
        &data,
        "inv-idle",
        &["--role", "investigator", "--queue", "audit"],
    )
    .await;
    let centre = account(&data, "centre", &["--role", "triage"]).await;
    let boss = account(&data, "boss", &["--role", "supervisor"]).await;
    let root = account(&data, "root", &["--role", "admin"]).await;
    // An investigator left without a queue (the routing file lost it): no command makes one.
    let mut conn = sqlite(&data).await;
    sqlx::query("DELETE FROM user_queues WHERE user_name = 'inv-idle'")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    // Search: exactly the audit queue's complaint and the one informing it, once the index has
    // followed the corrections; `total` counts them alone.
    let everything = format!("q={WORD}&limit=50");
    eventually("the index holds every route", || async {
        let all = search_as(&app, &boss, &format!("{everything}&queue=finance")).await;
        (all["total"] == 2).then_some(())
    })
    .await;
    let scoped = eventually("the audit investigator's hits", || async {
        let answer = search_as(&app, &inv, &everything).await;
        (ids(&answer["hits"], "id") == set(&[&accused, &informing])).then_some(answer)
    })
    .await;
    assert_eq!(scoped["total"], 2, "{scoped}");
    for hit in scoped["hits"].as_array().unwrap() {
        let informed = hit["informed"].as_array().cloned().unwrap_or_default();
        assert!(
            hit["queue"] == "audit" || informed.contains(&json!("audit")),
            "{hit}"
        );
    }
    // The complaint about their own unit is masked; the informed case is shown in full.
    let masked = hit(&scoped, &accused).to_string();
    let id = id_number();
    for secret in [PHONE_ACCUSED, id.as_str(), NAME] {
        assert!(!masked.contains(secret), "{secret} shown: {masked}");
    }
    assert!(masked.contains("[电话已隐去]"), "{masked}");
    let full = hit(&scoped, &informing);
    assert!(
        full["snippet"].as_str().unwrap().contains(PHONE_INFORMING),
        "{full}"
    );
    // The index counts the reach itself, whatever the page shows (one hit a page here), and
    // facet filters count within it; everything (a supervisor) holds more.
    for (filter, total, shown) in [
        ("", 2, 1),
        ("&queue=finance", 1, 1),
        ("&queue=audit", 1, 1),
        ("&tag=funds_misuse", 1, 1),
        ("&queue=personnel", 0, 0),
    ] {
        let answer = search_as(&app, &inv, &format!("q={WORD}&limit=1{filter}")).await;
        assert_eq!(answer["total"], total, "{filter}: {answer}");
        assert_eq!(answer["hits"].as_array().unwrap().len(), shown, "{filter}");
    }
    let all = search_as(&app, &boss, &everything).await;
    assert_eq!(all["total"], 3, "{all}");
    let all = all.to_string();
    assert!(
        !all.contains(PHONE_ACCUSED) && !all.contains(PHONE_INFORMING),
        "a supervisor's answer stays masked whole: {all}"
    );
    // Searching the phone number cannot confirm the masked complaint exists: it is left out
    // of the hits and the total; the informing complaint's number (shown in full) is found.
    let by_phone = search_as(&app, &inv, &format!("q={PHONE_ACCUSED}")).await;
    assert_eq!(
        (&by_phone["total"], &by_phone["hits"]),
        (&json!(0), &json!([]))
    );
    let informer = search_as(&app, &inv, &format!("q={PHONE_INFORMING}")).await;
    assert_eq!(ids(&informer["hits"], "id"), set(&[&informing]));
    assert_eq!(informer["total"], 1, "{informer}");
    // No queue, nothing: an empty answer, not an error.
    let none = search_as(&app, &idle, &everything).await;
    assert_eq!(
        (none["total"].clone(), none["hits"].clone()),
        (json!(0), json!([]))
    );

    // Hot issues: only the cases within reach count and are listed, masked.
    let hot = |token: String| {
        let app = &app;
        async move {
            let (status, hot) = call(app, "GET", "/v1/hot-issues?limit=50", Some(&token)).await;
            assert_eq!(status, 200, "{hot}");
            hot
        }
    };
    let scoped_hot = hot(inv.clone()).await;
    assert_eq!(
        ids(&scoped_hot, "id"),
        set(&[&case_accused, &case_informing])
    );
    assert!(!scoped_hot.to_string().contains(PHONE_ACCUSED));
    let all_hot = ids(&hot(boss.clone()).await, "id");
    assert!(all_hot.contains(&case_other), "{all_hot:?}");
    assert_eq!(hot(idle.clone()).await, json!([]));

    // The outbox: the notifications of those cases only (no digest of no case), the accused
    // unit's case masked, the informed one in full.
    let outbox = |token: String| {
        let app = &app;
        async move {
            let (status, page) = call(app, "GET", "/v1/outbox?limit=200", Some(&token)).await;
            assert_eq!(status, 200, "{page}");
            page["notifications"].clone()
        }
    };
    let notices = outbox(inv.clone()).await;
    assert_eq!(
        ids(&notices, "case_id"),
        set(&[&case_accused, &case_informing])
    );
    for notice in notices.as_array().unwrap() {
        let addresses = ids(&notice["recipients"], "address");
        if notice["case_id"] == case_accused.as_str() {
            assert_eq!(addresses, BTreeSet::from(["[邮箱已隐去]".to_string()]));
        } else {
            assert!(addresses.iter().all(|a| a.contains('@')), "{notice}");
        }
    }
    let everyone = outbox(root.clone()).await;
    assert!(
        ids(&everyone, "case_id").contains(&case_other),
        "{everyone}"
    );
    assert_eq!(outbox(idle.clone()).await, json!([]));

    // The centre's unmasked answer is recorded once, with the complaints whose shown text
    // holds personal data; the investigator's full view too, never the masked hit.
    let centre_hits = search_as(&app, &centre, &everything).await;
    assert!(centre_hits.to_string().contains(PHONE_ACCUSED));
    let (status, views) = call(
        &app,
        "GET",
        "/v1/audit?action=personal_data.view&limit=500",
        Some(&root),
    )
    .await;
    assert_eq!(status, 200, "{views}");
    let searches = |actor: &str| -> Vec<BTreeSet<String>> {
        views
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["actor"] == actor && e["detail"]["route"] == "GET /v1/search")
            .map(|e| ids_of(&e["complaint_ids"]))
            .collect()
    };
    assert_eq!(searches("centre"), [set(&[&accused, &informing])]);
    let investigator = searches("inv-audit");
    assert!(!investigator.is_empty(), "{views}");
    assert!(
        investigator
            .iter()
            .all(|shown| *shown == set(&[&informing])),
        "{investigator:?}"
    );
    assert!(
        searches("boss").is_empty(),
        "masked answers are not recorded"
    );

    // The centre moves the accused unit's case to personnel: the audit queue loses it at once
    // for complaint detail, hot issues and the outbox, and in search once the index follows.
    reroute(&app, &accused, "personnel", Some(&centre)).await;
    let (status, _) = call(
        &app,
        "GET",
        &format!("/v1/complaints/{accused}"),
        Some(&inv),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(ids(&hot(inv.clone()).await, "id"), set(&[&case_informing]));
    assert_eq!(
        ids(&outbox(inv.clone()).await, "case_id"),
        set(&[&case_informing])
    );
    let after = eventually("the reassignment reaches the index", || async {
        let answer = search_as(&app, &inv, &everything).await;
        (answer["total"] == 1).then_some(answer)
    })
    .await;
    assert_eq!(ids(&after["hits"], "id"), set(&[&informing]));
    app.stop().await;
}

fn ids_of(values: &Value) -> BTreeSet<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_reassignment_through_one_member_takes_every_member_out_of_reach() {
    let app = TestApp::start().await;
    let body = "城南区光明巷的窨井盖缺失一个月，夜里有人掉进去受伤。".to_string();
    let first = app
        .push_for_id(&item(
            "well-1",
            "窨井盖缺失",
            body.clone(),
            "城南区",
            "13600001111",
        ))
        .await;
    routed_queue(&app, &first).await;
    let second = app
        .push_for_id(&item("well-2", "窨井盖缺失", body, "城南区", "13600002222"))
        .await;
    routed_queue(&app, &second).await;
    let case = case_of(&app, &first).await;
    assert_eq!(case_of(&app, &second).await, case, "one case");
    reroute(&app, &first, "audit", None).await;

    let data = app.data_dir();
    let inv = account(
        &data,
        "inv-audit",
        &["--role", "investigator", "--queue", "audit"],
    )
    .await;
    let centre = account(&data, "centre", &["--role", "triage"]).await;
    let detail = |id: String| {
        let (app, inv) = (&app, inv.clone());
        async move {
            call(app, "GET", &format!("/v1/complaints/{id}"), Some(&inv))
                .await
                .0
        }
    };
    // Both members are the audit queue's, the one not corrected too.
    assert_eq!(detail(first.clone()).await, 200);
    assert_eq!(detail(second.clone()).await, 200);
    eventually("both members in the audit queue's search", || async {
        let answer = search_as(&app, &inv, "q=窨井盖").await;
        (answer["total"] == 2).then_some(())
    })
    .await;

    // Moved to personnel through the other member: the audit queue loses both.
    reroute(&app, &second, "personnel", Some(&centre)).await;
    assert_eq!(detail(first.clone()).await, 404);
    assert_eq!(detail(second.clone()).await, 404);
    let (status, _) = call(&app, "GET", &format!("/v1/cases/{case}"), Some(&inv)).await;
    assert_eq!(status, 404);
    eventually("neither member in the audit queue's search", || async {
        let answer = search_as(&app, &inv, "q=窨井盖").await;
        (answer["total"] == 0 && answer["hits"] == json!([])).then_some(())
    })
    .await;
    app.stop().await;
}

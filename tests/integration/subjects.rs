//! The units a case is about (its subjects), recorded and shown: staff name a unit on a
//! running gateway and its investigator sees the case's complaints masked from the next
//! request on (detail, search snippet), triage still in full; a removal restores the view; a
//! routing rule's declared subject and a subject found in the text are recorded by the
//! pipeline, and removing a false match unmasks; the audit holds each change; a search for a
//! phone number cannot find a complaint its caller would see masked.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::access::{account, call};
use super::privacy::routed_queue;
use crate::common::{TestApp, config_text, eventually};

const PHONE: &str = "13700001111";
const WORD: &str = "化粪池";

/// `method path` with a JSON body and `token`: the status and the answer.
async fn send(app: &TestApp, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let url = format!("{}{path}", app.base);
    let request = match method {
        "POST" => app.client.post(url).json(&body),
        "DELETE" => app.client.delete(url),
        other => panic!("no request for {other}"),
    };
    let response = request.bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let (status, answer) = call(app, "GET", path, Some(token)).await;
    assert_eq!(status, 200, "GET {path}: {answer}");
    answer
}

/// The subjects of an answer as `(queue, origin, active)`.
fn subjects(answer: &Value) -> BTreeSet<(String, String, bool)> {
    answer["subjects"]
        .as_array()
        .unwrap_or_else(|| panic!("no subjects: {answer}"))
        .iter()
        .map(|s| {
            (
                s["queue"].as_str().unwrap().to_string(),
                s["origin"].as_str().unwrap().to_string(),
                s["removed_at"].is_null(),
            )
        })
        .collect()
}

fn subject(queue: &str, origin: &str, active: bool) -> (String, String, bool) {
    (queue.to_string(), origin.to_string(), active)
}

/// The case (route key) of a routed complaint.
async fn case_of(app: &TestApp, id: &str) -> String {
    let classified = app.classified(id).await;
    classified["route"]["route_key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Sends `id`'s case to `queue` (a correction while the API is still open).
async fn reroute(app: &TestApp, id: &str, queue: &str) {
    let response = app
        .client
        .post(format!("{}/v1/complaints/{id}/classification", app.base))
        .json(&json!({"queue": queue}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

fn item(external_id: &str, title: &str, body: &str, district: &str) -> Value {
    json!({
        "external_id": external_id,
        "title": title,
        "body": body,
        "location": {"district": district},
        "complainant": {"name": "欧阳某某", "phone": PHONE}
    })
}

#[tokio::test]
async fn staff_name_a_subject_and_its_unit_sees_the_complaint_masked_until_removed() {
    let app = TestApp::start().await;
    let id = app
        .push_for_id(&item(
            "subject-1",
            "物业清掏化粪池乱收费",
            &format!("城西区锦华苑物业清掏化粪池每户收两百元，收费没有依据。联系电话{PHONE}。"),
            "城西区",
        ))
        .await;
    routed_queue(&app, &id).await;
    reroute(&app, &id, "finance").await;
    let case = case_of(&app, &id).await;
    let data = app.data_dir();
    let inv = account(
        &data,
        "inv-fin",
        &["--role", "investigator", "--queue", "finance"],
    )
    .await;
    let centre = account(&data, "centre", &["--role", "triage"]).await;
    let root = account(&data, "root", &["--role", "admin"]).await;
    let detail = format!("/v1/complaints/{id}");
    let by_word = format!("/v1/search?q={WORD}");
    let by_phone = format!("/v1/search?q={PHONE}");

    // Nothing names the finance bureau: its investigator sees the complainant.
    assert_eq!(get(&app, &detail, &inv).await["identity"], "shown");
    let hits = eventually("the complaint in finance's search", || async {
        let answer = get(&app, &by_word, &inv).await;
        (answer["total"] == 1).then_some(answer)
    })
    .await;
    assert!(hits["hits"][0]["snippet"].as_str().unwrap().contains(PHONE));
    assert_eq!(get(&app, &by_phone, &inv).await["total"], 1);

    // The centre names the finance bureau as the subject: masked at the next request.
    let path = format!("/v1/cases/{case}/subjects");
    let named = json!({"queue": "finance", "note": "the fee is the bureau's own ruling"});
    let (status, answer) = send(&app, "POST", &path, &centre, named.clone()).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        subjects(&answer),
        BTreeSet::from([subject("finance", "staff", true)])
    );
    assert_eq!(answer["subjects"][0]["by"], "centre");
    let (status, again) = send(&app, "POST", &path, &centre, named).await;
    assert_eq!((status, &again["changed"]), (200, &json!(false)), "{again}");
    let (status, unknown) = send(&app, "POST", &path, &centre, json!({"queue": "nope"})).await;
    assert_eq!(
        (status, &unknown["error"]["code"]),
        (400, &json!("queue_unknown"))
    );

    let masked = get(&app, &detail, &inv).await;
    assert_eq!(masked["identity"], "masked");
    assert!(!masked.to_string().contains(PHONE), "{masked}");
    assert_eq!(
        subjects(&masked),
        BTreeSet::from([subject("finance", "staff", true)])
    );
    let case_view = get(&app, &format!("/v1/cases/{case}"), &inv).await;
    assert_eq!(
        subjects(&case_view),
        BTreeSet::from([subject("finance", "staff", true)])
    );
    assert!(!case_view.to_string().contains(PHONE), "{case_view}");
    let hits = get(&app, &by_word, &inv).await;
    let snippet = hits["hits"][0]["snippet"].as_str().unwrap();
    assert!(
        !snippet.contains(PHONE) && snippet.contains("[电话已隐去]"),
        "{hits}"
    );
    // The phone number finds nothing the mask hides: not in the hits, not in the total.
    let phone_hits = get(&app, &by_phone, &inv).await;
    assert_eq!(
        (&phone_hits["total"], &phone_hits["hits"]),
        (&json!(0), &json!([]))
    );
    // The centre sees it all, and lists the case by its subject.
    assert_eq!(get(&app, &detail, &centre).await["identity"], "shown");
    let centre_hits = get(&app, &by_phone, &centre).await;
    assert_eq!(centre_hits["total"], 1, "{centre_hits}");
    assert!(centre_hits.to_string().contains(PHONE));
    let listed = get(&app, "/v1/cases?subject=finance", &centre).await;
    let listed: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(listed, [&json!(case)]);
    assert_eq!(
        get(&app, "/v1/cases?subject=audit", &centre).await,
        json!([])
    );

    // Removed: the finance bureau sees the complainant again at once.
    let remove = format!("/v1/cases/{case}/subjects/finance?note=named%20in%20error");
    let (status, removed) = send(&app, "DELETE", &remove, &centre, Value::Null).await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(
        subjects(&removed),
        BTreeSet::from([subject("finance", "staff", false)])
    );
    assert_eq!(get(&app, &detail, &inv).await["identity"], "shown");
    assert_eq!(get(&app, &by_phone, &inv).await["total"], 1);
    let (status, _) = send(&app, "DELETE", &remove, &centre, Value::Null).await;
    assert_eq!(status, 200, "removing twice changes nothing");
    let other = format!("/v1/cases/{case}/subjects/audit");
    let (status, missing) = send(&app, "DELETE", &other, &centre, Value::Null).await;
    assert_eq!(
        (status, &missing["error"]["code"]),
        (404, &json!("not_found"))
    );
    let (status, refused) = send(&app, "POST", &path, &inv, json!({"queue": "audit"})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("permission_denied"))
    );

    // The audit record: one entry per change, by the centre.
    let audit = get(&app, &format!("/v1/audit?case={case}&limit=100"), &root).await;
    let changes: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("case.subject_"))
        .map(|e| {
            let action = e["action"].as_str().unwrap().to_string();
            (action, e["actor"].as_str().unwrap().to_string())
        })
        .collect();
    let expected = [
        ("case.subject_named", "centre"),
        ("case.subject_removed", "centre"),
    ];
    let mut changes = changes;
    changes.sort();
    assert_eq!(
        changes,
        expected.map(|(a, b)| (a.to_string(), b.to_string())),
        "{audit}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_rule_declared_subject_masks_and_a_false_alias_match_can_be_removed() {
    // The funds-misuse row declares the finance bureau the subject of what it routes.
    let dir = tempfile::tempdir().unwrap();
    let rule = "name = \"funds_misuse\"\ntags = [\"funds_misuse\"]\nqueue = \"finance\"\n";
    let routing = complaint_gateway::routing::config::EMBEDDED_ROUTING;
    assert!(
        routing.contains(rule),
        "the embedded funds_misuse row changed"
    );
    let routing = routing.replace(rule, &format!("{rule}subject = \"finance\"\n"));
    let routing_path = dir.path().join("routing.toml");
    std::fs::write(&routing_path, routing).unwrap();
    let extra = format!("\n[routing]\nfile = \"{}\"\n", routing_path.display());
    let text = config_text(dir.path(), &extra);
    let app = TestApp::start_in(dir, &text).await;

    let funds = app
        .push_for_id(&item(
            "rule-1",
            "化粪池改造资金被挪用",
            &format!("城北区化粪池改造专项资金被挪用，工程至今没有动工。举报人电话{PHONE}。"),
            "城北区",
        ))
        .await;
    assert_eq!(routed_queue(&app, &funds).await, "finance");
    // The text names the audit bureau: found by the alias rule.
    let named = app
        .push_for_id(&item(
            "alias-1",
            "门前化粪池满溢",
            &format!("市审计局门前的化粪池满溢，污水流到路面。联系电话{PHONE}。"),
            "城东区",
        ))
        .await;
    routed_queue(&app, &named).await;
    reroute(&app, &named, "audit").await;
    let (funds_case, named_case) = (case_of(&app, &funds).await, case_of(&app, &named).await);
    let data = app.data_dir();
    let fin = account(
        &data,
        "inv-fin",
        &["--role", "investigator", "--queue", "finance"],
    )
    .await;
    let aud = account(
        &data,
        "inv-aud",
        &["--role", "investigator", "--queue", "audit"],
    )
    .await;
    let centre = account(&data, "centre", &["--role", "triage"]).await;

    let funds_view = get(&app, &format!("/v1/cases/{funds_case}"), &centre).await;
    assert!(
        subjects(&funds_view).contains(&subject("finance", "rule", true)),
        "{funds_view}"
    );
    let funds_subject = funds_view["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["queue"] == "finance")
        .unwrap();
    assert_eq!(funds_subject["by"], "system:route", "{funds_subject}");
    assert_eq!(
        get(&app, &format!("/v1/complaints/{funds}"), &fin).await["identity"],
        "masked"
    );

    let named_view = get(&app, &format!("/v1/cases/{named_case}"), &centre).await;
    assert_eq!(
        subjects(&named_view),
        BTreeSet::from([subject("audit", "text", true)]),
        "{named_view}"
    );
    let named_detail = format!("/v1/complaints/{named}");
    assert_eq!(get(&app, &named_detail, &aud).await["identity"], "masked");
    // A false match corrected: the removal is kept, and the audit bureau sees the complainant.
    let remove = format!("/v1/cases/{named_case}/subjects/audit");
    let (status, removed) = send(&app, "DELETE", &remove, &centre, Value::Null).await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(
        subjects(&removed),
        BTreeSet::from([subject("audit", "text", false)])
    );
    assert_eq!(removed["subjects"][0]["removed_by"], "centre");
    assert_eq!(get(&app, &named_detail, &aud).await["identity"], "shown");
    // Its phone number now finds it for the audit bureau (once the index has followed the
    // correction that sent it there).
    let by_phone = format!("/v1/search?q={PHONE}&case={named_case}");
    eventually(
        "the corrected case in the audit bureau's search",
        || async {
            let answer = get(&app, &by_phone, &aud).await;
            (answer["total"] == 1 && answer["hits"][0]["id"] == named.as_str()).then_some(())
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_merge_carries_the_absorbed_case_subjects_to_the_merged_case() {
    let app = TestApp::start().await;
    let first = app
        .push_for_id(&item(
            "merge-1",
            "路灯不亮",
            "城南区光明巷的路灯坏了一个月，夜里行人摔倒。",
            "城南区",
        ))
        .await;
    let second = app
        .push_for_id(&item(
            "merge-2",
            "公园围墙倒塌",
            "城北区滨江公园的围墙倒塌，压坏了停在路边的车。",
            "城北区",
        ))
        .await;
    routed_queue(&app, &first).await;
    routed_queue(&app, &second).await;
    let (kept, absorbed) = (case_of(&app, &first).await, case_of(&app, &second).await);
    assert_ne!(kept, absorbed);
    let centre = account(&app.data_dir(), "centre", &["--role", "triage"]).await;
    let path = format!("/v1/cases/{absorbed}/subjects");
    let (status, named) = send(&app, "POST", &path, &centre, json!({"queue": "finance"})).await;
    assert_eq!(status, 201, "{named}");
    let merge = format!("/v1/cases/{kept}/merge");
    let body = json!({"with": absorbed, "why": "the same complainant"});
    let (status, merged) = send(&app, "POST", &merge, &centre, body).await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(
        merged["id"],
        kept.as_str(),
        "the case founded first keeps its id"
    );
    let view = get(&app, &format!("/v1/cases/{kept}"), &centre).await;
    assert_eq!(
        subjects(&view),
        BTreeSet::from([subject("finance", "staff", true)]),
        "{view}"
    );
    app.stop().await;
}

//! The case workflow on a running gateway: every step of a case from its 交办 to its close,
//! each taken by a signed-in person and checked against the case's state and the person's
//! part (the centre decides, the unit holding the case works it); returns, reassignments
//! (reach follows at once), the lead's choice of investigator, reopening, merges and splits;
//! and the old free status answering 410.

use serde_json::{Value, json};

use super::access::account;
use crate::common::{TestApp, eventually};

/// The queue routing gives the complaint's case, once routed.
async fn routed_queue(app: &TestApp, id: &str) -> String {
    app.classified(id).await["route"]["queue"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Pushes a complaint, waits for its route and sends its case to `queue` (on the open API,
/// before any account exists); returns the case id.
pub(super) async fn case_in(app: &TestApp, external_id: &str, body: &str, queue: &str) -> String {
    let id = app
        .push_for_id(&json!({"external_id": external_id, "title": "投诉", "body": body}))
        .await;
    routed_queue(app, &id).await;
    let response = app
        .client
        .post(format!("{}/v1/complaints/{id}/classification", app.base))
        .json(&json!({"queue": queue}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let classified = app
        .get_json(&format!("/v1/complaints/{id}/classification"))
        .await;
    assert_eq!(classified["route"]["queue"], queue);
    classified["route"]["route_key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A token of a new investigator `name` of `queue` (`lead`: its lead).
pub(super) async fn investigator(app: &TestApp, name: &str, queue: &str, lead: bool) -> String {
    let flag = if lead { "--lead" } else { "--queue" };
    account(
        &app.data_dir(),
        name,
        &["--role", "investigator", flag, queue],
    )
    .await
}

/// A token of a new triage user `name`.
pub(super) async fn triage(app: &TestApp, name: &str) -> String {
    account(&app.data_dir(), name, &["--role", "triage"]).await
}

pub(super) async fn call(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let url = format!("{}{path}", app.base);
    let request = match method {
        "GET" => app.client.get(url),
        "PUT" => app.client.put(url).json(&body),
        _ => app.client.post(url).json(&body),
    };
    let response = request.bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// [`call`] without a token (the open API, before any account exists).
pub(super) async fn call_open(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let url = format!("{}{path}", app.base);
    let request = match method {
        "GET" => app.client.get(url),
        _ => app.client.post(url).json(&body),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(super) async fn step(app: &TestApp, token: &str, case: &str, body: Value) -> (u16, Value) {
    let path = format!("/v1/cases/{case}/transitions");
    call(app, token, "POST", &path, body).await
}

async fn flow(app: &TestApp, token: &str, case: &str) -> (u16, Value) {
    call(
        app,
        token,
        "GET",
        &format!("/v1/cases/{case}/workflow"),
        Value::Null,
    )
    .await
}

fn names(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_case_runs_from_its_assignment_to_its_close_with_every_step_checked() {
    let app = TestApp::start().await;
    let case = case_in(
        &app,
        "wf-1",
        "小区垃圾连续五天无人清运，气味难闻。",
        "finance",
    )
    .await;
    let li = investigator(&app, "li", "finance", false).await;
    let far = investigator(&app, "far", "personnel", false).await;
    let centre = triage(&app, "centre").await;

    // Sent to a unit: assigned at once, by the correction's author.
    let (status, seen) = flow(&app, &li, &case).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["state"], "assigned");
    assert_eq!(seen["queue"], "finance");
    assert_eq!(names(&seen["yours"]), ["accept", "return"], "{seen}");
    let last = seen["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (&last["action"], &last["actor"]),
        (&json!("assign"), &json!("open:loopback"))
    );

    // Out of order: 409 with where it stands and what may come next.
    let answer = json!({"action": "answer", "finding": "partly_substantiated",
        "reply": "已督促物业清运，并建立每日巡查。", "attachments": ["督办单 2026-118"]});
    let (status, refused) = step(&app, &li, &case, answer.clone()).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "illegal_transition");
    assert_eq!(refused["error"]["current_state"], "assigned");
    assert!(names(&refused["error"]["allowed"]).contains(&"accept".to_string()));
    // Not the centre's to accept; another unit does not learn the case exists.
    let (status, refused) = step(&app, &centre, &case, json!({"action": "accept"})).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "permission_denied");
    let (status, _) = step(&app, &far, &case, json!({"action": "accept"})).await;
    assert_eq!(status, 404);

    let (status, taken) = step(&app, &li, &case, json!({"action": "accept"})).await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(
        (&taken["state"], &taken["assignee"]),
        (&json!("accepted"), &json!("li"))
    );
    let (status, taken) = step(&app, &li, &case, json!({"action": "start"})).await;
    assert_eq!((status, &taken["state"]), (200, &json!("investigating")));
    let (status, refused) = step(
        &app,
        &li,
        &case,
        json!({"action": "answer",
        "finding": "substantiated"}),
    )
    .await;
    assert_eq!(status, 400, "an answer without a reply: {refused}");
    let (status, taken) = step(&app, &li, &case, answer).await;
    assert_eq!(
        (status, &taken["state"]),
        (200, &json!("answered")),
        "{taken}"
    );
    let (status, _) = step(&app, &li, &case, json!({"action": "close"})).await;
    assert_eq!(status, 403, "closing is the centre's");
    let (status, taken) = step(&app, &centre, &case, json!({"action": "close"})).await;
    assert_eq!(
        (status, &taken["state"]),
        (200, &json!("closed")),
        "{taken}"
    );
    assert_eq!(names(&taken["allowed"]), ["reopen"]);

    let (_, seen) = flow(&app, &centre, &case).await;
    let steps: Vec<(String, String)> = seen["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["actor"] != "system:assign")
        .map(|t| {
            (
                t["action"].as_str().unwrap().into(),
                t["actor"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("assign", "open:loopback"),
        ("accept", "li"),
        ("start", "li"),
        ("answer", "li"),
        ("close", "centre"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(steps, expected);
    let answer = &seen["answers"][0];
    assert_eq!(answer["finding_label"], "部分查实");
    assert_eq!(answer["reply"], "已督促物业清运，并建立每日巡查。");
    assert_eq!(answer["attachments"], json!(["督办单 2026-118"]));
    assert_eq!(answer["answered_by"], "li");

    // Each person's step is in the audit chain under their name.
    let (status, history) = call(
        &app,
        &centre,
        "GET",
        &format!("/v1/cases/{case}/history"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{history}");
    let audited: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("case."))
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["actor"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("case.accept", "li"),
        ("case.start", "li"),
        ("case.answer", "li"),
        ("case.close", "centre"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(audited, expected, "{history}");

    // The free status is gone, with a pointer.
    let (status, gone) = call(
        &app,
        &centre,
        "POST",
        &format!("/v1/cases/{case}/status"),
        json!({"status": "closed", "why": "x"}),
    )
    .await;
    assert_eq!(status, 410, "{gone}");
    assert_eq!(gone["error"]["code"], "status_replaced");
    assert_eq!(
        gone["error"]["transitions"],
        format!("/v1/cases/{case}/transitions")
    );
    app.stop().await;
}

#[tokio::test]
async fn returns_reassignments_leads_and_reopening_move_the_case_and_its_reach_at_once() {
    let app = TestApp::start().await;
    let case = case_in(
        &app,
        "wf-2",
        "办理营业执照被要求重复提交材料三次。",
        "finance",
    )
    .await;
    let li = investigator(&app, "li", "finance", false).await;
    let zhao = investigator(&app, "zhao", "personnel", false).await;
    let wu = investigator(&app, "wu", "personnel", true).await;
    let centre = triage(&app, "centre").await;

    let (status, _) = step(&app, &li, &case, json!({"action": "accept"})).await;
    assert_eq!(status, 200);
    let (status, refused) = step(
        &app,
        &li,
        &case,
        json!({"action": "return", "reason": "bored"}),
    )
    .await;
    assert_eq!(status, 400, "an unknown reason: {refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wrong_unit")
    );
    let (status, returned) = step(
        &app,
        &li,
        &case,
        json!({"action": "return",
        "reason": "wrong_unit", "note": "属人事部门职责"}),
    )
    .await;
    assert_eq!(status, 200, "{returned}");
    assert_eq!(returned["state"], "returned");
    assert_eq!(returned["queue"], "triage");
    assert_eq!(returned["note"], "wrong_unit: 属人事部门职责");

    // Triage sends it elsewhere: the route follows, the former unit loses the case at once.
    let (status, assigned) = step(
        &app,
        &centre,
        &case,
        json!({"action": "assign", "queue": "personnel"}),
    )
    .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(
        (&assigned["state"], &assigned["queue"]),
        (&json!("assigned"), &json!("personnel"))
    );
    assert_eq!(assigned["assignee"], Value::Null);
    let path = format!("/v1/complaints/{case}/classification");
    let (_, classified) = call(&app, &centre, "GET", &path, Value::Null).await;
    assert_eq!(classified["route"]["queue"], "personnel", "{classified}");
    assert_eq!(
        classified["route"]["pinned"], true,
        "a person chose the queue"
    );
    let (status, _) = flow(&app, &li, &case).await;
    assert_eq!(status, 404, "the former unit no longer sees the case");
    let (status, seen) = flow(&app, &zhao, &case).await;
    assert_eq!(status, 200);
    assert_eq!(names(&seen["yours"]), ["accept", "return"]);

    // The unit's lead chooses the investigator; only a member of the unit can be chosen.
    let (status, refused) = step(
        &app,
        &zhao,
        &case,
        json!({"action": "assign_investigator", "assignee": "zhao"}),
    )
    .await;
    assert_eq!(status, 403, "not the lead: {refused}");
    let (status, refused) = step(
        &app,
        &wu,
        &case,
        json!({"action": "assign_investigator", "assignee": "li"}),
    )
    .await;
    assert_eq!(status, 400, "li is not in the unit: {refused}");
    let (status, chosen) = step(
        &app,
        &wu,
        &case,
        json!({"action": "assign_investigator", "assignee": "zhao"}),
    )
    .await;
    assert_eq!(
        (status, &chosen["assignee"]),
        (200, &json!("zhao")),
        "{chosen}"
    );
    assert_eq!(chosen["state"], "assigned", "choosing keeps the state");

    for action in ["accept", "start"] {
        let (status, _) = step(&app, &zhao, &case, json!({"action": action})).await;
        assert_eq!(status, 200, "{action}");
    }
    let (status, _) = step(
        &app,
        &zhao,
        &case,
        json!({"action": "answer",
        "finding": "unsubstantiated", "reply": "经核查，材料要求符合规定。"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, refused) = step(&app, &centre, &case, json!({"action": "reopen"})).await;
    assert_eq!(status, 400, "a reopen says why: {refused}");
    let (status, reopened) = step(
        &app,
        &centre,
        &case,
        json!({"action": "reopen", "note": "回访不满意：材料清单未公开"}),
    )
    .await;
    assert_eq!(status, 200, "{reopened}");
    assert_eq!(
        (&reopened["state"], &reopened["queue"]),
        (&json!("reopened"), &json!("personnel"))
    );
    let (status, accepted) = step(&app, &zhao, &case, json!({"action": "accept"})).await;
    assert_eq!((status, &accepted["state"]), (200, &json!("accepted")));
    assert_eq!(accepted["assignee"], "zhao", "whoever accepts works on it");
    app.stop().await;
}

#[tokio::test]
async fn a_merged_away_case_ends_merged_and_a_split_out_case_starts_in_triage() {
    let app = TestApp::start().await;
    let a = case_in(
        &app,
        "wf-3a",
        "人民路井盖缺失，夜间行人容易踩空。",
        "finance",
    )
    .await;
    let b = case_in(
        &app,
        "wf-3b",
        "市图书馆周末开放时间缩短，不方便学生。",
        "finance",
    )
    .await;
    let centre = triage(&app, "centre").await;
    let (status, merged) = call(
        &app,
        &centre,
        "POST",
        &format!("/v1/cases/{a}/merge"),
        json!({"with": b, "why": "同一事项"}),
    )
    .await;
    assert_eq!(status, 200, "{merged}");
    let survivor = merged["id"].as_str().unwrap().to_string();
    let away = if survivor == a { &b } else { &a };
    let (_, seen) = flow(&app, &centre, away).await;
    assert_eq!(seen["state"], "merged", "{seen}");
    assert_eq!(seen["merged_into"], survivor.as_str());
    assert!(
        seen["allowed"].as_array().unwrap().is_empty(),
        "merged is terminal"
    );
    // Its clock stopped with the merge, at once; the survivor's runs on; both are audited.
    let stopped = deadline(&app, &centre, away).await;
    assert_eq!(stopped["state"], "closed", "{stopped}");
    assert_eq!(trail(&stopped).last().unwrap(), "clock_closed", "{stopped}");
    assert_eq!(deadline(&app, &centre, &survivor).await["state"], "open");
    assert!(
        history_actions(&app, &centre, &a)
            .await
            .contains(&"case.merge".to_string())
    );

    let moved = if survivor == a { "wf-3b" } else { "wf-3a" };
    let members = merged["members"].as_array().unwrap();
    let out = members
        .iter()
        .map(|m| m["complaint_id"].as_str().unwrap().to_string())
        .find(|id| *id != survivor)
        .unwrap_or_else(|| panic!("{moved} is a member: {merged}"));
    let (status, split) = call(
        &app,
        &centre,
        "POST",
        &format!("/v1/cases/{survivor}/split"),
        json!({"complaint_id": out, "why": "并非同一事项"}),
    )
    .await;
    assert_eq!(status, 200, "{split}");
    let split_case = split["split_case"].as_str().unwrap();
    let (_, seen) = flow(&app, &centre, split_case).await;
    assert_eq!(
        (&seen["state"], &seen["queue"]),
        (&json!("new"), &json!("triage")),
        "{seen}"
    );
    assert!(seen["note"].as_str().unwrap().contains(&survivor));
    let started = deadline(&app, &centre, split_case).await;
    assert_eq!(
        (&started["queue_key"], &started["state"]),
        (&json!("triage"), &json!("open")),
        "a split-out case has its own clock, in triage: {started}"
    );
    // The centre is told of the split-out case (待分拣): its newest notice.
    let (_, outbox) = call(
        &app,
        &centre,
        "GET",
        &format!("/v1/outbox?case_id={split_case}"),
        Value::Null,
    )
    .await;
    let newest = &outbox["notifications"][0];
    assert_eq!(
        (&newest["kind"], &newest["queue_key"]),
        (&json!("assignment"), &json!("triage")),
        "{outbox}"
    );
    assert!(
        newest["subject"]
            .as_str()
            .unwrap()
            .starts_with("【待分拣】"),
        "{newest}"
    );
    let (_, kept) = flow(&app, &centre, &survivor).await;
    assert_eq!(
        kept["state"], "assigned",
        "the case it left goes on: {kept}"
    );
    assert!(
        history_actions(&app, &centre, &survivor)
            .await
            .contains(&"case.split".to_string())
    );
    app.stop().await;
}

#[tokio::test]
async fn a_unit_s_accepted_cases_go_to_the_least_loaded_investigator_present() {
    let app = TestApp::start().await;
    let bodies = [
        "税务窗口排队两小时无人叫号。",
        "社保卡补办要求跑三个地方盖章。",
        "公积金提取审核超期一个月未答复。",
    ];
    let mut cases = Vec::new();
    for (n, body) in bodies.iter().enumerate() {
        cases.push(case_in(&app, &format!("wf-4-{n}"), body, "finance").await);
    }
    let data = app.data_dir();
    investigator(&app, "a1", "finance", false).await;
    investigator(&app, "a2", "finance", false).await;
    let lead = investigator(&app, "lead", "finance", true).await;
    let (ok, _, stderr) =
        super::import_export::run_beside(&data, &["user", "away", "lead"], None).await;
    assert!(ok, "{stderr}");

    // The lead accepts all three; each goes to whoever present has the fewest open cases
    // (ties by name), never to the lead, who is away.
    let mut assignees = Vec::new();
    for case in &cases {
        let (status, taken) = step(&app, &lead, case, json!({"action": "accept"})).await;
        assert_eq!(status, 200, "{taken}");
        assignees.push(taken["assignee"].as_str().unwrap().to_string());
    }
    assert_eq!(assignees, ["a1", "a2", "a1"]);

    let (status, load) = call(
        &app,
        &lead,
        "GET",
        "/v1/queues/finance/workload",
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{load}");
    assert_eq!(load["assign"], "least_open");
    let people: Vec<(String, i64, bool)> = load["investigators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["open_cases"].as_i64().unwrap(),
                p["away"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected = [("a1", 2, false), ("a2", 1, false), ("lead", 0, true)];
    let expected: Vec<(String, i64, bool)> = expected
        .iter()
        .map(|(n, c, a)| (n.to_string(), *c, *a))
        .collect();
    assert_eq!(people, expected);
    assert_eq!(load["unassigned"], 0);
    let (status, _) = call(
        &app,
        &lead,
        "GET",
        "/v1/queues/nowhere/workload",
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
    app.stop().await;
}

/// The case's deadline: queue, assigned_at, state and its trail's actions.
pub(super) async fn deadline(app: &TestApp, token: &str, case: &str) -> Value {
    let (status, d) = call(
        app,
        token,
        "GET",
        &format!("/v1/cases/{case}/deadline"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{d}");
    d
}

pub(super) fn trail(d: &Value) -> Vec<String> {
    d["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// The actions of a case's audited history.
async fn history_actions(app: &TestApp, token: &str, case: &str) -> Vec<String> {
    let path = format!("/v1/cases/{case}/history");
    let (status, history) = call(app, token, "GET", &path, Value::Null).await;
    assert_eq!(status, 200, "{history}");
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

async fn assignment_mails(app: &TestApp, token: &str, case: &str) -> Vec<String> {
    let (status, outbox) = call(
        app,
        token,
        "GET",
        &format!("/v1/outbox?case_id={case}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{outbox}");
    let mut queues: Vec<String> = outbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "assignment")
        .map(|n| n["queue_key"].as_str().unwrap_or_default().to_string())
        .collect();
    queues.sort();
    queues
}

#[tokio::test]
async fn the_deadline_follows_every_step_on_the_running_gateway() {
    let app = TestApp::start().await;
    let case = case_in(
        &app,
        "wf-5",
        "菜市场占道经营，早高峰车辆无法通行。",
        "finance",
    )
    .await;
    let li = investigator(&app, "li", "finance", false).await;
    let zhao = investigator(&app, "zhao", "personnel", false).await;
    let centre = triage(&app, "centre").await;

    // The correction that sent the case to finance restarted its clock there, at once, with
    // the 交办 email to finance; the first clock's close is in the trail.
    let first = deadline(&app, &centre, &case).await;
    assert_eq!(
        (&first["queue_key"], &first["state"]),
        (&json!("finance"), &json!("open"))
    );
    let actions = trail(&first);
    if actions.contains(&"clock_closed".to_string()) {
        assert_eq!(actions.last().unwrap(), "assigned", "{actions:?}");
    }
    assert!(
        assignment_mails(&app, &centre, &case)
            .await
            .contains(&"finance".to_string())
    );

    // A return stops the clock with the reason; the next assignment starts a new one, counted
    // from then, for the new unit, with its 交办 email.
    step(&app, &li, &case, json!({"action": "accept"})).await;
    let (status, _) = step(
        &app,
        &li,
        &case,
        json!({"action": "return",
        "reason": "wrong_unit", "note": "人事部门职责"}),
    )
    .await;
    assert_eq!(status, 200);
    let stopped = deadline(&app, &centre, &case).await;
    assert_eq!(stopped["state"], "closed", "{stopped}");
    // Triage is told, with the reason.
    let (_, outbox) = call(
        &app,
        &centre,
        "GET",
        &format!("/v1/outbox?case_id={case}"),
        Value::Null,
    )
    .await;
    let returned: Vec<&Value> = outbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "returned")
        .collect();
    assert_eq!(returned.len(), 1, "{outbox}");
    assert!(
        returned[0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("【退单】")
    );
    assert_eq!(stopped["answered_by"], "li");
    assert_eq!(trail(&stopped).last().unwrap(), "clock_closed");
    let (status, _) = step(
        &app,
        &centre,
        &case,
        json!({"action": "assign", "queue": "personnel"}),
    )
    .await;
    assert_eq!(status, 200);
    let second = deadline(&app, &centre, &case).await;
    assert_eq!(
        (&second["queue_key"], &second["state"]),
        (&json!("personnel"), &json!("open"))
    );
    assert!(
        second["assigned_at"].as_str().unwrap() > first["assigned_at"].as_str().unwrap(),
        "counted from the new assignment: {second}"
    );
    assert!(
        assignment_mails(&app, &centre, &case)
            .await
            .contains(&"personnel".to_string())
    );

    // An answer stops it as answered; a reopen starts it again for the unit.
    for action in ["accept", "start"] {
        step(&app, &zhao, &case, json!({"action": action})).await;
    }
    let (status, _) = step(
        &app,
        &zhao,
        &case,
        json!({"action": "answer",
        "finding": "substantiated", "reply": "已协调城管清理占道摊点。"}),
    )
    .await;
    assert_eq!(status, 200);
    let answered = deadline(&app, &centre, &case).await;
    assert_eq!(answered["state"], "answered", "{answered}");
    assert_eq!(answered["answered_by"], "zhao");
    let (status, _) = step(
        &app,
        &centre,
        &case,
        json!({"action": "reopen", "note": "回访：摊点又回来了"}),
    )
    .await;
    assert_eq!(status, 200);
    let third = deadline(&app, &centre, &case).await;
    assert_eq!(
        (&third["queue_key"], &third["state"]),
        (&json!("personnel"), &json!("open"))
    );
    assert!(third["assigned_at"].as_str().unwrap() >= second["assigned_at"].as_str().unwrap());

    // The centre enters an answer that came back on paper: deadline and workflow agree.
    let path = format!("/v1/cases/{case}/answer");
    let (status, d) = call(
        &app,
        &centre,
        "POST",
        &path,
        json!({"summary": "书面答复已收到"}),
    )
    .await;
    assert_eq!((status, &d["state"]), (200, &json!("answered")), "{d}");
    let (_, seen) = flow(&app, &centre, &case).await;
    assert_eq!(seen["state"], "answered", "{seen}");
    let last = seen["answers"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["finding"], &last["reply"]),
        (&json!("other"), &json!("书面答复已收到"))
    );
    let (status, _) = step(
        &app,
        &centre,
        &case,
        json!({"action": "reopen", "note": "再次回访"}),
    )
    .await;
    assert_eq!(status, 200);

    // Search filters by the workflow's state (as soon as the index follows).
    eventually("the reopened case found by its state", || async {
        let (_, found) = call(
            &app,
            &centre,
            "GET",
            "/v1/search?status=reopened",
            Value::Null,
        )
        .await;
        (found["total"].as_u64()? >= 1).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_unit_asks_for_a_delay_and_only_an_approval_moves_the_deadline() {
    let app = TestApp::start().await;
    let case = case_in(
        &app,
        "wf-6",
        "老旧小区加装电梯审批材料反复退回。",
        "finance",
    )
    .await;
    let li = investigator(&app, "li", "finance", false).await;
    let far = investigator(&app, "far", "personnel", false).await;
    let centre = triage(&app, "centre").await;
    step(&app, &li, &case, json!({"action": "accept"})).await;
    let ask = |days: i64| json!({"working_days": days, "reason": "需会同住建部门现场核查"});
    let path = format!("/v1/cases/{case}/extensions");

    let (status, _) = call(&app, &far, "POST", &path, ask(3)).await;
    assert_eq!(status, 404, "another unit does not see the case");
    let (status, refused) = call(&app, &centre, "POST", &path, ask(3)).await;
    assert_eq!(
        status, 403,
        "the centre decides, it does not ask: {refused}"
    );
    let (status, refused) = call(&app, &li, "POST", &path, ask(0)).await;
    assert_eq!(status, 400, "{refused}");
    let before = deadline(&app, &centre, &case).await;
    let (status, first) = call(&app, &li, "POST", &path, ask(3)).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (&first["state"], &first["requested_by"]),
        (&json!("requested"), &json!("li"))
    );
    let (status, refused) = call(&app, &li, "POST", &path, ask(2)).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "extension_pending");
    assert_eq!(
        deadline(&app, &centre, &case).await["due_at"],
        before["due_at"],
        "a request alone moves nothing"
    );

    // Denied with a note: nothing moves; the unit may ask again.
    let id = first["id"].as_i64().unwrap();
    let deny = format!("/v1/cases/{case}/extensions/{id}/deny");
    let (status, refused) = call(&app, &centre, "POST", &deny, json!({})).await;
    assert_eq!(status, 400, "a denial says why: {refused}");
    let (status, refused) = call(&app, &li, "POST", &deny, json!({"note": "x"})).await;
    assert_eq!(status, 403, "{refused}");
    let (status, denied) = call(
        &app,
        &centre,
        "POST",
        &deny,
        json!({"note": "期限内可完成"}),
    )
    .await;
    assert_eq!(
        (status, &denied["state"]),
        (200, &json!("denied")),
        "{denied}"
    );
    let approve = format!("/v1/cases/{case}/extensions/{id}/approve");
    let (status, refused) = call(&app, &centre, "POST", &approve, json!({})).await;
    assert_eq!(status, 409, "decided once: {refused}");
    assert_eq!(
        deadline(&app, &centre, &case).await["due_at"],
        before["due_at"]
    );

    // Approved: the deadline moves by the working days asked, recorded as an extension by
    // the person who asked.
    let (_, second) = call(&app, &li, "POST", &path, ask(3)).await;
    let id = second["id"].as_i64().unwrap();
    let approve = format!("/v1/cases/{case}/extensions/{id}/approve");
    let (status, approved) = call(&app, &centre, "POST", &approve, json!({})).await;
    assert_eq!(
        (status, &approved["state"]),
        (200, &json!("approved")),
        "{approved}"
    );
    let after = deadline(&app, &centre, &case).await;
    assert!(
        after["due_at"].as_str() > before["due_at"].as_str(),
        "{after}"
    );
    assert_eq!(after["extensions"][0]["requested_by"], "li");
    assert_eq!(after["extensions"][0]["old_due_at"], before["due_at"]);
    let (_, seen) = flow(&app, &li, &case).await;
    assert_eq!(seen["state"], "accepted", "the case keeps its state");
    let states: Vec<&str> = seen["extension_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["denied", "approved"]);
    app.stop().await;
}

#[tokio::test]
async fn reprocess_keeps_every_case_s_deadline_and_new_members_get_it() {
    use super::import_export::run_beside;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let lines = [
        json!({"external_id": "rp-1", "title": "路灯", "body": "幸福路路灯连续一周不亮，夜间出行不安全。"}),
        json!({"external_id": "rp-2", "title": "噪音", "body": "工地夜间施工噪音扰民，凌晨两点仍在作业。"}),
        json!({"external_id": "rp-3", "title": "路灯", "body": "幸福路路灯连续一周不亮，夜间出行不安全。"}),
    ];
    let jsonl: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (ok, _, stderr) = run_beside(
        &data,
        &["import", "-", "--source", "files"],
        Some(jsonl.as_bytes()),
    )
    .await;
    assert!(ok, "{stderr}");
    let deadlines = |export: &str| -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = export
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|r| {
                let id = r["external_id"].as_str().unwrap().to_string();
                (id, r["deadline"].as_str().unwrap_or_default().to_string())
            })
            .collect();
        rows.sort();
        rows
    };
    let (ok, before, stderr) = run_beside(&data, &["export"], None).await;
    assert!(ok, "{stderr}");
    let before = deadlines(&before);
    assert_eq!(before.len(), 3);
    assert!(
        before.iter().all(|(_, due)| !due.is_empty()),
        "every complaint shows its case's deadline, the repost too: {before:?}"
    );
    let (ok, _, stderr) = run_beside(&data, &["reprocess"], None).await;
    assert!(ok, "{stderr}");
    let (ok, after, _) = run_beside(&data, &["export"], None).await;
    assert!(ok);
    assert_eq!(deadlines(&after), before, "reprocess keeps the clocks");
}

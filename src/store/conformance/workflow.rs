//! Conformance: the case workflow — states with their versions, transitions and answers in
//! order, workloads by assignee, and a rolled-back transition leaving nothing.

use super::Open;
use crate::store::StoreError;
use crate::store::workflow::{CaseState, HistoryClose, HistoryCloses, NewAnswer, NewTransition};

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    a_state_is_versioned_and_a_stale_write_is_refused(open).await;
    transitions_and_answers_read_back_in_order(open).await;
    workloads_count_open_cases_by_assignee(open).await;
    a_rolled_back_transition_leaves_nothing(open).await;
    extension_requests_are_decided_once(open).await;
    history_is_closed_in_bulk_and_a_state_already_there_is_kept(open).await;
}

fn state(case_id: &str, state: &str, queue: Option<&str>, assignee: Option<&str>) -> CaseState {
    CaseState {
        case_id: case_id.into(),
        state: state.into(),
        queue_key: queue.map(str::to_string),
        assignee: assignee.map(str::to_string),
        merged_into: None,
        note: None,
        updated_at: "2026-03-02T01:00:00.000Z".into(),
        updated_by: "system:assign".into(),
        version: 0,
    }
}

fn transition(case_id: &str, action: &str, from: &str, to: &str) -> NewTransition {
    NewTransition {
        case_id: case_id.into(),
        action: action.into(),
        from_state: from.into(),
        to_state: to.into(),
        actor: "wang".into(),
        at: "2026-03-02T02:00:00.000Z".into(),
        detail: serde_json::json!({"action": action}),
    }
}

async fn a_state_is_versioned_and_a_stale_write_is_refused(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    assert_eq!(store.case_state("c1").await.unwrap(), None);
    let mut tx = store.begin_decision().await.unwrap();
    tx.put_case_state(&state("c1", "assigned", Some("env"), None), None)
        .await
        .unwrap();
    let seen = tx
        .case_state("c1")
        .await
        .unwrap()
        .expect("the tx sees its write");
    assert_eq!(seen.version, 1);
    tx.commit().await.unwrap();

    let mut tx = store.begin_decision().await.unwrap();
    let mut accepted = state("c1", "accepted", Some("env"), Some("li"));
    accepted.note = Some("签收".into());
    accepted.updated_by = "li".into();
    tx.put_case_state(&accepted, Some(1)).await.unwrap();
    let stale = tx
        .put_case_state(&state("c1", "returned", None, None), Some(1))
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict(_))),
        "a write naming version 1 after version 2: {stale:?}"
    );
    let fresh = tx
        .put_case_state(&state("c1", "returned", None, None), None)
        .await;
    assert!(
        matches!(fresh, Err(StoreError::Conflict(_))),
        "a write as if new over an existing state: {fresh:?}"
    );
    tx.commit().await.unwrap();
    let stored = store.case_state("c1").await.unwrap().unwrap();
    assert_eq!(
        (stored.state.as_str(), stored.version),
        ("accepted", 2),
        "the refused writes changed nothing"
    );
    assert_eq!(stored.assignee.as_deref(), Some("li"));
    assert_eq!(stored.queue_key.as_deref(), Some("env"));
    assert_eq!(stored.note.as_deref(), Some("签收"));
    assert_eq!(stored.updated_by, "li");
}

async fn transitions_and_answers_read_back_in_order(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_decision().await.unwrap();
    let first = tx
        .append_transition(&transition("c1", "accept", "assigned", "accepted"))
        .await
        .unwrap();
    tx.append_transition(&transition("c2", "accept", "assigned", "accepted"))
        .await
        .unwrap();
    let third = tx
        .append_transition(&transition("c1", "answer", "accepted", "answered"))
        .await
        .unwrap();
    assert!(first < third);
    let answer = NewAnswer {
        case_id: "c1".into(),
        finding: "partly_substantiated".into(),
        reply: "已责令整改，噪声已停止。".into(),
        attachments: vec!["整改通知书 2026-031".into(), "photo-1.jpg".into()],
        answered_by: "li".into(),
        answered_at: "2026-03-03T02:00:00.000Z".into(),
    };
    tx.record_answer(&answer).await.unwrap();
    tx.commit().await.unwrap();

    let trail = store.case_transitions("c1").await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|t| t.action.as_str()).collect();
    assert_eq!(actions, ["accept", "answer"]);
    assert_eq!(trail[1].from_state, "accepted");
    assert_eq!(trail[1].to_state, "answered");
    assert_eq!(trail[1].actor, "wang");
    let detail: serde_json::Value = serde_json::from_str(&trail[1].detail).unwrap();
    assert_eq!(detail["action"], "answer");
    let answers = store.case_answers("c1").await.unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].answer, answer);
    assert!(store.case_answers("c2").await.unwrap().is_empty());
}

async fn workloads_count_open_cases_by_assignee(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_decision().await.unwrap();
    for (id, st, queue, who) in [
        ("a", "accepted", "env", Some("li")),
        ("b", "investigating", "env", Some("li")),
        ("c", "investigating", "env", Some("zhao")),
        ("d", "answered", "env", Some("zhao")),
        ("e", "assigned", "env", None),
        ("f", "accepted", "roads", Some("li")),
    ] {
        tx.put_case_state(&state(id, st, Some(queue), who), None)
            .await
            .unwrap();
    }
    let open_states = ["assigned", "accepted", "investigating", "reopened"];
    let in_tx = tx.queue_workload("env", &open_states).await.unwrap();
    tx.commit().await.unwrap();
    let load = store.queue_workload("env", &open_states).await.unwrap();
    assert_eq!(load, in_tx, "the transaction and the store agree");
    let pairs: Vec<(Option<&str>, i64)> = load
        .iter()
        .map(|w| (w.assignee.as_deref(), w.open_cases))
        .collect();
    assert_eq!(
        pairs,
        [(Some("li"), 2), (Some("zhao"), 1), (None, 1)],
        "most loaded first, then by assignee, unassigned last; answered and other queues' \
         cases not counted"
    );
}

async fn a_rolled_back_transition_leaves_nothing(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_decision().await.unwrap();
    tx.put_case_state(&state("c1", "assigned", Some("env"), None), None)
        .await
        .unwrap();
    tx.append_transition(&transition("c1", "assign", "new", "assigned"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(store.case_state("c1").await.unwrap(), None);
    assert!(store.case_transitions("c1").await.unwrap().is_empty());
}

/// 延期 requests: recorded in order, decided once.
pub async fn extension_requests_are_decided_once(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let request = |days| crate::store::workflow::NewExtensionRequest {
        case_id: "c1".into(),
        requested_by: "li".into(),
        requested_at: "2026-03-02T02:00:00.000Z".into(),
        working_days: days,
        reason: "需现场复核".into(),
    };
    let mut tx = store.begin_decision().await.unwrap();
    let first = tx.add_extension_request(&request(3)).await.unwrap();
    let second = tx.add_extension_request(&request(5)).await.unwrap();
    assert!(first < second);
    tx.commit().await.unwrap();
    let undecided = store.undecided_extension_requests(10).await.unwrap();
    let ids: Vec<i64> = undecided.iter().map(|r| r.id).collect();
    assert_eq!(ids, [first, second], "both wait, oldest first");
    assert_eq!(undecided[0].request, request(3));
    let limited = store.undecided_extension_requests(1).await.unwrap();
    assert_eq!(limited.len(), 1);
    let mut tx = store.begin_decision().await.unwrap();
    let at = "2026-03-02T03:00:00.000Z";
    assert!(
        tx.decide_extension_request(first, "approved", "centre", at, None)
            .await
            .unwrap()
    );
    assert!(
        !tx.decide_extension_request(first, "denied", "centre", at, Some("again"))
            .await
            .unwrap(),
        "a decided request stays decided"
    );
    assert!(
        tx.decide_extension_request(second, "denied", "centre", at, Some("理由不足"))
            .await
            .unwrap()
    );
    let in_tx = tx.case_extension_requests("c1").await.unwrap();
    tx.commit().await.unwrap();
    let stored = store.extension_requests("c1").await.unwrap();
    assert_eq!(stored, in_tx);
    let summary: Vec<(i64, &str, Option<&str>)> = stored
        .iter()
        .map(|r| {
            (
                r.request.working_days,
                r.state.as_str(),
                r.decision_note.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [(3, "approved", None), (5, "denied", Some("理由不足"))]
    );
    assert_eq!(stored[0].request, request(3));
    assert_eq!(stored[0].decided_by.as_deref(), Some("centre"));
    assert!(store.extension_requests("c2").await.unwrap().is_empty());
    assert!(
        store
            .undecided_extension_requests(10)
            .await
            .unwrap()
            .is_empty(),
        "decided requests wait no more"
    );
}

async fn history_is_closed_in_bulk_and_a_state_already_there_is_kept(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_cases(&[super::cases::fixtures::case_row("g1", "G1", 100, 2)])
        .await
        .unwrap();
    // A case live before (it has a state) and one without a case row.
    tx.put_case_state(&state("c2", "assigned", Some("env"), None), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let close = |id: &str, queue: &str, status_case: Option<&str>| HistoryClose {
        case_id: id.into(),
        queue: queue.into(),
        detail: serde_json::json!({"queue": queue, "by": "routing"}),
        status_case: status_case.map(str::to_string),
    };
    let cases = [
        close("g1", "env", Some("g1")),
        close("c2", "env", Some("c2")),
        close("c3", "roads", None),
    ];
    let closes = HistoryCloses {
        cases: &cases,
        state: "closed",
        note: "history",
        actor: "system:assign",
        at: "2026-03-02T03:00:00.000000Z",
        action: "close",
        from_state: "new",
        status: "closed",
        status_actor: "system:status",
        status_why: "answered long ago",
    };
    let mut tx = store.begin_derived().await.unwrap();
    let before = tx.case_states(&["g1", "c2", "c3"]).await.unwrap();
    assert_eq!(before.keys().collect::<Vec<_>>(), ["c2"]);
    tx.close_history(&closes).await.unwrap();
    let after = tx.case_states(&["g1", "c2", "c3", "none"]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(after.len(), 3, "{after:?}");
    let g1 = &after["g1"];
    assert_eq!(
        (g1.state.as_str(), g1.version, g1.queue_key.as_deref()),
        ("closed", 1, Some("env"))
    );
    assert_eq!(g1.note.as_deref(), Some("history"));
    assert_eq!(
        (g1.updated_by.as_str(), g1.updated_at.as_str()),
        ("system:assign", "2026-03-02T03:00:00.000000Z")
    );
    assert_eq!(after["c3"].queue_key.as_deref(), Some("roads"));
    assert_eq!(
        (after["c2"].state.as_str(), after["c2"].version),
        ("assigned", 1),
        "a state already there is kept"
    );

    let trail = store.case_transitions("g1").await.unwrap();
    assert_eq!(trail.len(), 1);
    let t = &trail[0];
    assert_eq!(
        (
            t.action.as_str(),
            t.from_state.as_str(),
            t.to_state.as_str()
        ),
        ("close", "new", "closed")
    );
    assert_eq!(
        (t.actor.as_str(), t.at.as_str()),
        ("system:assign", closes.at)
    );
    let detail: serde_json::Value = serde_json::from_str(&t.detail).unwrap();
    assert_eq!(detail, serde_json::json!({"queue": "env", "by": "routing"}));
    assert!(store.case_transitions("c2").await.unwrap().is_empty());
    assert_eq!(store.case_transitions("c3").await.unwrap().len(), 1);
    let summary = store.case_summary("g1").await.unwrap().unwrap();
    assert_eq!(summary.status, "closed");

    // Closing them again adds nothing.
    let mut tx = store.begin_derived().await.unwrap();
    tx.close_history(&closes).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.case_transitions("g1").await.unwrap().len(), 1);
    assert_eq!(store.case_state("g1").await.unwrap().unwrap().version, 1);
}

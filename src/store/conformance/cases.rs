//! Conformance: cases. Members and their facets, case rows and what their members add up to,
//! staff decisions and statuses, the reads of the listing, detail and hot issues, and what the
//! grouping engine is rebuilt from. Every check goes through the traits only.

mod case_rows;
pub(crate) mod fixtures;
mod subject_filter;

use std::collections::{BTreeSet, HashMap};

use fixtures::{at, case_row, commit, complaints, member};

use super::{Fixture, Open};
use crate::store::cases::{CaseFilter, NewDecision, NewMember, StatusChange};

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    members_are_recorded_moved_and_set_their_facets(open().await).await;
    case_rows_add_up_their_members_and_list_by_activity(open().await).await;
    staff_decisions_and_statuses_are_kept_in_order(open().await).await;
    clearing_cases_keeps_decisions_and_statuses(open().await).await;
    a_rolled_back_transaction_leaves_nothing(open().await).await;
    the_grouping_state_is_the_latest_window(open().await).await;
    case_rows::rows_and_present_complainants_are_read(open().await).await;
}

async fn members_are_recorded_moved_and_set_their_facets(fixture: Fixture) {
    let store = &fixture.store;
    let c = complaints(store, &[Some("t0"), Some("t1"), None]).await;
    let queued_before = store.max_index_queue_seq().await.unwrap();
    let mut tx = store.begin_derived().await.unwrap();
    let mut members: Vec<NewMember> = (0..3).map(|n| member(n, &c[n], &c[0].0)).collect();
    members[1].duplicate_of = Some(c[0].0.clone());
    tx.upsert_members(&members).await.unwrap();
    commit(tx).await;
    let queued = store.max_index_queue_seq().await.unwrap();
    assert!(queued > queued_before, "changed facets queue re-indexing");

    let read = store.case_members(&c[0].0).await.unwrap();
    let ids: Vec<&str> = read.iter().map(|m| m.complaint_id.as_str()).collect();
    assert_eq!(ids, [c[0].0.as_str(), c[1].0.as_str(), c[2].0.as_str()]);
    assert_eq!(read[1].reason_json, members[1].reason_json);
    assert_eq!(read[1].title.as_deref(), Some("t1"));
    assert_eq!(read[2].title, None);
    assert_eq!(read[2].text_start, "body 2");
    assert_eq!(read[0].channel, "hotline", "the complaint's channel");
    assert_eq!(read[0].source, "s");
    let facets = store.complaint(&c[1].0).await.unwrap().unwrap().facets;
    assert_eq!(facets.case_id.as_deref(), Some(c[0].0.as_str()));
    assert_eq!(facets.duplicate_of.as_deref(), Some(c[0].0.as_str()));

    // The same members again change nothing and queue nothing.
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_members(&members).await.unwrap();
    commit(tx).await;
    assert_eq!(store.max_index_queue_seq().await.unwrap(), queued);
    assert_eq!(store.case_members(&c[0].0).await.unwrap().len(), 3);
    // A page of them: in sequence order, skipping and stopping as asked.
    let page = store.case_members_page(&c[0].0, 1, 1).await.unwrap();
    let ids: Vec<&str> = page.iter().map(|m| m.complaint_id.as_str()).collect();
    assert_eq!(ids, [c[1].0.as_str()]);
    assert_eq!(page[0].reason_json, members[1].reason_json);
    let rest = store.case_members_page(&c[0].0, 1, 50).await.unwrap();
    assert_eq!(rest.len(), 2, "the last page is short");
    assert!(
        store
            .case_members_page(&c[0].0, 3, 50)
            .await
            .unwrap()
            .is_empty()
    );

    // Moved by an upsert and by a staff move; members are read in sequence order.
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_members(&[member(2, &c[2], &c[2].0)])
        .await
        .unwrap();
    tx.set_member_case(&c[0].0, &c[2].0, r#"{"kind":"pinned"}"#)
        .await
        .unwrap();
    let of_new = tx.members_of(&c[2].0).await.unwrap();
    assert_eq!(
        of_new
            .iter()
            .map(|m| (m.complaint_id.as_str(), m.seq))
            .collect::<Vec<_>>(),
        [(c[0].0.as_str(), c[0].1), (c[2].0.as_str(), c[2].1)]
    );
    let cases = tx
        .member_cases(&[c[0].0.as_str(), c[1].0.as_str(), "unknown"])
        .await
        .unwrap();
    assert_eq!(
        cases,
        HashMap::from([
            (c[0].0.clone(), c[2].0.clone()),
            (c[1].0.clone(), c[0].0.clone())
        ])
    );
    commit(tx).await;
    assert_eq!(store.case_members(&c[0].0).await.unwrap().len(), 1);
    let moved = store.case_members(&c[2].0).await.unwrap();
    assert_eq!(moved[0].reason_json, r#"{"kind":"pinned"}"#);
    let by_external = store.cases_by_external_id("s").await.unwrap();
    assert_eq!(by_external.get("e0"), Some(&c[2].0));
    assert_eq!(by_external.get("e1"), Some(&c[0].0));
    assert!(
        store
            .cases_by_external_id("other")
            .await
            .unwrap()
            .is_empty()
    );
    let facets = store.complaint(&c[2].0).await.unwrap().unwrap().facets;
    assert_eq!(facets.case_id.as_deref(), Some(c[2].0.as_str()));

    // Hot-issue windows: bounds included, by case then sequence.
    let mut window = store
        .members_between(at(1).timestamp_millis(), at(2).timestamp_millis(), None)
        .await
        .unwrap();
    assert_eq!(window.len(), 2);
    assert!(
        window.windows(2).all(|w| w[0].case_id <= w[1].case_id),
        "by case"
    );
    window.sort_by_key(|m| m.submitted_ms);
    assert_eq!(window[0].case_id, c[0].0);
    assert_eq!(window[0].submitted_ms, at(1).timestamp_millis());
    assert!(window[0].media_exposed);
    assert_eq!(window[0].public_support, 10);
    assert_eq!(window[0].complainant.as_deref(), Some("same-person"));
    assert_eq!(window[1].case_id, c[2].0);
    assert_eq!(window[1].complainant, None);
    let all = store
        .members_between(0, at(2).timestamp_millis(), None)
        .await
        .unwrap();
    let order: Vec<(&str, i64)> = all
        .iter()
        .map(|m| (m.case_id.as_str(), m.submitted_ms))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    assert_eq!(all.len(), 3);
}

async fn case_rows_add_up_their_members_and_list_by_activity(fixture: Fixture) {
    let store = &fixture.store;
    let c = complaints(store, &[Some("first"), Some("second"), None, Some(" ")]).await;
    let (a, b) = (c[0].0.clone(), c[2].0.clone());
    let mut tx = store.begin_derived().await.unwrap();
    let members = vec![
        member(0, &c[0], &a),
        member(1, &c[1], &a),
        member(2, &c[2], &b),
        member(3, &c[3], &b),
    ];
    tx.upsert_members(&members).await.unwrap();
    let ids = BTreeSet::from([a.clone(), b.clone(), "nobody".to_string()]);
    let mut aggregates = tx.case_aggregates(&ids).await.unwrap();
    aggregates.sort_by(|x, y| x.case_id.cmp(&y.case_id));
    let of = |id: &str| aggregates.iter().find(|g| g.case_id == id).unwrap();
    assert_eq!(
        aggregates.len(),
        2,
        "a case without members has no aggregate"
    );
    let first = of(&a);
    assert_eq!(first.complaints, 2);
    assert_eq!(first.complainants, 1, "one person, two complaints");
    assert_eq!(
        (first.first_ms, first.last_ms),
        (at(0).timestamp_millis(), at(1).timestamp_millis())
    );
    assert_eq!(first.public_support, 10);
    assert!(first.media_exposed);
    let channels: BTreeSet<&str> = first.channels.iter().map(String::as_str).collect();
    assert_eq!(channels, BTreeSet::from(["hotline", "online"]));
    assert_eq!(first.founder_title.as_deref(), Some("first"));
    assert_eq!(first.founder_text.as_deref(), Some("first body 0"));
    let second = of(&b);
    assert_eq!(
        second.complainants, 2,
        "a member without a complainant is its own"
    );
    assert!(!second.media_exposed);
    assert_eq!(second.public_support, 50);
    assert_eq!(second.founder_title, None);

    tx.upsert_cases(&[case_row(&a, "A", 100, 2), case_row(&b, "B", 200, 2)])
        .await
        .unwrap();
    tx.upsert_cases(&[case_row("empty", "E", 300, 1)])
        .await
        .unwrap();
    assert!(tx.case_exists("empty").await.unwrap());
    tx.delete_empty_cases(&BTreeSet::from(["empty".to_string(), a.clone()]))
        .await
        .unwrap();
    assert!(!tx.case_exists("empty").await.unwrap(), "no member left");
    assert!(tx.case_exists(&a).await.unwrap(), "members remain");
    commit(tx).await;

    let summary = store.case_summary(&a).await.unwrap().unwrap();
    assert_eq!(summary.title, "A");
    assert_eq!(summary.channels, ["hotline", "online"]);
    assert_eq!(summary.first_seen, "2024-05-01T00:00:00.000000Z");
    assert_eq!(summary.status, "open", "no status yet");
    assert_eq!(store.case_summary("nobody").await.unwrap(), None);
    let all = CaseFilter {
        min_complaints: 1,
        limit: 10,
        ..CaseFilter::default()
    };
    let listed: Vec<String> = store
        .list_cases(all)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, [b.clone(), a.clone()], "most recently active first");
    let paged = store
        .list_cases(CaseFilter {
            limit: 1,
            offset: 1,
            ..all
        })
        .await
        .unwrap();
    assert_eq!(paged.len(), 1);
    assert_eq!(paged[0].id, a);
    subject_filter::lists_cases_about_a_unit(store, all, &a).await;

    // An investigator's reach: cases routed or informed to their queues, whole names only.
    let mut tx = store.begin_derived().await.unwrap();
    let route = crate::store::routes::CaseRoute {
        route_key: a.clone(),
        queue: "urban".into(),
        priority: "normal".into(),
        informed: vec!["press_office".into(), "audit".into()],
        category: None,
        category_confident: false,
        tags: vec![],
        rule: "test".into(),
        pinned: false,
        complaints: 2,
        created_at: "2024-05-01T00:00:00.000000Z".into(),
        updated_at: "2024-05-01T00:00:00.000000Z".into(),
    };
    tx.upsert_case_routes(&[&route]).await.unwrap();
    commit(tx).await;
    for (queues, expected) in [
        (vec!["urban"], vec![a.clone()]),
        (vec!["finance", "audit"], vec![a.clone()]),
        (vec!["aud"], vec![]),
        (vec!["finance"], vec![]),
        (vec![], vec![]),
    ] {
        let queues: Vec<String> = queues.into_iter().map(String::from).collect();
        let found: Vec<String> = store
            .list_cases(CaseFilter {
                queues: Some(&queues),
                ..all
            })
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(found, expected, "{queues:?}");
        let windowed: std::collections::BTreeSet<String> = store
            .members_between(0, i64::MAX, Some(&queues))
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.case_id)
            .collect();
        assert_eq!(Vec::from_iter(windowed), expected, "window of {queues:?}");
    }

    // The workflow's state, queue and assignee show on the summary and filter the list; a
    // case the workflow has not recorded shows its route's queue and no state.
    let summary = store.case_summary(&a).await.unwrap().unwrap();
    assert_eq!(
        (summary.state.as_deref(), summary.queue.as_deref()),
        (None, Some("urban"))
    );
    let mut tx = store.begin_decision().await.unwrap();
    let state = crate::store::workflow::CaseState {
        case_id: b.clone(),
        state: "accepted".into(),
        queue_key: Some("finance".into()),
        assignee: Some("li".into()),
        merged_into: None,
        note: None,
        updated_at: "2024-05-02T00:00:00.000Z".into(),
        updated_by: "li".into(),
        version: 0,
    };
    tx.put_case_state(&state, None).await.unwrap();
    commit(tx).await;
    let summary = store.case_summary(&b).await.unwrap().unwrap();
    assert_eq!(
        (
            summary.state.as_deref(),
            summary.queue.as_deref(),
            summary.assignee.as_deref()
        ),
        (Some("accepted"), Some("finance"), Some("li"))
    );
    for (state, queue, expected) in [
        (Some("accepted"), None, vec![b.clone()]),
        (Some("assigned"), None, vec![]),
        (None, Some("finance"), vec![b.clone()]),
        (None, Some("urban"), vec![a.clone()]),
        (Some("accepted"), Some("urban"), vec![]),
    ] {
        let found: Vec<String> = store
            .list_cases(CaseFilter {
                state,
                queue,
                ..all
            })
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(found, expected, "state {state:?} queue {queue:?}");
    }

    // Deadlines: shown on the summary, filtered by priority, overdue and due time, and sorted.
    let deadline =
        |case_id: &str, queue: &str, priority: &str, due: &str| crate::store::outbox::NewDeadline {
            case_id: case_id.to_string(),
            complaint_id: case_id.to_string(),
            queue_key: queue.into(),
            queue_name: queue.into(),
            priority: priority.into(),
            assigned_at: chrono::DateTime::parse_from_rfc3339("2024-05-01T09:00:00+08:00").unwrap(),
            due_at: chrono::DateTime::parse_from_rfc3339(due).unwrap(),
            provisional_year: None,
            assignment: "{}".into(),
        };
    let mut tx = store.begin_derived().await.unwrap();
    tx.assign_deadlines(&[
        deadline(&a, "urban", "urgent", "2024-05-02T17:30:00+08:00"),
        deadline(&b, "finance", "normal", "2099-05-02T17:30:00+08:00"),
    ])
    .await
    .unwrap();
    commit(tx).await;
    let summary = store.case_summary(&a).await.unwrap().unwrap();
    assert_eq!(summary.priority.as_deref(), Some("urgent"));
    assert!(summary.overdue, "open and past");
    assert!(summary.due_at.unwrap().starts_with("2024-05-02T17:30:00"));
    let by_deadline = CaseFilter {
        sort: crate::store::cases::CaseSort::Deadline,
        ..all
    };
    let ids = |cases: Vec<crate::store::cases::CaseSummary>| -> Vec<String> {
        cases.into_iter().map(|s| s.id).collect()
    };
    assert_eq!(
        ids(store.list_cases(by_deadline).await.unwrap()),
        [a.clone(), b.clone()],
        "earliest deadline first"
    );
    let cases = store
        .list_cases(CaseFilter {
            queue: Some("finance"),
            ..by_deadline
        })
        .await
        .unwrap();
    assert_eq!(ids(cases), [b.clone()], "a queue's cases by deadline");
    for (filter, expected) in [
        (
            CaseFilter {
                priority: Some("urgent"),
                ..all
            },
            vec![a.clone()],
        ),
        (
            CaseFilter {
                overdue: Some(true),
                ..all
            },
            vec![a.clone()],
        ),
        (
            CaseFilter {
                overdue: Some(false),
                ..all
            },
            vec![b.clone()],
        ),
        (
            CaseFilter {
                due_before_ms: Some(
                    chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
                        .unwrap()
                        .timestamp_millis(),
                ),
                ..all
            },
            vec![a.clone()],
        ),
    ] {
        assert_eq!(
            ids(store.list_cases(filter).await.unwrap()),
            expected,
            "{filter:?}"
        );
    }

    // Replacing a row updates it in place.
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_cases(&[case_row(&a, "A2", 400, 3)])
        .await
        .unwrap();
    commit(tx).await;
    let listed = store.list_cases(all).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].title.as_str()),
        (a.as_str(), "A2")
    );
    assert_eq!(listed[0].complaints, 3);
    let big = store
        .list_cases(CaseFilter {
            min_complaints: 3,
            ..all
        })
        .await
        .unwrap();
    assert_eq!(big.len(), 1);
}

async fn staff_decisions_and_statuses_are_kept_in_order(fixture: Fixture) {
    let store = &fixture.store;
    let c = complaints(store, &[Some("a"), Some("b")]).await;
    let mut tx = store.begin_decision().await.unwrap();
    tx.upsert_members(&[member(0, &c[0], &c[0].0), member(1, &c[1], &c[1].0)])
        .await
        .unwrap();
    tx.upsert_cases(&[case_row(&c[0].0, "A", 1, 1), case_row(&c[1].0, "B", 2, 1)])
        .await
        .unwrap();
    for n in 0..3 {
        let json = format!(r#"{{"merge":{{"complaint_ids":["{}","x{n}"]}}}}"#, c[0].0);
        tx.record_decision(NewDecision {
            decision_json: &json,
            actor: "li",
            why: &format!("reason {n}"),
            decided_at: "2024-05-03T00:00:00.000000Z",
        })
        .await
        .unwrap();
    }
    let after = tx.decisions_after(0).await.unwrap();
    assert_eq!(after.len(), 3);
    assert!(after.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    let later = tx.decisions_after(after[0].id).await.unwrap();
    assert_eq!(later, after[1..].to_vec());
    assert!(tx.decisions_after(after[2].id).await.unwrap().is_empty());
    assert!(!tx.case_exists("unknown").await.unwrap());
    let status = |status, updated_at| StatusChange {
        case_id: "",
        status,
        actor: "li",
        why: "checked",
        updated_at,
    };
    tx.set_case_status(StatusChange {
        case_id: &c[0].0,
        ..status("investigating", "2024-05-03T00:00:00.000000Z")
    })
    .await
    .unwrap();
    commit(tx).await;

    let recorded = store.decisions().await.unwrap();
    assert_eq!(recorded, after);
    assert_eq!(recorded[1].why, "reason 1");
    assert_eq!(recorded[1].actor, "li");
    assert_eq!(recorded[1].decided_at, "2024-05-03T00:00:00.000000Z");
    assert!(recorded[2].decision_json.contains("x2"));
    let summary = store.case_summary(&c[0].0).await.unwrap().unwrap();
    assert_eq!(summary.status, "investigating");
    let filter = |status| CaseFilter {
        status,
        min_complaints: 1,
        limit: 10,
        ..CaseFilter::default()
    };
    let open = store.list_cases(filter(Some("open"))).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, c[1].0, "a case without a status is open");
    let investigating = store
        .list_cases(filter(Some("investigating")))
        .await
        .unwrap();
    assert_eq!(investigating.len(), 1);
    assert_eq!(investigating[0].id, c[0].0);

    // A new status replaces the old one.
    let mut tx = store.begin_decision().await.unwrap();
    tx.set_case_status(StatusChange {
        case_id: &c[0].0,
        ..status("closed", "2024-05-04T00:00:00.000000Z")
    })
    .await
    .unwrap();
    commit(tx).await;
    assert!(
        store
            .list_cases(filter(Some("investigating")))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .list_cases(filter(Some("closed")))
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn clearing_cases_keeps_decisions_and_statuses(fixture: Fixture) {
    let store = &fixture.store;
    let c = complaints(store, &[Some("a")]).await;
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_members(&[member(0, &c[0], &c[0].0)])
        .await
        .unwrap();
    tx.upsert_cases(&[case_row(&c[0].0, "A", 1, 1)])
        .await
        .unwrap();
    tx.record_decision(NewDecision {
        decision_json: r#"{"merge":{"complaint_ids":[]}}"#,
        actor: "li",
        why: "w",
        decided_at: "2024-05-03T00:00:00.000000Z",
    })
    .await
    .unwrap();
    tx.set_case_status(StatusChange {
        case_id: &c[0].0,
        status: "answered",
        actor: "li",
        why: "w",
        updated_at: "2024-05-03T00:00:00.000000Z",
    })
    .await
    .unwrap();
    commit(tx).await;

    let mut tx = store.begin_derived().await.unwrap();
    tx.clear_cases().await.unwrap();
    assert!(tx.members_of(&c[0].0).await.unwrap().is_empty());
    commit(tx).await;
    assert_eq!(store.case_summary(&c[0].0).await.unwrap(), None);
    assert!(store.case_members(&c[0].0).await.unwrap().is_empty());
    assert_eq!(
        store.decisions().await.unwrap().len(),
        1,
        "human data stays"
    );
    // The status is attached to the case id again when the case comes back.
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_members(&[member(0, &c[0], &c[0].0)])
        .await
        .unwrap();
    tx.upsert_cases(&[case_row(&c[0].0, "A", 1, 1)])
        .await
        .unwrap();
    commit(tx).await;
    let summary = store.case_summary(&c[0].0).await.unwrap().unwrap();
    assert_eq!(summary.status, "answered");
}

async fn a_rolled_back_transaction_leaves_nothing(fixture: Fixture) {
    let store = &fixture.store;
    let c = complaints(store, &[Some("a")]).await;
    for begin_decision in [false, true] {
        let mut tx = if begin_decision {
            store.begin_decision().await.unwrap()
        } else {
            store.begin_derived().await.unwrap()
        };
        tx.upsert_members(&[member(0, &c[0], &c[0].0)])
            .await
            .unwrap();
        tx.upsert_cases(&[case_row(&c[0].0, "A", 1, 1)])
            .await
            .unwrap();
        tx.record_decision(NewDecision {
            decision_json: "{}",
            actor: "li",
            why: "w",
            decided_at: "2024-05-03T00:00:00.000000Z",
        })
        .await
        .unwrap();
        assert_eq!(tx.members_of(&c[0].0).await.unwrap().len(), 1);
        tx.rollback().await.unwrap();
        assert!(store.case_members(&c[0].0).await.unwrap().is_empty());
        assert_eq!(store.case_summary(&c[0].0).await.unwrap(), None);
        assert!(store.decisions().await.unwrap().is_empty());
        let facets = store.complaint(&c[0].0).await.unwrap().unwrap().facets;
        assert_eq!(facets.case_id, None);
    }
}

async fn the_grouping_state_is_the_latest_window(fixture: Fixture) {
    let store = &fixture.store;
    let empty = store.grouping_state(3_600_000, 10).await.unwrap();
    assert_eq!((empty.last_seq, empty.window.len()), (0, 0));
    let c = complaints(store, &[Some("a"), Some("b"), Some("c"), Some("d")]).await;
    let mut tx = store.begin_derived().await.unwrap();
    let members: Vec<NewMember> = (0..4).map(|n| member(n, &c[n], &c[0].0)).collect();
    tx.upsert_members(&members).await.unwrap();
    tx.record_decision(NewDecision {
        decision_json: r#"{"split_out":{}}"#,
        actor: "li",
        why: "w",
        decided_at: "2024-05-03T00:00:00.000000Z",
    })
    .await
    .unwrap();
    // Two hours before the latest member: the last three; at most two of them.
    let in_tx = tx.grouping_state(2 * 3_600_000, 2).await.unwrap();
    commit(tx).await;
    let state = store.grouping_state(2 * 3_600_000, 2).await.unwrap();
    assert_eq!(state, in_tx, "the transaction sees what is then committed");
    assert_eq!(state.last_seq, c[3].1);
    assert_eq!(state.decisions.len(), 1);
    let window: Vec<&str> = state
        .window
        .iter()
        .map(|m| m.complaint.id.as_str())
        .collect();
    assert_eq!(window, [c[2].0.as_str(), c[3].0.as_str()], "sequence order");
    assert!(state.window.iter().all(|m| m.case_id == c[0].0));
    let wide = store.grouping_state(2 * 3_600_000, 10).await.unwrap();
    assert_eq!(wide.window.len(), 3, "the window's bound");

    let mut tx = store.begin_derived().await.unwrap();
    let complaint = tx.grouping_complaint(&c[1].0).await.unwrap().unwrap();
    assert_eq!(complaint, wide.window[0].complaint);
    assert_eq!(complaint.effective_at, at(1));
    assert_eq!(complaint.title.as_deref(), Some("b"));
    assert_eq!(complaint.text_norm, "b body 1");
    assert_eq!(complaint.channel, "hotline");
    assert_eq!(complaint.item.external_id, "e1");
    assert_eq!(tx.grouping_complaint("unknown").await.unwrap(), None);
    tx.rollback().await.unwrap();
}

//! Conformance: case deadlines — assignment, extension, answer, audit trail, the scheduler's
//! marks and provisional counts.

use chrono::{DateTime, Utc};

use super::super::Open;
use super::{at, deadline, instant, utc};
use crate::store::conformance::{complaint_from, store_new};
use crate::store::facets::Facet;
use crate::store::outbox::{NewAuditEntry, NewDeadline, NewExtension};
use crate::store::{DerivedTx, Store};

async fn assign(store: &Store, deadlines: &[NewDeadline]) {
    let mut tx = store.begin_derived().await.unwrap();
    tx.assign_deadlines(deadlines).await.unwrap();
    tx.commit().await.unwrap();
}

fn audit(case_id: Option<&str>, time: &str, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        case_id: case_id.map(str::to_string),
        at: utc(time),
        actor: "scheduler".into(),
        action: action.into(),
        detail: serde_json::json!({"action": action}),
    }
}

async fn open_case(tx: &mut dyn DerivedTx, case_id: &str) -> crate::store::outbox::OpenDeadline {
    tx.open_deadlines()
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.case_id == case_id)
        .unwrap_or_else(|| panic!("{case_id} is open"))
}

pub async fn a_deadline_reads_back_and_a_reassignment_resets_it(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut first = deadline(
        "case-1",
        "supervision",
        "2026-03-02T09:00:00+08:00",
        "2026-03-04T17:30:00+08:00",
    );
    first.provisional_year = Some(2027);
    let other = deadline(
        "case-2",
        "press",
        "2026-03-02T10:00:00+08:00",
        "2026-03-05T17:30:00+08:00",
    );
    let mut tx = store.begin_derived().await.unwrap();
    tx.assign_deadlines(&[first.clone(), other]).await.unwrap();
    let seen = tx.case_deadline("case-1").await.unwrap().unwrap();
    assert_eq!(
        seen.queue_key, "supervision",
        "the transaction sees its writes"
    );
    let stored = tx.stored_deadline("case-1").await.unwrap().unwrap();
    assert_eq!(stored.assignment, first.assignment);
    assert_eq!(instant(&stored.due_at), first.due_at.with_timezone(&Utc));
    assert_eq!(stored.state, "open");
    assert_eq!(tx.stored_deadline("case-9").await.unwrap(), None);
    let queues = tx
        .deadline_queues(&["case-1", "case-2", "case-9"])
        .await
        .unwrap();
    assert_eq!(queues.len(), 2);
    assert_eq!(queues["case-1"].queue_key, "supervision");
    assert_eq!(queues["case-2"].queue_key, "press");
    assert_eq!(queues["case-1"].due_at, stored.due_at);
    tx.mark_reminded("case-1", utc("2026-03-04T08:00:00Z"))
        .await
        .unwrap();
    tx.record_overdue_notice("case-1", 2, utc("2026-03-05T08:00:00Z"))
        .await
        .unwrap();
    tx.mark_escalated("case-1", utc("2026-03-05T08:00:00Z"))
        .await
        .unwrap();
    tx.answer_deadline("case-1", utc("2026-03-06T08:00:00Z"), "unit", "done")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let d = store.case_deadline("case-1").await.unwrap().unwrap();
    assert_eq!(d.case_id, "case-1");
    assert_eq!(d.queue_name, "queue supervision");
    assert_eq!(d.priority, "normal");
    assert_eq!(at(&d.assigned_at), first.assigned_at);
    assert_eq!(at(&d.due_at), first.due_at);
    assert_eq!((d.state.as_str(), d.overdue_notices), ("answered", 2));
    assert!(d.reminded_at.is_some() && d.escalated_at.is_some());
    assert_eq!(
        instant(d.answered_at.as_deref().unwrap()),
        utc("2026-03-06T08:00:00Z")
    );
    assert_eq!(d.answered_by.as_deref(), Some("unit"));
    assert_eq!(d.provisional_year, Some(2027));
    assert_eq!(store.case_deadline("case-9").await.unwrap(), None);

    // Assigned again (in one call twice: the later wins): open, every mark reset.
    let mut second = deadline(
        "case-1",
        "press",
        "2026-03-07T09:00:00+08:00",
        "2026-03-10T17:30:00+08:00",
    );
    let mut third = second.clone();
    third.queue_key = "housing".into();
    second.provisional_year = Some(2028);
    assign(store, &[second, third.clone()]).await;
    let d = store.case_deadline("case-1").await.unwrap().unwrap();
    assert_eq!(
        (d.queue_key.as_str(), d.state.as_str()),
        ("housing", "open")
    );
    assert_eq!(at(&d.due_at), third.due_at);
    assert_eq!(d.overdue_notices, 0);
    assert_eq!((d.reminded_at, d.escalated_at), (None, None));
    assert_eq!((d.answered_at, d.answered_by), (None, None));
    assert_eq!(d.provisional_year, None);
    let mut tx = store.begin_derived().await.unwrap();
    assert_eq!(open_case(&mut *tx, "case-1").await.last_overdue_at, None);
}

pub async fn an_extension_and_an_answer_are_recorded_with_their_audit_rows(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let first = deadline(
        "case-1",
        "supervision",
        "2026-03-02T09:00:00+08:00",
        "2026-03-04T17:30:00+08:00",
    );
    assign(store, std::slice::from_ref(&first)).await;
    let mut tx = store.begin_decision().await.unwrap();
    tx.mark_reminded("case-1", utc("2026-03-04T08:00:00Z"))
        .await
        .unwrap();
    tx.record_overdue_notice("case-1", 1, utc("2026-03-04T10:00:00Z"))
        .await
        .unwrap();
    let extension = NewExtension {
        requested_by: "staff".into(),
        reason: "more time".into(),
        old_due_at: first.due_at,
        new_due_at: at("2026-03-09T17:30:00+08:00"),
        created_at: utc("2026-03-04T11:00:00Z"),
        provisional_year: Some(2027),
    };
    tx.extend_deadline("case-1", &extension).await.unwrap();
    let moved = open_case(&mut *tx, "case-1").await;
    assert_eq!(
        moved.reminded_at, None,
        "a new deadline earns a new reminder"
    );
    assert_eq!(moved.last_overdue_at, None, "overdue counting starts again");
    tx.append_deadline_audit(&[
        audit(Some("case-1"), "2026-03-04T11:00:00Z", "extended"),
        audit(None, "2026-03-04T11:00:01Z", "digest"),
        audit(Some("case-2"), "2026-03-04T11:00:02Z", "reminded"),
    ])
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let d = store.case_deadline("case-1").await.unwrap().unwrap();
    assert_eq!(at(&d.due_at), extension.new_due_at);
    assert_eq!(d.provisional_year, Some(2027));

    let later = NewExtension {
        old_due_at: extension.new_due_at,
        new_due_at: at("2026-03-11T17:30:00+08:00"),
        created_at: utc("2026-03-05T11:00:00Z"),
        provisional_year: Some(2028),
        ..extension.clone()
    };
    let mut tx = store.begin_decision().await.unwrap();
    tx.extend_deadline("case-1", &later).await.unwrap();
    tx.answer_deadline("case-1", utc("2026-03-06T02:00:00Z"), "unit", "fixed")
        .await
        .unwrap();
    tx.append_deadline_audit(&[audit(Some("case-1"), "2026-03-06T02:00:00Z", "answered")])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let d = store.case_deadline("case-1").await.unwrap().unwrap();
    assert_eq!(at(&d.due_at), later.new_due_at);
    assert_eq!(
        d.provisional_year,
        Some(2027),
        "an earlier provisional year stays"
    );
    assert_eq!(d.state, "answered");
    assert_eq!(d.answered_by.as_deref(), Some("unit"));

    let extensions = store.deadline_extensions("case-1").await.unwrap();
    assert_eq!(extensions.len(), 2);
    assert_eq!(extensions[0].requested_by, "staff");
    assert_eq!(extensions[0].reason, "more time");
    assert_eq!(at(&extensions[0].old_due_at), first.due_at);
    assert_eq!(at(&extensions[0].new_due_at), extension.new_due_at);
    assert_eq!(instant(&extensions[0].created_at), extension.created_at);
    assert_eq!(
        at(&extensions[1].new_due_at),
        later.new_due_at,
        "oldest first"
    );
    assert!(
        store
            .deadline_extensions("case-2")
            .await
            .unwrap()
            .is_empty()
    );

    let trail = store.deadline_audit("case-1").await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["extended", "answered"],
        "oldest first, this case only"
    );
    assert_eq!(trail[0].actor, "scheduler");
    assert_eq!(instant(&trail[0].at), utc("2026-03-04T11:00:00Z"));
    assert_eq!(trail[0].detail, serde_json::json!({"action": "extended"}));
    let trail = store.deadline_audit("case-2").await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, "reminded");

    let mut tx = store.begin_derived().await.unwrap();
    let open = tx.open_deadlines().await.unwrap();
    assert!(
        open.is_empty(),
        "an answered deadline is not open: {open:?}"
    );
}

pub async fn the_scheduler_sees_open_deadlines_with_its_marks(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    assign(
        store,
        &[
            deadline(
                "case-c",
                "q",
                "2026-03-02T09:00:00+08:00",
                "2026-03-06T17:30:00+08:00",
            ),
            deadline(
                "case-b",
                "q",
                "2026-03-02T09:00:00+08:00",
                "2026-03-04T17:30:00+08:00",
            ),
            deadline(
                "case-a",
                "q",
                "2026-03-02T09:00:00+08:00",
                "2026-03-06T17:30:00+08:00",
            ),
        ],
    )
    .await;
    let mut tx = store.begin_decision().await.unwrap();
    let ids: Vec<String> = tx
        .open_deadlines()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.case_id)
        .collect();
    assert_eq!(
        ids,
        ["case-b", "case-a", "case-c"],
        "earliest due, then case id"
    );
    let b = open_case(&mut *tx, "case-b").await;
    assert_eq!(instant(&b.due_at), utc("2026-03-04T09:30:00Z"));
    assert_eq!((b.reminded_at, b.escalated_at), (None, None));
    assert_eq!((b.overdue_notices, b.last_overdue_at), (0, None));
    assert!(b.assignment.contains("case-b"));

    let reminded = utc("2026-03-04T09:00:00Z");
    let overdue = utc("2026-03-05T09:00:00.123456Z");
    tx.mark_reminded("case-b", reminded).await.unwrap();
    tx.record_overdue_notice("case-b", 3, overdue)
        .await
        .unwrap();
    tx.mark_escalated("case-b", overdue).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin_derived().await.unwrap();
    let b = open_case(&mut *tx, "case-b").await;
    assert_eq!(instant(b.reminded_at.as_deref().unwrap()), reminded);
    assert_eq!(b.overdue_notices, 3);
    let millis = DateTime::from_timestamp_millis(overdue.timestamp_millis()).unwrap();
    assert_eq!(b.last_overdue_at, Some(millis), "kept to the millisecond");
    assert!(b.escalated_at.is_some());
    let a = open_case(&mut *tx, "case-a").await;
    assert_eq!(
        (a.reminded_at, a.overdue_notices),
        (None, 0),
        "other cases untouched"
    );
}

pub async fn provisional_deadlines_are_listed_cleared_and_recounted(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let provisional = |case_id: &str, year: i32| {
        let mut d = deadline(
            case_id,
            "q",
            "2026-12-21T09:00:00+08:00",
            "2027-01-11T17:30:00+08:00",
        );
        d.provisional_year = Some(year);
        d
    };
    assign(
        store,
        &[
            provisional("case-d", 2027),
            provisional("case-a", 2027),
            provisional("case-late", 2028),
            deadline(
                "case-plain",
                "q",
                "2026-12-21T09:00:00+08:00",
                "2026-12-23T17:30:00+08:00",
            ),
            provisional("case-answered", 2027),
            provisional("case-x", 2027),
        ],
    )
    .await;
    let mut tx = store.begin_decision().await.unwrap();
    tx.answer_deadline("case-answered", utc("2026-12-22T01:00:00Z"), "unit", "")
        .await
        .unwrap();
    let extension = NewExtension {
        requested_by: "staff".into(),
        reason: "archive".into(),
        old_due_at: at("2027-01-11T17:30:00+08:00"),
        new_due_at: at("2027-01-13T17:30:00+08:00"),
        created_at: utc("2026-12-22T01:00:00Z"),
        provisional_year: None,
    };
    tx.extend_deadline("case-x", &extension).await.unwrap();
    tx.mark_reminded("case-a", utc("2027-01-10T01:00:00Z"))
        .await
        .unwrap();
    tx.mark_reminded("case-d", utc("2027-01-10T01:00:00Z"))
        .await
        .unwrap();
    let listed = tx.provisional_deadlines(2027).await.unwrap();
    let ids: Vec<(&str, bool)> = listed
        .iter()
        .map(|d| (d.case_id.as_str(), d.extended))
        .collect();
    assert_eq!(
        ids,
        [("case-a", false), ("case-d", false), ("case-x", true)]
    );
    assert_eq!(listed[0].provisional_year, 2027);
    assert_eq!(instant(&listed[0].due_at), utc("2027-01-11T09:30:00Z"));
    assert!(listed[0].assignment.contains("case-a"));
    assert_eq!(tx.provisional_deadlines(2028).await.unwrap().len(), 4);
    assert!(tx.provisional_deadlines(2026).await.unwrap().is_empty());

    tx.clear_provisional("case-x").await.unwrap();
    // Later: the reminder is earned again; earlier: what was sent stays.
    tx.recount_deadline("case-a", at("2027-01-12T17:30:00+08:00"), None)
        .await
        .unwrap();
    tx.recount_deadline("case-d", at("2027-01-08T17:30:00+08:00"), Some(2028))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let x = store.case_deadline("case-x").await.unwrap().unwrap();
    assert_eq!(
        (at(&x.due_at), x.provisional_year),
        (extension.new_due_at, None)
    );
    let a = store.case_deadline("case-a").await.unwrap().unwrap();
    assert_eq!(at(&a.due_at), at("2027-01-12T17:30:00+08:00"));
    assert_eq!((a.provisional_year, a.reminded_at), (None, None));
    let d = store.case_deadline("case-d").await.unwrap().unwrap();
    assert_eq!(at(&d.due_at), at("2027-01-08T17:30:00+08:00"));
    assert_eq!(d.provisional_year, Some(2028));
    assert!(d.reminded_at.is_some());
    let mut tx = store.begin_derived().await.unwrap();
    let ids: Vec<String> = tx
        .provisional_deadlines(2027)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.case_id)
        .collect();
    assert!(ids.is_empty(), "{ids:?}");
    let by_due: Vec<String> = tx
        .open_deadlines()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.case_id)
        .collect();
    assert_eq!(
        by_due[..2],
        ["case-plain", "case-d"],
        "recounted dates order the scheduler"
    );
}

pub async fn case_members_and_existing_complaints(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let ops = (0..3)
        .map(|n| {
            let value = serde_json::json!({"external_id": format!("e-{n}"), "body": format!("路灯不亮 {n}")});
            complaint_from("hotline", value, Utc::now())
        })
        .collect();
    let ids: Vec<String> = store_new(store, ops)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_facet_many(
        Facet::CaseId,
        &[
            (&ids[0], Some("case-a")),
            (&ids[1], Some("case-a")),
            (&ids[2], Some("case-b")),
        ],
    )
    .await
    .unwrap();
    let mut members = tx.case_members(&["case-a", "case-z"]).await.unwrap();
    members.sort_by(|x, y| x.complaint_id.cmp(&y.complaint_id));
    let mut expected = vec![ids[0].clone(), ids[1].clone()];
    expected.sort();
    let found: Vec<&str> = members.iter().map(|m| m.complaint_id.as_str()).collect();
    assert_eq!(found, expected);
    assert!(members.iter().all(|m| m.case_id == "case-a"));
    assert_eq!(tx.case_members(&["case-b"]).await.unwrap().len(), 1);
    assert!(tx.case_members(&[]).await.unwrap().is_empty());
    let existing = tx
        .existing_complaints(&[ids[2].as_str(), "no-such-complaint"])
        .await
        .unwrap();
    assert_eq!(existing, [ids[2].clone()]);
    tx.rollback().await.unwrap();
    let mut tx = store.begin_derived().await.unwrap();
    assert!(
        tx.case_members(&["case-a"]).await.unwrap().is_empty(),
        "rolled back with its transaction"
    );
}

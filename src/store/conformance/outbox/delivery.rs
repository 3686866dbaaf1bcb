//! Conformance: notifications — enqueue, list, count, claim, deliver, retry, dead-letter.

use chrono::Duration;

use super::super::Open;
use super::{deadline, instant, notification, utc};
use crate::store::Store;
use crate::store::outbox::{DeliveryState, NewAuditEntry, OutboxFilter, Settlement};

fn all(limit: u32) -> OutboxFilter {
    OutboxFilter {
        limit,
        ..Default::default()
    }
}

async fn enqueue(store: &Store, notifications: &[crate::store::outbox::NewNotification]) {
    let mut tx = store.begin_derived().await.expect("a transaction");
    tx.enqueue_notifications(notifications)
        .await
        .expect("notifications enqueue");
    tx.commit().await.expect("the transaction commits");
}

async fn states(store: &Store, id: &str) -> Vec<String> {
    let mut states = store.recipient_states(id).await.expect("recipient states");
    states.sort();
    states
}

pub async fn notifications_list_newest_first_with_recipients_filters_and_counts(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    enqueue(
        store,
        &[
            notification(
                "n-1",
                "2026-03-02T09:00:00Z",
                Some("case-1"),
                &["b@test.example", "a@test.example"],
            ),
            notification("n-2", "2026-03-02T10:00:00Z", None, &["c@test.example"]),
        ],
    )
    .await;
    enqueue(
        store,
        &[notification(
            "n-3",
            "2026-03-02T08:00:00Z",
            Some("case-2"),
            &["d@test.example"],
        )],
    )
    .await;

    let listed = store.notifications(&all(10)).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["n-2", "n-1", "n-3"], "newest first");
    let first = &listed[1];
    assert_eq!(first.kind, "assignment");
    assert_eq!(first.case_id.as_deref(), Some("case-1"));
    assert_eq!(first.queue_key.as_deref(), Some("supervision"));
    assert_eq!(first.subject, "subject of n-1");
    assert_eq!((first.state.as_str(), first.attempts), ("pending", 0));
    assert_eq!(first.last_error, None);
    assert_eq!(instant(&first.created_at), utc("2026-03-02T09:00:00Z"));
    let addresses: Vec<&str> = first
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(
        addresses,
        ["a@test.example", "b@test.example"],
        "by address"
    );
    assert_eq!(first.recipients[1].message_id, "<n-1.0@test.example>");
    assert!(
        first
            .recipients
            .iter()
            .all(|r| r.state == "pending" && r.attempts == 0 && r.sent_at.is_none())
    );
    assert_eq!(listed[0].case_id, None);
    assert_eq!(
        store.notification_recipients("n-3").await.unwrap()[0].address,
        "d@test.example"
    );
    assert!(
        store
            .notification_recipients("nothing")
            .await
            .unwrap()
            .is_empty()
    );

    let by_case = OutboxFilter {
        case_id: Some("case-2".into()),
        ..all(10)
    };
    let listed = store.notifications(&by_case).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "n-3");
    let page = store.notifications(&all(2)).await.unwrap();
    assert_eq!(page.len(), 2, "a page holds `limit` notifications");
    let sent = OutboxFilter {
        state: Some("sent".into()),
        ..all(10)
    };
    assert!(store.notifications(&sent).await.unwrap().is_empty());
    // An investigator's reach: notifications of cases routed or informed to their queues
    // (case-1 goes to `finance` and informs `press_office` and `audit`); none of no case.
    let route = super::super::routes::data::route("case-1", "finance", 1, "2026-03-02T09:00:00Z");
    let mut tx = store.begin_derived().await.expect("a transaction");
    tx.upsert_case_routes(&[&route]).await.unwrap();
    tx.commit().await.unwrap();
    for (queues, expected) in [
        (vec!["finance"], vec!["n-1"]),
        (vec!["personnel", "audit"], vec!["n-1"]),
        (vec!["supervision"], vec![]),
        (vec![], vec![]),
    ] {
        let within = OutboxFilter {
            queues: Some(queues.iter().map(|q| q.to_string()).collect()),
            ..all(10)
        };
        let listed = store.notifications(&within).await.unwrap();
        let ids: Vec<&str> = listed.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, expected, "{queues:?}");
    }
    assert_eq!(
        store.notification_counts().await.unwrap(),
        [("pending".to_string(), 3)]
    );
}

pub async fn a_rolled_back_transaction_leaves_no_notification_nor_deadline(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    for rolled_back in [true, false] {
        let mut tx = store.begin_decision().await.unwrap();
        tx.enqueue_notifications(&[notification(
            "n-1",
            "2026-03-02T09:00:00Z",
            Some("case-1"),
            &["a@test.example"],
        )])
        .await
        .unwrap();
        tx.assign_deadlines(&[deadline(
            "case-1",
            "supervision",
            "2026-03-02T09:00:00+08:00",
            "2026-03-04T17:30:00+08:00",
        )])
        .await
        .unwrap();
        tx.append_deadline_audit(&[NewAuditEntry {
            case_id: Some("case-1".into()),
            at: utc("2026-03-02T01:00:00Z"),
            actor: "routing".into(),
            action: "assigned".into(),
            detail: serde_json::json!({}),
        }])
        .await
        .unwrap();
        if rolled_back {
            tx.rollback().await.unwrap();
        } else {
            drop(tx);
        }
        assert!(store.notifications(&all(10)).await.unwrap().is_empty());
        assert!(store.notification_counts().await.unwrap().is_empty());
        assert_eq!(store.case_deadline("case-1").await.unwrap(), None);
        assert!(store.deadline_audit("case-1").await.unwrap().is_empty());
    }
}

pub async fn a_claim_leases_due_notifications_and_a_pass_settles_them(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let t0 = utc("2026-03-02T09:00:00Z");
    enqueue(
        store,
        &[
            notification(
                "n-1",
                "2026-03-02T09:00:00Z",
                Some("case-1"),
                &["a@test.example", "b@test.example"],
            ),
            notification("n-2", "2026-03-02T09:00:05Z", None, &["c@test.example"]),
        ],
    )
    .await;
    let lease = t0 + Duration::seconds(60);
    let early = store
        .claim_notifications("w1", t0 - Duration::seconds(1), lease, 10)
        .await
        .unwrap();
    assert!(early.is_empty(), "not due before its creation");
    let later = t0 + Duration::seconds(10);
    let claimed = store
        .claim_notifications("w1", later, lease, 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "at most `limit`, the longest due first");
    assert_eq!(claimed[0].id, "n-1");
    assert_eq!(claimed[0].subject, "subject of n-1");
    assert_eq!(claimed[0].body, "body of n-1");
    assert_eq!(claimed[0].attempts, 0);
    let other = store.claim_notifications("w2", later, lease, 10).await;
    let ids: Vec<String> = other.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["n-2"], "a leased notification is nobody else's");
    let none = store.claim_notifications("w3", later, lease, 10).await;
    assert!(none.unwrap().is_empty());

    let pending = store.pending_recipients("n-1").await.unwrap();
    let addresses: Vec<&str> = pending.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(addresses, ["a@test.example", "b@test.example"]);
    assert_eq!(pending[0].message_id, "<n-1.0@test.example>");
    assert!(!store.renew_lease("n-1", "w2", lease).await.unwrap());
    assert!(store.renew_lease("n-1", "w1", lease).await.unwrap());
    store
        .record_sent("n-1", "a@test.example", 1, t0 + Duration::seconds(1))
        .await
        .unwrap();
    store
        .record_failure("n-1", "b@test.example", 1, "451 try later", false)
        .await
        .unwrap();
    assert_eq!(states(store, "n-1").await, ["pending", "sent"]);
    let retry_at = t0 + Duration::seconds(30);
    let settlement = Settlement {
        state: DeliveryState::Pending,
        attempts: 1,
        next_attempt_at: retry_at,
        last_error: Some("451 try later".into()),
        now: t0,
    };
    store.settle_notification("n-1", &settlement).await.unwrap();
    assert!(
        !store.renew_lease("n-1", "w1", lease).await.unwrap(),
        "settling releases the lease"
    );
    let before = retry_at - Duration::milliseconds(1);
    assert!(
        store
            .claim_notifications("w2", before, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due again before the retry time"
    );
    let again = store
        .claim_notifications("w2", retry_at, retry_at + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id.as_str(), again[0].attempts), ("n-1", 1));
    let pending = store.pending_recipients("n-1").await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].address.as_str(), pending[0].attempts),
        ("b@test.example", 1)
    );

    let entry = &store.notifications(&all(10)).await.unwrap()[1];
    assert_eq!(entry.id, "n-1");
    assert_eq!((entry.state.as_str(), entry.attempts), ("pending", 1));
    assert_eq!(entry.last_error.as_deref(), Some("451 try later"));
    let a = &entry.recipients[0];
    assert_eq!(
        (a.state.as_str(), a.attempts, a.last_error.as_deref()),
        ("sent", 1, None)
    );
    assert_eq!(
        instant(a.sent_at.as_deref().unwrap()),
        t0 + Duration::seconds(1)
    );
    let b = &entry.recipients[1];
    assert_eq!(b.last_error.as_deref(), Some("451 try later"));
    assert_eq!(b.sent_at, None);

    store
        .record_sent("n-1", "b@test.example", 2, retry_at)
        .await
        .unwrap();
    let settlement = Settlement {
        state: DeliveryState::Sent,
        attempts: 2,
        next_attempt_at: retry_at + Duration::seconds(60),
        last_error: None,
        now: retry_at,
    };
    store.settle_notification("n-1", &settlement).await.unwrap();
    let far = retry_at + Duration::days(1);
    let claimed = store.claim_notifications("w4", far, far, 10).await.unwrap();
    let ids: Vec<String> = claimed.into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["n-2"], "a sent notification is never claimed again");
    let sent = OutboxFilter {
        state: Some("sent".into()),
        ..all(10)
    };
    let sent = store.notifications(&sent).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].last_error.as_deref(),
        Some("451 try later"),
        "a pass without error keeps the last one recorded"
    );
    assert_eq!(
        store.notification_counts().await.unwrap(),
        [("pending".to_string(), 1), ("sent".to_string(), 1)]
    );
}

pub async fn a_lease_that_ran_out_hands_the_notification_over(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let t0 = utc("2026-03-02T09:00:00Z");
    enqueue(
        store,
        &[notification(
            "n-1",
            "2026-03-02T09:00:00Z",
            None,
            &["a@test.example"],
        )],
    )
    .await;
    let lease = t0 + Duration::seconds(60);
    assert_eq!(
        store
            .claim_notifications("w1", t0, lease, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let inside = lease - Duration::milliseconds(1);
    assert!(
        store
            .claim_notifications("w2", inside, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let taken = store
        .claim_notifications("w2", lease, lease + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1, "the lease ran out");
    assert!(
        !store.renew_lease("n-1", "w1", lease).await.unwrap(),
        "w1 lost it"
    );
    assert!(store.renew_lease("n-1", "w2", lease).await.unwrap());
}

pub async fn a_failed_recipient_dead_letters_the_notification(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let t0 = utc("2026-03-02T09:00:00Z");
    enqueue(
        store,
        &[notification(
            "n-1",
            "2026-03-02T09:00:00Z",
            None,
            &["a@test.example"],
        )],
    )
    .await;
    let lease = t0 + Duration::seconds(60);
    store
        .claim_notifications("w1", t0, lease, 10)
        .await
        .unwrap();
    store
        .record_failure("n-1", "a@test.example", 1, "550 no such user", true)
        .await
        .unwrap();
    assert_eq!(states(store, "n-1").await, ["failed"]);
    assert!(store.pending_recipients("n-1").await.unwrap().is_empty());
    let settlement = Settlement {
        state: DeliveryState::Failed,
        attempts: 1,
        next_attempt_at: t0 + Duration::seconds(30),
        last_error: Some("550 no such user".into()),
        now: t0,
    };
    store.settle_notification("n-1", &settlement).await.unwrap();
    let far = t0 + Duration::days(1);
    assert!(
        store
            .claim_notifications("w2", far, far, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let failed = OutboxFilter {
        state: Some("failed".into()),
        ..all(10)
    };
    let failed = store.notifications(&failed).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].recipients[0].state, "failed");
    assert_eq!(
        failed[0].recipients[0].last_error.as_deref(),
        Some("550 no such user")
    );
    assert_eq!(
        store.notification_counts().await.unwrap(),
        [("failed".to_string(), 1)]
    );
}

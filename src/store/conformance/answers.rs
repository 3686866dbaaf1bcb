//! Conformance: answer outcomes — one per member complaint with each answer (never twice),
//! listed with filters newest first, callbacks due by time and source, attempts recorded until
//! delivered or failed, a failed one retried, a reply marked sent once, and a rolled-back answer
//! leaving nothing.

use chrono::Duration;

use super::Open;
use super::cases::fixtures::{at, commit, complaints, member};
use crate::store::answers::{Attempt, OutcomeFilter};

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    outcomes_follow_the_members_and_their_states(open).await;
    a_rolled_back_answer_leaves_nothing(open).await;
}

fn all(limit: i64) -> OutcomeFilter<'static> {
    OutcomeFilter {
        limit,
        ..OutcomeFilter::default()
    }
}

async fn outcomes_follow_the_members_and_their_states(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let c = complaints(store, &[Some("a"), Some("b")]).await;
    let case = c[0].0.clone();
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_members(&[member(0, &c[0], &case), member(1, &c[1], &case)])
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = store.begin_decision().await.unwrap();
    let made = tx
        .queue_answer_outcomes(&case, 7, Some("finance"), at(3))
        .await
        .unwrap();
    assert_eq!(made, 2, "one per member complaint");
    let again = tx
        .queue_answer_outcomes(&case, 7, Some("finance"), at(3))
        .await
        .unwrap();
    assert_eq!(again, 0, "never twice for one answer");
    commit(tx).await;

    let listed = store.answer_outcomes(&all(10)).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[0].id > listed[1].id, "newest first");
    assert!(
        listed
            .iter()
            .all(|o| o.state == "pending" && o.answer_id == 7)
    );
    assert_eq!(listed[1].complaint_id, c[0].0);
    assert_eq!(listed[1].source, "s");
    assert_eq!(listed[1].external_id, "e0");
    assert_eq!(listed[1].queue_key.as_deref(), Some("finance"));
    let (first, second) = (listed[1].id, listed[0].id);
    let page = store
        .answer_outcomes(&OutcomeFilter {
            before_id: Some(second),
            ..all(10)
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, first);
    let others = vec!["other".to_string()];
    let excluded = vec!["s".to_string()];
    let none = store
        .answer_outcomes(&OutcomeFilter {
            sources: Some(&others),
            ..all(10)
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let none = store
        .answer_outcomes(&OutcomeFilter {
            exclude_sources: &excluded,
            ..all(10)
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    for (prefix, expected) in [("s", 0), ("t", 2)] {
        let listed = store
            .answer_outcomes(&OutcomeFilter {
                exclude_source_prefix: Some(prefix),
                ..all(10)
            })
            .await
            .unwrap();
        assert_eq!(
            listed.len(),
            expected,
            "excluding sources starting with {prefix}"
        );
    }

    // Callbacks: due by time; a failure waits for its retry time; delivered once.
    let sources = vec!["s".to_string()];
    let due = store.due_callbacks(&sources, at(3), 10).await.unwrap();
    assert_eq!(due.len(), 2);
    let retry_at = at(3) + Duration::minutes(5);
    let failed = Attempt::Failed {
        error: "HTTP 500",
        retry_at: Some(retry_at),
    };
    assert!(
        store
            .record_callback_attempt(first, failed, at(3))
            .await
            .unwrap()
    );
    let due = store.due_callbacks(&sources, at(3), 10).await.unwrap();
    assert_eq!(due.iter().map(|o| o.id).collect::<Vec<_>>(), [second]);
    let due = store.due_callbacks(&sources, retry_at, 10).await.unwrap();
    assert_eq!(due.len(), 2, "due again at its retry time");
    assert!(
        store
            .record_callback_attempt(first, Attempt::Delivered, retry_at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_callback_attempt(first, Attempt::Delivered, retry_at)
            .await
            .unwrap(),
        "a delivered outcome is not pending"
    );
    let delivered = store.answer_outcome(first).await.unwrap().unwrap();
    assert_eq!(
        (delivered.state.as_str(), delivered.attempts),
        ("delivered", 2)
    );
    assert_eq!(delivered.last_error, None);

    // Out of attempts: failed, then retried by hand.
    let give_up = Attempt::Failed {
        error: "HTTP 503",
        retry_at: None,
    };
    assert!(
        store
            .record_callback_attempt(second, give_up, at(4))
            .await
            .unwrap()
    );
    let failed = store.answer_outcome(second).await.unwrap().unwrap();
    assert_eq!(failed.state, "failed");
    assert_eq!(failed.last_error.as_deref(), Some("HTTP 503"));
    assert!(
        store
            .due_callbacks(&sources, at(9), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.retry_callback(second).await.unwrap());
    assert!(
        !store.retry_callback(second).await.unwrap(),
        "only a failed one"
    );
    let retried = store.answer_outcome(second).await.unwrap().unwrap();
    assert_eq!((retried.state.as_str(), retried.attempts), ("pending", 0));

    // A reply is marked sent once.
    let mut tx = store.begin_decision().await.unwrap();
    assert!(
        tx.mark_reply_sent(second, "wang", "phone", Some("已电话告知"), at(5))
            .await
            .unwrap()
    );
    assert!(
        !tx.mark_reply_sent(second, "li", "letter", None, at(6))
            .await
            .unwrap()
    );
    commit(tx).await;
    let sent = store.answer_outcome(second).await.unwrap().unwrap();
    assert_eq!(
        (
            sent.state.as_str(),
            sent.done_by.as_deref(),
            sent.method.as_deref()
        ),
        ("sent", Some("wang"), Some("phone"))
    );
    let listed = store
        .answer_outcomes(&OutcomeFilter {
            state: Some("sent"),
            case_id: Some(&case),
            ..all(10)
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

async fn a_rolled_back_answer_leaves_nothing(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let c = complaints(store, &[Some("a")]).await;
    let mut tx = store.begin_derived().await.unwrap();
    tx.upsert_members(&[member(0, &c[0], &c[0].0)])
        .await
        .unwrap();
    commit(tx).await;
    let mut tx = store.begin_decision().await.unwrap();
    tx.queue_answer_outcomes(&c[0].0, 1, None, at(1))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(store.answer_outcomes(&all(10)).await.unwrap().is_empty());
}

//! Conformance: 回访 follow-ups — recorded in a decision transaction and read back oldest first
//! with every field (an unreached attempt without a verdict, a reached one with it), per case;
//! a rolled-back follow-up leaves nothing.

use super::Open;
use super::cases::fixtures::{at, commit};
use crate::store::follow_ups::NewFollowUp;
use crate::store::format_utc;

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    follow_ups_are_kept_per_case_in_order(open).await;
    a_rolled_back_follow_up_leaves_nothing(open).await;
}

fn attempt(case_id: &str, reached: bool, n: usize) -> NewFollowUp {
    NewFollowUp {
        case_id: case_id.to_string(),
        answer_id: Some(3),
        queue_key: Some("finance".into()),
        reached,
        contact: "phone".into(),
        note: (!reached).then(|| "无人接听".to_string()),
        solved: reached.then_some(false),
        verdict: reached.then(|| "dissatisfied".to_string()),
        recorded_by: "triage1".into(),
        recorded_at: format_utc(at(n)),
        reopened: reached,
    }
}

async fn follow_ups_are_kept_per_case_in_order(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_decision().await.unwrap();
    let first = tx.record_follow_up(&attempt("c1", false, 1)).await.unwrap();
    let second = tx.record_follow_up(&attempt("c1", true, 2)).await.unwrap();
    tx.record_follow_up(&attempt("c2", true, 3)).await.unwrap();
    commit(tx).await;
    assert!(second > first);
    let listed = store.case_follow_ups("c1").await.unwrap();
    assert_eq!(
        listed.iter().map(|f| f.id).collect::<Vec<_>>(),
        [first, second]
    );
    assert_eq!(listed[0].follow_up, attempt("c1", false, 1));
    assert_eq!(listed[1].follow_up, attempt("c1", true, 2));
    assert_eq!(store.case_follow_ups("c2").await.unwrap().len(), 1);
    assert!(store.case_follow_ups("c3").await.unwrap().is_empty());
}

async fn a_rolled_back_follow_up_leaves_nothing(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_decision().await.unwrap();
    tx.record_follow_up(&attempt("c1", true, 1)).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(store.case_follow_ups("c1").await.unwrap().is_empty());
}

//! Conformance: what the scheduler reads on a tick — only the deadlines that may need a
//! reminder or an overdue notice at that instant.

use super::super::Open;
use super::{deadline, utc};
use crate::store::DerivedTx;
use crate::store::outbox::DueQuery;

/// The ids `deadlines_due` answers for `now`, a reminder horizon and a repeat bound.
async fn due_ids(tx: &mut dyn DerivedTx, now: &str, horizon: &str, repeat: &str) -> Vec<String> {
    let query = DueQuery {
        now: utc(now),
        remind_horizon: utc(horizon),
        repeat_before: utc(repeat),
    };
    tx.deadlines_due(query)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.case_id)
        .collect()
}

pub async fn a_tick_reads_only_the_deadlines_it_may_act_on(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let assigned = "2026-03-01T09:00:00+08:00";
    // The tick is at 2026-03-04T10:00Z, reminders reach 2h ahead, notices repeat after 24h.
    let cases = [
        ("soon", "2026-03-04T11:30:00Z"),
        ("soon-reminded", "2026-03-04T11:00:00Z"),
        ("later", "2026-03-04T12:30:00Z"),
        ("overdue-new", "2026-03-04T09:00:00Z"),
        ("overdue-recent", "2026-03-03T09:00:00Z"),
        ("overdue-stale", "2026-03-02T09:00:00Z"),
        ("answered", "2026-03-03T08:00:00Z"),
    ];
    let mut tx = store.begin_derived().await.unwrap();
    let new: Vec<_> = cases
        .iter()
        .map(|(id, due)| deadline(id, "q", assigned, due))
        .collect();
    tx.assign_deadlines(&new).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin_decision().await.unwrap();
    tx.mark_reminded("soon-reminded", utc("2026-03-04T09:00:00Z"))
        .await
        .unwrap();
    tx.record_overdue_notice("overdue-recent", 1, utc("2026-03-03T12:00:00Z"))
        .await
        .unwrap();
    tx.record_overdue_notice("overdue-stale", 2, utc("2026-03-03T09:00:00Z"))
        .await
        .unwrap();
    tx.answer_deadline("answered", utc("2026-03-03T07:00:00Z"), "unit", "done")
        .await
        .unwrap();
    let (now, horizon, repeat) = (
        "2026-03-04T10:00:00Z",
        "2026-03-04T12:00:00Z",
        "2026-03-03T10:00:00Z",
    );
    assert_eq!(
        due_ids(&mut *tx, now, horizon, repeat).await,
        ["overdue-stale", "overdue-new", "soon"],
        "earliest due first; not the reminded, the later, the recently noticed nor the answered"
    );
    assert_eq!(
        due_ids(&mut *tx, now, now, repeat).await,
        ["overdue-stale", "overdue-new"],
        "without a reminder lead only overdue deadlines"
    );
    assert_eq!(
        due_ids(&mut *tx, now, horizon, "2026-03-03T12:00:00Z").await,
        ["overdue-stale", "overdue-recent", "overdue-new", "soon"],
        "a notice exactly at the repeat bound is due again"
    );
    // A stopped clock (returned, merged) is read no more; stopping it again changes nothing.
    tx.close_deadline(
        "overdue-new",
        utc("2026-03-04T10:00:00Z"),
        "li",
        "returned: wrong_unit",
    )
    .await
    .unwrap();
    tx.close_deadline("answered", utc("2026-03-04T10:00:00Z"), "li", "again")
        .await
        .unwrap();
    assert_eq!(
        due_ids(&mut *tx, now, horizon, repeat).await,
        ["overdue-stale", "soon"]
    );
    tx.commit().await.unwrap();
    let closed = store.case_deadline("overdue-new").await.unwrap().unwrap();
    assert_eq!(closed.state, "closed");
    assert_eq!(closed.answered_by.as_deref(), Some("li"));
    let answered = store.case_deadline("answered").await.unwrap().unwrap();
    assert_eq!(answered.state, "answered", "only an open clock is stopped");
    assert_eq!(answered.answered_by.as_deref(), Some("unit"));
}

//! The store's conformance suite: written once against [`Backend`](super::Backend) and
//! [`DerivedTx`](super::DerivedTx), run on every backend. A backend runs it with
//! [`conformance_suite!`](crate::conformance_suite) and a function that opens a fresh, empty
//! store of its kind; each area's `run` opens as many stores as its checks need.

pub mod accountability;
pub mod answers;
pub mod calendar;
pub mod cases;
pub mod derived;
pub mod follow_ups;
pub mod intake;
pub mod open311;
pub mod outbox;
pub mod people;
pub mod routes;
pub mod stats;
pub mod workflow;

use std::any::Any;

use chrono::Utc;
use connectors::item::ParseOptions;
use connectors::{Channel, Item};
use futures::future::BoxFuture;
use serde_json::json;

use super::{NewComplaint, NewDeadLetter, Store, WriteBatch, WriteOp};

/// A fresh, empty store of the backend under test, and whatever keeps it alive (a temporary
/// directory, a database schema).
pub struct Fixture {
    pub store: Store,
    pub _keep: Box<dyn Any + Send>,
}

/// Opens a fresh, empty store of the backend under test.
pub type Open = fn() -> BoxFuture<'static, Fixture>;

/// One `#[tokio::test]` per area of the suite, run on the backend `$open` opens.
#[macro_export]
macro_rules! conformance_suite {
    ($open:path) => {
        #[tokio::test]
        async fn conformance_intake() {
            $crate::store::conformance::intake::run($open).await
        }
        #[tokio::test]
        async fn conformance_derived() {
            $crate::store::conformance::derived::run($open).await
        }
        #[tokio::test]
        async fn conformance_cases() {
            $crate::store::conformance::cases::run($open).await
        }
        #[tokio::test]
        async fn conformance_routes() {
            $crate::store::conformance::routes::run($open).await
        }
        #[tokio::test]
        async fn conformance_outbox() {
            $crate::store::conformance::outbox::run($open).await
        }
        #[tokio::test]
        async fn conformance_people() {
            $crate::store::conformance::people::run($open).await
        }
        #[tokio::test]
        async fn conformance_workflow() {
            $crate::store::conformance::workflow::run($open).await
        }
        #[tokio::test]
        async fn conformance_calendar() {
            $crate::store::conformance::calendar::run($open).await
        }
        #[tokio::test]
        async fn conformance_answers() {
            $crate::store::conformance::answers::run($open).await
        }
        #[tokio::test]
        async fn conformance_open311() {
            $crate::store::conformance::open311::run($open).await
        }
        #[tokio::test]
        async fn conformance_follow_ups() {
            $crate::store::conformance::follow_ups::run($open).await
        }
        #[tokio::test]
        async fn conformance_accountability() {
            $crate::store::conformance::accountability::run($open).await
        }
        #[tokio::test]
        async fn conformance_stats() {
            $crate::store::conformance::stats::run($open).await
        }
    };
}

/// An item with only an id and a body.
pub fn item(external_id: &str, body: &str) -> Item {
    Item::from_value(
        json!({"external_id": external_id, "body": body}),
        &ParseOptions::default(),
    )
    .unwrap()
}

/// A hotline complaint of `source`, received now.
pub fn complaint(source: &str, item: Item) -> WriteOp {
    complaint_received(source, item, Utc::now())
}

/// A hotline complaint of `source` built from an item's JSON, received at `received_at`.
pub fn complaint_from(
    source: &str,
    value: serde_json::Value,
    received_at: chrono::DateTime<Utc>,
) -> WriteOp {
    let item = Item::from_value(value, &ParseOptions::default()).expect("a valid item");
    complaint_received(source, item, received_at)
}

/// A hotline complaint of `source`, received at `received_at`.
pub fn complaint_received(source: &str, item: Item, received_at: chrono::DateTime<Utc>) -> WriteOp {
    let raw = serde_json::to_vec(&item).unwrap();
    let complaint = NewComplaint::new(
        source,
        Channel::Hotline,
        item,
        raw,
        "application/json".into(),
        received_at,
        chrono::Duration::days(1),
    );
    assert_eq!(
        complaint.content_hash,
        complaint.item.content_hash(),
        "one definition of the hash"
    );
    WriteOp::Complaint(complaint)
}

/// A dead letter of `source` holding `raw`.
pub fn dead(source: &str, raw: &[u8]) -> WriteOp {
    WriteOp::DeadLetter(NewDeadLetter {
        source: source.into(),
        channel: None,
        external_id: None,
        reason: "malformed JSON at line 1, column 2: oops".into(),
        code: "malformed_json",
        raw: raw.to_vec(),
        raw_content_type: "application/json".into(),
        received_at: Utc::now(),
    })
}

/// A batch of `ops` without a cursor.
pub fn batch(ops: Vec<WriteOp>) -> WriteBatch {
    WriteBatch {
        ops,
        ..WriteBatch::default()
    }
}

/// Submits `ops` in one batch, each a new complaint; their `(id, seq)`, in order.
pub async fn store_new(store: &Store, ops: Vec<WriteOp>) -> Vec<(String, i64)> {
    let outcomes = store.submit(batch(ops)).await.expect("complaints stored");
    outcomes
        .into_iter()
        .map(|outcome| match outcome {
            super::WriteOutcome::Created { id, seq } => (id, seq),
            other => panic!("expected a new complaint: {other:?}"),
        })
        .collect()
}

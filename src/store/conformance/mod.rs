//! The store's conformance suite: written once against [`Backend`](super::Backend) and
//! [`DerivedTx`](super::DerivedTx), run on every backend. A backend runs it with
//! [`conformance_suite!`](crate::conformance_suite) and a function that opens a fresh, empty
//! store of its kind; each area's `run` opens as many stores as its checks need.

pub mod cases;
pub mod derived;
pub mod intake;
pub mod outbox;
pub mod routes;

use std::any::Any;

use futures::future::BoxFuture;

use super::Store;

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
    };
}

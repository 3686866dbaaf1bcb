//! The store's operations on cases: grouping's members, staff decisions (merge, split, status), case reads.

use async_trait::async_trait;

/// Reads (on the store).
#[async_trait]
pub trait CaseReads: Send + Sync {}

/// Writes (inside a [`super::DerivedTx`]).
#[async_trait]
pub trait CaseWrites: Send {}

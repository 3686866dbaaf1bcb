//! The store's operations on routes: classification results, routing events, corrections, queue counts.

use async_trait::async_trait;

/// Reads (on the store).
#[async_trait]
pub trait RouteReads: Send + Sync {}

/// Writes (inside a [`super::DerivedTx`]).
#[async_trait]
pub trait RouteWrites: Send {}

//! The store's operations on the outbox and deadlines: notifications to send, their attempts, case deadlines and reminders.

use async_trait::async_trait;

/// Reads (on the store).
#[async_trait]
pub trait OutboxReads: Send + Sync {}

/// Writes (inside a [`super::DerivedTx`]).
#[async_trait]
pub trait OutboxWrites: Send {}

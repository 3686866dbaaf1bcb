//! SQLite: the operations of [`crate::store::outbox`].

use async_trait::async_trait;

use super::{SqliteStore, SqliteTx};
use crate::store::outbox::{OutboxReads, OutboxWrites};

#[async_trait]
impl OutboxReads for SqliteStore {}

#[async_trait]
impl OutboxWrites for SqliteTx {}

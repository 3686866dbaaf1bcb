//! SQLite: the operations of [`crate::store::cases`].

use async_trait::async_trait;

use super::{SqliteStore, SqliteTx};
use crate::store::cases::{CaseReads, CaseWrites};

#[async_trait]
impl CaseReads for SqliteStore {}

#[async_trait]
impl CaseWrites for SqliteTx {}

//! SQLite: the operations of [`crate::store::routes`].

use async_trait::async_trait;

use super::{SqliteStore, SqliteTx};
use crate::store::routes::{RouteReads, RouteWrites};

#[async_trait]
impl RouteReads for SqliteStore {}

#[async_trait]
impl RouteWrites for SqliteTx {}

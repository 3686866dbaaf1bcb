//! SQLite: a derived-data transaction.

use async_trait::async_trait;
use sqlx::Sqlite;
use sqlx::sqlite::SqliteConnection;

use super::facets;
use crate::store::facets::Facet;
use crate::store::{DerivedTx, StoreError};

/// A `BEGIN IMMEDIATE` transaction: SQLite's write lock is taken at the start, so a
/// transaction that reads, then writes, cannot fail to upgrade its lock halfway (a deferred
/// one does, with `SQLITE_BUSY`, when another connection wrote in between).
pub struct SqliteTx {
    pub(super) tx: sqlx::Transaction<'static, Sqlite>,
}

impl SqliteTx {
    pub(super) async fn begin(pool: &sqlx::SqlitePool) -> Result<SqliteTx, StoreError> {
        Ok(SqliteTx {
            tx: pool.begin_with("BEGIN IMMEDIATE").await?,
        })
    }

    /// The connection, for the area modules' statements.
    pub(super) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

#[async_trait]
impl DerivedTx for SqliteTx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }

    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.tx.rollback().await?)
    }

    async fn state(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM gateway_state WHERE key = ?")
                .bind(key)
                .fetch_optional(self.conn())
                .await?,
        )
    }

    async fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO gateway_state (key, value) VALUES (?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn delete_state(&mut self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM gateway_state WHERE key = ?")
            .bind(key)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn set_facets(
        &mut self,
        complaint_id: &str,
        values: &[(Facet, Option<&str>)],
    ) -> Result<bool, StoreError> {
        Ok(facets::set_facets(self.conn(), complaint_id, values).await?)
    }

    async fn set_facet_many(
        &mut self,
        facet: Facet,
        values: &[(&str, Option<&str>)],
    ) -> Result<usize, StoreError> {
        Ok(facets::set_facet_many(self.conn(), facet, values).await?)
    }

    async fn set_text_norm(
        &mut self,
        complaint_id: &str,
        text_norm: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE complaints SET text_norm = ? WHERE id = ?")
            .bind(text_norm)
            .bind(complaint_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn queue_for_index(&mut self, complaint_id: &str) -> Result<(), StoreError> {
        Ok(facets::queue_for_index(self.conn(), complaint_id).await?)
    }

    async fn clear_facets(&mut self) -> Result<(), StoreError> {
        Ok(facets::clear_all(self.conn()).await?)
    }
}

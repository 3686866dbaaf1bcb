//! SQLite: the Open311 server's clients and filings ([`crate::store::open311`]).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, SqliteTx};
use crate::store::StoreError;
use crate::store::open311::{
    FilingFilter, Open311Client, Open311Filing, Open311Reads, Open311Writes,
};

fn client_from_row(row: &SqliteRow) -> Open311Client {
    Open311Client {
        name: row.get("name"),
        key_id: row.get("key_id"),
        key_hash: row.get("key_hash"),
        created_at: row.get("created_at"),
        created_by: row.get("created_by"),
        disabled_at: row.get("disabled_at"),
    }
}

fn filing_from_row(row: &SqliteRow) -> Open311Filing {
    Open311Filing {
        complaint_id: row.get("complaint_id"),
        client: row.get("client"),
        token: row.get("token"),
        service_code: row.get("service_code"),
        filed_ms: row.get("filed_ms"),
    }
}

#[async_trait]
impl Open311Reads for SqliteStore {
    async fn open311_clients(&self) -> Result<Vec<Open311Client>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, key_id, key_hash, created_at, created_by, disabled_at
             FROM open311_clients ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(client_from_row).collect())
    }

    async fn open311_client_by_key(
        &self,
        key_id: &str,
    ) -> Result<Option<Open311Client>, StoreError> {
        let row = sqlx::query(
            "SELECT name, key_id, key_hash, created_at, created_by, disabled_at
             FROM open311_clients WHERE key_id = ?",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(client_from_row))
    }

    async fn open311_filings(
        &self,
        filter: &FilingFilter<'_>,
    ) -> Result<Vec<Open311Filing>, StoreError> {
        let rows = sqlx::query(
            "SELECT complaint_id, client, token, service_code, filed_ms FROM open311_filings
             WHERE client = ? AND filed_ms >= ? AND filed_ms <= ?
               AND (? IS NULL OR service_code = ?)
             ORDER BY filed_ms DESC, complaint_id DESC LIMIT ?",
        )
        .bind(filter.client)
        .bind(filter.from_ms)
        .bind(filter.to_ms)
        .bind(filter.service_code)
        .bind(filter.service_code)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(filing_from_row).collect())
    }

    async fn open311_filing(
        &self,
        client: &str,
        complaint_id: &str,
    ) -> Result<Option<Open311Filing>, StoreError> {
        let row = sqlx::query(
            "SELECT complaint_id, client, token, service_code, filed_ms FROM open311_filings
             WHERE client = ? AND complaint_id = ?",
        )
        .bind(client)
        .bind(complaint_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(filing_from_row))
    }

    async fn open311_filing_by_token(
        &self,
        client: &str,
        token: &str,
    ) -> Result<Option<Open311Filing>, StoreError> {
        let row = sqlx::query(
            "SELECT complaint_id, client, token, service_code, filed_ms FROM open311_filings
             WHERE client = ? AND token = ?",
        )
        .bind(client)
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(filing_from_row))
    }
}

#[async_trait]
impl Open311Writes for SqliteTx {
    async fn add_open311_client(&mut self, client: &Open311Client) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO open311_clients
                 (name, key_id, key_hash, created_at, created_by, disabled_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&client.name)
        .bind(&client.key_id)
        .bind(&client.key_hash)
        .bind(&client.created_at)
        .bind(&client.created_by)
        .bind(&client.disabled_at)
        .execute(self.conn())
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("open311 client {}", client.name))
            }
            _ => StoreError::Database(error),
        })?;
        Ok(())
    }

    async fn disable_open311_client(&mut self, name: &str, at: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE open311_clients SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL",
        )
        .bind(at)
        .bind(name)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_open311_filing(&mut self, filing: &Open311Filing) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO open311_filings (complaint_id, client, token, service_code, filed_ms)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (complaint_id) DO NOTHING",
        )
        .bind(&filing.complaint_id)
        .bind(&filing.client)
        .bind(&filing.token)
        .bind(&filing.service_code)
        .bind(filing.filed_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

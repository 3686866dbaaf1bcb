//! SQLite: the calendar years stored at runtime ([`crate::store::calendar`]).

use async_trait::async_trait;
use sqlx::Row;

use super::{SqliteStore, SqliteTx};
use crate::store::StoreError;
use crate::store::calendar::{CalendarReads, CalendarWrites, CalendarYear};

#[async_trait]
impl CalendarReads for SqliteStore {
    async fn calendar_years(&self) -> Result<Vec<CalendarYear>, StoreError> {
        let rows = sqlx::query(
            "SELECT year, text, updated_by, updated_at FROM calendar_years ORDER BY year",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| CalendarYear {
                year: row.get::<i64, _>("year") as i32,
                text: row.get("text"),
                updated_by: row.get("updated_by"),
                updated_at: row.get("updated_at"),
            })
            .collect())
    }

    async fn calendar_version(&self) -> Result<i64, StoreError> {
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM calendar_years")
            .fetch_one(&self.pool)
            .await?;
        Ok(version.unwrap_or(0))
    }
}

#[async_trait]
impl CalendarWrites for SqliteTx {
    async fn put_calendar_year(&mut self, year: &CalendarYear) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calendar_years (year, text, updated_by, updated_at, version)
             VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM calendar_years))
             ON CONFLICT (year) DO UPDATE SET text = excluded.text,
                 updated_by = excluded.updated_by, updated_at = excluded.updated_at,
                 version = excluded.version",
        )
        .bind(i64::from(year.year))
        .bind(&year.text)
        .bind(&year.updated_by)
        .bind(&year.updated_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

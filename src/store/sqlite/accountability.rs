//! SQLite: 责任追究 accountability records ([`crate::store::accountability`]).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, SqliteTx};
use crate::store::StoreError;
use crate::store::accountability::{
    AccountabilityCount, AccountabilityFields, AccountabilityFilter, AccountabilityReads,
    AccountabilityRecord, AccountabilityWrites, NewAccountability,
};

fn record(row: &SqliteRow) -> AccountabilityRecord {
    AccountabilityRecord {
        id: row.get("id"),
        record: NewAccountability {
            case_id: row.get("case_id"),
            fields: AccountabilityFields {
                unit: row.get("unit"),
                role: row.get("role"),
                measure: row.get("measure"),
                decided_on: row.get("decided_on"),
                deciding_body: row.get("deciding_body"),
                note: row.get("note"),
            },
            recorded_by: row.get("recorded_by"),
            recorded_at: row.get("recorded_at"),
        },
        updated_by: row.get("updated_by"),
        updated_at: row.get("updated_at"),
        withdrawn_by: row.get("withdrawn_by"),
        withdrawn_at: row.get("withdrawn_at"),
    }
}

#[async_trait]
impl AccountabilityReads for SqliteStore {
    async fn case_accountability(
        &self,
        case_id: &str,
    ) -> Result<Vec<AccountabilityRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM accountability_records
             WHERE case_id = ? AND withdrawn_at IS NULL ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(record).collect())
    }

    async fn accountability_records(
        &self,
        filter: &AccountabilityFilter<'_>,
    ) -> Result<Vec<AccountabilityRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM accountability_records
             WHERE withdrawn_at IS NULL
               AND (?1 IS NULL OR decided_on >= ?1)
               AND (?2 IS NULL OR decided_on < ?2)
               AND (?3 IS NULL OR unit = ?3)
             ORDER BY decided_on, id LIMIT ?4",
        )
        .bind(filter.from)
        .bind(filter.to)
        .bind(filter.unit)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(record).collect())
    }

    async fn accountability_counts(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<AccountabilityCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT unit, measure, COUNT(*) AS records
             FROM accountability_records
             WHERE withdrawn_at IS NULL AND decided_on >= ? AND decided_on < ?
             GROUP BY unit, measure ORDER BY unit, measure",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| AccountabilityCount {
                unit: row.get("unit"),
                measure: row.get("measure"),
                records: row.get("records"),
            })
            .collect())
    }
}

#[async_trait]
impl AccountabilityWrites for SqliteTx {
    async fn add_accountability(&mut self, r: &NewAccountability) -> Result<i64, StoreError> {
        let f = &r.fields;
        let done = sqlx::query(
            "INSERT INTO accountability_records (case_id, unit, role, measure, decided_on,
                 deciding_body, note, recorded_by, recorded_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&r.case_id)
        .bind(&f.unit)
        .bind(&f.role)
        .bind(&f.measure)
        .bind(&f.decided_on)
        .bind(&f.deciding_body)
        .bind(&f.note)
        .bind(&r.recorded_by)
        .bind(&r.recorded_at)
        .execute(self.conn())
        .await?;
        Ok(done.last_insert_rowid())
    }

    async fn accountability_record(
        &mut self,
        id: i64,
    ) -> Result<Option<AccountabilityRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM accountability_records WHERE id = ?")
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        Ok(row.as_ref().map(record))
    }

    async fn update_accountability(
        &mut self,
        id: i64,
        f: &AccountabilityFields,
        by: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE accountability_records
             SET unit = ?, role = ?, measure = ?, decided_on = ?, deciding_body = ?, note = ?,
                 updated_by = ?, updated_at = ?
             WHERE id = ? AND withdrawn_at IS NULL",
        )
        .bind(&f.unit)
        .bind(&f.role)
        .bind(&f.measure)
        .bind(&f.decided_on)
        .bind(&f.deciding_body)
        .bind(&f.note)
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn withdraw_accountability(
        &mut self,
        id: i64,
        by: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE accountability_records SET withdrawn_by = ?, withdrawn_at = ?
             WHERE id = ? AND withdrawn_at IS NULL",
        )
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

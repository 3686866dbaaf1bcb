//! 责任追究: the accountability records of substantiated cases — who (the unit, the role of the
//! person held responsible; no names), which measure, when and by which body it was decided.
//! Human data: a `reprocess` never clears it. A record is edited in place and withdrawn by
//! marking it (the row stays); withdrawn records are listed and counted nowhere. The rules
//! (which case may carry one, which measures, who records) are [`crate::accountability`]'s.

use async_trait::async_trait;

use super::StoreError;

/// What a record says (what a request sets and an edit replaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountabilityFields {
    /// The unit held accountable: a queue key.
    pub unit: String,
    /// The role of the person held responsible (free text, no name needed).
    pub role: String,
    /// One of the configured measures (`accountability.measures`).
    pub measure: String,
    /// The decision's date, `YYYY-MM-DD` (local).
    pub decided_on: String,
    /// The body that decided.
    pub deciding_body: String,
    pub note: Option<String>,
}

/// A record to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccountability {
    pub case_id: String,
    pub fields: AccountabilityFields,
    pub recorded_by: String,
    /// RFC 3339, UTC.
    pub recorded_at: String,
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountabilityRecord {
    pub id: i64,
    pub record: NewAccountability,
    /// The last edit, if any.
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
    /// Set once withdrawn.
    pub withdrawn_by: Option<String>,
    pub withdrawn_at: Option<String>,
}

/// Which records in force to list: decided in `[from, to)` (dates `YYYY-MM-DD`, each bound
/// optional), of one unit.
#[derive(Debug, Clone, Default)]
pub struct AccountabilityFilter<'a> {
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub limit: i64,
}

/// How many records in force a unit has with one measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountabilityCount {
    pub unit: String,
    pub measure: String,
    pub records: i64,
}

/// On the store: reads of the records in force.
#[async_trait]
pub trait AccountabilityReads: Send + Sync {
    /// The records in force of `case_id`, oldest first.
    async fn case_accountability(
        &self,
        case_id: &str,
    ) -> Result<Vec<AccountabilityRecord>, StoreError>;

    /// The records in force matching `filter`, by decision date then id.
    async fn accountability_records(
        &self,
        filter: &AccountabilityFilter<'_>,
    ) -> Result<Vec<AccountabilityRecord>, StoreError>;

    /// The records in force decided in `[from, to)` (dates `YYYY-MM-DD`), counted per unit and
    /// measure, by unit then measure.
    async fn accountability_counts(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<AccountabilityCount>, StoreError>;
}

/// In a decision transaction: recording, editing and withdrawing.
#[async_trait]
pub trait AccountabilityWrites: Send {
    /// Stores a record; returns its id.
    async fn add_accountability(&mut self, record: &NewAccountability) -> Result<i64, StoreError>;

    /// One record (in force or withdrawn) as this transaction sees it.
    async fn accountability_record(
        &mut self,
        id: i64,
    ) -> Result<Option<AccountabilityRecord>, StoreError>;

    /// Replaces what record `id` says, if it is in force; false otherwise.
    async fn update_accountability(
        &mut self,
        id: i64,
        fields: &AccountabilityFields,
        by: &str,
        at: &str,
    ) -> Result<bool, StoreError>;

    /// Withdraws record `id`, if it is in force; false otherwise.
    async fn withdraw_accountability(
        &mut self,
        id: i64,
        by: &str,
        at: &str,
    ) -> Result<bool, StoreError>;
}

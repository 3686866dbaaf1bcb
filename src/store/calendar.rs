//! The working-day calendar's years as admins maintain them at runtime
//! (`calendar import`, `PUT /v1/calendar/{year}`): one row per year with the text of its file,
//! who stored it and when. The files shipped with the gateway stay the default; a stored year
//! replaces the shipped or configured file of the same year.

use async_trait::async_trait;

use super::StoreError;

/// A year of the calendar as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarYear {
    pub year: i32,
    /// The year's file (TOML: `year`, `holidays`, `working_weekends`), validated before it was
    /// stored.
    pub text: String,
    /// Who stored it: a user's name or `cli:<login>`.
    pub updated_by: String,
    /// When (RFC 3339, UTC).
    pub updated_at: String,
}

/// On the store: reads of the stored calendar years.
#[async_trait]
pub trait CalendarReads: Send + Sync {
    /// Every stored year, oldest year first.
    async fn calendar_years(&self) -> Result<Vec<CalendarYear>, StoreError>;

    /// A number that changes whenever a year is stored (0 when none is): a running gateway
    /// compares it to see whether another process stored a year.
    async fn calendar_version(&self) -> Result<i64, StoreError>;
}

/// In a decision transaction: storing a year.
#[async_trait]
pub trait CalendarWrites: Send {
    /// Stores `year`, replacing a stored year of the same number.
    async fn put_calendar_year(&mut self, year: &CalendarYear) -> Result<(), StoreError>;
}

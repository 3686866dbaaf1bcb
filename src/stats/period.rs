//! What a statistics request asks: the period, the grouping and the series, parsed from the
//! API's parameters or the command's flags; and the report read from the store.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};

use super::{Report, report};
use crate::store::stats::{StatsBucket, StatsGroup, StatsMeasures, StatsQuery};
use crate::store::{Store, StoreError, format_utc};

/// A statistics request as given (each field optional).
#[derive(Debug, Clone, Default)]
pub struct StatsRequest<'a> {
    /// `YYYY-MM-DD` (local midnight) or RFC 3339. Default: 30 days before `to`.
    pub from: Option<&'a str>,
    /// `YYYY-MM-DD` (that day included) or RFC 3339 (excluded). Default: now.
    pub to: Option<&'a str>,
    /// `unit`, `channel` or `category`.
    pub by: Option<&'a str>,
    /// `day`, `week` or `month`.
    pub series: Option<&'a str>,
}

fn instant(
    value: &str,
    name: &str,
    offset: FixedOffset,
    day_after: bool,
) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let day = if day_after {
            date + Duration::days(1)
        } else {
            date
        };
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        return offset
            .from_local_datetime(&midnight)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("`{name}`: no local midnight on {value}"));
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("`{name}` must be a date (YYYY-MM-DD) or an RFC 3339 time, not `{value}`")
        })
}

/// The store's query for `request` at `now` (local time at `offset`); a message naming the
/// parameter otherwise.
pub fn parse(
    request: &StatsRequest<'_>,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> Result<StatsQuery, String> {
    let to = match request.to {
        Some(value) => instant(value, "to", offset, true)?,
        None => now,
    };
    let from = match request.from {
        Some(value) => instant(value, "from", offset, false)?,
        None => to - Duration::days(30),
    };
    if from >= to {
        return Err(format!(
            "`from` ({}) must come before `to` ({})",
            format_utc(from),
            format_utc(to)
        ));
    }
    if to - from > Duration::days(3700) {
        return Err("the period is longer than ten years".into());
    }
    let by = match request.by {
        None => StatsGroup::All,
        Some("unit") => StatsGroup::Unit,
        Some("channel") => StatsGroup::Channel,
        Some("category") => StatsGroup::Category,
        Some(other) => {
            return Err(format!(
                "`by` is `unit`, `channel` or `category`, not `{other}`"
            ));
        }
    };
    let bucket = match request.series {
        None => StatsBucket::Whole,
        Some("day") => StatsBucket::Day,
        Some("week") => StatsBucket::Week,
        Some("month") => StatsBucket::Month,
        Some(other) => {
            return Err(format!(
                "`series` is `day`, `week` or `month`, not `{other}`"
            ));
        }
    };
    Ok(StatsQuery {
        from,
        to,
        now,
        by,
        bucket,
        utc_offset_secs: offset.local_minus_utc(),
        measures: StatsMeasures::All,
    })
}

/// The report of `query`, read from `store` in one statement.
pub async fn read(
    store: &Store,
    request: &StatsRequest<'_>,
    query: &StatsQuery,
) -> Result<Report, StoreError> {
    let rows = store.stats_rows(query).await?;
    Ok(report(
        &rows,
        format_utc(query.from),
        format_utc(query.to),
        request.by,
        request.series,
    ))
}

//! 责任追究 in the statistics: the accountability records in force decided in the period, per
//! unit and measure — a read of its own (`store::accountability`), attached to the period's
//! report as its `accountability` section. A record counts when its decision date's local
//! midnight falls in `[from, to)`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::Serialize;

use super::{Report, StatsRequest, read};
use crate::store::accountability::AccountabilityCount;
use crate::store::stats::StatsQuery;
use crate::store::{Store, StoreError};

/// A count of records: per unit and measure, per unit (`measure` null) or per measure (`unit`
/// null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountabilityLine {
    pub unit: Option<String>,
    pub measure: Option<String>,
    pub records: i64,
}

/// The accountability records of a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountabilitySection {
    /// The decision dates counted: from (inclusive) to (exclusive), `YYYY-MM-DD` local.
    pub from_date: String,
    pub to_date: String,
    /// Records in force decided in the period.
    pub total: i64,
    /// Per unit, by unit.
    pub by_unit: Vec<AccountabilityLine>,
    /// Per measure, in the configured order (a measure no longer configured last).
    pub by_measure: Vec<AccountabilityLine>,
    /// Per unit and measure: by unit, then the measures in the configured order.
    pub rows: Vec<AccountabilityLine>,
}

/// The first local date (at `offset`) whose midnight is at or after `t`.
pub fn first_local_date(t: DateTime<Utc>, offset: FixedOffset) -> String {
    let local = t.with_timezone(&offset);
    let date = local.date_naive();
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    let date = if local.naive_local() > midnight {
        date + Duration::days(1)
    } else {
        date
    };
    date.format("%Y-%m-%d").to_string()
}

/// Where `measure` stands in `measures` (an unknown one after them all).
fn rank(measures: &[String], measure: &str) -> usize {
    measures
        .iter()
        .position(|m| m == measure)
        .unwrap_or(measures.len())
}

/// The section of `counts` (the store's, for the dates `[from_date, to_date)`), measures in the
/// order of `measures`.
pub fn section(
    counts: &[AccountabilityCount],
    from_date: String,
    to_date: String,
    measures: &[String],
) -> AccountabilitySection {
    let mut by_unit: BTreeMap<&str, i64> = BTreeMap::new();
    let mut by_measure: BTreeMap<(usize, &str), i64> = BTreeMap::new();
    let mut rows: BTreeMap<(&str, usize, &str), i64> = BTreeMap::new();
    for c in counts {
        let r = rank(measures, &c.measure);
        let (unit, measure) = (c.unit.as_str(), c.measure.as_str());
        *by_unit.entry(unit).or_default() += c.records;
        *by_measure.entry((r, measure)).or_default() += c.records;
        *rows.entry((unit, r, measure)).or_default() += c.records;
    }
    let line = |unit: Option<&str>, measure: Option<&str>, records| AccountabilityLine {
        unit: unit.map(str::to_string),
        measure: measure.map(str::to_string),
        records,
    };
    AccountabilitySection {
        from_date,
        to_date,
        total: counts.iter().map(|c| c.records).sum(),
        by_unit: by_unit
            .into_iter()
            .map(|(unit, n)| line(Some(unit), None, n))
            .collect(),
        by_measure: by_measure
            .into_iter()
            .map(|((_, measure), n)| line(None, Some(measure), n))
            .collect(),
        rows: rows
            .into_iter()
            .map(|((unit, _, measure), n)| line(Some(unit), Some(measure), n))
            .collect(),
    }
}

/// The accountability section of `query`'s period.
pub async fn read_accountability(
    store: &Store,
    query: &StatsQuery,
    measures: &[String],
) -> Result<AccountabilitySection, StoreError> {
    let offset = FixedOffset::east_opt(query.utc_offset_secs).expect("a parsed offset");
    let from_date = first_local_date(query.from, offset);
    let to_date = first_local_date(query.to, offset);
    let counts = store.accountability_counts(&from_date, &to_date).await?;
    Ok(section(&counts, from_date, to_date, measures))
}

/// The report of `query` as `GET /v1/stats` answers it: the period's figures
/// ([`read`]) with its accountability section.
pub async fn read_report(
    store: &Store,
    request: &StatsRequest<'_>,
    query: &StatsQuery,
    measures: &[String],
) -> Result<Report, StoreError> {
    let mut report = read(store, request, query).await?;
    report.accountability = read_accountability(store, query, measures).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_period_counts_the_decision_dates_whose_local_midnight_falls_in_it() {
        let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
        // Local midnight of 1 March in Beijing is 16:00 UTC on 28 February.
        let midnight = Utc.with_ymd_and_hms(2026, 2, 28, 16, 0, 0).unwrap();
        assert_eq!(first_local_date(midnight, beijing), "2026-03-01");
        let after = midnight + Duration::seconds(1);
        assert_eq!(first_local_date(after, beijing), "2026-03-02");
        let before = midnight - Duration::seconds(1);
        assert_eq!(first_local_date(before, beijing), "2026-03-01");
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(first_local_date(midnight, utc), "2026-03-01");
    }

    #[test]
    fn the_section_adds_up_per_unit_and_measure_in_the_configured_order() {
        let measures: Vec<String> = ["效能告诫", "通报批评", "其他"].map(String::from).to_vec();
        let count = |unit: &str, measure: &str, records| AccountabilityCount {
            unit: unit.into(),
            measure: measure.into(),
            records,
        };
        let counts = [
            count("finance", "其他", 1),
            count("finance", "效能告诫", 2),
            count("personnel", "通报批评", 3),
            count("personnel", "已停用的措施", 1),
        ];
        let s = section(&counts, "2026-03-01".into(), "2026-04-01".into(), &measures);
        assert_eq!(s.total, 7);
        let pairs = |lines: &[AccountabilityLine]| -> Vec<(String, String, i64)> {
            lines
                .iter()
                .map(|l| {
                    (
                        l.unit.clone().unwrap_or_default(),
                        l.measure.clone().unwrap_or_default(),
                        l.records,
                    )
                })
                .collect()
        };
        let s3 = |a: &str, b: &str, n| (a.to_string(), b.to_string(), n);
        assert_eq!(
            pairs(&s.by_unit),
            [s3("finance", "", 3), s3("personnel", "", 4)]
        );
        assert_eq!(
            pairs(&s.by_measure),
            [
                s3("", "效能告诫", 2),
                s3("", "通报批评", 3),
                s3("", "其他", 1),
                s3("", "已停用的措施", 1)
            ]
        );
        assert_eq!(
            pairs(&s.rows),
            [
                s3("finance", "效能告诫", 2),
                s3("finance", "其他", 1),
                s3("personnel", "通报批评", 3),
                s3("personnel", "已停用的措施", 1)
            ]
        );
    }
}

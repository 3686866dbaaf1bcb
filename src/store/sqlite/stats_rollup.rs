//! SQLite: the statistics' daily rollup (migration 74): which days and months of a period are
//! read from it ([`plan`]), its reads ([`read`]) and its refresh ([`refresh`]).
//!
//! A day's rows are used only while the day is listed as current; the triggers of migration 74
//! remove a day from the list on any write that can change its counts, and [`refresh`] counts
//! it again — with the same statement a read uses on the tables, on a reader, keeping the
//! result only if no write touched the day meanwhile (see [`count_day`]).

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use sqlx::SqlitePool;

use super::stats::{Part, modifier, row, statement};
use crate::store::StoreError;
use crate::store::stats::{
    RollupRefresh, StatsBucket, StatsGroup, StatsMeasures, StatsQuery, StatsRow,
};

/// More parts of a period counted from the tables than this, and the whole period is (one
/// statement over the period costs less than many small ones).
const MAX_LIVE_PARTS: usize = 24;

/// The groupings the rollup keeps, with their names in `stats_rollup_days.dim`.
const DIMS: [(StatsGroup, &str); 4] = [
    (StatsGroup::All, "all"),
    (StatsGroup::Unit, "unit"),
    (StatsGroup::Channel, "channel"),
    (StatsGroup::Category, "category"),
];

fn dim(by: StatsGroup) -> &'static str {
    DIMS.iter()
        .find(|(group, _)| *group == by)
        .map(|(_, name)| *name)
        .unwrap_or("all")
}

/// How a period is counted: parts from the tables, days and months from the rollup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Plan {
    /// `[from, to)` parts counted from the tables.
    pub live: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Days (`YYYY-MM-DD`) read from the rollup.
    pub days: Vec<String>,
    /// Months (`YYYY-MM`) read from the rollup.
    pub months: Vec<String>,
}

fn midnight(day: NaiveDate, offset: FixedOffset) -> DateTime<Utc> {
    let local = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    offset
        .from_local_datetime(&local)
        .single()
        .expect("a fixed offset maps every local time once")
        .with_timezone(&Utc)
}

fn days_in_month(day: NaiveDate) -> u32 {
    let first = day.with_day(1).expect("the first exists");
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .expect("a next month exists");
    (next - first).num_days() as u32
}

/// The plan for `[from, to)` at `now`: every whole local day that ended by `now` (and by `to`)
/// and is listed in `clean` comes from the rollup — by its month when `by_month` allows it,
/// the month is listed in `clean_months` and every day of it is such a day — and the rest of
/// the period from the tables.
pub(super) fn plan(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    offset: FixedOffset,
    clean: &BTreeSet<NaiveDate>,
    clean_months: &BTreeSet<String>,
    by_month: bool,
) -> Plan {
    let mut day = from.with_timezone(&offset).date_naive();
    if midnight(day, offset) < from {
        day = day.succ_opt().unwrap_or(day);
    }
    let end = to.min(now);
    let mut rolled: Vec<NaiveDate> = Vec::new();
    while let Some(next) = day.succ_opt() {
        if midnight(next, offset) > end {
            break;
        }
        if clean.contains(&day) {
            rolled.push(day);
        }
        day = next;
    }
    let mut live = Vec::new();
    let mut cursor = from;
    for day in &rolled {
        let start = midnight(*day, offset);
        if start > cursor {
            live.push((cursor, start));
        }
        cursor = midnight(day.succ_opt().unwrap_or(*day), offset);
    }
    if cursor < to {
        live.push((cursor, to));
    }
    if live.len() > MAX_LIVE_PARTS {
        return Plan {
            live: vec![(from, to)],
            ..Plan::default()
        };
    }
    let mut plan = Plan {
        live,
        ..Plan::default()
    };
    for month in rolled.chunk_by(|a, b| (a.year(), a.month()) == (b.year(), b.month())) {
        let key = month[0].format("%Y-%m").to_string();
        if by_month && month.len() as u32 == days_in_month(month[0]) && clean_months.contains(&key)
        {
            plan.months.push(key);
        } else {
            plan.days
                .extend(month.iter().map(|d| d.format("%Y-%m-%d").to_string()));
        }
    }
    plan
}

/// The rollup's offset (its days' cut), if it has one.
async fn rollup_offset(pool: &SqlitePool) -> Result<Option<i32>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT offset_secs FROM stats_rollup_settings WHERE id = 1")
            .fetch_optional(pool)
            .await?,
    )
}

/// The plan of `query` on what the rollup holds now (everything from the tables when the
/// rollup is cut at another offset).
pub(super) async fn plan_for(pool: &SqlitePool, query: &StatsQuery) -> Result<Plan, StoreError> {
    let whole = Plan {
        live: vec![(query.from, query.to)],
        ..Plan::default()
    };
    if rollup_offset(pool).await? != Some(query.utc_offset_secs) {
        return Ok(whole);
    }
    let Some(offset) = FixedOffset::east_opt(query.utc_offset_secs) else {
        return Ok(whole);
    };
    let first = query.from.with_timezone(&offset).date_naive();
    let last = query.to.with_timezone(&offset).date_naive();
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let clean: Vec<String> = sqlx::query_scalar(
        "SELECT day FROM stats_rollup_clean WHERE day >= ?1 AND day <= ?2 AND state = 'clean'",
    )
    .bind(day(first))
    .bind(day(last))
    .fetch_all(pool)
    .await?;
    let clean: BTreeSet<NaiveDate> = clean
        .iter()
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .collect();
    let by_month = matches!(query.bucket, StatsBucket::Whole | StatsBucket::Month);
    let clean_months: BTreeSet<String> = if by_month {
        sqlx::query_scalar(
            "SELECT month FROM stats_rollup_clean_months WHERE month >= ?1 AND month <= ?2",
        )
        .bind(first.format("%Y-%m").to_string())
        .bind(last.format("%Y-%m").to_string())
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect()
    } else {
        BTreeSet::new()
    };
    Ok(plan(
        query.from,
        query.to,
        query.now,
        offset,
        &clean,
        &clean_months,
        by_month,
    ))
}

/// The rollup's rows of `plan`'s days and months for `query`'s grouping and buckets.
pub(super) async fn read(
    pool: &SqlitePool,
    query: &StatsQuery,
    plan: &Plan,
    part: Part,
) -> Result<Vec<StatsRow>, StoreError> {
    let mut out = Vec::new();
    let measures = match part {
        Part::Periodic => "measure <> 'overdue'",
        Part::Overdue => "measure = 'overdue'",
        Part::Received => "measure = 'received'",
    };
    if !plan.days.is_empty() {
        let bucket = match query.bucket {
            StatsBucket::Whole => "NULL",
            StatsBucket::Day => "day",
            StatsBucket::Week => "date(day, '-6 days', 'weekday 1')",
            StatsBucket::Month => "substr(day, 1, 7)",
        };
        let sql = format!(
            "SELECT measure, grp, {bucket} AS bucket, SUM(total), SUM(hits)
             FROM stats_rollup_days
             WHERE dim = ?1 AND day IN (SELECT value FROM json_each(?2)) AND {measures}
             GROUP BY measure, grp, bucket"
        );
        out.extend(fetch(pool, sql, query.by, &plan.days).await?);
    }
    if !plan.months.is_empty() {
        let bucket = match query.bucket {
            StatsBucket::Month => "month",
            _ => "NULL",
        };
        let sql = format!(
            "SELECT measure, grp, {bucket} AS bucket, SUM(total), SUM(hits)
             FROM stats_rollup_months
             WHERE dim = ?1 AND month IN (SELECT value FROM json_each(?2)) AND {measures}
             GROUP BY measure, grp, bucket"
        );
        out.extend(fetch(pool, sql, query.by, &plan.months).await?);
    }
    Ok(out)
}

/// Overdue now, per `query`'s groups: the clocks open now whose deadline fell before now,
/// read from the rollup for its current days and months (each keeps the clocks still open
/// whose deadline fell in it) and from the tables for the rest, today's part included.
pub(super) async fn overdue(
    pool: &SqlitePool,
    query: &StatsQuery,
) -> Result<Vec<StatsRow>, StoreError> {
    // Every clock's deadline falls at or after the earliest time any figure reads, so the
    // period starts there (not at 1970: the plan walks its days).
    let Some(first) = earliest(pool).await? else {
        return Ok(Vec::new());
    };
    let all_time = StatsQuery {
        from: first.min(query.now),
        to: query.now,
        bucket: StatsBucket::Whole,
        measures: StatsMeasures::All,
        ..query.clone()
    };
    let plan = plan_for(pool, &all_time).await?;
    let mut out = Vec::new();
    for (from, to) in &plan.live {
        let sql = statement(query.by, StatsBucket::Whole, Part::Overdue);
        out.extend(super::stats::rows(pool, sql, &all_time, *from, *to).await?);
    }
    out.extend(read(pool, &all_time, &plan, Part::Overdue).await?);
    Ok(out)
}

async fn fetch(
    pool: &SqlitePool,
    sql: String,
    by: StatsGroup,
    keys: &[String],
) -> Result<Vec<StatsRow>, StoreError> {
    let keys = serde_json::to_string(keys).expect("strings serialise");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(dim(by))
        .bind(keys)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(row).collect())
}

/// Counts again up to `max_days` days that are not current (newest first); see
/// [`crate::store::stats::StatsReads::refresh_stats_rollup`]. One transaction per day.
pub(super) async fn refresh(
    pool: &SqlitePool,
    derived: &SqlitePool,
    utc_offset_secs: i32,
    now: DateTime<Utc>,
    max_days: usize,
) -> Result<RollupRefresh, StoreError> {
    let Some(offset) = FixedOffset::east_opt(utc_offset_secs) else {
        return Ok(RollupRefresh::default());
    };
    if rollup_offset(pool).await? != Some(utc_offset_secs) {
        restart(derived, utc_offset_secs).await?;
    }
    let Some(first) = earliest(pool).await? else {
        return Ok(RollupRefresh::default());
    };
    let first = first.with_timezone(&offset).date_naive();
    // The last day that ended by now.
    let today = now.with_timezone(&offset).date_naive();
    let last = today.pred_opt().unwrap_or(today);
    if last < first {
        return Ok(RollupRefresh::default());
    }
    let clean: BTreeSet<String> = sqlx::query_scalar(
        "SELECT day FROM stats_rollup_clean WHERE day >= ?1 AND day <= ?2 AND state = 'clean'",
    )
    .bind(first.format("%Y-%m-%d").to_string())
    .bind(last.format("%Y-%m-%d").to_string())
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    let mut missing = Vec::new();
    let mut day = last;
    while day >= first {
        if !clean.contains(&day.format("%Y-%m-%d").to_string()) {
            missing.push(day);
        }
        match day.pred_opt() {
            Some(previous) => day = previous,
            None => break,
        }
    }
    let todo = missing.len().min(max_days);
    let mut counted = 0;
    for day in &missing[..todo] {
        counted += usize::from(count_day(pool, derived, *day, offset, now).await?);
    }
    Ok(RollupRefresh {
        days: counted,
        remaining: missing.len() - counted,
    })
}

/// The earliest time any figure reads (each through an index): days before it count nothing.
async fn earliest(pool: &SqlitePool) -> Result<Option<DateTime<Utc>>, StoreError> {
    let mut times: Vec<Option<String>> = Vec::new();
    for sql in [
        "SELECT MIN(received_at) FROM complaints",
        // (The partial index, named: the planner would scan the table for the minimum.)
        "SELECT answered_at FROM case_deadlines INDEXED BY case_deadlines_stats_answered
         WHERE state = 'answered' ORDER BY answered_at LIMIT 1",
        "SELECT MIN(recorded_at) FROM case_follow_ups",
        "SELECT MIN(at) FROM case_transitions WHERE action = 'return'",
        "SELECT MIN(at) FROM case_transitions WHERE action = 'reopen'",
    ] {
        times.push(
            sqlx::query_scalar(sql)
                .fetch_optional(pool)
                .await?
                .flatten(),
        );
    }
    let mut earliest: Vec<DateTime<Utc>> = times
        .iter()
        .flatten()
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .collect();
    for sql in [
        "SELECT MIN(due_ms) FROM case_deadlines",
        "SELECT MIN(accept_due_ms) FROM case_deadlines",
    ] {
        let ms: Option<i64> = sqlx::query_scalar(sql).fetch_one(pool).await?;
        earliest.extend(ms.and_then(DateTime::from_timestamp_millis));
    }
    Ok(earliest.into_iter().min())
}

/// Forgets everything (the days were cut at another offset) and records the new offset.
async fn restart(pool: &SqlitePool, utc_offset_secs: i32) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for table in [
        "DELETE FROM stats_rollup_clean",
        "DELETE FROM stats_rollup_clean_months",
        "DELETE FROM stats_rollup_days",
        "DELETE FROM stats_rollup_months",
    ] {
        sqlx::query(table).execute(&mut *tx).await?;
    }
    sqlx::query(
        "INSERT INTO stats_rollup_settings (id, offset_secs, modifier) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET offset_secs = excluded.offset_secs,
                                        modifier = excluded.modifier",
    )
    .bind(utc_offset_secs)
    .bind(modifier(utc_offset_secs))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Counts `day` from the tables into the rollup, lists it as current, and sums its month when
/// every day of the month is current. The counting reads run on a reader, outside the write
/// lock (a day takes a few hundred milliseconds at a million cases, which intake must not
/// wait for): the day is marked pending first, and its rows are kept only if it is still
/// pending afterwards — a write that changed the day meanwhile removed the mark. False when
/// that happened (the day is counted again at the next refresh).
async fn count_day(
    reader: &SqlitePool,
    derived: &SqlitePool,
    day: NaiveDate,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let (from, to) = (
        midnight(day, offset),
        midnight(day.succ_opt().unwrap_or(day), offset),
    );
    let key = day.format("%Y-%m-%d").to_string();
    let month = day.format("%Y-%m").to_string();
    sqlx::query(
        "INSERT INTO stats_rollup_clean (day, state) VALUES (?1, 'pending')
         ON CONFLICT (day) DO UPDATE SET state = 'pending'",
    )
    .bind(&key)
    .execute(derived)
    .await?;
    let mut counts: Vec<(&str, StatsRow)> = Vec::new();
    for ((by, name), part) in DIMS
        .into_iter()
        .flat_map(|dim| [(dim, Part::Periodic), (dim, Part::Overdue)])
    {
        let query = StatsQuery {
            from,
            to,
            now,
            by,
            bucket: StatsBucket::Whole,
            utc_offset_secs: offset.local_minus_utc(),
            measures: StatsMeasures::All,
        };
        let sql = statement(by, StatsBucket::Whole, part);
        let rows = super::stats::rows(reader, sql, &query, from, to).await?;
        counts.extend(rows.into_iter().map(|row| (name, row)));
    }
    let mut tx = derived.begin_with("BEGIN IMMEDIATE").await?;
    let pending: Option<String> =
        sqlx::query_scalar("SELECT state FROM stats_rollup_clean WHERE day = ?1")
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
    if pending.as_deref() != Some("pending") {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query("DELETE FROM stats_rollup_days WHERE day = ?1")
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    for (name, row) in &counts {
        sqlx::query(
            "INSERT INTO stats_rollup_days (day, dim, measure, grp, total, hits)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&key)
        .bind(*name)
        .bind(&row.measure)
        .bind(&row.group)
        .bind(row.total)
        .bind(row.hits)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE stats_rollup_clean SET state = 'clean' WHERE day = ?1")
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM stats_rollup_clean_months WHERE month = ?1")
        .bind(&month)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM stats_rollup_months WHERE month = ?1")
        .bind(&month)
        .execute(&mut *tx)
        .await?;
    let month_end = midnight(
        day.with_day(1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
            .unwrap_or(day),
        offset,
    );
    let clean_days: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stats_rollup_clean
         WHERE day >= ?1 AND day < ?2 AND state = 'clean'",
    )
    .bind(format!("{month}-01"))
    .bind(format!("{month}-99"))
    .fetch_one(&mut *tx)
    .await?;
    if month_end <= now && clean_days == i64::from(days_in_month(day)) {
        sqlx::query(
            "INSERT INTO stats_rollup_months (month, dim, measure, grp, total, hits)
             SELECT ?1, dim, measure, grp, SUM(total), SUM(hits) FROM stats_rollup_days
             WHERE day >= ?2 AND day < ?3
             GROUP BY dim, measure, grp",
        )
        .bind(&month)
        .bind(format!("{month}-01"))
        .bind(format!("{month}-99"))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO stats_rollup_clean_months (month) VALUES (?1)")
            .bind(&month)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn days(list: &[&str]) -> BTreeSet<NaiveDate> {
        list.iter()
            .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap())
            .collect()
    }

    fn beijing() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn clean_whole_days_come_from_the_rollup_and_the_rest_from_the_tables() {
        // 2026-03-01 10:00 Beijing to 2026-03-05 00:00 Beijing; 03-02 and 03-04 clean, 03-03 not.
        let plan = plan(
            utc("2026-03-01T02:00:00Z"),
            utc("2026-03-04T16:00:00Z"),
            utc("2026-06-01T00:00:00Z"),
            beijing(),
            &days(&["2026-03-02", "2026-03-04", "2026-03-05"]),
            &BTreeSet::new(),
            true,
        );
        assert_eq!(plan.days, vec!["2026-03-02", "2026-03-04"]);
        assert!(plan.months.is_empty());
        assert_eq!(
            plan.live,
            vec![
                // The part of 03-01 after 10:00, then 03-03.
                (utc("2026-03-01T02:00:00Z"), utc("2026-03-01T16:00:00Z")),
                (utc("2026-03-02T16:00:00Z"), utc("2026-03-03T16:00:00Z")),
            ]
        );
    }

    #[test]
    fn a_day_not_yet_ended_is_counted_from_the_tables() {
        let plan = plan(
            utc("2026-03-01T16:00:00Z"),
            utc("2026-03-04T16:00:00Z"),
            utc("2026-03-03T20:00:00Z"),
            beijing(),
            &days(&["2026-03-02", "2026-03-03", "2026-03-04"]),
            &BTreeSet::new(),
            true,
        );
        assert_eq!(plan.days, vec!["2026-03-02", "2026-03-03"]);
        assert_eq!(
            plan.live,
            vec![(utc("2026-03-03T16:00:00Z"), utc("2026-03-04T16:00:00Z"))]
        );
    }

    #[test]
    fn a_month_is_read_whole_only_when_listed_and_every_day_is_clean() {
        let february: Vec<String> = (1..=28).map(|d| format!("2026-02-{d:02}")).collect();
        let mut clean: Vec<&str> = february.iter().map(String::as_str).collect();
        clean.push("2026-03-01");
        let months: BTreeSet<String> = ["2026-02".to_string()].into();
        let year = |by_month, months: &BTreeSet<String>| {
            plan(
                utc("2026-01-31T16:00:00Z"),
                utc("2026-03-01T16:00:00Z"),
                utc("2026-06-01T00:00:00Z"),
                beijing(),
                &days(&clean),
                months,
                by_month,
            )
        };
        let whole = year(true, &months);
        assert_eq!(whole.months, vec!["2026-02"]);
        assert_eq!(whole.days, vec!["2026-03-01"]);
        assert!(whole.live.is_empty());
        // By week: days, never months.
        let weekly = year(false, &months);
        assert!(weekly.months.is_empty());
        assert_eq!(weekly.days.len(), 29);
        // Not listed (being counted again): its days.
        assert_eq!(year(true, &BTreeSet::new()).days.len(), 29);
    }

    #[test]
    fn too_many_gaps_count_the_whole_period_from_the_tables() {
        let every_other: Vec<String> = (1..=60)
            .step_by(2)
            .map(|d| {
                (NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(d))
                    .format("%Y-%m-%d")
                    .to_string()
            })
            .collect();
        let clean: Vec<&str> = every_other.iter().map(String::as_str).collect();
        let from = utc("2025-12-31T16:00:00Z");
        let to = utc("2026-03-31T16:00:00Z");
        let plan = plan(
            from,
            to,
            utc("2026-06-01T00:00:00Z"),
            beijing(),
            &days(&clean),
            &BTreeSet::new(),
            true,
        );
        assert_eq!(plan.live, vec![(from, to)]);
        assert!(plan.days.is_empty());
    }
}

//! SQLite: the statistics' counts ([`crate::store::stats`]), one statement per period: a
//! `UNION ALL` of one aggregate per measure, each reading its table by its own time through an
//! index (named: the covering index of each count, which the planner would otherwise pass
//! over for one that yields the groups' order). Historical imports are left out (a case's founding complaint carries the mark; a
//! historical complaint has no clock).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{SqliteStore, stats_rollup};
use crate::store::stats::{
    RollupRefresh, StatsBucket, StatsGroup, StatsMeasures, StatsQuery, StatsReads, StatsRow,
};
use crate::store::{StoreError, format_utc};

/// The bucket of a time given as date-function arguments (`?6` is the local offset).
pub(super) fn bucket(bucket: StatsBucket, time: &str) -> String {
    match bucket {
        StatsBucket::Whole => "NULL".into(),
        StatsBucket::Day => format!("date({time}, ?6)"),
        StatsBucket::Week => format!("date({time}, ?6, '-6 days', 'weekday 1')"),
        StatsBucket::Month => format!("strftime('%Y-%m', {time}, ?6)"),
    }
}

/// The group of a case-level row whose case id is `{x}.case_id` (`c`: its founding complaint,
/// `r`: its route), its unit being `unit`.
fn group(by: StatsGroup, unit: &str) -> String {
    match by {
        StatsGroup::All => "NULL".into(),
        StatsGroup::Unit => unit.into(),
        StatsGroup::Channel => "c.channel".into(),
        StatsGroup::Category => "r.category".into(),
    }
}

/// The joins a case-level row of alias `x` needs for its group (`c`: the case's founding
/// complaint, `r`: its route), and with `history` the founding complaint to leave history out.
fn case_joins(x: &str, by: StatsGroup, history: bool) -> String {
    let mut joins = String::new();
    if history || by == StatsGroup::Channel {
        joins.push_str(&format!(" LEFT JOIN complaints c ON c.id = {x}.case_id"));
    }
    if by == StatsGroup::Category {
        joins.push_str(&format!(
            " LEFT JOIN case_routes r ON r.route_key = {x}.case_id"
        ));
    }
    joins
}

/// Left out: cases founded by a historical complaint. Clocks need no test: a historical
/// complaint gets none (a live complaint joining its case makes the case live).
/// An RFC 3339 time (any offset, any fraction) in Unix milliseconds.
fn ms(time: &str) -> String {
    format!("CAST(round((julianday({time}) - 2440587.5) * 86400000.0) AS INTEGER)")
}

const NOT_HISTORICAL: &str = "COALESCE(c.historical, 0) = 0";

/// Which of the measures a statement counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// Those read by a time in the period (all but overdue).
    Periodic,
    /// Overdue now: the clocks open now whose deadline fell in the part of the period before
    /// now (over all time before now, this is the figure; the rollup keeps it per day).
    Overdue,
    /// Received only (the first of [`Part::Periodic`]'s aggregates).
    Received,
}

impl Part {
    /// The part counting what `query` asks for besides overdue now.
    pub(super) fn of(query: &StatsQuery) -> Part {
        match query.measures {
            StatsMeasures::All => Part::Periodic,
            StatsMeasures::ReceivedOnly => Part::Received,
        }
    }
}

/// The statement counting `part` for `by` and `bucket` (of [`Part::Periodic`], received
/// first: [`Part::Received`] is that aggregate alone); its parameters: `?1`/`?2` the period
/// as RFC 3339, `?3`/`?4` the same in Unix milliseconds, `?5` now in milliseconds, `?6` the
/// local offset as a date modifier.
pub(super) fn statement(by: StatsGroup, bucket_by: StatsBucket, part: Part) -> String {
    if part == Part::Overdue {
        let dj = case_joins("d", by, false);
        let dg = group(by, "d.queue_key");
        return format!(
            "SELECT 'overdue' AS measure, {dg} AS grp, NULL AS bucket, COUNT(*) AS total,
                    0 AS hits
             FROM case_deadlines d INDEXED BY case_deadlines_stats_open {dj}
             WHERE d.state = 'open' AND d.due_ms >= ?3 AND d.due_ms < MIN(?4, ?5)
             GROUP BY grp"
        );
    }
    let b = |time: &str| bucket(bucket_by, time);
    let received_group = match by {
        StatsGroup::All => "NULL",
        StatsGroup::Unit => "f.queue",
        StatsGroup::Channel => "c.channel",
        StatsGroup::Category => "f.category",
    };
    let rb = b("c.received_at");
    let received = format!(
        "SELECT 'received' AS measure, {received_group} AS grp, {rb} AS bucket,
                COUNT(*) AS total, 0 AS hits
         FROM complaints c LEFT JOIN complaint_facets f ON f.complaint_id = c.id
         WHERE c.received_at >= ?1 AND c.received_at < ?2 AND c.historical = 0
         GROUP BY grp, bucket"
    );
    if part == Part::Received {
        return received;
    }
    let due_ms = "d.due_ms / 1000, 'unixepoch'";
    let accept_ms = "d.accept_due_ms / 1000, 'unixepoch'";
    let on_time = format!("{} <= d.due_ms", ms("d.answered_at"));
    let accepted = format!(
        "EXISTS (SELECT 1 FROM case_transitions t WHERE t.case_id = d.case_id \
         AND t.action = 'accept' AND {at} >= {assigned} AND {at} <= d.accept_due_ms)",
        at = ms("t.at"),
        assigned = ms("d.assigned_at")
    );
    let dj = case_joins("d", by, false);
    let fj = case_joins("u", by, true);
    let tj = case_joins("t", by, true);
    let dg = group(by, "d.queue_key");
    let fg = group(by, "u.queue_key");
    let tg = group(
        by,
        "COALESCE(json_extract(t.detail, '$.returned_by'), w.queue_key)",
    );
    let (db, ab, nb) = (b(due_ms), b(accept_ms), b("d.answered_at"));
    let (ub, tb) = (b("u.recorded_at"), b("t.at"));
    format!(
        "{received}
         UNION ALL
         SELECT 'due', {dg} AS grp, {db} AS bucket, COUNT(*),
                COALESCE(SUM(d.state = 'answered' AND {on_time}), 0)
         FROM case_deadlines d INDEXED BY case_deadlines_stats_due {dj}
         WHERE d.due_ms >= ?3 AND d.due_ms < MIN(?4, ?5) AND d.state <> 'closed'
         GROUP BY grp, bucket
         UNION ALL
         SELECT 'accept', {dg} AS grp, {ab} AS bucket, COUNT(*), COALESCE(SUM({accepted}), 0)
         FROM case_deadlines d INDEXED BY case_deadlines_stats_accept {dj}
         WHERE d.accept_due_ms >= ?3 AND d.accept_due_ms < MIN(?4, ?5)
           AND d.state <> 'closed'
         GROUP BY grp, bucket
         UNION ALL
         SELECT 'answered', {dg} AS grp, {nb} AS bucket, COUNT(*),
                COALESCE(SUM({on_time}), 0)
         FROM case_deadlines d INDEXED BY case_deadlines_stats_answered {dj}
         WHERE d.state = 'answered' AND d.answered_at >= ?1 AND d.answered_at < ?2
         GROUP BY grp, bucket

         UNION ALL
         SELECT 'attempts', {fg} AS grp, {ub} AS bucket, COUNT(*), COALESCE(SUM(u.reached), 0)
         FROM case_follow_ups u {fj}
         WHERE u.recorded_at >= ?1 AND u.recorded_at < ?2 AND {NOT_HISTORICAL}
         GROUP BY grp, bucket
         UNION ALL
         SELECT 'solved', {fg} AS grp, {ub} AS bucket, COUNT(*),
                COALESCE(SUM(u.solved = 1), 0)
         FROM case_follow_ups u {fj}
         WHERE u.reached = 1 AND u.recorded_at >= ?1 AND u.recorded_at < ?2
           AND {NOT_HISTORICAL}
         GROUP BY grp, bucket
         UNION ALL
         SELECT 'satisfied', {fg} AS grp, {ub} AS bucket, COUNT(*),
                COALESCE(SUM(u.verdict IN ('satisfied', 'basically_satisfied')), 0)
         FROM case_follow_ups u {fj}
         WHERE u.reached = 1 AND u.recorded_at >= ?1 AND u.recorded_at < ?2
           AND {NOT_HISTORICAL}
         GROUP BY grp, bucket
         UNION ALL
         SELECT CASE t.action WHEN 'return' THEN 'returned' ELSE 'reopened' END,
                {tg} AS grp, {tb} AS bucket, COUNT(*), 0
         FROM case_transitions t LEFT JOIN case_workflow w ON w.case_id = t.case_id {tj}
         WHERE t.action IN ('return', 'reopen') AND t.at >= ?1 AND t.at < ?2
           AND {NOT_HISTORICAL}
         GROUP BY t.action, grp, bucket"
    )
}

/// The rows of `sql` (a statement of [`statement`]) for the period `[from, to)` of `query`.
pub(super) async fn rows<'c, E>(
    executor: E,
    sql: String,
    query: &StatsQuery,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StatsRow>, StoreError>
where
    E: sqlx::SqliteExecutor<'c>,
{
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(format_utc(from))
        .bind(format_utc(to))
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .bind(query.now.timestamp_millis())
        .bind(modifier(query.utc_offset_secs))
        .fetch_all(executor)
        .await?;
    Ok(rows.iter().map(row).collect())
}

/// SQLite's date modifier for a local offset.
pub(super) fn modifier(utc_offset_secs: i32) -> String {
    format!("{utc_offset_secs:+} seconds")
}

pub(super) fn row(row: &sqlx::sqlite::SqliteRow) -> StatsRow {
    StatsRow {
        measure: row.get(0),
        group: row.get(1),
        bucket: row.get(2),
        total: row.get(3),
        hits: row.get(4),
    }
}

#[async_trait]
impl StatsReads for SqliteStore {
    /// Every measure (or received only) from the rollup for its current days and months
    /// (overdue: over all time before now), from the tables for the rest.
    async fn stats_rows(&self, query: &StatsQuery) -> Result<Vec<StatsRow>, StoreError> {
        let part = Part::of(query);
        let mut out = match query.measures {
            StatsMeasures::All => stats_rollup::overdue(&self.pool, query).await?,
            StatsMeasures::ReceivedOnly => Vec::new(),
        };
        let plan = stats_rollup::plan_for(&self.pool, query).await?;
        for (from, to) in &plan.live {
            let sql = statement(query.by, query.bucket, part);
            out.extend(rows(&self.pool, sql, query, *from, *to).await?);
        }
        out.extend(stats_rollup::read(&self.pool, query, &plan, part).await?);
        Ok(out)
    }

    async fn refresh_stats_rollup(
        &self,
        utc_offset_secs: i32,
        now: DateTime<Utc>,
        max_days: usize,
    ) -> Result<RollupRefresh, StoreError> {
        stats_rollup::refresh(
            &self.pool,
            &self.derived_pool,
            utc_offset_secs,
            now,
            max_days,
        )
        .await
    }
}

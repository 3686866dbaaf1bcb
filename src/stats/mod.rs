//! The statistics a complaint centre is measured by: what was received, the 三率 (响应率,
//! 解决率, 满意率), the timeliness rates (签收及时率, 按时办结率), what is overdue now, and
//! the 退单 and 重办 counts — for a period, per unit, channel or category, with a series by
//! day, week or month.
//!
//! The definitions live here, once: [`Measure`] says what each count is, [`Counts::rates`]
//! turns counts into rates (an empty denominator is `None`, never 0 or 100), and [`tally`]
//! computes the counts from per-case facts — the reference the store's SQL
//! (`store::stats`) is checked against. Historical imports are left out everywhere.

mod accountability;
mod period;
mod report;
pub mod rollup;
#[cfg(test)]
mod tests;

pub use accountability::{
    AccountabilityLine, AccountabilitySection, first_local_date, read_accountability, read_report,
};
pub use period::{StatsRequest, parse, read};
pub use report::{
    ACCOUNTABILITY_COLUMNS, FIGURE_COLUMNS, FIGURE_COUNT, Report, ReportLine, field, figure_fields,
    report, to_csv,
};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::store::stats::StatsRow;

/// What one stored count is. Each is read by its own time, which must fall in the period
/// `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Complaints received (by when the gateway got them), historical left out. Total only.
    Received,
    /// Cases whose answer-by deadline fell in the period (and before now), but for clocks
    /// stopped without an answer (returned, closed as duplicate or not our remit, merged);
    /// hits: answered by that deadline. → 响应率.
    Due,
    /// Cases whose accept-by time fell in the period (and before now), the same left out;
    /// hits: accepted (签收) between the 交办 and the accept-by time. → 签收及时率.
    Accept,
    /// Cases answered (办结) in the period; hits: answered by their answer-by deadline.
    /// → 按时办结率.
    Answered,
    /// Cases open now past their answer-by deadline (not by period). Total only.
    Overdue,
    /// 回访 attempts recorded in the period; hits: those that reached the complainant.
    Attempts,
    /// 回访 that reached the complainant in the period; hits: solved (已解决). → 解决率.
    Solved,
    /// 回访 that reached the complainant in the period; hits: 满意 or 基本满意. → 满意率.
    Satisfied,
    /// 退单 (returns) taken in the period. Total only.
    Returned,
    /// 重办 (reopens) taken in the period. Total only.
    Reopened,
}

impl Measure {
    pub const ALL: [Measure; 10] = [
        Measure::Received,
        Measure::Due,
        Measure::Accept,
        Measure::Answered,
        Measure::Overdue,
        Measure::Attempts,
        Measure::Solved,
        Measure::Satisfied,
        Measure::Returned,
        Measure::Reopened,
    ];

    /// The name the store's rows carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Received => "received",
            Measure::Due => "due",
            Measure::Accept => "accept",
            Measure::Answered => "answered",
            Measure::Overdue => "overdue",
            Measure::Attempts => "attempts",
            Measure::Solved => "solved",
            Measure::Satisfied => "satisfied",
            Measure::Returned => "returned",
            Measure::Reopened => "reopened",
        }
    }

    pub fn parse(name: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// The counts of one group (or of everything) over a period or one bucket of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// Complaints received.
    pub received: i64,
    /// Cases whose answer-by deadline fell in the period.
    pub due: i64,
    /// … answered by it.
    pub due_answered_on_time: i64,
    /// Cases whose accept-by time fell in the period.
    pub accept_due: i64,
    /// … accepted by it.
    pub accepted_on_time: i64,
    /// Cases answered in the period.
    pub answered: i64,
    /// … by their deadline.
    pub answered_on_time: i64,
    /// 回访 attempts.
    pub follow_ups: i64,
    /// … that reached the complainant.
    pub reached: i64,
    /// … of which solved.
    pub solved: i64,
    /// … of which 满意 or 基本满意.
    pub satisfied: i64,
    /// 退单.
    pub returned: i64,
    /// 重办.
    pub reopened: i64,
    /// Open past the deadline now (whole-period figures only).
    pub overdue_now: i64,
}

/// The rates, in percent with one decimal; `None` when nothing was there to count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rates {
    /// 响应率: `due_answered_on_time / due`.
    pub response: Option<f64>,
    /// 解决率: `solved / reached`.
    pub resolution: Option<f64>,
    /// 满意率: `satisfied / reached`.
    pub satisfaction: Option<f64>,
    /// 签收及时率: `accepted_on_time / accept_due`.
    pub accepted_on_time: Option<f64>,
    /// 按时办结率: `answered_on_time / answered`.
    pub answered_on_time: Option<f64>,
}

/// `hits` of `total` in percent with one decimal; `None` for an empty `total`.
pub fn rate(hits: i64, total: i64) -> Option<f64> {
    (total > 0).then(|| (hits as f64 * 1000.0 / total as f64).round() / 10.0)
}

impl Counts {
    /// Adds a stored row's count.
    pub fn add(&mut self, row: &StatsRow) {
        let Some(measure) = Measure::parse(&row.measure) else {
            return;
        };
        let (total, hits) = (row.total, row.hits);
        match measure {
            Measure::Received => self.received += total,
            Measure::Due => {
                self.due += total;
                self.due_answered_on_time += hits;
            }
            Measure::Accept => {
                self.accept_due += total;
                self.accepted_on_time += hits;
            }
            Measure::Answered => {
                self.answered += total;
                self.answered_on_time += hits;
            }
            Measure::Overdue => self.overdue_now += total,
            Measure::Attempts => self.follow_ups += total,
            Measure::Solved => {
                self.reached += total;
                self.solved += hits;
            }
            Measure::Satisfied => self.satisfied += hits,
            Measure::Returned => self.returned += total,
            Measure::Reopened => self.reopened += total,
        }
    }

    pub fn merge(&mut self, other: &Counts) {
        self.received += other.received;
        self.due += other.due;
        self.due_answered_on_time += other.due_answered_on_time;
        self.accept_due += other.accept_due;
        self.accepted_on_time += other.accepted_on_time;
        self.answered += other.answered;
        self.answered_on_time += other.answered_on_time;
        self.follow_ups += other.follow_ups;
        self.reached += other.reached;
        self.solved += other.solved;
        self.satisfied += other.satisfied;
        self.returned += other.returned;
        self.reopened += other.reopened;
        self.overdue_now += other.overdue_now;
    }

    pub fn rates(&self) -> Rates {
        Rates {
            response: rate(self.due_answered_on_time, self.due),
            resolution: rate(self.solved, self.reached),
            satisfaction: rate(self.satisfied, self.reached),
            accepted_on_time: rate(self.accepted_on_time, self.accept_due),
            answered_on_time: rate(self.answered_on_time, self.answered),
        }
    }
}

/// A case's clock as the definitions see it (its current assignment).
#[derive(Debug, Clone)]
pub struct ClockFacts {
    pub assigned_at: DateTime<Utc>,
    pub accept_due: Option<DateTime<Utc>>,
    pub due: DateTime<Utc>,
    /// `open`, `answered`, or `closed` (stopped without an answer).
    pub state: &'static str,
    pub answered_at: Option<DateTime<Utc>>,
}

/// One 回访 attempt.
#[derive(Debug, Clone)]
pub struct FollowUpFacts {
    pub at: DateTime<Utc>,
    pub reached: bool,
    pub solved: bool,
    /// `satisfied`, `basically_satisfied`, `dissatisfied`.
    pub verdict: &'static str,
}

/// What the definitions read of one case.
#[derive(Debug, Clone, Default)]
pub struct CaseFacts {
    /// Loaded with `import --historical`: counted nowhere.
    pub historical: bool,
    /// When each of its complaints was received.
    pub received: Vec<DateTime<Utc>>,
    pub clock: Option<ClockFacts>,
    /// When its unit accepted it (签收).
    pub accepted: Vec<DateTime<Utc>>,
    pub follow_ups: Vec<FollowUpFacts>,
    pub returns: Vec<DateTime<Utc>>,
    pub reopens: Vec<DateTime<Utc>>,
}

/// The reference: the counts of `cases` for `[from, to)` at `now`, by the definitions above.
pub fn tally(
    cases: &[CaseFacts],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Counts {
    let within = |t: DateTime<Utc>| t >= from && t < to;
    let fell = |t: DateTime<Utc>| t >= from && t < to.min(now);
    let mut n = Counts::default();
    for case in cases.iter().filter(|c| !c.historical) {
        n.received += case.received.iter().filter(|t| within(**t)).count() as i64;
        if let Some(clock) = &case.clock {
            let on_time = clock.answered_at.is_some_and(|a| a <= clock.due);
            let stopped = clock.state == "closed";
            if fell(clock.due) && !stopped {
                n.due += 1;
                n.due_answered_on_time += (clock.state == "answered" && on_time) as i64;
            }
            if let Some(accept_due) = clock.accept_due.filter(|t| fell(*t) && !stopped) {
                n.accept_due += 1;
                let in_time = |t: &DateTime<Utc>| *t >= clock.assigned_at && *t <= accept_due;
                n.accepted_on_time += case.accepted.iter().any(in_time) as i64;
            }
            if clock.state == "answered" && clock.answered_at.is_some_and(within) {
                n.answered += 1;
                n.answered_on_time += on_time as i64;
            }
            n.overdue_now += (clock.state == "open" && clock.due < now) as i64;
        }
        for f in case.follow_ups.iter().filter(|f| within(f.at)) {
            n.follow_ups += 1;
            if f.reached {
                n.reached += 1;
                n.solved += f.solved as i64;
                n.satisfied += matches!(f.verdict, "satisfied" | "basically_satisfied") as i64;
            }
        }
        n.returned += case.returns.iter().filter(|t| within(**t)).count() as i64;
        n.reopened += case.reopens.iter().filter(|t| within(**t)).count() as i64;
    }
    n
}

//! The definitions on a hand-made set of cases whose figures are worked out by hand (the
//! same scenario as the store's conformance check `conformance::stats`).
//!
//! March 2026 (UTC), now = 15 April. Units F (finance) and P (personnel):
//! - A (F): received 2 Mar; accept by 3 Mar, accepted 2 Mar; due 10 Mar, answered at that
//!   very deadline (on time);
//!   回访 12 Mar not reached, 13 Mar reached: solved, satisfied.
//! - B (F): received 3 Mar; accept by 4 Mar, accepted 5 Mar (late); due 12 Mar, answered 14
//!   Mar (late); 回访 16 Mar reached: not solved, dissatisfied; reopened 16 Mar.
//! - C (P): received 5 Mar; accept by 6 Mar 10:00, accepted 6 Mar 08:00; due 20 Mar, open.
//! - D (P): received 6 Mar; accept by 7 Mar, never accepted; returned 7 Mar (clock closed).
//! - E (F): received 20 Feb; accept by 21 Feb; due 5 Mar, answered 4 Mar; 回访 6 Mar
//!   reached: not solved, basically satisfied.
//! - F (F): historical; received 10 Mar, due 15 Mar, answered late, 回访 dissatisfied.
//! - G (P): received 25 Mar; accept by 26 Mar, accepted 25 Mar; due 8 Apr, open.

use chrono::{DateTime, TimeZone, Utc};

use super::*;

fn t(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).unwrap()
}

fn clock(
    assigned: DateTime<Utc>,
    accept_due: DateTime<Utc>,
    due: DateTime<Utc>,
    state: &'static str,
    answered: Option<DateTime<Utc>>,
) -> Option<ClockFacts> {
    Some(ClockFacts {
        assigned_at: assigned,
        accept_due: Some(accept_due),
        due,
        state,
        answered_at: answered,
    })
}

fn reached(at: DateTime<Utc>, solved: bool, verdict: &'static str) -> FollowUpFacts {
    FollowUpFacts {
        at,
        reached: true,
        solved,
        verdict,
    }
}

fn finance() -> Vec<CaseFacts> {
    let a = CaseFacts {
        received: vec![t(3, 2, 2)],
        clock: clock(
            t(3, 2, 2),
            t(3, 3, 2),
            t(3, 10, 2),
            "answered",
            Some(t(3, 10, 2)),
        ),
        accepted: vec![t(3, 2, 7)],
        follow_ups: vec![
            FollowUpFacts {
                at: t(3, 12, 2),
                reached: false,
                solved: false,
                verdict: "",
            },
            reached(t(3, 13, 2), true, "satisfied"),
        ],
        ..CaseFacts::default()
    };
    let b = CaseFacts {
        received: vec![t(3, 3, 2)],
        clock: clock(
            t(3, 3, 2),
            t(3, 4, 2),
            t(3, 12, 2),
            "answered",
            Some(t(3, 14, 2)),
        ),
        accepted: vec![t(3, 5, 2)],
        follow_ups: vec![reached(t(3, 16, 2), false, "dissatisfied")],
        reopens: vec![t(3, 16, 3)],
        ..CaseFacts::default()
    };
    let e = CaseFacts {
        received: vec![t(2, 20, 2)],
        clock: clock(
            t(2, 20, 2),
            t(2, 21, 2),
            t(3, 5, 2),
            "answered",
            Some(t(3, 4, 2)),
        ),
        accepted: vec![t(2, 20, 5)],
        follow_ups: vec![reached(t(3, 6, 2), false, "basically_satisfied")],
        ..CaseFacts::default()
    };
    let f = CaseFacts {
        historical: true,
        received: vec![t(3, 10, 2)],
        clock: clock(
            t(3, 10, 2),
            t(3, 11, 2),
            t(3, 15, 2),
            "answered",
            Some(t(3, 20, 2)),
        ),
        follow_ups: vec![reached(t(3, 21, 2), false, "dissatisfied")],
        ..CaseFacts::default()
    };
    vec![a, b, e, f]
}

fn personnel() -> Vec<CaseFacts> {
    let c = CaseFacts {
        received: vec![t(3, 5, 2)],
        clock: clock(t(3, 5, 2), t(3, 6, 10), t(3, 20, 2), "open", None),
        accepted: vec![t(3, 6, 8)],
        ..CaseFacts::default()
    };
    let d = CaseFacts {
        received: vec![t(3, 6, 2)],
        clock: clock(
            t(3, 6, 2),
            t(3, 7, 2),
            t(3, 16, 2),
            "closed",
            Some(t(3, 7, 1)),
        ),
        returns: vec![t(3, 7, 1)],
        ..CaseFacts::default()
    };
    let g = CaseFacts {
        received: vec![t(3, 25, 2)],
        clock: clock(t(3, 25, 2), t(3, 26, 2), t(4, 8, 2), "open", None),
        accepted: vec![t(3, 25, 6)],
        ..CaseFacts::default()
    };
    vec![c, d, g]
}

fn march(cases: &[CaseFacts]) -> Counts {
    tally(cases, t(3, 1, 0), t(4, 1, 0), t(4, 15, 0))
}

#[test]
fn every_rate_of_the_whole_centre_is_worked_out_by_hand() {
    let all: Vec<CaseFacts> = finance().into_iter().chain(personnel()).collect();
    let n = march(&all);
    // Received: A, B, C, D, G (E came in February, F is history).
    assert_eq!(n.received, 5);
    // Due in March: A on time, B late, C open, E on time (D's clock stopped, G's in April).
    assert_eq!((n.due, n.due_answered_on_time), (4, 2));
    // Accept-by in March: A, C, G in time, B late (D stopped, E's in February).
    assert_eq!((n.accept_due, n.accepted_on_time), (4, 3));
    // Answered in March: A and E on time, B late.
    assert_eq!((n.answered, n.answered_on_time), (3, 2));
    // 回访: four attempts, three reached; solved only A's; A and E satisfied at least basically.
    assert_eq!(
        (n.follow_ups, n.reached, n.solved, n.satisfied),
        (4, 3, 1, 2)
    );
    assert_eq!((n.returned, n.reopened), (1, 1));
    // Open past the deadline on 15 April: C and G.
    assert_eq!(n.overdue_now, 2);
    let r = n.rates();
    assert_eq!(r.response, Some(50.0));
    assert_eq!(r.accepted_on_time, Some(75.0));
    assert_eq!(r.answered_on_time, Some(66.7));
    assert_eq!(r.resolution, Some(33.3));
    assert_eq!(r.satisfaction, Some(66.7));
}

#[test]
fn each_unit_s_rates_and_an_empty_denominator_is_none() {
    let f = march(&finance()).rates();
    assert_eq!(f.response, Some(66.7), "A and E of A, B, E");
    assert_eq!(f.accepted_on_time, Some(50.0), "A of A and B");
    assert_eq!(f.answered_on_time, Some(66.7));
    let p = march(&personnel());
    assert_eq!((p.received, p.returned, p.overdue_now), (3, 1, 2));
    let p = p.rates();
    assert_eq!(p.response, Some(0.0), "C is due and open");
    assert_eq!(p.accepted_on_time, Some(100.0), "C and G");
    assert_eq!(
        p.answered_on_time, None,
        "nothing answered: no rate, not 0 or 100"
    );
    assert_eq!((p.resolution, p.satisfaction), (None, None));
}

#[test]
fn a_deadline_after_now_has_not_fallen_yet() {
    // Through April, seen on 15 April: G's deadline (8 April) fell, nothing later counts.
    let g = personnel().pop().unwrap();
    let later = CaseFacts {
        clock: clock(t(4, 10, 2), t(4, 11, 2), t(4, 20, 2), "open", None),
        ..CaseFacts::default()
    };
    let n = tally(&[g, later], t(4, 1, 0), t(5, 1, 0), t(4, 15, 0));
    assert_eq!((n.due, n.accept_due), (1, 1));
    assert_eq!(n.rates().response, Some(0.0));
}

#[test]
fn rates_round_to_one_decimal() {
    assert_eq!(rate(3, 4), Some(75.0));
    assert_eq!(rate(1, 3), Some(33.3));
    assert_eq!(rate(2, 3), Some(66.7));
    assert_eq!(rate(0, 0), None);
}

#[test]
fn stored_rows_add_up_into_the_report_and_its_csv() {
    let row = |m: &str, g: &str, b: Option<&str>, total, hits| crate::store::stats::StatsRow {
        measure: m.into(),
        group: Some(g.into()),
        bucket: b.map(str::to_string),
        total,
        hits,
    };
    let rows = [
        row("due", "finance", Some("2026-03"), 3, 2),
        row("due", "personnel", Some("2026-03"), 1, 0),
        row("due", "finance", Some("2026-04"), 1, 1),
        row("overdue", "personnel", None, 2, 0),
    ];
    let r = report(&rows, "a".into(), "b".into(), Some("unit"), Some("month"));
    assert_eq!(
        (r.total.counts.due, r.total.counts.due_answered_on_time),
        (5, 3)
    );
    assert_eq!(r.total.rates.response, Some(60.0));
    assert_eq!(r.groups.len(), 2);
    assert_eq!(r.groups[0].rates.response, Some(75.0), "finance: 3 of 4");
    assert_eq!(r.groups[1].counts.overdue_now, 2);
    assert_eq!(r.series.len(), 2);
    assert_eq!(r.series[0].rates.response, Some(50.0), "March: 2 of 4");
    assert_eq!(r.group_series.len(), 3);
    let mut r = r;
    r.accountability.rows.push(AccountabilityLine {
        unit: Some("finance".into()),
        measure: Some("通报批评".into()),
        records: 2,
    });
    let csv = to_csv(&r);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 1 + 2 + 2 + 3 + 1);
    assert!(lines[0].starts_with("scope,key,bucket,received,due,"));
    assert!(lines[0].ends_with(",measure,records"), "{}", lines[0]);
    assert!(lines[1].starts_with("total,,,0,5,3,"), "{}", lines[1]);
    assert!(
        lines[1].ends_with(",60.0,,,,,,"),
        "empty rates stay empty, no measure: {}",
        lines[1]
    );
    let columns = lines[0].split(',').count();
    assert!(
        lines.iter().all(|l| l.split(',').count() == columns),
        "{csv}"
    );
    assert_eq!(
        lines[9],
        format!(
            "accountability,finance,{},通报批评,2",
            ",".repeat(FIGURE_COUNT)
        )
    );
}

#[test]
fn a_request_names_its_period_in_local_days_and_bad_values_are_named() {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let now = t(4, 15, 0);
    let request = StatsRequest {
        from: Some("2026-03-01"),
        to: Some("2026-03-31"),
        by: Some("unit"),
        series: Some("week"),
    };
    let q = parse(&request, offset, now).unwrap();
    assert_eq!(q.from, Utc.with_ymd_and_hms(2026, 2, 28, 16, 0, 0).unwrap());
    assert_eq!(
        q.to,
        Utc.with_ymd_and_hms(2026, 3, 31, 16, 0, 0).unwrap(),
        "31 March included"
    );
    assert_eq!(q.utc_offset_secs, 8 * 3600);
    let q = parse(&StatsRequest::default(), offset, now).unwrap();
    assert_eq!((q.to, q.from), (now, now - chrono::Duration::days(30)));
    for (bad, named) in [
        (
            StatsRequest {
                by: Some("person"),
                ..StatsRequest::default()
            },
            "`by`",
        ),
        (
            StatsRequest {
                series: Some("year"),
                ..StatsRequest::default()
            },
            "`series`",
        ),
        (
            StatsRequest {
                from: Some("March"),
                ..StatsRequest::default()
            },
            "`from`",
        ),
        (
            StatsRequest {
                from: Some("2026-04-02"),
                to: Some("2026-04-01"),
                ..StatsRequest::default()
            },
            "must come before",
        ),
    ] {
        let error = parse(&bad, offset, now).unwrap_err();
        assert!(error.contains(named), "{error}");
    }
}

//! Conformance: the statistics' counts on a hand-made set of cases whose figures are worked
//! out by hand (the scenario of `stats::tests`, written through the store's operations):
//! the whole centre, per unit, and by month and by day; history left out; and a query for
//! received alone against the full one ([`received`]).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use super::{Open, complaint_from, store_new};
use crate::store::follow_ups::NewFollowUp;
use crate::store::outbox::NewDeadline;
use crate::store::routes::{CaseRoute, RouteFacets};
use crate::store::stats::{StatsBucket, StatsGroup, StatsMeasures, StatsQuery, StatsRow};
use crate::store::workflow::{CaseState, NewTransition};
use crate::store::{DerivedTx, Store, WriteOp, format_utc};

mod received;

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    the_counts_of_a_hand_made_month(open).await;
    the_rollup_counts_what_the_tables_count(open).await;
}

fn t(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).unwrap()
}

struct Case {
    name: &'static str,
    unit: &'static str,
    historical: bool,
    received: DateTime<Utc>,
    /// Assigned, accept by, due.
    clock: [DateTime<Utc>; 3],
    /// `answered` or `closed` at, or open.
    ended: Option<(&'static str, DateTime<Utc>)>,
    accepted: Option<DateTime<Utc>>,
    /// (at, reached, solved, verdict)
    follow_ups: Vec<(DateTime<Utc>, bool, bool, &'static str)>,
    returned: Option<DateTime<Utc>>,
    reopened: Option<DateTime<Utc>>,
}

fn scenario() -> Vec<Case> {
    let case = |name, unit, received, clock| Case {
        name,
        unit,
        historical: false,
        received,
        clock,
        ended: None,
        accepted: None,
        follow_ups: Vec::new(),
        returned: None,
        reopened: None,
    };
    vec![
        Case {
            // Answered at the deadline itself: on time.
            ended: Some(("answered", t(3, 10, 2))),
            accepted: Some(t(3, 2, 7)),
            follow_ups: vec![
                (t(3, 12, 2), false, false, ""),
                (t(3, 13, 2), true, true, "satisfied"),
            ],
            ..case(
                "A",
                "finance",
                t(3, 2, 2),
                [t(3, 2, 2), t(3, 3, 2), t(3, 10, 2)],
            )
        },
        Case {
            ended: Some(("answered", t(3, 14, 2))),
            accepted: Some(t(3, 5, 2)),
            follow_ups: vec![(t(3, 16, 2), true, false, "dissatisfied")],
            reopened: Some(t(3, 16, 3)),
            ..case(
                "B",
                "finance",
                t(3, 3, 2),
                [t(3, 3, 2), t(3, 4, 2), t(3, 12, 2)],
            )
        },
        Case {
            accepted: Some(t(3, 6, 8)),
            ..case(
                "C",
                "personnel",
                t(3, 5, 2),
                [t(3, 5, 2), t(3, 6, 10), t(3, 20, 2)],
            )
        },
        Case {
            ended: Some(("closed", t(3, 7, 1))),
            returned: Some(t(3, 7, 1)),
            ..case(
                "D",
                "personnel",
                t(3, 6, 2),
                [t(3, 6, 2), t(3, 7, 2), t(3, 16, 2)],
            )
        },
        Case {
            ended: Some(("answered", t(3, 4, 2))),
            accepted: Some(t(2, 20, 5)),
            follow_ups: vec![(t(3, 6, 2), true, false, "basically_satisfied")],
            ..case(
                "E",
                "finance",
                t(2, 20, 2),
                [t(2, 20, 2), t(2, 21, 2), t(3, 5, 2)],
            )
        },
        Case {
            historical: true,
            ended: Some(("answered", t(3, 20, 2))),
            follow_ups: vec![(t(3, 21, 2), true, false, "dissatisfied")],
            ..case(
                "F",
                "finance",
                t(3, 10, 2),
                [t(3, 10, 2), t(3, 11, 2), t(3, 15, 2)],
            )
        },
        Case {
            accepted: Some(t(3, 25, 6)),
            ..case(
                "G",
                "personnel",
                t(3, 25, 2),
                [t(3, 25, 2), t(3, 26, 2), t(4, 8, 2)],
            )
        },
    ]
}

fn transition(
    case_id: &str,
    action: &str,
    at: DateTime<Utc>,
    detail: serde_json::Value,
) -> NewTransition {
    NewTransition {
        case_id: case_id.into(),
        action: action.into(),
        from_state: "x".into(),
        to_state: "y".into(),
        actor: "tester".into(),
        at: format_utc(at),
        detail,
    }
}

/// Writes the scenario; returns the case ids by name.
async fn write(store: &Store) -> BTreeMap<&'static str, String> {
    let cases = scenario();
    let ops = cases
        .iter()
        .map(|c| {
            let value = json!({"external_id": c.name, "body": format!("case {}", c.name)});
            let mut op = complaint_from("s", value, c.received);
            if let WriteOp::Complaint(complaint) = &mut op {
                complaint.historical = c.historical;
            }
            op
        })
        .collect();
    let ids: Vec<String> = store_new(store, ops)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut tx = store.begin_decision().await.unwrap();
    for (c, id) in cases.iter().zip(&ids) {
        let [assigned, accept_by, due] = c.clock;
        tx.set_route_facets(&[RouteFacets {
            route_key: id,
            only: Some(vec![id.as_str()]),
            tags: String::new(),
            queue: c.unit,
            informed: String::new(),
            priority: "normal",
            status: "assigned",
            new_assignment: true,
        }])
        .await
        .unwrap();
        if c.historical {
            // An archive load gets no clock; its follow-up is left out by its mark.
            write_follow_ups(&mut *tx, c, id).await;
            continue;
        }
        tx.assign_deadlines(&[NewDeadline {
            case_id: id.clone(),
            complaint_id: id.clone(),
            queue_key: c.unit.into(),
            queue_name: c.unit.into(),
            priority: "normal".into(),
            assigned_at: assigned.fixed_offset(),
            due_at: due.fixed_offset(),
            provisional_year: None,
            assignment: "{}".into(),
        }])
        .await
        .unwrap();
        tx.set_accept_due(&[(id.clone(), accept_by.fixed_offset())])
            .await
            .unwrap();
        match c.ended {
            Some(("answered", at)) => tx.answer_deadline(id, at, "unit", "done").await.unwrap(),
            Some((_, at)) => tx.close_deadline(id, at, "unit", "returned").await.unwrap(),
            None => {}
        }
        if let Some(at) = c.accepted {
            tx.append_transition(&transition(id, "accept", at, json!({})))
                .await
                .unwrap();
        }
        if let Some(at) = c.returned {
            let detail = json!({"reason": "wrong_unit", "returned_by": c.unit});
            tx.append_transition(&transition(id, "return", at, detail))
                .await
                .unwrap();
        }
        if let Some(at) = c.reopened {
            tx.append_transition(&transition(id, "reopen", at, json!({"note": "回访"})))
                .await
                .unwrap();
            let state = CaseState {
                case_id: id.clone(),
                state: "reopened".into(),
                queue_key: Some(c.unit.into()),
                assignee: None,
                merged_into: None,
                note: None,
                updated_at: format_utc(at),
                updated_by: "tester".into(),
                version: 0,
            };
            tx.put_case_state(&state, None).await.unwrap();
        }
        write_follow_ups(&mut *tx, c, id).await;
    }
    tx.commit().await.unwrap();
    cases.iter().map(|c| c.name).zip(ids).collect()
}

async fn write_follow_ups(tx: &mut dyn DerivedTx, c: &Case, id: &str) {
    for (at, reached, solved, verdict) in &c.follow_ups {
        tx.record_follow_up(&NewFollowUp {
            case_id: id.to_string(),
            answer_id: None,
            queue_key: Some(c.unit.into()),
            reached: *reached,
            contact: "phone".into(),
            note: None,
            solved: reached.then_some(*solved),
            verdict: reached.then(|| verdict.to_string()),
            recorded_by: "centre".into(),
            recorded_at: format_utc(*at),
            reopened: false,
        })
        .await
        .unwrap();
    }
}

fn query(by: StatsGroup, bucket: StatsBucket) -> StatsQuery {
    StatsQuery {
        from: t(3, 1, 0),
        to: t(4, 1, 0),
        now: t(4, 15, 0),
        by,
        bucket,
        utc_offset_secs: 8 * 3600,
        measures: StatsMeasures::All,
    }
}

/// `(total, hits)` of `measure` in `group` (and `bucket`), summed over what else the rows
/// split.
fn count(
    rows: &[StatsRow],
    measure: &str,
    group: Option<&str>,
    bucket: Option<&str>,
) -> (i64, i64) {
    rows.iter()
        .filter(|r| r.measure == measure)
        .filter(|r| group.is_none() || r.group.as_deref() == group)
        .filter(|r| bucket.is_none() || r.bucket.as_deref() == bucket)
        .fold((0, 0), |(t, h), r| (t + r.total, h + r.hits))
}

async fn the_counts_of_a_hand_made_month(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    write(store).await;
    assert_hand_made_counts(store).await;
    // The same figures once the days are in the rollup (read from it where it is current).
    let pass = store
        .refresh_stats_rollup(8 * 3600, t(4, 15, 0), 1000)
        .await
        .unwrap();
    assert!(pass.days >= 30, "{pass:?}");
    assert_eq!(pass.remaining, 0);
    assert_eq!(
        store
            .refresh_stats_rollup(8 * 3600, t(4, 15, 0), 1000)
            .await
            .unwrap()
            .days,
        0,
        "nothing changed: nothing to count again"
    );
    assert_hand_made_counts(store).await;
}

const GROUPINGS: [StatsGroup; 4] = [
    StatsGroup::All,
    StatsGroup::Unit,
    StatsGroup::Channel,
    StatsGroup::Category,
];
const BUCKETS: [StatsBucket; 4] = [
    StatsBucket::Whole,
    StatsBucket::Day,
    StatsBucket::Week,
    StatsBucket::Month,
];

/// Every grouping and series of `store`, the rows of one count added up.
async fn every_figure(store: &Store) -> BTreeMap<String, (i64, i64)> {
    let mut figures = BTreeMap::new();
    for by in GROUPINGS {
        for bucket in BUCKETS {
            for row in store.stats_rows(&query(by, bucket)).await.unwrap() {
                let key = format!(
                    "{by:?}/{bucket:?}/{}/{:?}/{:?}",
                    row.measure, row.group, row.bucket
                );
                let sum = figures.entry(key).or_insert((0, 0));
                sum.0 += row.total;
                sum.1 += row.hits;
            }
        }
    }
    figures
}

/// Two stores with the same cases, one never rolled up: after writes that change past days
/// (an answer, a 回访, an accept, a reopen), the rolled-up store's figures stay those of the
/// tables, before its next refresh and after it.
async fn the_rollup_counts_what_the_tables_count(open: Open) {
    let (plain, rolled) = (open().await, open().await);
    let plain_ids = write(&plain.store).await;
    let ids = write(&rolled.store).await;
    let now = t(4, 15, 0);
    rolled
        .store
        .refresh_stats_rollup(8 * 3600, now, 1000)
        .await
        .unwrap();
    let before = every_figure(&plain.store).await;
    assert_eq!(before, every_figure(&rolled.store).await);
    received::assert_received_only_matches(&plain.store, "tables").await;
    received::assert_received_only_matches(&rolled.store, "rolled up").await;

    for (store, ids) in [(&plain.store, &plain_ids), (&rolled.store, &ids)] {
        let mut tx = store.begin_decision().await.unwrap();
        let c = &ids["C"];
        tx.answer_deadline(c, t(3, 19, 2), "unit", "done")
            .await
            .unwrap();
        tx.append_transition(&transition(&ids["G"], "reopen", t(3, 28, 2), json!({})))
            .await
            .unwrap();
        tx.record_follow_up(&NewFollowUp {
            case_id: c.clone(),
            answer_id: None,
            queue_key: Some("personnel".into()),
            reached: true,
            contact: "phone".into(),
            note: None,
            solved: Some(true),
            verdict: Some("satisfied".into()),
            recorded_by: "centre".into(),
            recorded_at: format_utc(t(3, 22, 2)),
            reopened: false,
        })
        .await
        .unwrap();
        // A case's category, then a correction of it (per category: its clock, 回访 and
        // transitions move).
        for category in ["城乡建设", "交通运输"] {
            let route = CaseRoute {
                route_key: ids["A"].clone(),
                queue: "finance".into(),
                priority: "normal".into(),
                informed: Vec::new(),
                category: Some(category.into()),
                category_confident: true,
                tags: Vec::new(),
                rule: "test".into(),
                pinned: false,
                complaints: 1,
                created_at: format_utc(t(3, 2, 2)),
                updated_at: format_utc(t(3, 2, 2)),
            };
            tx.upsert_case_routes(&[&route]).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let after = every_figure(&plain.store).await;
    assert_ne!(after, before, "the writes changed figures");
    assert_eq!(
        after,
        every_figure(&rolled.store).await,
        "stale days read from the tables"
    );
    received::assert_received_only_matches(&rolled.store, "stale days").await;
    let pass = rolled
        .store
        .refresh_stats_rollup(8 * 3600, now, 1000)
        .await
        .unwrap();
    assert!(
        pass.days >= 1,
        "the changed days are counted again: {pass:?}"
    );
    assert_eq!(
        after,
        every_figure(&rolled.store).await,
        "and read from the rollup"
    );
    received::assert_received_only_matches(&rolled.store, "counted again").await;
    // Another local offset cuts other days: the rollup starts again, the figures stay.
    rolled
        .store
        .refresh_stats_rollup(0, now, 1000)
        .await
        .unwrap();
    assert_eq!(after, every_figure(&rolled.store).await);
}

async fn assert_hand_made_counts(store: &Store) {
    let all = store
        .stats_rows(&query(StatsGroup::All, StatsBucket::Whole))
        .await
        .unwrap();
    assert!(all.iter().all(|r| r.group.is_none() && r.bucket.is_none()));
    let n = |m: &str| count(&all, m, None, None);
    assert_eq!(n("received").0, 5, "A, B, C, D, G");
    assert_eq!(n("due"), (4, 2), "A, E on time; B late; C open");
    assert_eq!(n("accept"), (4, 3), "A, C, G in time; B late");
    assert_eq!(n("answered"), (3, 2), "A, E on time; B late");
    assert_eq!(n("attempts"), (4, 3));
    assert_eq!(n("solved"), (3, 1));
    assert_eq!(n("satisfied"), (3, 2));
    assert_eq!(n("returned").0, 1);
    assert_eq!(n("reopened").0, 1);
    assert_eq!(n("overdue").0, 2, "C and G on 15 April");

    let units = store
        .stats_rows(&query(StatsGroup::Unit, StatsBucket::Whole))
        .await
        .unwrap();
    let f = |m: &str| count(&units, m, Some("finance"), None);
    let p = |m: &str| count(&units, m, Some("personnel"), None);
    assert_eq!((f("received").0, p("received").0), (2, 3));
    assert_eq!((f("due"), p("due")), ((3, 2), (1, 0)));
    assert_eq!((f("accept"), p("accept")), ((2, 1), (2, 2)));
    assert_eq!((f("answered"), p("answered")), ((3, 2), (0, 0)));
    assert_eq!((f("solved"), f("satisfied")), ((3, 1), (3, 2)));
    assert_eq!((f("reopened").0, p("returned").0), (1, 1));
    assert_eq!((f("overdue").0, p("overdue").0), (0, 2));

    // By local day (UTC+8) and month: every deadline on its day, March for everything.
    let days = store
        .stats_rows(&query(StatsGroup::All, StatsBucket::Day))
        .await
        .unwrap();
    let due_days: Vec<(&str, i64, i64)> = days
        .iter()
        .filter(|r| r.measure == "due")
        .map(|r| (r.bucket.as_deref().unwrap(), r.total, r.hits))
        .collect::<Vec<_>>();
    let mut due_days = due_days;
    due_days.sort();
    assert_eq!(
        due_days,
        [
            ("2026-03-05", 1, 1),
            ("2026-03-10", 1, 1),
            ("2026-03-12", 1, 0),
            ("2026-03-20", 1, 0)
        ]
    );
    let weeks = store
        .stats_rows(&query(StatsGroup::All, StatsBucket::Week))
        .await
        .unwrap();
    // 2 March 2026 is a Monday: A and B were received that week, C and D the same week.
    assert_eq!(count(&weeks, "received", None, Some("2026-03-02")).0, 4);
    assert_eq!(count(&weeks, "received", None, Some("2026-03-23")).0, 1);
    let months = store
        .stats_rows(&query(StatsGroup::Unit, StatsBucket::Month))
        .await
        .unwrap();
    assert!(
        months
            .iter()
            .filter(|r| r.measure != "overdue")
            .all(|r| r.bucket.as_deref() == Some("2026-03")),
        "{months:?}"
    );
    assert_eq!(
        count(&months, "due", Some("finance"), Some("2026-03")),
        (3, 2)
    );
}

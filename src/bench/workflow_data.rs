//! `bench workflow`'s data: N cases spread over the routing file's queues, in every workflow
//! state, with their routes and both clocks, written through the store's own operations in
//! transactions of a few thousand cases. The cases carry no complaints: the case list reads
//! cases, their routes, states and deadlines only. Open deadlines are marked as notified, as if
//! the scheduler had kept up, so its first tick does not compete with the measured requests.

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::routing::RoutingConfig;
use crate::store::Store;
use crate::store::cases::CaseRow;
use crate::store::outbox::NewDeadline;
use crate::store::routes::CaseRoute;
use crate::store::workflow::CaseState;

/// Cases per transaction.
const BATCH: u64 = 2_000;

/// How the states are spread (per mille), as a centre's backlog might be.
const STATES: [(&str, u32); 10] = [
    ("new", 40),
    ("triaged", 30),
    ("assigned", 150),
    ("accepted", 150),
    ("investigating", 200),
    ("answered", 100),
    ("closed", 250),
    ("returned", 20),
    ("reopened", 20),
    ("merged", 40),
];

const PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];

fn pick_state(rng: &mut StdRng) -> &'static str {
    let mut roll = rng.random_range(0..1000u32);
    for (state, weight) in STATES {
        if roll < weight {
            return state;
        }
        roll -= weight;
    }
    "closed"
}

/// Writes `cases` cases into `store`, with a progress bar.
pub async fn generate(
    store: &Store,
    routing: &RoutingConfig,
    cases: u64,
    seed: u64,
) -> anyhow::Result<()> {
    let triage = routing.triage_queue().to_string();
    let units: Vec<String> = routing
        .queues
        .keys()
        .filter(|k| **k != triage)
        .cloned()
        .collect();
    let offset = FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    let start = Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let bar = crate::progress::progress_bar(Some(cases), "cases");
    let mut n = 0;
    while n < cases {
        let end = (n + BATCH).min(cases);
        let mut rows = Vec::new();
        let mut routes = Vec::new();
        let mut states = Vec::new();
        let mut deadlines = Vec::new();
        let mut accept = Vec::new();
        let mut answered = Vec::new();
        let mut open = Vec::new();
        for i in n..end {
            let id = format!("bench-case-{i:08}");
            let seen: DateTime<Utc> = start + Duration::minutes(rng.random_range(0..525_600));
            let state = pick_state(&mut rng);
            let queue = if matches!(state, "new" | "triaged" | "returned") {
                triage.clone()
            } else {
                units[rng.random_range(0..units.len())].clone()
            };
            let priority = PRIORITIES[rng.random_range(0..PRIORITIES.len())];
            let text = crate::store::format_utc(seen);
            rows.push(CaseRow {
                id: id.clone(),
                title: format!("测试案件 {i}"),
                complaints: rng.random_range(1..4),
                complainants: 1,
                channels: vec!["hotline".into()],
                first_seen: text.clone(),
                last_seen: text.clone(),
                last_seen_ms: seen.timestamp_millis(),
                public_support: 0,
                media_exposed: false,
            });
            routes.push(CaseRoute {
                route_key: id.clone(),
                queue: queue.clone(),
                priority: priority.into(),
                informed: Vec::new(),
                category: None,
                category_confident: false,
                tags: Vec::new(),
                rule: "bench".into(),
                pinned: false,
                complaints: 1,
                created_at: text.clone(),
                updated_at: text.clone(),
            });
            let assignee = matches!(state, "accepted" | "investigating" | "answered")
                .then(|| format!("inv-{queue}-{}", rng.random_range(0..5)));
            states.push(CaseState {
                case_id: id.clone(),
                state: state.into(),
                queue_key: Some(queue.clone()),
                assignee,
                merged_into: None,
                note: None,
                updated_at: text.clone(),
                updated_by: "bench".into(),
                version: 0,
            });
            let assigned = seen.with_timezone(&offset);
            let due = assigned + Duration::days(rng.random_range(1..16));
            let assignment = crate::notify::Assignment {
                case_id: id.clone(),
                complaint_id: id.clone(),
                queue_key: queue.clone(),
                queue_name: queue.clone(),
                members: Vec::new(),
                supervisor: format!("{queue}-lead@example.org"),
                informed: Vec::new(),
                priority: priority.into(),
                channel: "hotline".into(),
                title: Some(format!("测试案件 {i}")),
                assigned_at: assigned,
                target_unit: None,
                subject_units: Vec::new(),
                subject_queues: Vec::new(),
                complainant: None,
                text: String::new(),
                why: String::new(),
                triage: false,
            };
            deadlines.push(NewDeadline {
                case_id: id.clone(),
                complaint_id: id.clone(),
                queue_key: queue.clone(),
                queue_name: queue.clone(),
                priority: priority.into(),
                assigned_at: assigned,
                due_at: due,
                provisional_year: None,
                assignment: serde_json::to_string(&assignment).expect("an assignment serialises"),
            });
            accept.push((id.clone(), assigned + Duration::days(1)));
            if matches!(state, "answered" | "closed" | "merged") {
                answered.push((id, due.with_timezone(&Utc)));
            } else {
                open.push(id);
            }
        }
        let mut tx = store.begin_decision().await?;
        tx.upsert_cases(&rows).await?;
        tx.upsert_case_routes(&routes.iter().collect::<Vec<_>>())
            .await?;
        for state in &states {
            tx.put_case_state(state, None).await?;
        }
        tx.assign_deadlines(&deadlines).await?;
        tx.set_accept_due(&accept).await?;
        for (id, at) in &answered {
            tx.answer_deadline(id, *at, "bench", "").await?;
        }
        // Notices as if the scheduler had kept up: its first tick finds nothing to send, so
        // it does not compete with the measured requests.
        let now = Utc::now();
        for id in &open {
            tx.mark_reminded(id, now).await?;
            tx.record_overdue_notice(id, 1, now).await?;
            tx.mark_accept_overdue(id, now).await?;
        }
        tx.commit().await?;
        bar.inc(end - n);
        n = end;
    }
    bar.finish_and_clear();
    Ok(())
}

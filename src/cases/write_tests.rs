//! The incremental case refresh ([`super::join_members`]) against the full one
//! ([`super::refresh_cases`]): after every batch of joins the rows must be the same.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{MemberRow, join_members, refresh_cases};
use crate::grouping::{GroupingReason, MatchKind};
use crate::store::conformance::cases::fixtures::{at, complaints};
use crate::store::{CommitSettings, Store};

fn reason() -> GroupingReason {
    GroupingReason {
        kind: MatchKind::SameIssue,
        score: 0.5,
        matched_complaint_id: None,
        shared_places: Vec::new(),
        shared_terms: Vec::new(),
    }
}

#[tokio::test]
async fn joining_members_gives_the_rows_a_full_refresh_gives() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CommitSettings::default())
        .await
        .unwrap();
    let titles: Vec<Option<&str>> = (0..60)
        .map(|n| match n % 3 {
            0 => Some("标题"),
            1 => None,
            _ => Some(" "),
        })
        .collect();
    let c = complaints(&store, &titles).await;
    let mut rng = StdRng::seed_from_u64(29);
    let mut cases: Vec<String> = Vec::new();
    let mut next = 0;
    while next < c.len() {
        let size = rng.random_range(1..=8).min(c.len() - next);
        let mut members = Vec::new();
        for n in next..next + size {
            // Found a case, or join an earlier one (founded in this batch or before).
            let case_id = if cases.is_empty() || rng.random_bool(0.25) {
                cases.push(c[n].0.clone());
                c[n].0.clone()
            } else {
                cases[rng.random_range(0..cases.len())].clone()
            };
            let hours = rng.random_range(-48..48i64);
            members.push(MemberRow {
                complaint_id: c[n].0.clone(),
                case_id,
                seq: c[n].1,
                channel: ["hotline", "online", "petition"][rng.random_range(0..3)].to_string(),
                submitted_ms: (at(n) + chrono::Duration::hours(hours)).timestamp_millis(),
                complainant: rng
                    .random_bool(0.7)
                    .then(|| format!("person-{}", rng.random_range(0..4))),
                public_support: rng.random_range(0..5),
                media_exposed: rng.random_bool(0.1),
                reason: reason(),
                duplicate_of: None,
            });
        }
        next += size;
        let mut tx = store.begin_derived().await.unwrap();
        join_members(tx.as_mut(), members).await.unwrap();
        tx.commit().await.unwrap();
        // What a full refresh of every case would write instead (rolled back).
        let all: BTreeSet<String> = cases.iter().cloned().collect();
        let mut tx = store.begin_derived().await.unwrap();
        let mut joined = tx.case_rows(&all).await.unwrap();
        refresh_cases(tx.as_mut(), &all).await.unwrap();
        let mut refreshed = tx.case_rows(&all).await.unwrap();
        tx.rollback().await.unwrap();
        joined.sort_by(|a, b| a.id.cmp(&b.id));
        refreshed.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(joined.len(), cases.len(), "every case has its row");
        assert_eq!(joined, refreshed, "after complaint {next}");
    }
}

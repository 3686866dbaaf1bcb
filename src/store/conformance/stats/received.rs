//! Conformance: a query for `received` alone ([`StatsMeasures::ReceivedOnly`]) answers the
//! `received` rows of the same query for every measure — per grouping and series, whether the
//! days come from the tables, the rollup's days or its months — and no row of another measure.

use std::collections::BTreeMap;

use super::{BUCKETS, GROUPINGS, query};
use crate::store::Store;
use crate::store::stats::{StatsMeasures, StatsQuery, StatsRow};

/// `received` of `rows` per (group, bucket), the rows of one count added up.
fn received(rows: &[StatsRow]) -> BTreeMap<(Option<String>, Option<String>), i64> {
    let mut counts = BTreeMap::new();
    for row in rows.iter().filter(|r| r.measure == "received") {
        *counts
            .entry((row.group.clone(), row.bucket.clone()))
            .or_insert(0) += row.total;
    }
    counts
}

/// Every grouping and series of `store`: the received-only query's rows are `received` rows
/// only, and they add up to the full query's `received` counts.
pub(super) async fn assert_received_only_matches(store: &Store, when: &str) {
    for by in GROUPINGS {
        for bucket in BUCKETS {
            let full = query(by, bucket);
            let only = StatsQuery {
                measures: StatsMeasures::ReceivedOnly,
                ..full.clone()
            };
            let all_rows = store.stats_rows(&full).await.unwrap();
            let received_rows = store.stats_rows(&only).await.unwrap();
            assert!(
                received_rows.iter().all(|r| r.measure == "received"),
                "{when}, {by:?}/{bucket:?}: only received rows, not {received_rows:?}"
            );
            assert!(
                received_rows.iter().all(|r| r.hits == 0),
                "{when}, {by:?}/{bucket:?}: {received_rows:?}"
            );
            let expected = received(&all_rows);
            assert_eq!(
                received(&received_rows),
                expected,
                "{when}, {by:?}/{bucket:?}: the full query's received counts"
            );
            let n: i64 = expected.values().sum();
            assert_eq!(
                n, 5,
                "{when}, {by:?}/{bucket:?}: A, B, C, D, G were received"
            );
        }
    }
}

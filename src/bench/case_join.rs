//! `bench case-join`: the cost of one complaint joining a case, by the size of the case. The
//! grouping stage records each batch's new members and brings their cases' rows up to date
//! ([`crate::cases::write::join_members`], incremental); for comparison the same join is also
//! timed with the full re-aggregation of the case from all its members
//! ([`crate::cases::write::refresh_cases`], what a staff merge or split still does), rolled back.

use std::collections::BTreeSet;
use std::time::Instant;

use chrono::{Duration, Utc};
use clap::Args;
use connectors::item::ParseOptions;
use connectors::{Channel, Item};
use hdrhistogram::Histogram;

use crate::cases::write::{MemberRow, join_members, refresh_cases, upsert_members};
use crate::grouping::{GroupingReason, MatchKind};
use crate::store::{CommitSettings, NewComplaint, Store, WriteBatch, WriteOp, WriteOutcome};

#[derive(Debug, Args)]
pub struct CaseJoinArgs {
    /// Sizes of the cases joined (members before the first join).
    #[arg(long, value_delimiter = ',', default_values_t = vec![2, 800])]
    sizes: Vec<usize>,
    /// Joins timed per case size (each one complaint, one transaction).
    #[arg(long, default_value_t = 300)]
    joins: usize,
}

pub async fn run(args: CaseJoinArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.sizes.is_empty(), "--sizes needs at least one size");
    anyhow::ensure!(args.joins > 0, "--joins must be at least 1");
    let dir = std::env::temp_dir().join(format!("cg-bench-case-join-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let outcome = measure(&args, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(args: &CaseJoinArgs, dir: &std::path::Path) -> anyhow::Result<()> {
    let store = Store::open(dir, CommitSettings::default()).await?;
    let total: usize = args.sizes.iter().sum::<usize>() + args.sizes.len() * args.joins;
    println!(
        "bench case-join: cases of {:?} members, {} joins each ({total} complaints)",
        args.sizes, args.joins
    );
    let ids = store_complaints(&store, total).await?;
    let mut ids = ids.into_iter();
    let mut cases = Vec::new();
    for (n, &size) in args.sizes.iter().enumerate() {
        let founding: Vec<(String, i64)> = ids.by_ref().take(size).collect();
        let case_id = founding.first().map(|f| f.0.clone()).unwrap_or_default();
        let members = founding
            .iter()
            .enumerate()
            .map(|(k, c)| member_row(c, &case_id, n * 1_000_000 + k))
            .collect();
        let mut tx = store.begin_derived().await?;
        join_members(tx.as_mut(), members).await?;
        tx.commit().await?;
        let joiners: Vec<(String, i64)> = ids.by_ref().take(args.joins).collect();
        cases.push((size, case_id, joiners));
    }
    let new_histogram = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3);
    let mut incremental = cases
        .iter()
        .map(|_| new_histogram())
        .collect::<Result<Vec<_>, _>>()?;
    let mut full = cases
        .iter()
        .map(|_| new_histogram())
        .collect::<Result<Vec<_>, _>>()?;
    // Interleaved, so drift of the machine touches every size alike.
    for j in 0..args.joins {
        for (n, (_, case_id, joiners)) in cases.iter().enumerate() {
            let who = 10_000_000 + n * 100_000 + j;
            let row = member_row(&joiners[j], case_id, who);
            // The full re-aggregation of the same join, rolled back.
            let mut tx = store.begin_derived().await?;
            let started = Instant::now();
            upsert_members(tx.as_mut(), vec![row.clone()]).await?;
            refresh_cases(tx.as_mut(), &BTreeSet::from([case_id.clone()])).await?;
            full[n].record(started.elapsed().as_micros().max(1) as u64)?;
            tx.rollback().await?;
            // The incremental join, kept.
            let mut tx = store.begin_derived().await?;
            let started = Instant::now();
            join_members(tx.as_mut(), vec![row]).await?;
            incremental[n].record(started.elapsed().as_micros().max(1) as u64)?;
            tx.commit().await?;
        }
    }
    println!("one member joining a case (its transaction's work, commit excluded):");
    println!("  case size   incremental p50 / p99 ms   full re-aggregation p50 / p99 ms");
    for (n, (size, _, _)) in cases.iter().enumerate() {
        let (ip50, ip99, _) = super::percentiles_ms(&incremental[n]);
        let (fp50, fp99, _) = super::percentiles_ms(&full[n]);
        println!("  {size:>9}   {ip50:>8.3} / {ip99:<8.3}            {fp50:>8.3} / {fp99:.3}");
    }
    let p50 = |h: &Histogram<u64>| h.value_at_quantile(0.5) as f64;
    if let (Some(small), Some(large)) = (incremental.first(), incremental.last()) {
        println!(
            "incremental: the largest case's p50 is {:.2} × the smallest's (target ≤ 1.5)",
            p50(large) / p50(small)
        );
    }
    if let (Some(small), Some(large)) = (full.first(), full.last()) {
        println!(
            "full re-aggregation: the largest case's p50 is {:.2} × the smallest's",
            p50(large) / p50(small)
        );
    }
    Ok(())
}

/// Stores `count` complaints (a minute apart, a week ago onwards); their `(id, seq)`.
async fn store_complaints(store: &Store, count: usize) -> anyhow::Result<Vec<(String, i64)>> {
    let start = Utc::now() - Duration::days(7);
    let bar = crate::progress::progress_bar(Some(count as u64), "complaints");
    let mut stored = Vec::with_capacity(count);
    let mut n = 0;
    while n < count {
        let end = (n + 1_000).min(count);
        let ops = (n..end)
            .map(|k| {
                let at = start + Duration::minutes(k as i64);
                let value = serde_json::json!({
                    "external_id": format!("join-{k}"),
                    "title": format!("路灯不亮 {k}"),
                    "body": format!("第{k}号路口的路灯连续多日不亮，夜间出行不便。"),
                    "submitted_at": at.to_rfc3339(),
                });
                let item = Item::from_value(value, &ParseOptions::default())?;
                let raw = serde_json::to_vec(&item)?;
                let complaint = NewComplaint::new(
                    "bench",
                    Channel::Hotline,
                    item,
                    raw,
                    "application/json".into(),
                    at,
                    Duration::days(1),
                );
                Ok(WriteOp::Complaint(complaint))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let outcomes = store
            .submit(WriteBatch {
                ops,
                ..WriteBatch::default()
            })
            .await?;
        for outcome in outcomes {
            if let WriteOutcome::Created { id, seq } = outcome {
                stored.push((id, seq));
            }
        }
        bar.set_position(end as u64);
        n = end;
    }
    bar.finish_and_clear();
    anyhow::ensure!(stored.len() == count, "{} of {count} stored", stored.len());
    Ok(stored)
}

/// Complaint `(id, seq)` as a member of `case_id`, from complainant number `who` (each one
/// new to the case, so every join probes for it).
fn member_row((id, seq): &(String, i64), case_id: &str, who: usize) -> MemberRow {
    MemberRow {
        complaint_id: id.clone(),
        case_id: case_id.to_string(),
        seq: *seq,
        channel: "hotline".into(),
        submitted_ms: Utc::now().timestamp_millis(),
        complainant: Some(format!("person-{who}")),
        public_support: 1,
        media_exposed: false,
        reason: GroupingReason {
            kind: MatchKind::SameIssue,
            score: 0.5,
            matched_complaint_id: None,
            shared_places: Vec::new(),
            shared_terms: Vec::new(),
        },
        duplicate_of: None,
    }
}

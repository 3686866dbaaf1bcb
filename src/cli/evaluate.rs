//! `complaint-gateway evaluate grouping FILE --group-field group`: imports a labelled file into
//! a scratch data directory through the normal intake and pipeline, then scores the cases
//! against the labels (pairwise and B-cubed precision, recall, F1), so a centre can tune the
//! `[grouping]` thresholds on its own history. The scratch directory is removed afterwards.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use connectors::Channel;
use connectors::tabular::{ColumnMap, TableFormat, read_table};

use crate::config::Config;
use crate::grouping::evaluate::{GroupingMetrics, evaluate_grouping, gold_label};
use crate::intake::{Origin, ingest};
use crate::pipeline::{Pipeline, PipelineLock};
use crate::store::Store;

/// Source name of the scratch import.
const SOURCE: &str = "evaluate";

#[derive(Debug, Subcommand)]
pub enum EvaluateCommand {
    /// Score case grouping against a labelled file (JSON Lines, CSV or XLSX).
    Grouping(GroupingArgs),
}

#[derive(Debug, Args)]
pub struct GroupingArgs {
    /// The labelled file: canonical items with a gold group field (items without a group, or
    /// with group `0`, count as a group of their own).
    pub file: PathBuf,
    /// Field holding the gold group (kept in `meta` by intake).
    #[arg(long, default_value = "group")]
    pub group_field: String,
    /// File format (default: from the extension).
    #[arg(long)]
    pub format: Option<TableFormat>,
    /// Channel recorded for the items.
    #[arg(long, default_value = "online")]
    pub channel: Channel,
}

pub async fn run(config: &Config, command: EvaluateCommand) -> anyhow::Result<()> {
    match command {
        EvaluateCommand::Grouping(args) => grouping(config, args).await,
    }
}

async fn grouping(config: &Config, args: GroupingArgs) -> anyhow::Result<()> {
    let format = match args.format {
        Some(format) => format,
        None => TableFormat::from_path(&args.file.to_string_lossy()).ok_or_else(|| {
            anyhow::anyhow!("{}: pass --format jsonl|csv|xlsx", args.file.display())
        })?,
    };
    let bytes = std::fs::read(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let items = read_table(&bytes, format, &ColumnMap::new(), &config.parse_options())
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let mut gold: BTreeMap<String, Option<String>> = BTreeMap::new();
    for item in items.iter().filter_map(|raw| raw.parsed.as_ref().ok()) {
        gold.insert(
            item.external_id.clone(),
            gold_label(item.meta.get(&args.group_field)),
        );
    }
    if gold.is_empty() {
        anyhow::bail!("{}: no valid items", args.file.display());
    }
    let scratch = std::env::temp_dir().join(format!(
        "complaint-gateway-evaluate-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    ));
    let result = score_in(config, &scratch, items, &gold, args.channel).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let (metrics, predicted) = result?;
    print!("{}", report(&metrics, &gold, &predicted));
    Ok(())
}

async fn score_in(
    config: &Config,
    scratch: &std::path::Path,
    items: Vec<connectors::RawItem>,
    gold: &BTreeMap<String, Option<String>>,
    channel: Channel,
) -> anyhow::Result<(GroupingMetrics, BTreeMap<String, String>)> {
    let mut config = config.clone();
    config.data_dir = scratch.to_path_buf();
    let store = Store::open(&config.data_dir, crate::app::commit_settings(&config)).await?;
    let origin = Origin {
        source: SOURCE.to_string(),
        channel,
        historical: false,
    };
    ingest(&store, &origin, items, None).await?;
    let lock = PipelineLock::try_acquire(&config.data_dir)?
        .ok_or_else(|| anyhow::anyhow!("scratch pipeline is locked"))?;
    let started = std::time::Instant::now();
    let processed = Pipeline::standard_on(&config, &store)
        .await?
        .run_pending(&store, &lock, &mut |_| {})
        .await?;
    eprintln!(
        "grouped {processed} complaints in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let cases = crate::cases::read::cases_by_external_id(&store, SOURCE).await?;
    drop(lock);
    store.close().await;
    let mut predicted_labels = Vec::with_capacity(gold.len());
    let mut gold_labels = Vec::with_capacity(gold.len());
    let mut predicted = BTreeMap::new();
    for (external_id, label) in gold {
        let Some(case) = cases.get(external_id) else {
            continue;
        };
        predicted.insert(external_id.clone(), case.clone());
        predicted_labels.push(case.clone());
        gold_labels.push(label.clone());
    }
    Ok((
        evaluate_grouping(&predicted_labels, &gold_labels)?,
        predicted,
    ))
}

/// The printed report: sizes, pairwise and B-cubed scores, and how the largest gold groups
/// were split over cases.
pub fn report(
    metrics: &GroupingMetrics,
    gold: &BTreeMap<String, Option<String>>,
    predicted: &BTreeMap<String, String>,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "items {}  gold groups {}  predicted cases {}",
        metrics.items, metrics.gold_groups, metrics.predicted_groups
    );
    let _ = writeln!(
        out,
        "pairwise  precision {:.4}  recall {:.4}  F1 {:.4}  (correct {} of {} predicted pairs, {} gold pairs)",
        metrics.pairwise.precision,
        metrics.pairwise.recall,
        metrics.pairwise.f1,
        metrics.correct_pairs,
        metrics.predicted_pairs,
        metrics.gold_pairs
    );
    let _ = writeln!(
        out,
        "B-cubed   precision {:.4}  recall {:.4}  F1 {:.4}",
        metrics.bcubed.precision, metrics.bcubed.recall, metrics.bcubed.f1
    );
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (external_id, label) in gold {
        if let (Some(label), Some(case)) = (label, predicted.get(external_id)) {
            groups.entry(label).or_default().push(case);
        }
    }
    let mut sized: Vec<(&str, Vec<&str>)> = groups.into_iter().filter(|g| g.1.len() > 1).collect();
    sized.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    for (label, mut cases) in sized.into_iter().take(5) {
        let size = cases.len();
        cases.sort_unstable();
        cases.dedup();
        let _ = writeln!(
            out,
            "gold group {label}: {size} items in {} case(s)",
            cases.len()
        );
    }
    out
}

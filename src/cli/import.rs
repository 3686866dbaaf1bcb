//! `complaint-gateway import`: files through the same intake path as the webhook.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use connectors::Channel;
use connectors::tabular::{ColumnMap, TableFormat, read_table};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, validate_source_name};
use crate::intake::{IntakeCounts, Origin, ingest};
use crate::store::Store;

/// Items per transaction while importing.
const IMPORT_BATCH: usize = 1000;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Source name recorded with every item (unique ids are per source).
    #[arg(long)]
    pub source: String,
    /// Channel (default: the webhook source's channel of the same name, else `other`).
    #[arg(long)]
    pub channel: Option<Channel>,
    /// File format (default: from the extension; standard input defaults to jsonl).
    #[arg(long)]
    pub format: Option<TableFormat>,
}

pub async fn run(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    validate_source_name(&args.source).map_err(anyhow::Error::msg)?;
    let channel = args
        .channel
        .or_else(|| config.channel_of(&args.source))
        .unwrap_or(Channel::Other);
    let origin = Origin {
        source: args.source.clone(),
        channel,
    };
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let started = std::time::Instant::now();
    let bars = indicatif::MultiProgress::new();
    // The pipeline and the index follow the intake as it commits, rather than after it.
    let intake_finished = CancellationToken::new();
    let intake = async {
        let totals = import_files(config, &args, &origin, &store, &bars).await;
        intake_finished.cancel();
        (totals, started.elapsed())
    };
    let derive = super::index::derive_and_index(config, &store, &bars, &intake_finished);
    let ((totals, intake_time), notes) = tokio::join!(intake, derive);
    store.close().await;
    let totals = totals?;
    let elapsed = started.elapsed();
    let timing = if notes.by_gateway {
        String::new()
    } else {
        format!(
            " (intake {:.1}s, then pipeline and index {:.1}s)",
            intake_time.as_secs_f64(),
            (elapsed - intake_time).as_secs_f64()
        )
    };
    println!(
        "imported {} new, {} duplicates, {} revisions, {} dead-lettered in {:.1}s{timing}{}{}",
        totals.created,
        totals.duplicates,
        totals.revisions,
        totals.dead_lettered,
        elapsed.as_secs_f64(),
        notes.derived,
        notes.indexed,
    );
    Ok(())
}

/// Stores the items of every file, a transaction per [`IMPORT_BATCH`].
async fn import_files(
    config: &Config,
    args: &ImportArgs,
    origin: &Origin,
    store: &Store,
    bars: &indicatif::MultiProgress,
) -> anyhow::Result<IntakeCounts> {
    let mut totals = IntakeCounts::default();
    for path in &args.files {
        let display = path.display().to_string();
        let (bytes, format) = read_input(path, args.format)?;
        let items = tokio::task::spawn_blocking({
            let options = config.parse_options();
            move || read_table(&bytes, format, &ColumnMap::new(), &options)
        })
        .await?
        .map_err(|e| anyhow::anyhow!("{display}: {e}"))?;
        let bar = bars.add(super::progress_bar(Some(items.len() as u64), "importing"));
        let mut items = items.into_iter();
        loop {
            let chunk: Vec<_> = items.by_ref().take(IMPORT_BATCH).collect();
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len() as u64;
            let report = ingest(store, origin, chunk, None).await?;
            totals += report.counts();
            bar.inc(n);
        }
        bar.finish_and_clear();
    }
    Ok(totals)
}

fn read_input(
    path: &PathBuf,
    format: Option<TableFormat>,
) -> anyhow::Result<(Vec<u8>, TableFormat)> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        return Ok((bytes, format.unwrap_or(TableFormat::Jsonl)));
    }
    let format = match format {
        Some(f) => f,
        None => TableFormat::from_path(&path.to_string_lossy()).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: cannot tell the format from the extension; pass --format jsonl|csv|xlsx",
                path.display()
            )
        })?,
    };
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    Ok((bytes, format))
}

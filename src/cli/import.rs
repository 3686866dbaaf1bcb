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
    /// File format (default: from the extension; standard input defaults to jsonl). `jsonl`
    /// (alias `json`) reads JSON Lines, a JSON array of items, or pretty-printed items.
    #[arg(long)]
    pub format: Option<TableFormat>,
    /// Column mapping for CSV/XLSX files with their own headers: `HEADER=FIELD` (e.g.
    /// `来信人电话=complainant.phone`), or a TOML file whose `[columns]` table maps them, as a
    /// `file_drop` source's does (its connector file itself will do). Repeatable.
    #[arg(long = "map", value_name = "FILE|HEADER=FIELD")]
    pub map: Vec<String>,
    /// Load an archive that was already handled elsewhere: cases, categories and routes are
    /// recorded, but no deadline is set and no notice is sent, and the cases are `closed`.
    #[arg(long)]
    pub historical: bool,
}

/// How many refusal reasons a run that stored nothing prints.
const REASONS_SHOWN: usize = 5;

/// What the files of one run gave.
#[derive(Debug, Default)]
struct ImportTotals {
    counts: IntakeCounts,
    /// Dead letters whose bytes were already kept (counted in `counts`, stored once).
    already_kept: u64,
    /// The first refusals: file, record position and reason.
    first_reasons: Vec<String>,
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
        historical: args.historical,
    };
    let columns = column_map(&args.map)?;
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let started = std::time::Instant::now();
    let bars = indicatif::MultiProgress::new();
    // The pipeline and the index follow the intake as it commits, rather than after it.
    let intake_finished = CancellationToken::new();
    let intake = async {
        let totals = import_files(config, &args, &columns, &origin, &store, &bars).await;
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
    let ImportTotals {
        counts,
        already_kept,
        first_reasons,
    } = totals;
    let kept_note = if already_kept > 0 {
        format!(" ({already_kept} of them already kept from an earlier delivery)")
    } else {
        String::new()
    };
    let kind = if args.historical {
        " historical (no deadlines, no notices, cases closed):"
    } else {
        ""
    };
    println!(
        "imported{kind} {} new, {} duplicates, {} revisions, {} dead-lettered{kept_note} in {:.1}s{timing}{}{}",
        counts.created,
        counts.duplicates,
        counts.revisions,
        counts.dead_lettered,
        elapsed.as_secs_f64(),
        notes.derived,
        notes.indexed,
    );
    if !notes.stages.is_empty() {
        // Where the time went, for whoever sizes an archive load (seconds of each stage).
        println!("  {}", notes.stages);
    }
    if counts.created + counts.duplicates + counts.revisions == 0 {
        let mut message = String::from("nothing was stored");
        if first_reasons.is_empty() {
            message.push_str(": the input holds no record");
        } else {
            message.push_str("; the first reasons:");
            for reason in &first_reasons {
                message.push_str("\n  ");
                message.push_str(reason);
            }
            message.push_str(
                "\n(every refused record is kept: `complaint-gateway dead-letters list`)",
            );
        }
        anyhow::bail!(message);
    }
    Ok(())
}

/// Reads `--map` arguments into one column map.
fn column_map(specs: &[String]) -> anyhow::Result<ColumnMap> {
    let mut map = ColumnMap::new();
    for spec in specs {
        let path = std::path::Path::new(spec);
        if path.is_file() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--map {spec}: cannot read: {e}"))?;
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("--map {spec}: not a TOML mapping: {e}"))?;
            let columns = match table.get("columns") {
                Some(toml::Value::Table(columns)) => columns.clone(),
                Some(_) => anyhow::bail!("--map {spec}: `columns` must be a table"),
                None => table,
            };
            for (header, field) in columns {
                let toml::Value::String(field) = field else {
                    anyhow::bail!("--map {spec}: column `{header}` must map to a field name");
                };
                map.insert(header.trim().to_string(), field.trim().to_string());
            }
        } else if let Some((header, field)) = spec.split_once('=')
            && !header.trim().is_empty()
            && !field.trim().is_empty()
        {
            map.insert(header.trim().to_string(), field.trim().to_string());
        } else {
            anyhow::bail!(
                "--map {spec}: neither a mapping file nor HEADER=FIELD (e.g. 来信人电话=complainant.phone)"
            );
        }
    }
    Ok(map)
}

/// Stores the items of every file, a transaction per [`IMPORT_BATCH`].
async fn import_files(
    config: &Config,
    args: &ImportArgs,
    columns: &ColumnMap,
    origin: &Origin,
    store: &Store,
    bars: &indicatif::MultiProgress,
) -> anyhow::Result<ImportTotals> {
    let mut totals = ImportTotals::default();
    for path in &args.files {
        let display = path.display().to_string();
        let (bytes, format) = read_input(path, args.format)?;
        let items = tokio::task::spawn_blocking({
            let options = config.parse_options();
            let columns = columns.clone();
            move || read_table(&bytes, format, &columns, &options)
        })
        .await?
        .map_err(|e| anyhow::anyhow!("{display}: {e}"))?;
        let bar = bars.add(super::progress_bar(Some(items.len() as u64), "importing"));
        let mut items = items.into_iter();
        let mut position = 0;
        loop {
            let chunk: Vec<_> = items.by_ref().take(IMPORT_BATCH).collect();
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len();
            let report = ingest(store, origin, chunk, None).await?;
            totals.counts += report.counts();
            for rejected in &report.rejected {
                totals.already_kept += u64::from(rejected.already_kept);
                if totals.first_reasons.len() < REASONS_SHOWN {
                    totals.first_reasons.push(format!(
                        "{display}, record {}: {}",
                        position + rejected.index + 1,
                        rejected.error
                    ));
                }
            }
            position += n;
            bar.inc(n as u64);
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

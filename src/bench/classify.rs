//! `bench classify`: prediction throughput of the active model, per thread, on the messages of
//! a labelled (or any canonical-item) file. Every thread predicts the whole file `rounds` times.

use std::path::PathBuf;

use clap::Args;
use connectors::tabular::TableFormat;

use crate::classify::{BenchInput, BenchStats, bench_predict, load_labelled};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Messages to predict (JSON Lines, CSV or XLSX of canonical items with a label field).
    #[arg(long)]
    pub input: PathBuf,
    /// Field (column) holding the label (only read, so the file loads like a training file).
    #[arg(long, default_value = "label")]
    pub label_field: String,
    /// Model version (default: the active one).
    #[arg(long)]
    pub version: Option<u32>,
    /// Threads predicting at the same time.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Passes over the file per thread.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

pub async fn run(config: &Config, args: ClassifyArgs) -> anyhow::Result<()> {
    let store = crate::cli::classifier::model_store(&config.data_dir)?;
    let (version, model) = match args.version {
        Some(v) => (v, store.load(v)?),
        None => store.load_active()?.ok_or_else(|| {
            anyhow::anyhow!("no active model; run `classifier train --input FILE` first")
        })?,
    };
    let name = args.input.to_string_lossy();
    let format = TableFormat::from_path(&name).unwrap_or(TableFormat::Jsonl);
    let bytes = std::fs::read(&args.input)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.input.display()))?;
    let examples = load_labelled(&bytes, format, &args.label_field)?;
    let threads = args.threads.max(1);
    let rounds = args.rounds;
    println!(
        "model version {version}, {} message(s), {threads} thread(s), {rounds} round(s)",
        examples.len()
    );
    let raw: Vec<(Option<String>, String)> =
        examples.into_iter().map(|e| (e.title, e.body)).collect();
    // Normalisation (NFKC, Traditional to Simplified) is shared with intake, which does it
    // once per complaint for matching and search; the first pass measures the model alone
    // (feature extraction and scoring), the second what a caller starting from received text
    // pays, as the pipeline does today.
    let normalized: Vec<(Option<String>, String)> = raw
        .iter()
        .map(|(t, b)| {
            (
                t.as_deref().map(connectors::text::normalize),
                connectors::text::normalize(b),
            )
        })
        .collect();
    let model = std::sync::Arc::new(model);
    for (input, messages, what) in [
        (
            BenchInput::Normalized,
            normalized,
            "pre-normalised text (feature extraction and scoring)",
        ),
        (BenchInput::Raw, raw, "raw text, normalisation included"),
    ] {
        let model = model.clone();
        let stats: Vec<BenchStats> = tokio::task::spawn_blocking(move || {
            let messages: Vec<(Option<&str>, &str)> = messages
                .iter()
                .map(|(t, b)| (t.as_deref(), b.as_str()))
                .collect();
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| scope.spawn(|| bench_predict(&model, &messages, rounds, input)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("bench thread"))
                    .collect()
            })
        })
        .await?;
        println!("{what}:");
        for (i, s) in stats.iter().enumerate() {
            println!("  thread {i}: {s}");
        }
        let total: f64 = stats.iter().map(|s| s.per_second).sum();
        println!(
            "  total {total:.0} predictions/s, {:.0} per thread (target >= 20,000 per core)",
            total / threads as f64
        );
    }
    Ok(())
}

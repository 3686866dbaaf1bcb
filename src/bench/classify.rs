//! `bench classify`: prediction throughput of the active model, per thread, on the messages of
//! a labelled (or any canonical-item) file. Every thread predicts the whole file `rounds` times.
//!
//! Each thread runs the model over the texts (one core), timing each prediction, and reports
//! throughput and latency percentiles. A warm-up pass first loads the jieba dictionary and
//! warms caches, so the figure is the steady state a running gateway sees.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use connectors::tabular::TableFormat;
use serde::Serialize;

use crate::classify::{Model, ModelDirectory, PredictScratch, load_labelled};
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
    let models = ModelDirectory::open(crate::routing::model_dir(&config.data_dir))?;
    let (version, model) = match args.version {
        Some(v) => (v, models.load(v)?),
        None => models.load_active()?.ok_or_else(|| {
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

/// Throughput and latency of prediction on one thread.
#[derive(Debug, Clone, Serialize)]
pub struct BenchStats {
    /// Messages predicted in the measured pass.
    pub texts: usize,
    /// Mean length of the messages (title and body) in characters.
    pub mean_chars: f64,
    pub elapsed_secs: f64,
    pub per_second: f64,
    pub mean_micros: f64,
    pub p50_micros: f64,
    pub p99_micros: f64,
    pub max_micros: f64,
}

impl std::fmt::Display for BenchStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} texts (mean {:.0} chars) in {:.3} s on one thread: {:.0} predictions/s; \
             latency mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
            self.texts,
            self.mean_chars,
            self.elapsed_secs,
            self.per_second,
            self.mean_micros,
            self.p50_micros,
            self.p99_micros,
            self.max_micros
        )
    }
}

/// What the benchmark's messages are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchInput {
    /// Title and body as received: prediction includes normalisation (NFKC, 繁→简, …).
    Raw,
    /// Title and body already normalised with [`connectors::text::normalize`]: prediction is
    /// feature extraction and scoring only.
    Normalized,
}

/// Predicts every `(title, body)` message `rounds` times (at least once) after a warm-up.
pub fn bench_predict(
    model: &Model,
    messages: &[(Option<&str>, &str)],
    rounds: usize,
    input: BenchInput,
) -> BenchStats {
    let mut scratch = PredictScratch::default();
    let mut checksum = 0usize;
    let score = |title, body, scratch: &mut PredictScratch| match input {
        BenchInput::Raw => model.score_into(title, body, scratch),
        BenchInput::Normalized => model.score_normalized_into(title, body, scratch),
    };
    for &(title, body) in messages.iter().take(256) {
        checksum += score(title, body, &mut scratch);
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(messages.len() * rounds.max(1));
    let started = Instant::now();
    for _ in 0..rounds.max(1) {
        for &(title, body) in messages {
            let t = Instant::now();
            checksum += score(title, body, &mut scratch);
            latencies.push(t.elapsed());
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    latencies.sort_unstable();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .map_or(0.0, |&d| micros(d))
    };
    let n = latencies.len();
    BenchStats {
        texts: n,
        mean_chars: messages
            .iter()
            .map(|(title, body)| title.map_or(0, |t| t.chars().count()) + body.chars().count())
            .sum::<usize>() as f64
            / messages.len().max(1) as f64,
        elapsed_secs: elapsed,
        per_second: n as f64 / elapsed.max(f64::MIN_POSITIVE),
        mean_micros: elapsed * 1e6 / n.max(1) as f64,
        p50_micros: percentile(0.5),
        p99_micros: percentile(0.99),
        max_micros: latencies.last().map_or(0.0, |&d| micros(d)),
    }
}

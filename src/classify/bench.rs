//! Prediction throughput, for `complaint-gateway bench classify`.
//!
//! Runs the model over the texts on the calling thread (one core), timing each prediction, and
//! reports throughput and latency percentiles. A warm-up pass first loads the jieba dictionary
//! and warms caches, so the figure is the steady state a running gateway sees.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::model::{Model, PredictScratch};

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

//! Throughput and memory of incremental grouping on a synthetic stream
//! (`complaint-gateway bench grouping --docs N`).
//!
//! The stream comes from [`super::synthetic`]: N complaints spread over a year (at least 30
//! days), so at a million complaints the whole default window (365 days) is full and the
//! memory figure is the steady-state bound. Generation and feature extraction run on a helper
//! thread, assignment on the calling thread, as in `reprocess`. Memory is the process's
//! resident set (VmRSS / VmHWM from `/proc/self/status`, Linux only), so it includes jieba's
//! dictionary and the generator's buffers; the engine's own estimate is printed beside it.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jieba_rs::Jieba;

use super::synthetic;
use crate::grouping::evaluate::{GroupingMetrics, evaluate_grouping};
use crate::grouping::hash::{hash_str, seed};
use crate::grouping::{Engine, EngineStats, GroupingConfig, GroupingError, Pins};

/// Complaints per day of the synthetic stream: a million complaints span a year.
const COMPLAINTS_PER_DAY: usize = 2_740;
/// Complaints timed for the single-thread stage measurements.
const STAGE_SAMPLE: usize = 20_000;

/// What a bench run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Complaints assigned.
    pub complaints: usize,
    /// Days the stream spans.
    pub span_days: u32,
    /// Wall time of the pipelined run.
    pub elapsed: Duration,
    /// Complaints per second, wall clock, generation and extraction included (they run on the
    /// helper thread alongside assignment).
    pub complaints_per_sec: f64,
    /// Complaints per second of the assignment thread alone (wall time minus time spent
    /// waiting for features; includes the bench's own bookkeeping).
    pub assign_per_sec: f64,
    /// Complaints per second of feature extraction on one thread (a sample).
    pub extract_per_sec: f64,
    /// Complaints per second of the synthetic generator on one thread (a sample).
    pub generate_per_sec: f64,
    /// Resident set at the end, bytes (None off Linux).
    pub rss_bytes: Option<u64>,
    /// Peak resident set, bytes (None off Linux).
    pub peak_rss_bytes: Option<u64>,
    /// Resident set before the engine existed (jieba loaded), bytes.
    pub baseline_rss_bytes: Option<u64>,
    /// Process CPU time (user + system) spent in the pipelined run.
    pub cpu: Option<Duration>,
    /// One-minute load average at the start and at the end (other work on the machine).
    pub load_average: Option<(f64, f64)>,
    /// Engine state sizes at the end.
    pub stats: EngineStats,
    /// Cases created.
    pub cases: usize,
    /// Grouping quality against the generator's gold issues.
    pub quality: GroupingMetrics,
}

/// Runs the bench on `docs` synthetic complaints with the default config and writes progress
/// and the report to `out`.
pub fn bench(docs: usize, out: &mut impl Write) -> io::Result<BenchReport> {
    bench_with(docs, GroupingConfig::default(), out)
}

/// [`bench()`] with a given config.
pub fn bench_with(
    docs: usize,
    config: GroupingConfig,
    out: &mut impl Write,
) -> io::Result<BenchReport> {
    let span_days = (docs / COMPLAINTS_PER_DAY).max(30) as u32;
    let seed = 20_240_101;
    writeln!(
        out,
        "bench grouping: {docs} synthetic complaints over {span_days} days"
    )?;
    let loading = Instant::now();
    let jieba = Arc::new(Jieba::new());
    writeln!(
        out,
        "jieba loaded in {:.2} s",
        loading.elapsed().as_secs_f64()
    )?;
    let baseline_rss_bytes = memory().map(|m| m.0);

    // Single-thread stage rates on a sample, to say where the time goes.
    let sample = docs.min(STAGE_SAMPLE);
    let started = Instant::now();
    let sample_inputs: Vec<_> = synthetic::generate(sample, span_days, seed)
        .map(|c| c.input)
        .collect();
    let generate_per_sec = rate(sample, started.elapsed());
    let engine = Engine::new(config.clone(), jieba.clone(), Pins::new()).map_err(to_io)?;
    let started = Instant::now();
    for input in &sample_inputs {
        std::hint::black_box(engine.extractor().extract(input));
    }
    let extract_per_sec = rate(sample, started.elapsed());
    drop(sample_inputs);
    drop(engine);
    writeln!(
        out,
        "one thread: generate {generate_per_sec:.0}/s, extract features {extract_per_sec:.0}/s ({sample} complaints)"
    )?;

    let mut engine = Engine::new(config, jieba, Pins::new()).map_err(to_io)?;
    let mut gold: Vec<u64> = Vec::with_capacity(docs);
    // The gold issues leave the helper thread in stream order through a channel.
    let (gold_tx, gold_rx) = std::sync::mpsc::channel::<u64>();
    let stream = synthetic::generate(docs, span_days, seed).map(move |c| {
        let _ = gold_tx.send(c.issue);
        c.input
    });
    let mut predicted: Vec<u64> = Vec::with_capacity(docs);
    let mut cases = 0usize;
    let load_before = load_average();
    let cpu_before = cpu_time();
    let started = Instant::now();
    let step = (docs / 10).clamp(1, 100_000);
    let mut progress: Vec<String> = Vec::new();
    let waited = {
        engine.assign_stream(stream, |_, assignment| {
            if assignment.created_case {
                cases += 1;
            }
            predicted.push(hash_str(seed::COMPLAINT_ID, &assignment.case.0));
            let done = predicted.len();
            if done.is_multiple_of(step) || done == docs {
                let elapsed = started.elapsed();
                progress.push(format!(
                    "  {done:>9} complaints  {:>8.0}/s  rss {}",
                    rate(done, elapsed),
                    memory().map_or("n/a".to_string(), |m| megabytes(m.0))
                ));
            }
        })
    };
    let elapsed = started.elapsed();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let load_average = load_before.zip(load_average());
    let in_engine = elapsed.saturating_sub(waited);
    gold.extend(gold_rx.try_iter());
    for line in &progress {
        writeln!(out, "{line}")?;
    }
    let stats = engine.stats();
    let (rss_bytes, peak_rss_bytes) = match memory() {
        Some((rss, peak)) => (Some(rss), Some(peak)),
        None => (None, None),
    };
    let gold_labels: Vec<Option<u64>> = gold.iter().copied().map(Some).collect();
    let quality =
        evaluate_grouping(&predicted, &gold_labels).map_err(|e| io::Error::other(e.to_string()))?;
    let report = BenchReport {
        complaints: docs,
        span_days,
        elapsed,
        complaints_per_sec: rate(docs, elapsed),
        assign_per_sec: rate(docs, in_engine),
        extract_per_sec,
        generate_per_sec,
        rss_bytes,
        peak_rss_bytes,
        baseline_rss_bytes,
        cpu,
        load_average,
        stats,
        cases,
        quality,
    };
    write_report(&report, out)?;
    Ok(report)
}

fn write_report(r: &BenchReport, out: &mut impl Write) -> io::Result<()> {
    let mb = |b: Option<u64>| b.map_or("n/a".to_string(), megabytes);
    writeln!(
        out,
        "assigned {} complaints in {:.1} s: {:.0} complaints/s (pipelined); engine thread alone {:.0}/s",
        r.complaints,
        r.elapsed.as_secs_f64(),
        r.complaints_per_sec,
        r.assign_per_sec
    )?;
    if let Some(cpu) = r.cpu {
        writeln!(
            out,
            "cpu: {:.1} s for {:.1} s wall ({:.0} µs per complaint, {:.2} cores busy); load average {}",
            cpu.as_secs_f64(),
            r.elapsed.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / r.complaints as f64,
            cpu.as_secs_f64() / r.elapsed.as_secs_f64().max(1e-9),
            r.load_average
                .map_or("n/a".to_string(), |(a, b)| format!("{a:.2} → {b:.2}"))
        )?;
    }
    writeln!(
        out,
        "memory: rss {} (peak {}, {} before the engine); engine estimate {} for {} complaints in the window, {} cases, {} terms and place keys",
        mb(r.rss_bytes),
        mb(r.peak_rss_bytes),
        mb(r.baseline_rss_bytes),
        megabytes(r.stats.approx_heap_bytes as u64),
        r.stats.window_complaints,
        r.stats.live_cases,
        r.stats.vocabulary
    )?;
    let q = &r.quality;
    writeln!(
        out,
        "cases {}; against the generator's issues: B-cubed P {:.3} R {:.3} F1 {:.3}, pairwise P {:.3} R {:.3} F1 {:.3}",
        r.cases,
        q.bcubed.precision,
        q.bcubed.recall,
        q.bcubed.f1,
        q.pairwise.precision,
        q.pairwise.recall,
        q.pairwise.f1
    )
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1_048_576.0)
}

fn to_io(err: GroupingError) -> io::Error {
    io::Error::other(err.to_string())
}

/// User plus system CPU time of this process, from `/proc/self/stat` (clock ticks of 1/100 s,
/// the Linux default).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is parenthesised and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// One-minute load average, from `/proc/loadavg`.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// (VmRSS, VmHWM) in bytes, from `/proc/self/status`.
fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_bench_reports_consistent_figures() {
        let mut out = Vec::new();
        let report = bench(800, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(report.complaints, 800);
        assert_eq!(report.quality.items, 800);
        assert_eq!(report.stats.complaints_seen, 800);
        assert!(report.cases > 0 && report.cases < 800);
        assert!(report.complaints_per_sec > 0.0);
        assert!(text.contains("complaints/s"), "{text}");
        if cfg!(target_os = "linux") {
            assert!(report.peak_rss_bytes.unwrap() >= report.rss_bytes.unwrap());
        }
    }
}

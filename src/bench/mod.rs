//! Benchmarks as subcommands, so operators run them on their own hardware:
//! - `bench intake`: durable webhook intake vs. a no-op handler under the same load.
//! - `bench search`: query latency over a generated corpus of N complaints.
//! - `bench classify`: predictions per second per thread of the active classifier.
//! - `bench grouping`: incremental grouping throughput and memory over N synthetic complaints.
//! - `bench case-join`: the cost of one complaint joining a case of 2 and of 800 members.
//! - `bench console`: every console page type, signed in as the role that uses it.
//! - `bench corpus`: generated complaints as JSON Lines, e.g. to time `import`; with
//!   `--realistic --from FILE…`, complaints recombined from real texts of real length.
//! - `bench soak`: a steady mixed load for N minutes; memory, descriptors, WAL, lags and
//!   latencies per minute, and whether they stay bounded.
//!
//! The generators behind them: [`corpus`] (search and import corpora) and [`synthetic`] (a
//! labelled complaint stream with known issues, for `bench grouping` and the grouping tests).
//!
//! Figures are printed, never asserted: timings do not gate tests.

mod case_join;
mod child_process;
mod classify;
mod console;
mod console_data;
pub mod corpus;
pub mod grouping;
mod in_process;
mod intake;
mod realistic;
mod search;
mod soak;
pub mod synthetic;
mod workflow;
mod workflow_data;

use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Signed webhook load from concurrent loopback clients: items/s and ack latency, durable
    /// vs. a no-op handler.
    Intake(intake::IntakeArgs),
    /// Query latency p50/p99 over a generated corpus, and memory.
    Search(search::SearchArgs),
    /// The cost of one complaint joining a case, by the case's size (incremental refresh vs.
    /// the full re-aggregation of the case).
    CaseJoin(case_join::CaseJoinArgs),
    /// Predictions per second of the active classifier, per thread.
    Classify(classify::ClassifyArgs),
    /// Incremental grouping of N synthetic complaints (arrival order, one engine): complaints/s,
    /// engine state and memory, and the grouping quality against the generator's issues.
    Grouping {
        /// Number of complaints.
        #[arg(long, default_value_t = 100_000)]
        docs: usize,
    },
    /// A steady mixed load (signed pushes with re-deliveries, revisions and bad requests; the
    /// four pull sources; searches; staff decisions) for N minutes: memory, descriptors, WAL,
    /// index and pipeline lag and latencies per minute, and whether they stay bounded.
    Soak(soak::SoakArgs),
    /// A unit's case lists (by deadline, accepted by deadline, overdue) over N cases in every
    /// workflow state, through the HTTP API on loopback: p50/p99 per list.
    Workflow(workflow::WorkflowArgs),
    /// Every console page type over N imported complaints, signed in through the login form
    /// as the role that uses it: p50/p99/max per page type against the target (p99 ≤ 50 ms).
    Console(console::ConsoleArgs),
    /// Write N generated complaints as JSON Lines (canonical items), e.g. to time `import`.
    Corpus {
        /// Number of complaints.
        #[arg(long, default_value_t = 100_000)]
        docs: u64,
        /// Generator seed.
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        /// Output file.
        #[arg(long, short)]
        output: std::path::PathBuf,
        /// Build the complaints from real texts (`--from`) instead of the generator's
        /// templates: real lengths and wording, recombined so every complaint is distinct.
        #[arg(long, requires = "from")]
        realistic: bool,
        /// JSON Lines files of canonical items (`title`, `body`) to build a realistic corpus
        /// from; repeat for several.
        #[arg(long, requires = "realistic")]
        from: Vec<std::path::PathBuf>,
    },
}

pub async fn run(config: &Config, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Grouping { docs } => {
            let engine_config = config.grouping.engine.clone();
            tokio::task::spawn_blocking(move || {
                let mut out = std::io::stdout().lock();
                grouping::bench_with(docs, engine_config, &mut out)
            })
            .await??;
            Ok(())
        }
        BenchCommand::Intake(args) => intake::run(args).await,
        BenchCommand::Search(args) => search::run(args).await,
        BenchCommand::Soak(args) => soak::run(args).await,
        BenchCommand::Workflow(args) => workflow::run(args).await,
        BenchCommand::Console(args) => console::run(args).await,
        BenchCommand::Classify(args) => classify::run(config, args).await,
        BenchCommand::CaseJoin(args) => case_join::run(args).await,
        BenchCommand::Corpus {
            docs,
            seed,
            output,
            realistic: true,
            from,
        } => {
            let bytes = realistic::write(docs, seed, &from, &output)?;
            println!(
                "wrote {docs} complaints built from {} file(s) to {} ({:.1} MB, {} bytes a complaint)",
                from.len(),
                output.display(),
                bytes as f64 / 1e6,
                bytes / docs.max(1)
            );
            Ok(())
        }
        BenchCommand::Corpus {
            docs, seed, output, ..
        } => write_corpus(docs, seed, &output),
    }
}

fn write_corpus(docs: u64, seed: u64, output: &std::path::Path) -> anyhow::Result<()> {
    write_corpus_part(seed, 0..docs, None, output)?;
    println!("wrote {docs} generated complaints to {}", output.display());
    Ok(())
}

/// Writes the complaints `range` of the generator's stream (seeded by `seed`) as JSON Lines.
/// With `redate = Some((now, days))` each one's `submitted_at` is moved into the `days` days
/// before `now` (spread evenly in arrival order), as complaints arriving live would be.
fn write_corpus_part(
    seed: u64,
    range: std::ops::Range<u64>,
    redate: Option<(chrono::DateTime<chrono::Utc>, u64)>,
    output: &std::path::Path,
) -> anyhow::Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(output)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", output.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut generator = corpus::CorpusGenerator::new(seed);
    let count = range.end.saturating_sub(range.start).max(1);
    for n in 0..range.end {
        let row = generator.index_row(n as i64 + 1);
        if n < range.start {
            continue;
        }
        let submitted_at = match redate {
            Some((now, days)) => {
                let span = chrono::Duration::days(days as i64);
                let step = span / count as i32;
                let at = now - span + step * (n - range.start) as i32;
                at.with_timezone(row.submitted_at.offset()).to_rfc3339()
            }
            None => row.submitted_at.to_rfc3339(),
        };
        let item = serde_json::json!({
            "external_id": format!("gen-{seed}-{n}"),
            "title": row.title,
            "body": row.body,
            "submitted_at": submitted_at,
            "meta": {"generated_channel": row.channel},
        });
        serde_json::to_writer(&mut out, &item)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// A bench's data directory and configuration: `given`, or a new temporary directory (the
/// second value says so: the caller removes it afterwards), with the bench configuration
/// (the embedded default routing, no API tokens, the data under `data/`).
fn bench_dir(
    given: Option<&std::path::Path>,
    name: &str,
) -> anyhow::Result<(std::path::PathBuf, bool, Config)> {
    let (dir, temporary) = match given {
        Some(dir) => (dir.to_path_buf(), false),
        None => (
            std::env::temp_dir().join(format!("cg-bench-{name}-{}", uuid::Uuid::now_v7())),
            true,
        ),
    };
    std::fs::create_dir_all(dir.join("connectors"))?;
    let text = format!(
        "data_dir = \"{data}\"\n[api]\ntoken_envs = []\n\
         [sources]\nconnectors_dir = \"{connectors}\"\n\
         [routing]\nfile = \"{routing}\"\n",
        data = dir.join("data").display(),
        connectors = dir.join("connectors").display(),
        // No file there: the embedded default routing.
        routing = dir.join("routing.toml").display(),
    );
    let config = Config::from_toml(&text, &format!("bench {name}"))?;
    Ok((dir, temporary, config))
}

/// The value of an unlabelled metric in Prometheus text, 0 when absent.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Resident and peak memory of this process, in MiB, from /proc (Linux).
pub fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time (user + system, all threads) this process has used so far, in seconds.
pub fn process_cpu_secs() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return 0.0;
        }
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Latency percentiles of a histogram in microseconds, as milliseconds.
pub fn percentiles_ms(h: &hdrhistogram::Histogram<u64>) -> (f64, f64, f64) {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    (ms(0.5), ms(0.99), h.max() as f64 / 1000.0)
}

/// Median of a few figures.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

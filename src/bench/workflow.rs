//! `bench workflow --cases N`: N cases in every workflow state with their routes and both
//! clocks ([`super::workflow_data`]), a gateway serving them on loopback, and one client
//! asking for a unit's case list the way its console does: by deadline, the accepted ones by
//! deadline, the overdue ones. Prints p50/p99/max per kind of list and run, and the median of
//! the runs' p99 against the target (≤ 50 ms for a queue's list by deadline). Then a
//! supervisor asks for the statistics of the data's year (`GET /v1/stats`, per unit, and per
//! unit by month): printed, not asserted.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use hdrhistogram::Histogram;

/// The target of the issue: a unit's queue by deadline, p99, one client, warm.
const TARGET_P99_MS: f64 = 50.0;

#[derive(Debug, Args)]
pub struct WorkflowArgs {
    /// Cases in the store.
    #[arg(long, default_value_t = 100_000)]
    pub cases: u64,
    /// Requests per kind of list and run.
    #[arg(long, default_value_t = 300)]
    pub queries: usize,
    /// Runs; the median of their p99 is the figure.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Keep the data here and reuse it when it holds `--cases` cases already (writing
    /// 1,000,000 takes minutes). Default: a temporary directory, removed afterwards.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Generator seed.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
}

/// The lists asked for, by name and query (`{q}`: the queue).
const KINDS: [(&str, &str); 3] = [
    ("queue by deadline", "queue={q}&sort=deadline&limit=50"),
    (
        "accepted by deadline",
        "queue={q}&state=accepted&sort=deadline&limit=50",
    ),
    ("overdue, recent first", "queue={q}&overdue=true&limit=50"),
];

/// The statistics asked for: the year the data spans (see `workflow_data`).
const STATS: [(&str, &str); 2] = [
    (
        "stats, year by unit",
        "from=2025-12-01&to=2026-11-30&by=unit",
    ),
    (
        "stats, year by unit, by month",
        "from=2025-12-01&to=2026-11-30&by=unit&series=month",
    ),
];

pub async fn run(args: WorkflowArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    anyhow::ensure!(
        args.runs >= 1 && args.queries >= 1,
        "--runs and --queries are at least 1"
    );
    let (dir, temporary, config) = super::bench_dir(args.data_dir.as_deref(), "workflow")?;
    let routing = config.routing.load()?;
    let marker = dir.join("bench-workflow-cases");
    let have: Option<u64> = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|t| t.trim().parse().ok());
    if have != Some(args.cases) {
        anyhow::ensure!(
            have.is_none(),
            "{} holds {} cases of an earlier run; use another --data-dir",
            dir.display(),
            have.unwrap_or(0)
        );
        let store =
            crate::store::Store::open(&config.data_dir, crate::app::commit_settings(&config))
                .await?;
        let started = Instant::now();
        super::workflow_data::generate(&store, &routing, args.cases, args.seed).await?;
        store.close().await;
        std::fs::write(&marker, args.cases.to_string())?;
        println!(
            "wrote {} cases in {:.1} s",
            args.cases,
            started.elapsed().as_secs_f64()
        );
    }
    // The statistics' rollup, as a running gateway keeps it (counted once, then kept).
    {
        let store =
            crate::store::Store::open(&config.data_dir, crate::app::commit_settings(&config))
                .await?;
        let started = Instant::now();
        let offset = config.parse_options().default_offset.local_minus_utc();
        let days = crate::stats::rollup::refresh_all(&store, offset).await?;
        store.close().await;
        if days > 0 {
            println!(
                "counted the statistics' daily rollup: {days} days in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let triage = routing.triage_queue().to_string();
    let queues: Vec<String> = routing
        .queues
        .keys()
        .filter(|k| **k != triage)
        .cloned()
        .collect();
    // Each unit's list is asked for by one of its investigators (their reach and masking
    // apply, as at the console).
    let tokens = investigator_tokens(&config, &queues).await?;
    let supervisor = supervisor_token(&config).await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let gateway =
        super::in_process::Gateway::start(config, &client, Duration::from_secs(300)).await?;
    let base = gateway.base.clone();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "bench workflow: {} cases over {} unit queues, {} requests per list and run, {} runs, \
         one client on loopback (each queue's investigator, with a token), {cpus} CPU(s)",
        args.cases,
        queues.len(),
        args.queries,
        args.runs
    );
    let url = |kind: usize, n: usize| {
        let q = n % queues.len();
        let query = KINDS[kind].1.replace("{q}", &queues[q]);
        (format!("{base}/v1/cases?{query}"), tokens[q].as_str())
    };
    // Warm: every list of every queue once.
    for kind in 0..KINDS.len() {
        for n in 0..queues.len() {
            let (url, token) = url(kind, n);
            fetch(&client, &url, token).await?;
        }
    }
    let mut p99s: Vec<Vec<f64>> = vec![Vec::new(); KINDS.len()];
    for run in 1..=args.runs {
        for (kind, (name, _)) in KINDS.iter().enumerate() {
            let mut hist = Histogram::<u64>::new(3)?;
            let mut rows = 0usize;
            for n in 0..args.queries {
                let (url, token) = url(kind, n);
                let started = Instant::now();
                rows += fetch(&client, &url, token).await?;
                hist.record(started.elapsed().as_micros() as u64)?;
            }
            let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
            println!(
                "  run {run}: {name:<22} p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  ({:.0} cases a page)",
                ms(0.5),
                ms(0.99),
                hist.max() as f64 / 1000.0,
                rows as f64 / args.queries as f64
            );
            p99s[kind].push(ms(0.99));
        }
    }
    for (kind, (name, _)) in KINDS.iter().enumerate() {
        let mut runs = p99s[kind].clone();
        runs.sort_by(f64::total_cmp);
        let median = runs[runs.len() / 2];
        let target = if kind == 0 {
            format!(
                " (target ≤ {TARGET_P99_MS:.0} ms: {})",
                if median <= TARGET_P99_MS {
                    "met"
                } else {
                    "NOT met"
                }
            )
        } else {
            String::new()
        };
        println!("median p99 {name}: {median:.1} ms{target}");
    }
    // The statistics of the year, as a supervisor asks for them.
    for (name, query) in STATS {
        let url = format!("{base}/v1/stats?{query}");
        fetch_stats(&client, &url, &supervisor).await?;
        let mut runs = Vec::new();
        for run in 1..=args.runs {
            let mut hist = Histogram::<u64>::new(3)?;
            for _ in 0..args.queries.min(100) {
                let started = Instant::now();
                fetch_stats(&client, &url, &supervisor).await?;
                hist.record(started.elapsed().as_micros() as u64)?;
            }
            let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
            println!(
                "  run {run}: {name:<30} p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms",
                ms(0.5),
                ms(0.99),
                hist.max() as f64 / 1000.0
            );
            runs.push(ms(0.99));
        }
        runs.sort_by(f64::total_cmp);
        println!(
            "median p99 {name}: {:.1} ms (target ≤ {TARGET_P99_MS:.0} ms, not asserted)",
            runs[runs.len() / 2]
        );
    }
    gateway.stop().await;
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// An investigator of each queue (created once), and a token of theirs, in `queues`' order.
async fn investigator_tokens(
    config: &crate::config::Config,
    queues: &[String],
) -> anyhow::Result<Vec<String>> {
    use crate::people::accounts::{Membership, UserSpec, add_user, create_token};
    let store =
        crate::store::Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let actor = crate::people::Actor::LocalOperator(Some("bench".into()));
    let mut tokens = Vec::new();
    for queue in queues {
        let name = format!("bench-{queue}");
        if store.user(&name).await?.is_none() {
            let spec = UserSpec {
                name: name.clone(),
                display_name: None,
                email: None,
                password: None,
                membership: Membership {
                    roles: vec![crate::people::Role::Investigator],
                    queues: vec![crate::store::people::QueueMembership {
                        queue: queue.clone(),
                        lead: false,
                    }],
                },
            };
            add_user(&store, &actor, spec, &|_| true).await?;
        }
        tokens.push(
            create_token(&store, &actor, &name, "bench", None)
                .await?
                .text,
        );
    }
    store.close().await;
    Ok(tokens)
}

/// A supervisor (created once) and a token of theirs.
async fn supervisor_token(config: &crate::config::Config) -> anyhow::Result<String> {
    use crate::people::accounts::{Membership, UserSpec, add_user, create_token};
    let store =
        crate::store::Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let actor = crate::people::Actor::LocalOperator(Some("bench".into()));
    let name = "bench-supervisor";
    if store.user(name).await?.is_none() {
        let spec = UserSpec {
            name: name.into(),
            display_name: None,
            email: None,
            password: None,
            membership: Membership {
                roles: vec![crate::people::Role::Supervisor],
                queues: Vec::new(),
            },
        };
        add_user(&store, &actor, spec, &|_| true).await?;
    }
    let token = create_token(&store, &actor, name, "bench", None)
        .await?
        .text;
    store.close().await;
    Ok(token)
}

/// One statistics answer (an error when not 200).
async fn fetch_stats(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<()> {
    let response = client.get(url).bearer_auth(token).send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let report: serde_json::Value = response.json().await?;
    anyhow::ensure!(report["total"].is_object(), "{url}: no total");
    Ok(())
}

/// One list: its number of cases (an error when not 200).
async fn fetch(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<usize> {
    let response = client.get(url).bearer_auth(token).send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let cases: Vec<serde_json::Value> = response.json().await?;
    Ok(cases.len())
}

//! `bench intake`: the same signed webhook load against the real, durable gateway and against
//! a no-op handler (read the body, answer 202) on the same HTTP stack, in one run.
//!
//! A third phase, the parse-only handler, does the gateway's work before the store (signature
//! check, body split, parsing, normalisation, hashing, the answer) and stores nothing: durable /
//! no-op is the figure, durable / parse-only is what the store and its fsync cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use clap::Args;
use hdrhistogram::Histogram;
use tokio::sync::Mutex;

use super::metric;
use crate::api::webhook::WebhookAnswer;
use crate::config::Config;
use crate::intake::{Accepted, Origin, prepare};
use crate::store::WriteOp;
use crate::webhook::auth::{SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, sign};
use crate::webhook::split_request;

const SECRET: &str = "bench-secret";

#[derive(Debug, Args)]
pub struct IntakeArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Items per request (1 = one webhook call per complaint).
    #[arg(long, default_value_t = 1)]
    pub items_per_request: usize,
    /// Seconds of load per phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Runs (each: no-op phase, then durable phase); the median ratio is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The gateway's `[intake] commit_linger_us` for the durable phase (default: the config's).
    #[arg(long)]
    pub linger_us: Option<u64>,
}

struct Phase {
    items_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// CPU time of the whole process (load generator and server) per item, in microseconds.
    cpu_us_per_item: f64,
}

pub async fn run(args: IntakeArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    println!(
        "bench intake: {} clients, {} item(s)/request, {} s per phase, {} run(s), {} CPU(s)",
        args.clients,
        args.items_per_request,
        args.seconds,
        args.runs,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let mut ratios = Vec::new();
    let mut store_ratios = Vec::new();
    let mut durable_rates = Vec::new();
    for run in 1..=args.runs {
        let noop = noop_phase(&args).await?;
        print_phase(run, "no-op handler", &noop);
        let parse_only = parse_only_phase(&args).await?;
        print_phase(run, "parse-only", &parse_only);
        let durable = durable_phase(&args, run).await?;
        let ratio = durable.items_per_sec / noop.items_per_sec;
        let store_ratio = durable.items_per_sec / parse_only.items_per_sec;
        println!(
            "run {run}: durable / no-op = {ratio:.2}, durable / parse-only = {store_ratio:.2}"
        );
        ratios.push(ratio);
        store_ratios.push(store_ratio);
        durable_rates.push(durable.items_per_sec);
    }
    println!(
        "median of {} runs: durable {:.0} items/s, durable / no-op {:.2} (target >= 0.5), durable / parse-only {:.2}",
        args.runs,
        super::median(&mut durable_rates),
        super::median(&mut ratios),
        super::median(&mut store_ratios)
    );
    Ok(())
}

fn print_phase(run: usize, name: &str, p: &Phase) {
    println!(
        "run {run}: {name:<15} {:>8.0} items/s   ack latency p50 {:.2} ms  p99 {:.2} ms  max {:.1} ms   CPU {:.0} us/item",
        p.items_per_sec, p.p50_ms, p.p99_ms, p.max_ms, p.cpu_us_per_item
    );
}

async fn noop_phase(args: &IntakeArgs) -> anyhow::Result<Phase> {
    let router = Router::new().route(
        "/v1/webhooks/{source}",
        post(|body: axum::body::Bytes| async move {
            let _ = body.len();
            (
                axum::http::StatusCode::ACCEPTED,
                "{\"accepted\":[],\"rejected\":[]}",
            )
        }),
    );
    serve_under_load(args, router, "noop").await
}

/// What the parse-only handler needs: the gateway's verifier, configuration and origin.
struct ParseOnly {
    verifier: Verifier,
    config: Config,
    origin: Origin,
}

async fn parse_only_phase(args: &IntakeArgs) -> anyhow::Result<Phase> {
    let state = Arc::new(ParseOnly {
        verifier: Verifier::new(vec![SECRET.as_bytes().to_vec()], 300),
        config: Config::from_toml("", "bench")?,
        origin: Origin {
            source: "bench".into(),
            channel: connectors::Channel::Online,
            historical: false,
        },
    });
    let router = Router::new()
        .route("/v1/webhooks/{source}", post(parse_only))
        .with_state(state);
    serve_under_load(args, router, "parse").await
}

/// Serves `router` on a loopback port for the length of one load phase.
async fn serve_under_load(args: &IntakeArgs, router: Router, tag: &str) -> anyhow::Result<Phase> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let phase = load(args, &base, tag).await;
    server.abort();
    phase
}

/// The webhook handler's work up to the store, answered with fresh ids and nothing stored.
async fn parse_only(
    axum::extract::State(state): axum::extract::State<Arc<ParseOnly>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    let verified = state.verifier.verify(
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        now,
    );
    if verified.is_err() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let split = split_request(&body, header("content-type"), &state.config);
    let Ok(items) = split else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let accepted = prepare(&state.origin, items, state.config.future_tolerance())
        .into_iter()
        .enumerate()
        .filter_map(|(index, op)| match op {
            WriteOp::Complaint(c) => Some(Accepted {
                index,
                external_id: c.item.external_id,
                id: uuid::Uuid::now_v7().to_string(),
                duplicate: false,
                revision: None,
            }),
            WriteOp::DeadLetter(_) => None,
        })
        .collect();
    let answer = WebhookAnswer {
        accepted,
        rejected: Vec::new(),
    };
    (StatusCode::ACCEPTED, axum::Json(answer)).into_response()
}

async fn durable_phase(args: &IntakeArgs, run: usize) -> anyhow::Result<Phase> {
    let dir = tempfile_dir()?;
    std::fs::write(dir.join("secret"), SECRET)?;
    let intake = args
        .linger_us
        .map(|us| format!("[intake]\ncommit_linger_us = {us}\n"))
        .unwrap_or_default();
    let text = format!(
        "data_dir = \"{}\"\n{intake}[api]\ntoken_envs = []\n[sources]\nconnectors_dir = \"{}\"\n[webhooks.bench]\nchannel = \"online\"\nsecret_files = [\"{}\"]\nrate_limit_per_sec = 1000000\nrate_limit_burst = 1000000\n",
        dir.join("data").display(),
        // No pull sources: the benchmark measures webhook intake alone.
        dir.join("no-connectors").display(),
        dir.join("secret").display()
    );
    let config = Config::from_toml(&text, "bench")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::app::run(config, listener, async move {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = commit_totals(&client, &base).await;
    let phase = load(args, &base, &format!("run{run}")).await?;
    print_phase(run, "durable intake", &phase);
    let after = commit_totals(&client, &base).await;
    let commits = after.0 - before.0;
    if commits > 0.0 {
        println!(
            "  {:.0} commits: {:.1} items and {:.1} ms per commit on average",
            commits,
            (after.1 - before.1) / commits,
            (after.2 - before.2) / commits * 1000.0
        );
    }
    caught_up(&client, &base).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(phase)
}

/// Under the load, search indexing and the pipeline yield to intake; prints how long after the
/// load they had caught up with the store.
async fn caught_up(client: &reqwest::Client, base: &str) {
    let stopped = Instant::now();
    let mut first: Option<(f64, f64)> = None;
    while stopped.elapsed() < Duration::from_secs(600) {
        let text = match client.get(format!("{base}/metrics")).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let lag = |name: &str| metric(&text, name);
        let (index, pipeline) = (lag("gateway_index_lag"), lag("gateway_pipeline_lag"));
        first.get_or_insert((index, pipeline));
        if index == 0.0 && pipeline == 0.0 {
            let (index, pipeline) = first.unwrap_or_default();
            println!(
                "  when the load stopped the search index was {index:.0} and the pipeline {pipeline:.0} complaints behind; both caught up {:.1} s later",
                stopped.elapsed().as_secs_f64()
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("  derived work had not caught up 600 s after the load");
}

/// (commits, items committed, seconds spent committing) from the gateway's metrics.
async fn commit_totals(client: &reqwest::Client, base: &str) -> (f64, f64, f64) {
    let text = match client.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    (
        metric(&text, "gateway_commit_seconds_count"),
        metric(&text, "gateway_commit_batch_items_sum"),
        metric(&text, "gateway_commit_seconds_sum"),
    )
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "cg-bench-intake-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn load(args: &IntakeArgs, base: &str, tag: &str) -> anyhow::Result<Phase> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let items = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let cpu_before = super::process_cpu_secs();
    let deadline = started + Duration::from_secs(args.seconds);
    let mut generator = super::corpus::CorpusGenerator::new(42);
    let texts: Arc<Vec<(String, String)>> = Arc::new(
        (0..512)
            .map(|_| {
                let (t, b, _) = generator.complaint();
                (t, b)
            })
            .collect(),
    );
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (client, histogram, items, failures, texts) = (
            client.clone(),
            histogram.clone(),
            items.clone(),
            failures.clone(),
            texts.clone(),
        );
        let url = format!("{base}/v1/webhooks/bench");
        let (per_request, tag) = (args.items_per_request, tag.to_string());
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
            let mut n = 0usize;
            while Instant::now() < deadline {
                let mut body = String::new();
                for k in 0..per_request {
                    let (title, text) = &texts[(c * 7919 + n + k) % texts.len()];
                    let item = serde_json::json!({"external_id": format!("{tag}-{c}-{n}-{k}"), "title": title, "body": text});
                    body.push_str(&item.to_string());
                    body.push('\n');
                }
                n += 1;
                let ts = chrono::Utc::now().timestamp();
                let signature = sign(SECRET.as_bytes(), ts, body.as_bytes());
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/x-ndjson")
                    .header("x-signature-timestamp", ts.to_string())
                    .header("x-signature", signature)
                    .body(body)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 202 => {
                        let _ = r.bytes().await;
                        local.record(sent.elapsed().as_micros() as u64).ok();
                        items.fetch_add(per_request as u64, Ordering::Relaxed);
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            histogram.lock().await.add(&local).ok();
        }));
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = super::process_cpu_secs() - cpu_before;
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        println!("  ({failed} requests failed)");
    }
    let h = histogram.lock().await;
    let (p50_ms, p99_ms, max_ms) = super::percentiles_ms(&h);
    let done = items.load(Ordering::Relaxed) as f64;
    Ok(Phase {
        items_per_sec: done / elapsed,
        cpu_us_per_item: cpu / done.max(1.0) * 1e6,
        p50_ms,
        p99_ms,
        max_ms,
    })
}

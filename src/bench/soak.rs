//! `bench soak --minutes N`: a steady mixed load on a gateway running in this process, on
//! loopback, for N minutes, printing each minute what would show a leak or a backlog: resident
//! memory, open file descriptors, the size of the store's write-ahead log, how far the search
//! index and the pipeline are behind, p50/p99 of pushes and searches, items acknowledged and
//! pulled, and errors. At the end, the verdict: for memory, descriptors and WAL, the peak of
//! minutes 20–30 against the peak of minutes 5–15 (scaled for other lengths); at most 110% is
//! bounded.
//!
//! The load: signed webhook pushes of 1–5 generated complaints with re-deliveries, revisions
//! and bad requests mixed in ([`push`]); the four shipped pull sources ([`connector_files`])
//! reading upstreams on this machine that keep producing ([`upstream`]); searches and staff
//! decisions ([`staff`]). The generators and their counts are [`load`]; the figures and the
//! verdict arithmetic [`report`]; the closing summary [`summary`].
//! The gateway runs as a child process ([`super::child_process`]), so the memory, descriptors
//! and CPU printed are its own; the load generator's CPU is printed beside them.

mod connector_files;
mod load;
mod push;
mod report;
mod staff;
mod summary;
mod upstream;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use tokio_util::sync::CancellationToken;

use load::{Ctx, Gen, Stats};
use report::Minute;

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// Minutes of load.
    #[arg(long, default_value_t = 30)]
    pub minutes: u32,
    /// Signed webhook requests per second.
    #[arg(long, default_value_t = 50.0)]
    pub pushes_per_sec: f64,
    /// Complaints per request: 1 to this many.
    #[arg(long, default_value_t = 5)]
    pub max_items_per_push: usize,
    /// Searches per second.
    #[arg(long, default_value_t = 10.0)]
    pub searches_per_sec: f64,
    /// Seconds between two staff decisions (a workflow transition, merge, correction, split, hot issues in
    /// turn).
    #[arg(long, default_value_t = 3.0)]
    pub staff_every_secs: f64,
    /// Most pushes and searches outstanding at once; a tick beyond it is shed and noted.
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// `[grouping] max_window_complaints` of the soak's gateway (default: the configuration's,
    /// 1,000,000): the grouping engine keeps this many complaints in memory at most, so a
    /// smaller window shows whether memory levels off once it is full.
    #[arg(long)]
    pub grouping_window_complaints: Option<usize>,
    /// Run the gateway under this command line (split at spaces), e.g. `heaptrack -o FILE`
    /// with a gateway built on glibc's allocator (`--no-default-features`), to see where its
    /// memory goes; the figures are still the gateway's own process.
    #[arg(long)]
    pub gateway_wrapper: Option<String>,
    /// Keep the temporary data directory (its path is printed).
    #[arg(long)]
    pub keep: bool,
}

/// The gateway's configuration: defaults, except the soak's webhook source with its rate
/// limit and the refusal allowance raised (the deliberate bad requests must not be throttled)
/// and the pull sources in `dir/connectors`.
fn config_text(dir: &Path, grouping_window: Option<usize>) -> String {
    let grouping = grouping_window
        .map(|n| format!("[grouping]\nmax_window_complaints = {n}\n"))
        .unwrap_or_default();
    format!(
        "data_dir = \"{data}\"\n\
         [http]\nrefusals_per_min = 1000000\nrefusal_burst = 1000000\n\
         [api]\ntoken_envs = []\n\
         [sources]\nconnectors_dir = \"{connectors}\"\nretry_initial_ms = 1000\nretry_max_secs = 30\n\
         [routing]\nfile = \"{routing}\"\n\
         [webhooks.{source}]\nchannel = \"online\"\nsecret_files = [\"{secret}\"]\n\
         rate_limit_per_sec = 1000000\nrate_limit_burst = 1000000\n{grouping}",
        data = dir.join("data").display(),
        connectors = dir.join("connectors").display(),
        // No file there: the embedded default routing.
        routing = dir.join("routing.toml").display(),
        source = push::SOURCE,
        secret = dir.join("secret").display(),
    )
}

fn temp_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "cg-bench-soak-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

pub async fn run(args: SoakArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    anyhow::ensure!(args.minutes >= 1, "--minutes must be at least 1");
    let dir = temp_dir()?;
    let data = dir.join("data");
    let drop_dir = dir.join("drop").join("petition");
    std::fs::create_dir_all(&drop_dir)?;
    std::fs::write(dir.join("secret"), push::SECRET)?;

    let feed = upstream::Feed::new(args.seed);
    let upstream_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let upstream_base = format!("http://{}", upstream_listener.local_addr()?);
    let upstream_task = tokio::spawn(upstream::serve(feed.clone(), upstream_listener));
    connector_files::write_connectors(
        &dir.join("connectors"),
        &upstream_base,
        &drop_dir,
        chrono::Utc::now(),
    )?;

    let config_file = dir.join("gateway.toml");
    let text = config_text(&dir, args.grouping_window_complaints);
    // Checked here so that a mistake is reported as such, not as a gateway that never starts.
    crate::config::Config::from_toml(&text, "bench soak")?;
    std::fs::write(&config_file, text)?;
    let client = reqwest::Client::builder()
        // Below the gateway's keep-alive idle time, so a pooled connection is never reused as
        // the server closes it.
        .pool_idle_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(120))
        .build()?;
    let gateway = super::child_process::ChildGateway::start(
        &config_file,
        &dir.join("gateway.log"),
        args.gateway_wrapper.as_deref(),
        &client,
        Duration::from_secs(120),
    )
    .await?;
    let (base, pid) = (gateway.base.clone(), gateway.pid);

    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mix: Vec<String> = push::MIX
        .iter()
        .map(|(kind, percent)| format!("{percent}% {}", kind.name()))
        .collect();
    println!(
        "bench soak: {} minute(s) on {cpus} CPU(s), load average {:.2} at the start",
        args.minutes,
        report::loadavg()
    );
    println!(
        "  load: {} signed pushes/s of 1-{} complaints ({}), {} searches/s, a staff decision every {} s; \
         pull sources hotline (http_json), online (open311), media (rss) on a local upstream and \
         petition (file_drop, an export every {} s)",
        args.pushes_per_sec,
        args.max_items_per_push,
        mix.join(", "),
        args.searches_per_sec,
        args.staff_every_secs,
        upstream::PETITION_EVERY_SECS
    );
    if let Some(n) = args.grouping_window_complaints {
        println!("  gateway: default configuration but a grouping window of {n} complaints");
    }
    println!(
        "  per minute (the gateway runs as process {pid}, its log in the temporary directory): RSS (anon: its anonymous part; heap: what the program holds of that, reported by builds on glibc's allocator only; sqlite: what SQLite holds), fds and WAL are the highest of 1-s samples, the lags the highest of \
         5-s samples of /metrics; latencies of the minute's answered requests; items: webhook \
         items acknowledged; pulled: new complaints and revisions from the pull sources; errs: \
         answers other than the request called for; cores: CPU of the gateway's process; gen: CPU of the load generator (this process)"
    );
    println!("{}", report::header());

    let ctx = Arc::new(Ctx {
        client: client.clone(),
        base: base.clone(),
        stats: Stats::default(),
        in_flight: Arc::new(tokio::sync::Semaphore::new(args.max_in_flight)),
        max_in_flight: args.max_in_flight,
    });
    let stop = CancellationToken::new();
    let mut generators = Vec::new();
    {
        let mut pushes = push::PushGen::new(args.seed, args.max_items_per_push);
        generators.push(tokio::spawn(load::open_loop(
            ctx.clone(),
            Gen::Push,
            args.pushes_per_sec,
            stop.clone(),
            move |ctx| push::send(ctx, pushes.next_push()),
        )));
        let mut searches = staff::SearchGen::new(args.seed);
        generators.push(tokio::spawn(load::open_loop(
            ctx.clone(),
            Gen::Search,
            args.searches_per_sec,
            stop.clone(),
            move |ctx| staff::search(ctx, searches.next_query()),
        )));
        if args.staff_every_secs > 0.0 {
            let seed = args.seed;
            generators.push(tokio::spawn(load::closed_loop(
                ctx.clone(),
                Gen::Staff,
                Duration::from_secs_f64(args.staff_every_secs),
                stop.clone(),
                move |ctx, n| staff::act(ctx, n, seed),
            )));
        }
        generators.push(tokio::spawn(upstream::drop_petitions(
            feed.clone(),
            drop_dir.clone(),
            stop.clone(),
        )));
    }

    let wal = data.join(format!("{}-wal", crate::store::DB_FILE));
    let targets = [
        args.pushes_per_sec * 60.0,
        args.searches_per_sec * 60.0,
        if args.staff_every_secs > 0.0 {
            60.0 / args.staff_every_secs
        } else {
            0.0
        },
    ];
    let started = Instant::now();
    let mut series: Vec<Minute> = Vec::new();
    let mut current = Minute::default();
    let mut pulled_before = 0.0;
    let mut cpu_before = report::cpu_secs(pid);
    let mut load_cpu_before = super::process_cpu_secs();
    for second in 1..=u64::from(args.minutes) * 60 {
        tokio::time::sleep_until((started + Duration::from_secs(second)).into()).await;
        let (rss, anon) = report::rss_mib(pid);
        current.rss_mib = current.rss_mib.max(rss);
        current.anon_mib = current.anon_mib.max(anon);
        current.fds = current.fds.max(report::open_fds(pid));
        current.wal_mib = current.wal_mib.max(report::file_mib(&wal));
        if second % 5 != 0 {
            continue;
        }
        let text = summary::metrics(&client, &base).await;
        current.index_lag = current
            .index_lag
            .max(super::metric(&text, "gateway_index_lag"));
        current.pipeline_lag = current
            .pipeline_lag
            .max(super::metric(&text, "gateway_pipeline_lag"));
        if second % 60 != 0 {
            continue;
        }
        let mib = |name| super::metric(&text, name) / (1024.0 * 1024.0);
        current.grouping_mib = mib("gateway_grouping_heap_bytes");
        current.sqlite_mib = mib("gateway_sqlite_memory_bytes");
        current.heap_mib = text
            .contains("gateway_heap_in_use_bytes ")
            .then(|| mib("gateway_heap_in_use_bytes"));
        current.index_segments = super::metric(&text, "gateway_index_segments");
        current.doc_store_blocks = super::metric(&text, "gateway_index_doc_store_cached_blocks");
        let period = ctx.stats.take_minute();
        let pulled_now = summary::pulled(&text, None);
        let (cpu_now, load_cpu_now) = (report::cpu_secs(pid), super::process_cpu_secs());
        let minute = Minute {
            minute: (second / 60) as u32,
            push_ms: period.percentiles_ms(Gen::Push),
            search_ms: period.percentiles_ms(Gen::Search),
            items: period.items,
            pulled: (pulled_now - pulled_before).max(0.0) as u64,
            errors: period.errors,
            cores: (cpu_now - cpu_before) / 60.0,
            load_cores: (load_cpu_now - load_cpu_before) / 60.0,
            load: report::loadavg(),
            notes: period.shortfall(targets),
            ..std::mem::take(&mut current)
        };
        (pulled_before, cpu_before, load_cpu_before) = (pulled_now, cpu_now, load_cpu_now);
        println!("{}", report::line(&minute));
        series.push(minute);
    }

    stop.cancel();
    let drained = ctx.drain(Duration::from_secs(60)).await;
    for generator in generators {
        let _ = tokio::time::timeout(Duration::from_secs(60), generator).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    summary::summary(&args, &series, &ctx, &feed, drained, elapsed);

    summary::catch_up(&client, &base).await;
    let text = summary::metrics(&client, &base).await;
    let per_source: Vec<String> = connector_files::PULL_SOURCES
        .iter()
        .map(|s| format!("{s} {:.0}", summary::pulled(&text, Some(s))))
        .collect();
    println!(
        "stored from the pull sources: {} (new complaints and revisions)",
        per_source.join(", ")
    );
    let (gateway_cpu, load_cpu) = (report::cpu_secs(pid), super::process_cpu_secs());
    println!(
        "store {:.0} MiB (WAL {:.1} MiB), search index {:.0} MiB; over {elapsed:.0} s the gateway used {gateway_cpu:.0} s of CPU ({:.2} cores), the load generator {load_cpu:.0} s ({:.2}); load average {:.2} at the end",
        report::file_mib(&data.join(crate::store::DB_FILE)),
        report::file_mib(&wal),
        report::dir_mib(&data.join(crate::index::INDEX_DIR)),
        gateway_cpu / elapsed,
        load_cpu / elapsed,
        report::loadavg()
    );

    gateway.stop().await;
    upstream_task.abort();
    if args.keep {
        println!("data kept in {}", dir.display());
    } else {
        remove(&dir).await;
    }
    Ok(())
}

/// Removes the temporary directory. A search-index merge that was under way when the gateway
/// stopped may still write its files for a moment, so a failed removal is tried again.
async fn remove(dir: &Path) {
    for attempt in 1..=10 {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return,
            Err(e) if attempt == 10 => println!("could not remove {}: {e}", dir.display()),
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soak_configuration_is_valid() {
        let dir = Path::new("/nonexistent/soak");
        let config = crate::config::Config::from_toml(&config_text(dir, None), "test").unwrap();
        assert_eq!(config.data_dir, dir.join("data"));
        let config =
            crate::config::Config::from_toml(&config_text(dir, Some(5000)), "test").unwrap();
        assert_eq!(config.grouping.engine.max_window_complaints, 5000);
    }
}

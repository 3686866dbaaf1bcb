//! `bench search --docs N`: builds (or reuses) an index of N generated complaints and measures
//! the latency of a mixed query set through the same code path as `GET /v1/search` (query
//! building, counting, top-20, snippets, stored fields), minus HTTP.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use hdrhistogram::Histogram;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::corpus::CorpusGenerator;
use crate::index::SearchIndex;
use crate::index::query::Filters;
use crate::index::search::{SearchRequest, Sort};

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Number of complaints in the corpus.
    #[arg(long, default_value_t = 100_000)]
    pub docs: u64,
    /// Queries per run.
    #[arg(long, default_value_t = 2000)]
    pub queries: usize,
    /// Runs; each reports its own percentiles, then the median is printed.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Keep the index here and reuse it when it already holds `docs` complaints (building
    /// 1,000,000 takes a while). Default: a temporary directory, removed afterwards.
    #[arg(long)]
    pub index_dir: Option<PathBuf>,
    /// Generator seed.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Build the corpus from this file of real complaints (JSON Lines or CSV of canonical items),
    /// replicated with variations (digits changed, sentences reordered) up to `--docs`, and
    /// draw part of the queries from its text; default: the built-in generator.
    #[arg(long)]
    pub from: Option<PathBuf>,
}

/// Title and body of the complaints of `--from`.
type Seeds = Vec<(Option<String>, String)>;

fn load_seeds(path: &std::path::Path) -> anyhow::Result<Seeds> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let format = connectors::tabular::TableFormat::from_path(&path.to_string_lossy())
        .unwrap_or(connectors::tabular::TableFormat::Jsonl);
    let rows =
        connectors::tabular::read_table(&bytes, format, &Default::default(), &Default::default())?;
    let seeds: Seeds = rows
        .into_iter()
        .filter_map(|r| r.parsed.ok())
        .map(|item| (item.title, item.body))
        .collect();
    anyhow::ensure!(!seeds.is_empty(), "{} holds no complaint", path.display());
    Ok(seeds)
}

/// Copy `copy` of a seed: digits replaced and sentences rotated, so copies differ as reposts
/// and similar complaints do while keeping the real vocabulary.
fn vary(text: &str, copy: u64, rng: &mut impl Rng) -> String {
    if copy == 0 {
        return text.to_string();
    }
    let digits: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from(b'0' + rng.random_range(0..10u8))
            } else {
                c
            }
        })
        .collect();
    let sentences: Vec<&str> = digits.split_inclusive(['。', '！', '？']).collect();
    let shift = (copy as usize) % sentences.len().max(1);
    sentences[shift..]
        .iter()
        .chain(&sentences[..shift])
        .copied()
        .collect()
}

pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || run_blocking(args)).await?
}

fn run_blocking(args: SearchArgs) -> anyhow::Result<()> {
    let temporary = args.index_dir.is_none();
    let dir = args.index_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("cg-bench-search-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir)?;
    crate::index::analyzer::warm_up();
    let (index, _) = SearchIndex::open_or_create(&dir)?;
    if index.num_docs() != args.docs {
        let seeds = args.from.as_deref().map(load_seeds).transpose()?;
        build(&index, &args, seeds.as_ref())?;
    } else {
        println!(
            "reusing the index of {} complaints in {}",
            args.docs,
            dir.display()
        );
    }
    let size_mib = dir_size(&dir.join(crate::index::INDEX_DIR)) as f64 / (1 << 20) as f64;
    let (rss_before, _) = super::memory_mib();
    let seeds = args.from.as_deref().map(load_seeds).transpose()?;
    let queries = query_set(args.seed, args.queries, seeds.as_ref());
    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    println!(
        "bench search: {} complaints, index {:.0} MiB, {} queries per run, {} CPU(s)",
        index.num_docs(),
        size_mib,
        queries.len(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for _ in 0..20.min(queries.len()) {
        index.search(&queries[0])?;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    for run in 1..=args.runs {
        let mut order: Vec<&SearchRequest> = queries.iter().collect();
        order.shuffle(&mut rng);
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let mut matched = 0usize;
        let mut slowest: Vec<(u64, &SearchRequest, usize)> = Vec::new();
        let started = Instant::now();
        for request in order {
            let t = Instant::now();
            let results = index.search(request)?;
            let micros = t.elapsed().as_micros() as u64;
            histogram.record(micros)?;
            matched += results.total;
            slowest.push((micros, request, results.total));
        }
        slowest.sort_by(|a, b| b.0.cmp(&a.0));
        let elapsed = started.elapsed().as_secs_f64();
        let (p50, p99, max) = super::percentiles_ms(&histogram);
        println!(
            "run {run}: p50 {p50:.2} ms  p99 {p99:.2} ms  max {max:.1} ms  ({:.0} queries/s, {:.0} matches/query on average)",
            queries.len() as f64 / elapsed,
            matched as f64 / queries.len() as f64
        );
        p50s.push(p50);
        p99s.push(p99);
        if run == args.runs {
            println!("slowest queries of the last run:");
            for (micros, request, total) in slowest.iter().take(5) {
                println!(
                    "  {:>7.2} ms  {:?} channel={:?} from={:?} sort={:?} ({total} matches)",
                    *micros as f64 / 1000.0,
                    request.query,
                    request.filters.channel,
                    request.filters.from.map(|f| f.date_naive()),
                    request.sort
                );
            }
        }
    }
    let (rss, peak) = super::memory_mib();
    println!(
        "median of {} runs: p50 {:.2} ms, p99 {:.2} ms (target p99 <= 10 ms at 1,000,000); RSS {:.0} MiB before queries, {:.0} MiB after, peak {:.0} MiB",
        args.runs,
        super::median(&mut p50s),
        super::median(&mut p99s),
        rss_before,
        rss,
        peak
    );
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

fn build(index: &SearchIndex, args: &SearchArgs, seeds: Option<&Seeds>) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut writer = index.writer(512 << 20)?;
    writer.delete_all_documents()?;
    let bar = crate::progress::progress_bar(Some(args.docs), "indexing");
    let mut generator = CorpusGenerator::new(args.seed);
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let mut seq = 0i64;
    while (seq as u64) < args.docs {
        let n = 10_000.min(args.docs - seq as u64) as i64;
        let rows: Vec<_> = (0..n)
            .map(|k| {
                let mut row = generator.index_row(seq + k + 1);
                if let Some(seeds) = seeds {
                    let number = (seq + k) as u64;
                    let (title, body) = &seeds[(number % seeds.len() as u64) as usize];
                    let copy = number / seeds.len() as u64;
                    row.title = title.as_deref().map(|t| vary(t, copy, &mut rng));
                    row.body = vary(body, copy, &mut rng);
                }
                row
            })
            .collect();
        index.add_rows(&writer, &rows)?;
        seq += n;
        bar.set_position(seq as u64);
    }
    index.commit(
        &mut writer,
        crate::index::Progress {
            schema_version: crate::index::SCHEMA_VERSION,
            seq,
            queue_seq: 0,
        },
    )?;
    writer.wait_merging_threads()?;
    index.reload()?;
    bar.finish_and_clear();
    println!(
        "indexed {} complaints in {:.0} s ({:.0}/s)",
        args.docs,
        started.elapsed().as_secs_f64(),
        args.docs as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A mixed set: common and rare terms, substrings, places, two-term AND, phrases,
/// Traditional-script queries, exclusions, channel and date filters, newest-first listing.
fn query_set(seed: u64, count: usize, seeds: Option<&Seeds>) -> Vec<SearchRequest> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut generator = CorpusGenerator::new(seed ^ 0xfeed);
    let fixed = [
        "投诉",
        "小区",
        "噪音扰民",
        "扣费",
        "物业",
        "拖欠工资",
        "审批",
        "不予受理",
        "路灯",
        "12345热线",
        "油烟",
        "物業 電梯",
        "投訴 噪音",
        "\"拖欠工资\"",
        "供暖 -暖气",
        "学校 收费",
        "污水 河道",
        "工单号",
        "营业执照",
        "延期交房",
    ];
    let mut queries = Vec::with_capacity(count);
    for i in 0..count {
        let mut request = SearchRequest {
            limit: 20,
            ..SearchRequest::default()
        };
        match i % 6 {
            0 | 1 => request.query = fixed[rng.random_range(0..fixed.len())].to_string(),
            2 => {
                // Words of a complaint's title, as staff type them.
                let title = match seeds {
                    Some(seeds) => seeds[rng.random_range(0..seeds.len())]
                        .0
                        .clone()
                        .unwrap_or_default(),
                    None => generator.complaint().0,
                };
                let chars: Vec<char> = title.chars().filter(|c| c.is_alphanumeric()).collect();
                let len = rng.random_range(2..7).min(chars.len());
                let start = rng.random_range(0..=chars.len() - len);
                request.query = chars[start..start + len].iter().collect();
            }
            3 => {
                let title = match seeds {
                    Some(seeds) => seeds[rng.random_range(0..seeds.len())]
                        .0
                        .clone()
                        .unwrap_or_default(),
                    None => generator.complaint().0,
                };
                let place: String = title
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .take(4)
                    .collect();
                request.query = format!("{place} {}", fixed[rng.random_range(0..fixed.len())]);
            }
            4 => {
                request.query = fixed[rng.random_range(0..fixed.len())].to_string();
                request.filters = Filters {
                    channel: Some(
                        ["hotline", "online", "petition", "media"][rng.random_range(0..4)]
                            .to_string(),
                    ),
                    ..Filters::default()
                };
            }
            _ => {
                let tz = chrono::FixedOffset::east_opt(8 * 3600).expect("offset");
                let month = rng.random_range(1..=12);
                request.filters.from =
                    chrono::TimeZone::with_ymd_and_hms(&tz, 2023, month, 1, 0, 0, 0).single();
                request.filters.to = request.filters.from.map(|f| f + chrono::Duration::days(30));
                if rng.random_bool(0.5) {
                    request.query = fixed[rng.random_range(0..fixed.len())].to_string();
                } else {
                    request.sort = Sort::Newest;
                }
            }
        }
        queries.push(request);
    }
    queries
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

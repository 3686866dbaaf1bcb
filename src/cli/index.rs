//! `search`, `reindex`, `reprocess` and the index catch-up other commands use.

use std::io::{IsTerminal, Write};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::index::search::Sort;
use crate::index::search_query::SearchQuery;
use crate::index::{IndexError, SearchIndex};
use crate::pipeline::{Pipeline, PipelineLock, Until, follow};
use crate::store::Store;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Query: terms (all required), "phrases", -excluded.
    pub query: String,
    /// Number of hits.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Hits to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Only this channel.
    #[arg(long)]
    pub channel: Option<String>,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only this category.
    #[arg(long)]
    pub category: Option<String>,
    /// Only complaints with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Only this queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// Only this status.
    #[arg(long)]
    pub status: Option<String>,
    /// Only the complaints of this case.
    #[arg(long)]
    pub case: Option<String>,
    /// Submitted at or after (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Submitted before (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// Received by the gateway at or after (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub received_from: Option<String>,
    /// Received by the gateway before (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub received_to: Option<String>,
    /// Newest first instead of by relevance.
    #[arg(long)]
    pub newest: bool,
    /// Print the API's JSON.
    #[arg(long)]
    pub json: bool,
}

/// Brings the index up to date when no gateway process holds it; returns a note for summaries.
pub async fn catch_up_if_free(config: &Config) -> String {
    index_note(catch_up(config).await)
}

/// The summary note of a [`catch_up`].
fn index_note(caught_up: anyhow::Result<Option<u64>>) -> String {
    match caught_up {
        Ok(Some(rows)) if rows > 0 => format!("; indexed {rows} for search"),
        Ok(Some(_)) => String::new(),
        Ok(None) => "; the running gateway indexes them for search".to_string(),
        Err(error) => format!("; search index not updated: {error}"),
    }
}

/// `Ok(None)` when another process writes the index.
async fn catch_up(config: &Config) -> anyhow::Result<Option<u64>> {
    catch_up_index(config, &crate::app::open_index(config)?).await
}

/// [`catch_up`] on an index already open.
async fn catch_up_index(config: &Config, index: &SearchIndex) -> anyhow::Result<Option<u64>> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let heap = crate::app::bulk_writer_heap_bytes(config);
    let result = tokio::task::spawn_blocking({
        let (index, store) = (index.clone(), store.clone());
        let runtime = tokio::runtime::Handle::current();
        move || -> Result<Option<u64>, IndexError> {
            let mut writer = match index.writer(heap) {
                Ok(writer) => writer,
                Err(IndexError::Locked) => return Ok(None),
                Err(other) => return Err(other),
            };
            let bar = super::progress_bar(None, "indexing");
            let mut added = 0;
            index.catch_up(&mut writer, &store, &runtime, &mut |n| {
                added = n;
                bar.set_position(n);
            })?;
            bar.finish_and_clear();
            writer.wait_merging_threads()?;
            Ok(Some(added))
        }
    })
    .await?;
    store.close().await;
    Ok(result?)
}

pub async fn search(config: &Config, args: SearchArgs) -> anyhow::Result<()> {
    let index = crate::app::open_index(config)?;
    let _ = catch_up_index(config, &index).await?;
    let query = SearchQuery {
        q: args.query,
        channel: args.channel,
        source: args.source,
        category: args.category,
        tag: args.tag,
        queue: args.queue,
        priority: None,
        status: args.status,
        case: args.case,
        from: args.from,
        to: args.to,
        received_from: args.received_from,
        received_to: args.received_to,
        limit: Some(args.limit),
        offset: Some(args.offset),
        sort: Some(if args.newest {
            Sort::Newest
        } else {
            Sort::Relevance
        }),
    };
    let request = query.into_request(config.parse_options().default_offset)?;
    let results = tokio::task::spawn_blocking(move || index.search(&request)).await??;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &results)?;
        writeln!(out)?;
        return Ok(());
    }
    let (bold, plain) = if std::io::stdout().is_terminal() {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    writeln!(out, "{} matching complaints", results.total)?;
    for hit in &results.hits {
        writeln!(
            out,
            "\n{bold}{}{plain}  [{} / {}]  {}  id {}",
            hit.title.as_deref().unwrap_or("(no title)"),
            hit.channel,
            hit.source,
            hit.submitted_at,
            hit.id
        )?;
        let snippet = html_to_terminal(&hit.snippet, bold, plain);
        writeln!(out, "  {snippet}")?;
    }
    Ok(())
}

fn html_to_terminal(snippet: &str, bold: &str, plain: &str) -> String {
    snippet
        .replace("<b>", bold)
        .replace("</b>", plain)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
        .replace('\n', " ")
}

/// Rebuilds the index from the store with a progress bar; returns the sequence number reached.
async fn rebuild(config: &Config, store: &Store, total: u64) -> anyhow::Result<i64> {
    let index = crate::app::open_index(config)?;
    let heap = crate::app::bulk_writer_heap_bytes(config);
    let seq = tokio::task::spawn_blocking({
        let (index, store) = (index.clone(), store.clone());
        let runtime = tokio::runtime::Handle::current();
        move || -> Result<i64, IndexError> {
            let mut writer = index.writer(heap)?;
            let bar = super::progress_bar(Some(total), "indexing");
            let progress =
                index.rebuild(&mut writer, &store, &runtime, &mut |n| bar.set_position(n))?;
            bar.finish_and_clear();
            writer.wait_merging_threads()?;
            Ok(progress.seq)
        }
    })
    .await??;
    Ok(seq)
}

pub async fn reindex(config: &Config) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let total = store.complaint_count().await? as u64;
    let started = std::time::Instant::now();
    let seq =
        rebuild(config, &store, total)
            .await
            .map_err(|e| match e.downcast_ref::<IndexError>() {
                Some(IndexError::Locked) => {
                    anyhow::anyhow!("{e}; stop it first, or let it follow the store")
                }
                _ => e,
            })?;
    store.close().await;
    println!(
        "reindexed {total} complaints up to sequence {seq} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn reprocess(config: &Config) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let lock = PipelineLock::try_acquire(&config.data_dir)?.ok_or_else(|| {
        anyhow::anyhow!(
            "a running gateway holds the pipeline of {}; stop it first",
            config.data_dir.display()
        )
    })?;
    let total = store.complaint_count().await? as u64;
    let bar = super::progress_bar(Some(total), "reprocessing");
    let started = std::time::Instant::now();
    let mut pipeline = Pipeline::standard_on(config, &store).await?;
    pipeline.run_offline();
    let processed = pipeline
        .reprocess(&store, &lock, &mut |n| bar.set_position(n))
        .await?;
    bar.finish_and_clear();
    drop(lock);
    // Every complaint's derived data changed: one rebuild indexes each once, where following
    // the change queue would index each again per change.
    let indexed = match rebuild(config, &store, total).await {
        Ok(_) => format!("; reindexed {total} for search"),
        Err(error) => match error.downcast_ref::<IndexError>() {
            Some(IndexError::Locked) => {
                "; the running gateway indexes the changes for search".to_string()
            }
            _ => format!("; search index not updated: {error}"),
        },
    };
    store.close().await;
    println!(
        "reprocessed {processed} complaints in {:.1}s{indexed}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs the pipeline when no gateway process holds it, following the store while an intake
/// runs beside it (until `intake_finished` is cancelled), with the search index following the
/// pipeline's cursor on another thread, so each complaint is indexed once, with its derived
/// data, while the pipeline works on the next batch; returns the notes for the summary line.
/// Falls back to the pipeline alone when the index is busy. Progress bars join `bars`.
pub async fn derive_and_index(
    config: &Config,
    store: &Store,
    bars: &indicatif::MultiProgress,
    intake_finished: &CancellationToken,
) -> DeriveNotes {
    let lock = PipelineLock::try_acquire(&config.data_dir);
    if !matches!(lock, Ok(Some(_))) {
        // Nothing to follow: let the intake finish, then report.
        intake_finished.cancelled().await;
    }
    let lock = match lock {
        Ok(Some(lock)) => lock,
        // A running gateway holds the pipeline, and normally the index too.
        Ok(None) => {
            return match catch_up(config).await {
                Ok(None) => DeriveNotes {
                    derived: "; the running gateway derives cases and routes and indexes them \
                              for search"
                        .into(),
                    indexed: String::new(),
                    by_gateway: true,
                    stages: String::new(),
                },
                other => DeriveNotes::here(
                    "; the running gateway derives cases and routes".into(),
                    index_note(other),
                ),
            };
        }
        Err(error) => {
            return DeriveNotes::here(
                format!("; pipeline not run: {error}"),
                catch_up_if_free(config).await,
            );
        }
    };
    run_and_index(config, store, bars, intake_finished, lock).await
}

/// What [`derive_and_index`] did, as notes for a summary line (empty when nothing to say).
pub struct DeriveNotes {
    pub derived: String,
    pub indexed: String,
    /// A running gateway holds the pipeline and the index: this command did neither.
    pub by_gateway: bool,
    /// Where the pipeline's and the index's time went (empty when they did not run here).
    pub stages: String,
}

impl DeriveNotes {
    /// Notes of a run in this process, without stage times.
    fn here(derived: String, indexed: String) -> DeriveNotes {
        DeriveNotes {
            derived,
            indexed,
            by_gateway: false,
            stages: String::new(),
        }
    }
}

/// [`derive_and_index`] once this process holds the pipeline: its notes, with where the time
/// went.
async fn run_and_index(
    config: &Config,
    store: &Store,
    bars: &indicatif::MultiProgress,
    intake_finished: &CancellationToken,
    lock: PipelineLock,
) -> DeriveNotes {
    let mut pipeline = match Pipeline::standard_on(config, store).await {
        Ok(pipeline) => pipeline,
        Err(error) => {
            intake_finished.cancelled().await;
            return DeriveNotes::here(
                format!("; pipeline not run: {error}"),
                catch_up_if_free(config).await,
            );
        }
    };
    pipeline.run_offline();
    let index = match crate::app::open_index(config) {
        Ok(index) => index,
        Err(error) => {
            let derived = run_locked(&mut pipeline, store, &lock, bars, intake_finished).await;
            return DeriveNotes::here(derived, format!("; search index not updated: {error}"));
        }
    };
    let heap = crate::app::bulk_writer_heap_bytes(config);
    let mut writer = match index.writer(heap) {
        Ok(writer) => writer,
        Err(IndexError::Locked) => {
            let derived = run_locked(&mut pipeline, store, &lock, bars, intake_finished).await;
            return DeriveNotes::here(derived, index_note(Ok(None)));
        }
        Err(error) => {
            let derived = run_locked(&mut pipeline, store, &lock, bars, intake_finished).await;
            return DeriveNotes::here(derived, format!("; search index not updated: {error}"));
        }
    };
    let derive_bar = bars.add(super::progress_bar(None, "deriving"));
    let index_bar = bars.add(super::progress_bar(None, "indexing"));
    let finished = Arc::new(AtomicBool::new(false));
    let indexer = tokio::task::spawn_blocking({
        let (store, finished) = (store.clone(), finished.clone());
        let runtime = tokio::runtime::Handle::current();
        move || -> Result<(u64, std::time::Instant), IndexError> {
            let mut added = 0;
            // Read `finished` before the cursor: once it is set, index everything.
            let mut ceiling = || {
                if finished.load(Ordering::SeqCst) {
                    return Ok((i64::MAX, true));
                }
                let cursor = runtime
                    .block_on(Pipeline::cursor(&store))
                    .map_err(|e| match e {
                        crate::pipeline::PipelineError::Store(e) => IndexError::Store(e),
                        other => {
                            IndexError::Store(crate::store::StoreError::Corrupt(other.to_string()))
                        }
                    })?;
                Ok((cursor, false))
            };
            index.catch_up_behind(&mut writer, &store, &runtime, &mut ceiling, &mut |n| {
                added = n;
                index_bar.set_position(n);
            })?;
            index_bar.finish_and_clear();
            let caught_up = std::time::Instant::now();
            writer.wait_merging_threads()?;
            Ok((added, caught_up))
        }
    });
    let until = Until::Drained {
        finished: intake_finished,
    };
    let result = follow(&mut pipeline, store, &lock, until, &mut |n| {
        derive_bar.set_position(n)
    })
    .await;
    derive_bar.finish_and_clear();
    let pipeline_done = std::time::Instant::now();
    finished.store(true, Ordering::SeqCst);
    tracing::debug!(timings = %pipeline.timings(), "pipeline finished");
    let derived = match result {
        Ok(_) => String::new(),
        Err(error) => format!("; pipeline failed: {error}"),
    };
    let mut stages = format!("pipeline: {}", pipeline.timings());
    let indexed = match indexer.await {
        Ok(Ok((rows, caught_up))) => {
            let after = caught_up.saturating_duration_since(pipeline_done);
            stages.push_str(&format!(
                "; index caught up {:.1}s after the pipeline, merged segments in {:.1}s",
                after.as_secs_f64(),
                caught_up.elapsed().as_secs_f64()
            ));
            if rows > 0 {
                format!("; indexed {rows} for search")
            } else {
                String::new()
            }
        }
        Ok(Err(error)) => format!("; search index not updated: {error}"),
        Err(error) => format!("; search index not updated: {error}"),
    };
    DeriveNotes {
        stages,
        ..DeriveNotes::here(derived, indexed)
    }
}

async fn run_locked(
    pipeline: &mut Pipeline,
    store: &Store,
    lock: &PipelineLock,
    bars: &indicatif::MultiProgress,
    intake_finished: &CancellationToken,
) -> String {
    let bar = bars.add(super::progress_bar(None, "deriving"));
    let until = Until::Drained {
        finished: intake_finished,
    };
    let result = follow(pipeline, store, lock, until, &mut |n| bar.set_position(n)).await;
    bar.finish_and_clear();
    match result {
        Ok(_) => String::new(),
        Err(error) => format!("; pipeline failed: {error}"),
    }
}

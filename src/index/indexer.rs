//! Keeping the index in step with the store.
//!
//! The indexer reads complaints with `seq` greater than what it has added, adds them (deleting
//! the previous version of a revised complaint first), and commits at most every
//! `commit_interval` with the last added `seq` as the commit payload — so after a crash it
//! resumes exactly where its last commit stopped, and nothing acknowledged is ever missing for
//! longer than one interval plus one batch. It runs on its own OS thread: tantivy commits block.

use std::time::{Duration, Instant};

use tantivy::schema::TantivyDocument;
use tantivy::{DateTime, IndexWriter, Term};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use super::{IndexError, Progress, SCHEMA_VERSION, SearchIndex, analyzer};
use crate::store::{Complaint, QueuedWindow, Store};

/// Index-queue entries followed between two prunings of the queue.
const PRUNE_EVERY: i64 = 10_000;

/// Rows read from the store per query.
const BATCH_ROWS: i64 = 2000;

/// Indexer settings.
#[derive(Debug, Clone, Copy)]
pub struct IndexerSettings {
    /// Longest time between a complaint's commit in the store and the index commit holding it
    /// (plus one batch).
    pub commit_interval: Duration,
    /// Memory budget of the tantivy writer, in bytes.
    pub writer_heap_bytes: usize,
}

impl Default for IndexerSettings {
    fn default() -> Self {
        IndexerSettings {
            commit_interval: Duration::from_millis(300),
            writer_heap_bytes: 128 << 20,
        }
    }
}

impl SearchIndex {
    /// Takes the index's single writer lock.
    pub fn writer(&self, heap_bytes: usize) -> Result<IndexWriter, IndexError> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get().min(2))
            .unwrap_or(1);
        let heap = heap_bytes.max(threads * 20 << 20);
        self.index
            .writer_with_num_threads(threads, heap)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => IndexError::Locked,
                other => IndexError::Tantivy(other),
            })
    }

    fn document(&self, row: &Complaint) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &row.id);
        doc.add_text(f.external_id, &row.external_id);
        doc.add_text(f.source, &row.source);
        doc.add_text(f.channel, &row.channel);
        // Sorting and `from`/`to` read the effective time, so a future-dated complaint does not
        // sort first for years; results show `submitted_at` as given.
        doc.add_date(
            f.submitted_at,
            DateTime::from_timestamp_secs(row.effective_at.timestamp()),
        );
        doc.add_text(f.submitted_text, row.submitted_at.to_rfc3339());
        // `received_from`/`received_to`: when the gateway got it, whatever it says it was sent.
        if let Ok(received) = chrono::DateTime::parse_from_rfc3339(&row.received_at) {
            doc.add_date(
                f.received_at,
                DateTime::from_timestamp_secs(received.timestamp()),
            );
        }
        let sep = analyzer::FIELD_SEPARATOR;
        match &row.title {
            Some(title) => {
                let text = format!("{title}{sep}{title}{sep}{}", row.body);
                doc.add_text(f.title, title);
                doc.add_text(f.text3, &text);
                doc.add_text(f.text, text);
                doc.add_text(f.words, format!("{title}\n{}", row.body));
            }
            None => {
                doc.add_text(f.text, &row.body);
                doc.add_text(f.text3, &row.body);
                doc.add_text(f.words, &row.body);
            }
        }
        doc.add_text(f.body, &row.body);
        let facets = &row.facets;
        for (field, value) in [
            (f.case_id, &facets.case_id),
            (f.category, &facets.category),
            (f.queue, &facets.queue),
            (f.priority, &facets.priority),
            (f.status, &facets.status),
        ] {
            if let Some(value) = value {
                doc.add_text(field, value);
            }
        }
        for tag in &facets.tags {
            doc.add_text(f.tags, tag);
        }
        for queue in &facets.informed {
            doc.add_text(f.informed, queue);
        }
        doc
    }

    /// Adds `rows` to the writer, replacing earlier versions of the same complaints.
    pub fn add_rows(&self, writer: &IndexWriter, rows: &[Complaint]) -> Result<(), IndexError> {
        for row in rows {
            writer.delete_term(Term::from_field_text(self.fields.id, &row.id));
            writer.add_document(self.document(row))?;
        }
        Ok(())
    }

    /// Commits with `progress` as the payload and makes it visible.
    pub fn commit(&self, writer: &mut IndexWriter, progress: Progress) -> Result<(), IndexError> {
        let payload = serde_json::to_string(&progress).expect("progress serialises");
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        let searcher = self.reader.searcher();
        crate::telemetry::index_sizes(
            searcher.segment_readers().len(),
            searcher.doc_store_cache_stats().num_entries,
        );
        Ok(())
    }

    /// Adds what the store has beyond `progress` (new complaints, then derived-data changes),
    /// one batch of each at most; returns the new progress and how many rows were added.
    /// Progress can advance with no row added (queue entries that were redundant).
    fn step(
        &self,
        writer: &IndexWriter,
        store: &Store,
        runtime: &Handle,
        progress: Progress,
        ceiling: i64,
        fresh: &mut FreshWindow,
    ) -> Result<(Progress, usize), IndexError> {
        let mut next = progress;
        let (fresh_after, fresh_bound) = match fresh.0 {
            Some(window) => window,
            None => {
                // Entries up to the bound were written before any row below is read.
                let bound = runtime.block_on(store.max_index_queue_seq())?;
                *fresh = FreshWindow(Some((progress.seq, bound)));
                (progress.seq, bound)
            }
        };
        // A complaint with a queue entry still to follow is indexed by that entry.
        let defer_after = progress.queue_seq.max(fresh_bound);
        let (rows, last) = runtime.block_on(store.index_rows_after(
            progress.seq,
            ceiling,
            BATCH_ROWS,
            Some(defer_after),
        ))?;
        if let Some(last) = last {
            next.seq = last;
        }
        self.add_rows(writer, &rows)?;
        let window = QueuedWindow {
            after: progress.queue_seq,
            limit: BATCH_ROWS,
            indexed_upto: next.seq,
            fresh_after,
            fresh_bound,
        };
        let (queued, last_queued) = runtime.block_on(store.index_rows_queued(window))?;
        match last_queued {
            Some(last) => next.queue_seq = last,
            // The queue is drained: later entries start a new window.
            None => *fresh = FreshWindow::default(),
        }
        self.add_rows(writer, &queued)?;
        Ok((next, rows.len() + queued.len()))
    }

    /// Indexes everything after the committed progress and commits. Blocking: call from a
    /// blocking thread. `on_rows` is told how many rows were added so far (for progress bars).
    pub fn catch_up(
        &self,
        writer: &mut IndexWriter,
        store: &Store,
        runtime: &Handle,
        on_rows: &mut dyn FnMut(u64),
    ) -> Result<Progress, IndexError> {
        self.catch_up_behind(
            writer,
            store,
            runtime,
            &mut || Ok((i64::MAX, true)),
            on_rows,
        )
    }

    /// [`SearchIndex::catch_up`] behind another worker: indexes complaints up to the sequence
    /// number `ceiling` gives, `(seq, last)`, polling it until it says `last` and the index
    /// has caught up with it, then commits once. `import` runs it beside the pipeline, with
    /// the pipeline's cursor as the ceiling, so each complaint is indexed once, with its
    /// derived data, on the second core.
    pub fn catch_up_behind(
        &self,
        writer: &mut IndexWriter,
        store: &Store,
        runtime: &Handle,
        ceiling: &mut dyn FnMut() -> Result<(i64, bool), IndexError>,
        on_rows: &mut dyn FnMut(u64),
    ) -> Result<Progress, IndexError> {
        let start = self.progress()?;
        let mut progress = start;
        let mut added = 0u64;
        let mut fresh = FreshWindow::default();
        loop {
            let (upto, last) = ceiling()?;
            let (next, rows) = self.step(writer, store, runtime, progress, upto, &mut fresh)?;
            added += rows as u64;
            on_rows(added);
            if next != progress {
                progress = next;
                continue;
            }
            if last {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if progress != start {
            self.commit(writer, progress)?;
        }
        Ok(progress)
    }

    /// Rebuilds the whole index from the store in one commit: until it commits, searches see
    /// the previous index.
    pub fn rebuild(
        &self,
        writer: &mut IndexWriter,
        store: &Store,
        runtime: &Handle,
        on_rows: &mut dyn FnMut(u64),
    ) -> Result<Progress, IndexError> {
        writer.delete_all_documents()?;
        // Derived changes after this point are followed afterwards; earlier ones are in the rows.
        let queue_seq = runtime.block_on(store.max_index_queue_seq())?;
        let mut progress = Progress {
            schema_version: SCHEMA_VERSION,
            seq: 0,
            queue_seq,
        };
        let mut added = 0u64;
        loop {
            let (rows, last) = runtime.block_on(store.index_rows_after(
                progress.seq,
                i64::MAX,
                BATCH_ROWS,
                None,
            ))?;
            let Some(last) = last else { break };
            progress.seq = last;
            for row in &rows {
                writer.add_document(self.document(row))?;
            }
            added += rows.len() as u64;
            on_rows(added);
        }
        self.commit(writer, progress)?;
        Ok(progress)
    }
}

/// The complaints the sequence pass indexed since a point, `(after seq, queue bound)`: those
/// after `seq` were read after every index-queue entry up to `bound` was written, so such
/// entries need not index them again ([`QueuedWindow`]). Reset when the queue is drained.
#[derive(Debug, Default, Clone, Copy)]
struct FreshWindow(Option<(i64, i64)>);

/// Follows the store until `shutdown`, then commits what it added and returns. Run it on a
/// dedicated thread (`std::thread::spawn`), handing it the runtime's handle.
pub fn follow(
    index: SearchIndex,
    mut writer: IndexWriter,
    store: Store,
    settings: IndexerSettings,
    runtime: Handle,
    shutdown: CancellationToken,
) -> Result<(), IndexError> {
    let mut committed = index.progress()?;
    let mut pruned_queue_seq = 0;
    let mut added = committed;
    let mut last_commit = Instant::now();
    let mut store_seq_rx = store.committed_seq();
    let mut fresh = FreshWindow::default();
    loop {
        let (next, rows) = index.step(&writer, &store, &runtime, added, i64::MAX, &mut fresh)?;
        let advanced = next != added;
        added = next;
        let stopping = shutdown.is_cancelled();
        let due = last_commit.elapsed() >= settings.commit_interval;
        if added != committed && (due || stopping) {
            let started = Instant::now();
            index.commit(&mut writer, added)?;
            crate::telemetry::index_commit(started.elapsed());
            if added.queue_seq > pruned_queue_seq + PRUNE_EVERY {
                // This process's index is the only follower of the queue (SQLite); pruning
                // rarely keeps its write transactions out of intake's way.
                runtime.block_on(store.prune_index_queue(added.queue_seq))?;
                pruned_queue_seq = added.queue_seq;
            }
            committed = added;
            last_commit = Instant::now();
        }
        let store_seq = *store_seq_rx.borrow();
        crate::telemetry::index_lag(store_seq.saturating_sub(committed.seq));
        if stopping {
            return Ok(());
        }
        if rows as i64 >= BATCH_ROWS || (advanced && rows == 0) {
            continue;
        }
        let wait = if added != committed {
            settings
                .commit_interval
                .saturating_sub(last_commit.elapsed())
        } else if rows > 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(1)
        };
        runtime.block_on(async {
            tokio::select! {
                changed = store_seq_rx.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep(wait).await;
                    }
                }
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => {}
            }
        });
    }
}

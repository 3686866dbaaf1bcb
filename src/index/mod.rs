//! The search index: tantivy, derived from the store.
//!
//! The index never holds anything the store does not: it follows the store's sequence number
//! ([`indexer`]), records the last indexed sequence in each commit's payload, and is rebuilt from
//! the store when missing, corrupt, built with another schema version, or ahead of the store.
//! Only one process writes it (tantivy's lock); others read.
//!
//! - [`analyzer`]: Chinese bigrams + jieba words, folding, English stemming.
//! - [`indexer`]: the task that follows the store and commits in batches; `reindex`.
//! - [`query`]: the user query language and filters → a tantivy query.
//! - [`search`]: running a query, counting and paging.
//! - [`facet_counts`]: a query's matches per channel, category, queue, status and day.
//! - [`snippet`]: highlighted excerpts.

pub mod analyzer;
pub mod facet_counts;
pub mod indexer;
pub mod query;
pub mod search;
pub mod search_query;
pub mod snippet;
pub mod trigram;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, ReloadPolicy};

/// Bumped whenever the schema or the analysis changes: an index of another version is rebuilt.
/// 7: the `submitted_at` date field holds the effective time (a future-dated complaint's
/// received time), so indexes of stores with such complaints are rebuilt once.
/// 8: the `informed` keyword field (queues informed of the complaint's case), which scopes an
/// investigator's search with `queue`.
/// 9: the `received_at` date field (when the gateway got the complaint), which
/// `received_from`/`received_to` filter on.
pub const SCHEMA_VERSION: u32 = 9;

/// Directory of the index inside the data directory.
pub const INDEX_DIR: &str = "index";

/// Index failures.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the search index is being written by another gateway process (is `serve` running?)")]
    Locked,
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}

/// The schema's fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub external_id: Field,
    pub source: Field,
    pub channel: Field,
    pub submitted_at: Field,
    /// The submission time as RFC 3339 with its original offset (stored only).
    pub submitted_text: Field,
    /// When the gateway received the complaint (indexed, fast).
    pub received_at: Field,
    /// Stored only: the title as received.
    pub title: Field,
    /// Stored only: the body as received.
    pub body: Field,
    /// Indexed only: bigrams of the title (twice, as a title boost) and the body.
    pub text: Field,
    /// Indexed only: trigrams of the same text's longer CJK runs (fast 3+ character queries).
    pub text3: Field,
    /// Indexed only: jieba words of title and body, a ranking signal.
    pub words: Field,
    /// Derived facets (keyword fields: filter, facet, stored).
    pub case_id: Field,
    pub category: Field,
    /// One value per tag.
    pub tags: Field,
    pub queue: Field,
    /// One value per queue informed of the complaint's case.
    pub informed: Field,
    pub priority: Field,
    pub status: Field,
}

/// Commit payload: how far the index has followed the store.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Progress {
    pub schema_version: u32,
    /// Last indexed `complaints.seq`.
    pub seq: i64,
    /// Last followed `index_queue.seq` (derived-data changes).
    #[serde(default)]
    pub queue_seq: i64,
}

fn build_schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let bigram = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer::BIGRAM)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let trigram = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer::TRIGRAM)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer::WORDS)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let keyword = STRING | STORED;
    let fields = Fields {
        id: builder.add_text_field("id", keyword.clone()),
        external_id: builder.add_text_field("external_id", keyword.clone()),
        source: builder.add_text_field("source", keyword.clone().set_fast("raw")),
        channel: builder.add_text_field("channel", keyword.clone().set_fast("raw")),
        submitted_at: builder.add_date_field(
            "submitted_at",
            DateOptions::default()
                .set_indexed()
                .set_stored()
                .set_fast()
                .set_precision(DateTimePrecision::Seconds),
        ),
        submitted_text: builder.add_text_field("submitted_text", STORED),
        received_at: builder.add_date_field(
            "received_at",
            DateOptions::default()
                .set_indexed()
                .set_fast()
                .set_precision(DateTimePrecision::Seconds),
        ),
        title: builder.add_text_field("title", STORED),
        body: builder.add_text_field("body", STORED),
        text: builder.add_text_field("text", bigram),
        text3: builder.add_text_field("text3", trigram),
        words: builder.add_text_field("words", words),
        case_id: builder.add_text_field("case_id", keyword.clone()),
        category: builder.add_text_field("category", keyword.clone().set_fast("raw")),
        tags: builder.add_text_field("tags", keyword.clone().set_fast("raw")),
        queue: builder.add_text_field("queue", keyword.clone().set_fast("raw")),
        informed: builder.add_text_field("informed", keyword.clone()),
        priority: builder.add_text_field("priority", keyword.clone()),
        status: builder.add_text_field("status", keyword.clone().set_fast("raw")),
    };
    (builder.build(), fields)
}

/// An open index with its reader.
#[derive(Clone)]
pub struct SearchIndex {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
    path: PathBuf,
}

/// What [`SearchIndex::open_or_create`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenState {
    /// An existing, usable index that has followed the store up to `seq`.
    Existing { seq: i64 },
    /// A new, empty index (none existed).
    Created,
    /// The index was unusable and was replaced by an empty one; the reason is given.
    Replaced { reason: String },
}

impl SearchIndex {
    /// Opens the index under `data_dir`, creating it, or replacing it by an empty one when it is
    /// unreadable or of another schema version. The caller then lets the indexer catch up.
    pub fn open_or_create(data_dir: &Path) -> Result<(SearchIndex, OpenState), IndexError> {
        let path = data_dir.join(INDEX_DIR);
        let io = |source| IndexError::Io {
            path: path.clone(),
            source,
        };
        let existed = path.join("meta.json").exists();
        if existed {
            // tantivy may panic on damaged files instead of returning an error.
            let opened =
                std::panic::catch_unwind(|| Self::open_existing(&path)).unwrap_or_else(|_| {
                    Err(IndexError::Tantivy(tantivy::TantivyError::InvalidArgument(
                        "index files are damaged".into(),
                    )))
                });
            match opened {
                Ok((index, progress)) if progress.schema_version == SCHEMA_VERSION => {
                    return Ok((index, OpenState::Existing { seq: progress.seq }));
                }
                Ok((_, progress)) => {
                    let reason = format!(
                        "schema version {} (this build uses {SCHEMA_VERSION})",
                        progress.schema_version
                    );
                    std::fs::remove_dir_all(&path).map_err(io)?;
                    let index = Self::create(&path)?;
                    return Ok((index, OpenState::Replaced { reason }));
                }
                Err(error) => {
                    let reason = error.to_string();
                    std::fs::remove_dir_all(&path).map_err(io)?;
                    let index = Self::create(&path)?;
                    return Ok((index, OpenState::Replaced { reason }));
                }
            }
        }
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(io)?;
        }
        Ok((Self::create(&path)?, OpenState::Created))
    }

    fn create(path: &Path) -> Result<SearchIndex, IndexError> {
        std::fs::create_dir_all(path).map_err(|source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (schema, fields) = build_schema();
        // Chinese text barely compresses with LZ4; zstd halves the stored title and body.
        let settings = tantivy::IndexSettings {
            docstore_compression: tantivy::store::Compressor::Zstd(
                tantivy::store::ZstdCompressor {
                    compression_level: Some(3),
                },
            ),
            ..tantivy::IndexSettings::default()
        };
        let index = Index::builder()
            .schema(schema)
            .settings(settings)
            .create_in_dir(path)?;
        Self::finish(index, fields, path)
    }

    fn open_existing(path: &Path) -> Result<(SearchIndex, Progress), IndexError> {
        let index = Index::open_in_dir(path)?;
        let (expected, fields) = build_schema();
        if index.schema() != expected {
            return Ok((
                Self::finish(index, fields, path)?,
                Progress {
                    schema_version: 0,
                    seq: 0,
                    queue_seq: 0,
                },
            ));
        }
        let metas = index.load_metas()?;
        let progress = match metas.payload.as_deref() {
            None => Progress {
                schema_version: SCHEMA_VERSION,
                seq: 0,
                queue_seq: 0,
            },
            Some(payload) => serde_json::from_str(payload).map_err(|e| {
                tantivy::TantivyError::InvalidArgument(format!("commit payload: {e}"))
            })?,
        };
        let opened = Self::finish(index, fields, path)?;
        // Reading every segment's metadata catches truncated or missing segment files.
        let searcher = opened.reader.searcher();
        for segment in searcher.segment_readers() {
            segment
                .get_store_reader(0)
                .map_err(|source| IndexError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
        }
        Ok((opened, progress))
    }

    fn finish(mut index: Index, fields: Fields, path: &Path) -> Result<SearchIndex, IndexError> {
        // A query searches the segments on every core: the slowest queries (tens of thousands
        // of matches to score) take about half as long on two (measured with `bench search`
        // at 1,000,000 complaints: p99 10.2 ms on one thread, 8.6 ms on two).
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cores > 1 {
            index.set_multithread_executor(cores)?;
        }
        index
            .tokenizers()
            .register(analyzer::BIGRAM, analyzer::bigram_analyzer());
        index
            .tokenizers()
            .register(analyzer::TRIGRAM, trigram::trigram_analyzer());
        index
            .tokenizers()
            .register(analyzer::WORDS, analyzer::words_analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            path: path.to_path_buf(),
        })
    }

    /// The committed progress (last indexed sequence number).
    pub fn progress(&self) -> Result<Progress, IndexError> {
        let metas = self.index.load_metas()?;
        Ok(metas
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(Progress {
                schema_version: SCHEMA_VERSION,
                seq: 0,
                queue_seq: 0,
            }))
    }

    /// Number of searchable documents.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Makes the latest commit visible to searches.
    pub fn reload(&self) -> Result<(), IndexError> {
        Ok(self.reader.reload()?)
    }

    /// The index directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests;

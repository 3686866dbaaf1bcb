//! Running a search: count, page, highlight.

use std::collections::HashSet;

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::{TantivyDocument, Value};
use tantivy::{DocAddress, Order, Score};

use super::query::{Filters, compile};
use super::snippet::snippet;
use super::{IndexError, SearchIndex};

/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 160;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// BM25 relevance; newest first when the query has no text.
    #[default]
    Relevance,
    /// Newest submission first (by the effective time: a future-dated complaint's receipt).
    Newest,
}

/// A search request.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    pub filters: Filters,
    pub limit: usize,
    pub offset: usize,
    pub sort: Sort,
}

/// One hit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub id: String,
    pub external_id: String,
    pub source: String,
    pub channel: String,
    pub title: Option<String>,
    /// Body excerpt, HTML-escaped, matches wrapped in `<b>…</b>`.
    pub snippet: String,
    /// RFC 3339.
    pub submitted_at: String,
    pub score: f32,
    /// Derived attributes known when the complaint was last indexed.
    #[serde(flatten)]
    pub facets: crate::store::facets::Facets,
    /// The stored body the snippet is cut from (not part of the answer).
    #[serde(skip)]
    pub body: String,
}

impl SearchHit {
    /// The hit as a view that may not show personal data sees it: the external id, the title
    /// and the body passed through `mask`, the snippet cut again from the masked body (so that
    /// a highlight inside a phone number cannot keep it from being masked).
    pub fn mask_with(&mut self, mask: impl Fn(&str) -> String, highlight: &[String]) {
        self.external_id = mask(&self.external_id);
        self.title = self.title.as_deref().map(&mask);
        self.body = mask(&self.body);
        let terms: HashSet<String> = highlight.iter().cloned().collect();
        self.snippet = snippet(&self.body, &terms, SNIPPET_CHARS);
    }
}

/// A page of hits and the total number of matches.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<SearchHit>,
    /// The query's analysed terms the snippets highlight (not part of the answer).
    #[serde(skip)]
    pub highlight: Vec<String>,
}

impl SearchIndex {
    /// Runs `request`. Blocking (tantivy): call from a blocking thread in async code.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, IndexError> {
        let searcher = self.reader.searcher();
        let compiled = compile(self, &request.query, &request.filters);
        let top = TopDocs::with_limit(request.limit.max(1)).and_offset(request.offset);
        let by_relevance = compiled.has_text && request.sort == Sort::Relevance;
        let (total, addresses): (usize, Vec<(Score, DocAddress)>) =
            match (&compiled.fast_ranking, by_relevance) {
                // Count without scoring, rank with block-max pruning: two cheap passes.
                (Some(ranking), true) => (
                    searcher.search(&compiled.matching, &Count)?,
                    searcher.search(ranking, &top.order_by_score())?,
                ),
                (None, true) => {
                    searcher.search(&compiled.matching, &(Count, top.order_by_score()))?
                }
                (_, false) => {
                    let newest =
                        top.order_by_fast_field::<tantivy::DateTime>("submitted_at", Order::Desc);
                    let (total, newest) = searcher.search(&compiled.matching, &(Count, newest))?;
                    (total, newest.into_iter().map(|(_, a)| (0.0, a)).collect())
                }
            };
        let highlight_terms = compiled.highlight;
        let highlight: HashSet<String> = highlight_terms.iter().cloned().collect();
        let f = self.fields;
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let body = text(f.body).unwrap_or_default();
            hits.push(SearchHit {
                id: text(f.id).unwrap_or_default(),
                external_id: text(f.external_id).unwrap_or_default(),
                source: text(f.source).unwrap_or_default(),
                channel: text(f.channel).unwrap_or_default(),
                title: text(f.title),
                snippet: snippet(&body, &highlight, SNIPPET_CHARS),
                body,
                submitted_at: text(f.submitted_text).unwrap_or_default(),
                score,
                facets: crate::store::facets::Facets {
                    case_id: text(f.case_id),
                    category: text(f.category),
                    tags: doc
                        .get_all(f.tags)
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    queue: text(f.queue),
                    informed: doc
                        .get_all(f.informed)
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    priority: text(f.priority),
                    status: text(f.status),
                    ..Default::default()
                },
            });
        }
        Ok(SearchResults {
            total,
            hits,
            highlight: highlight_terms,
        })
    }
}

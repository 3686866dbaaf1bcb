//! Running a search: count, page, highlight.

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::{TantivyDocument, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Score};

use super::query::{Filters, build_query};
use super::{IndexError, SearchIndex};

/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 160;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// BM25 relevance; newest first when the query has no text.
    #[default]
    Relevance,
    /// Newest submission first.
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
}

/// A page of hits and the total number of matches.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<SearchHit>,
}

impl SearchIndex {
    /// Runs `request`. Blocking (tantivy): call from a blocking thread in async code.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, IndexError> {
        let searcher = self.reader.searcher();
        let (query, has_text) = build_query(self, &request.query, &request.filters);
        let top = TopDocs::with_limit(request.limit.max(1)).and_offset(request.offset);
        let (total, addresses): (usize, Vec<(Score, DocAddress)>) =
            if has_text && request.sort == Sort::Relevance {
                searcher.search(&query, &(Count, top.order_by_score()))?
            } else {
                let (total, newest) = searcher.search(
                    &query,
                    &(
                        Count,
                        top.order_by_fast_field::<tantivy::DateTime>("submitted_at", Order::Desc),
                    ),
                )?;
                (total, newest.into_iter().map(|(_, a)| (0.0, a)).collect())
            };
        let snippets = if has_text {
            let mut generator = SnippetGenerator::create(&searcher, &*query, self.fields.body)?;
            generator.set_max_num_chars(SNIPPET_CHARS);
            Some(generator)
        } else {
            None
        };
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
            let snippet = snippets
                .as_ref()
                .map(|g| g.snippet_from_doc(&doc))
                .filter(|s| !s.is_empty())
                .map(|s| s.to_html())
                .unwrap_or_else(|| leading_excerpt(&body));
            let submitted_at = text(f.submitted_text).unwrap_or_default();
            hits.push(SearchHit {
                id: text(f.id).unwrap_or_default(),
                external_id: text(f.external_id).unwrap_or_default(),
                source: text(f.source).unwrap_or_default(),
                channel: text(f.channel).unwrap_or_default(),
                title: text(f.title),
                snippet,
                submitted_at,
                score,
            });
        }
        Ok(SearchResults { total, hits })
    }
}

fn leading_excerpt(body: &str) -> String {
    let excerpt: String = body.chars().take(SNIPPET_CHARS).collect();
    let escaped = excerpt
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    if body.chars().count() > SNIPPET_CHARS {
        format!("{escaped}…")
    } else {
        escaped
    }
}

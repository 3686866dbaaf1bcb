//! 相似案件: up to [`SIMILAR_SHOWN`] other cases whose complaints share the case's title words,
//! found through the search index by `api::search::search_as` — the code of `GET /v1/search`,
//! so an investigator's search covers their reach only and each hit is their view of its
//! complaint (masked, or left out) — and linked to their case pages.
//!
//! The words are jieba's words of the case's title (as the index analyses them), the longest
//! first, without digits (never a phone or an id number); each is searched on its own (a
//! query's terms are all required, so one query of every word would find only near copies),
//! and the cases of the hits are ranked by the words they share, then by the sum of their best
//! hits' scores. Hits shown in full with personal data are recorded as the search records them,
//! under `GET /console/cases/{id} 相似案件`.

use std::collections::HashMap;

use super::page::ConsoleError;
use crate::api::AppState;
use crate::api::session::CurrentSession;
use crate::cases::CaseSummary;
use crate::index::search::SearchRequest;

/// Most similar cases shown.
pub const SIMILAR_SHOWN: usize = 5;

/// Most words of the title searched.
const WORDS_SEARCHED: usize = 3;

/// Hits read per word (each one an investigator's view decided from the store: 20 a word made
/// the case page miss 50 ms for investigators at 100,000 complaints).
const HITS_PER_WORD: usize = 8;

/// A similar case as shown.
pub struct SimilarCase {
    pub id: String,
    /// The title of its best hit, as the caller's view of that complaint shows it.
    pub title: String,
    /// The title words it shares.
    pub shared: String,
}

/// The words of `title` searched for similar cases: jieba's words of two characters or more,
/// none with a digit, longest first, distinct.
pub fn title_words(title: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    crate::index::analyzer::word_tokens(title, &mut tokens);
    let mut words: Vec<String> = tokens
        .into_iter()
        .map(|t| t.text)
        .filter(|w| w.chars().count() >= 2 && !w.chars().any(|c| c.is_ascii_digit()))
        .collect();
    words.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
    words.dedup();
    // A word inside a longer one already chosen adds little: keep the longer.
    let mut chosen: Vec<String> = Vec::new();
    for word in words {
        if !chosen.iter().any(|c| c.contains(word.as_str())) {
            chosen.push(word);
        }
    }
    chosen.truncate(WORDS_SEARCHED);
    chosen
}

/// The cases like `case` that `session` may see, the case itself left out.
pub async fn find(
    state: &AppState,
    session: &CurrentSession,
    case: &CaseSummary,
    masked: bool,
) -> Result<Vec<SimilarCase>, ConsoleError> {
    // (score, title, words) by case id.
    let mut found: HashMap<String, (f32, String, Vec<String>)> = HashMap::new();
    for word in title_words(&case.title) {
        let request = SearchRequest {
            query: word.clone(),
            limit: HITS_PER_WORD,
            ..SearchRequest::default()
        };
        let results = crate::api::search::search_as(
            state,
            &session.principal,
            request,
            false,
            "GET /console/cases/{id} 相似案件",
        )
        .await?
        .results;
        let mut best: HashMap<String, (f32, String)> = HashMap::new();
        for hit in results.hits {
            // The case as the index last saw it (a merge or split reaches the index within
            // seconds; reading every hit's complaint again cost more than the search), or, for
            // a complaint indexed before it had a case, as the store has it.
            let case_id = match hit.facets.case_id.clone() {
                Some(case_id) => Some(case_id),
                None => state
                    .store
                    .complaint(&hit.id)
                    .await?
                    .and_then(|c| c.facets.case_id),
            };
            let Some(case_id) = case_id else {
                continue;
            };
            if case_id == case.id {
                continue;
            }
            let title = hit.title.clone().unwrap_or_else(|| plain(&hit.snippet));
            let entry = best.entry(case_id).or_insert((hit.score, title));
            if hit.score > entry.0 {
                entry.0 = hit.score;
            }
        }
        for (case_id, (score, title)) in best {
            let entry = found.entry(case_id).or_insert((0.0, title, Vec::new()));
            entry.0 += score;
            entry.2.push(word.clone());
        }
    }
    let mut ranked: Vec<(String, (f32, String, Vec<String>))> = found.into_iter().collect();
    ranked.sort_by(|a, b| {
        b.1.2
            .len()
            .cmp(&a.1.2.len())
            .then(b.1.0.total_cmp(&a.1.0))
            .then(a.0.cmp(&b.0))
    });
    Ok(ranked
        .into_iter()
        .take(SIMILAR_SHOWN)
        .map(|(id, (_, title, words))| SimilarCase {
            id,
            title,
            shared: if masked {
                crate::people::pii::mask_text(&words.join("、"))
            } else {
                words.join("、")
            },
        })
        .collect())
}

/// A snippet without its highlight tags (the template escapes it again).
fn plain(snippet: &str) -> String {
    let text = snippet.replace("<b>", "").replace("</b>", "");
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_words_are_the_longest_without_digits() {
        let words = title_words("幸福里小区门口井盖缺失 13698765432");
        assert!(
            !words.is_empty() && words.len() <= WORDS_SEARCHED,
            "{words:?}"
        );
        assert!(words.iter().all(|w| !w.chars().any(|c| c.is_ascii_digit())));
        for pair in words.windows(2) {
            assert!(pair[0].chars().count() >= pair[1].chars().count());
        }
        assert_eq!(title_words("井盖"), ["井盖"]);
        let river = title_words("河道发黑发臭");
        assert!(river.iter().any(|w| w.contains("河道")), "{river:?}");
        assert!(title_words("13698765432").is_empty(), "never a phone");
    }
}

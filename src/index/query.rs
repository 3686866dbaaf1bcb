//! The user query language and filters.
//!
//! A query is whitespace-separated terms, all required. A term matches wherever its characters
//! appear in the title or body after folding (so `扣费` finds `被扣费`, `投訴` finds `投诉`);
//! `"quoted words"` match as a phrase; a leading `-` excludes. Latin words are matched after
//! lowercasing and English stemming. Ranking is BM25 over the bigram fields, title boosted, plus
//! the query's jieba words in the `words` field.

use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhrasePrefixQuery, PhraseQuery,
    Query, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Term};

use super::analyzer::{self, is_cjk};
use super::{Fields, SearchIndex};

/// Weight of a title match relative to a body match.
const TITLE_BOOST: f32 = 2.0;
/// Weight of the jieba-words ranking signal.
const WORDS_BOOST: f32 = 0.5;

/// One part of a user query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub text: String,
    pub exclude: bool,
}

/// Splits a user query into clauses: whitespace-separated terms, `"quoted phrases"`, `-excluded`.
pub fn parse_clauses(query: &str) -> Vec<Clause> {
    let mut clauses = Vec::new();
    let mut chars = query.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let exclude = first == '-';
        if exclude {
            chars.next();
        }
        let mut text = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                text.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                text.push(c);
                chars.next();
            }
        }
        if !text.trim().is_empty() {
            clauses.push(Clause { text, exclude });
        }
    }
    clauses
}

/// Filters on the search.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub channel: Option<String>,
    pub source: Option<String>,
    /// Submitted at or after.
    pub from: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Submitted before.
    pub to: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// The tantivy query for a user query and filters, and whether it has any text clause.
pub fn build_query(index: &SearchIndex, query: &str, filters: &Filters) -> (Box<dyn Query>, bool) {
    let fields = index.fields;
    let mut analyzer = analyzer::bigram_analyzer();
    let mut subqueries: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut has_text = false;
    let mut included_text = String::new();
    for clause in parse_clauses(query) {
        let Some(matcher) = clause_query(&mut analyzer, &fields, &clause.text) else {
            continue;
        };
        if clause.exclude {
            subqueries.push((Occur::MustNot, matcher));
        } else {
            has_text = true;
            included_text.push_str(&clause.text);
            included_text.push(' ');
            subqueries.push((Occur::Must, matcher));
        }
    }
    if has_text {
        if let Some(words) = words_query(fields.words, &included_text) {
            subqueries.push((Occur::Should, words));
        }
    } else {
        subqueries.push((Occur::Must, Box::new(AllQuery)));
    }
    for (field, value) in [
        (fields.channel, &filters.channel),
        (fields.source, &filters.source),
    ] {
        if let Some(value) = value {
            let term = TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            );
            subqueries.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(term), 0.0)),
            ));
        }
    }
    if filters.from.is_some() || filters.to.is_some() {
        let bound = |t: Option<chrono::DateTime<chrono::FixedOffset>>, inclusive: bool| match t {
            None => Bound::Unbounded,
            Some(t) => {
                let term = Term::from_field_date_for_search(
                    fields.submitted_at,
                    DateTime::from_timestamp_secs(t.timestamp()),
                );
                if inclusive {
                    Bound::Included(term)
                } else {
                    Bound::Excluded(term)
                }
            }
        };
        let range =
            tantivy::query::RangeQuery::new(bound(filters.from, true), bound(filters.to, false));
        subqueries.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(Box::new(range), 0.0)),
        ));
    }
    (Box::new(BooleanQuery::new(subqueries)), has_text)
}

/// Title-or-body match of one clause.
fn clause_query(
    analyzer: &mut TextAnalyzer,
    fields: &Fields,
    text: &str,
) -> Option<Box<dyn Query>> {
    let title = field_query(analyzer, fields.title, text)?;
    let body = field_query(analyzer, fields.body, text)?;
    Some(Box::new(BooleanQuery::new(vec![
        (
            Occur::Should,
            Box::new(BoostQuery::new(title, TITLE_BOOST)) as Box<dyn Query>,
        ),
        (Occur::Should, body),
    ])))
}

fn field_query(analyzer: &mut TextAnalyzer, field: Field, text: &str) -> Option<Box<dyn Query>> {
    let mut stream = analyzer.token_stream(text);
    let mut terms: Vec<String> = Vec::new();
    while let Some(token) = stream.next() {
        terms.push(token.text.clone());
    }
    let term = |t: &str| Term::from_field_text(field, t);
    let single_cjk = |t: &str| {
        let mut chars = t.chars();
        matches!((chars.next(), chars.next()), (Some(c), None) if is_cjk(c))
    };
    match terms.as_slice() {
        [] => None,
        [only] if single_cjk(only) => Some(single_char_query(field, only)),
        [only] => Some(Box::new(TermQuery::new(
            term(only),
            IndexRecordOption::WithFreqs,
        ))),
        [.., last] if single_cjk(last) => {
            // The last character may be the start of a bigram in the document.
            let mut query = PhrasePrefixQuery::new(terms.iter().map(|t| term(t)).collect());
            query.set_max_expansions(10_000);
            Some(Box::new(query))
        }
        _ => Some(Box::new(PhraseQuery::new(
            terms.iter().map(|t| term(t)).collect(),
        ))),
    }
}

/// A single CJK character: indexed alone, or as the first or second half of a bigram.
fn single_char_query(field: Field, c: &str) -> Box<dyn Query> {
    let alone = TermQuery::new(
        Term::from_field_text(field, c),
        IndexRecordOption::WithFreqs,
    );
    let mut starts = PhrasePrefixQuery::new(vec![Term::from_field_text(field, c)]);
    starts.set_max_expansions(100_000);
    let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![
        (Occur::Should, Box::new(alone)),
        (Occur::Should, Box::new(starts)),
    ];
    if let Ok(ends) = RegexQuery::from_pattern(&format!(".{}", regex_escape(c)), field) {
        parts.push((Occur::Should, Box::new(ends)));
    }
    Box::new(BooleanQuery::new(parts))
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~\"@<>".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

fn words_query(field: Field, text: &str) -> Option<Box<dyn Query>> {
    let mut analyzer = analyzer::words_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut seen = std::collections::BTreeSet::new();
    while let Some(token) = stream.next() {
        seen.insert(token.text.clone());
    }
    if seen.is_empty() {
        return None;
    }
    let parts: Vec<(Occur, Box<dyn Query>)> = seen
        .into_iter()
        .map(|w| {
            let q: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(field, &w),
                IndexRecordOption::WithFreqs,
            ));
            (Occur::Should, q)
        })
        .collect();
    Some(Box::new(BoostQuery::new(
        Box::new(BooleanQuery::new(parts)),
        WORDS_BOOST,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_split_on_whitespace_quotes_and_minus() {
        let clauses = parse_clauses(r#" 扣费  "road works" -噪音 -"a b" "#);
        let texts: Vec<(&str, bool)> = clauses
            .iter()
            .map(|c| (c.text.as_str(), c.exclude))
            .collect();
        assert_eq!(
            texts,
            [
                ("扣费", false),
                ("road works", false),
                ("噪音", true),
                ("a b", true)
            ]
        );
        assert!(parse_clauses("   ").is_empty());
        assert_eq!(parse_clauses("\"unterminated")[0].text, "unterminated");
    }

    #[test]
    fn regex_escaping() {
        assert_eq!(regex_escape("a.b"), "a\\.b");
        assert_eq!(regex_escape("区"), "区");
    }
}

//! What the engine knows about one complaint: hashes, a MinHash signature, problem terms,
//! named places and admin areas, all extracted without touching engine state.
//!
//! Extraction is a pure function of the complaint and the [`Extractor`]'s fixed word lists, so
//! callers may run it on several threads and hand the results to the engine in arrival order;
//! the engine's decisions then do not depend on how extraction was scheduled.
//!
//! Text positions are byte spans into the complaint's normalised text: nothing is copied, and
//! the engine reads the words back only to explain a decision.

use std::sync::Arc;

use jieba_rs::{Jieba, Tag};
use rustc_hash::{FxHashMap, FxHashSet};

use super::config::GroupingConfig;
use super::hash::{hash_str, seed};
use super::input::ComplaintInput;
use super::lexicon::{
    BOILERPLATE_WORDS, GENERIC_INSTITUTIONS, GENERIC_PLACE_WORDS, NOT_AREA_WORDS, NOT_NAME_WORDS,
    PLACE_SUFFIXES, PROBLEM_CONCEPTS, PlaceKind, PlaceSuffix,
};
use super::minhash::{self, Signature, is_content_char};

/// A byte range of the complaint's normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    pub(crate) fn of<'t>(&self, text: &'t str) -> &'t str {
        &text[self.start as usize..self.end as usize]
    }
}

/// A distinct problem term with its weighted count (title words count twice).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TermOccurrence {
    pub(crate) hash: u64,
    pub(crate) count: u16,
    pub(crate) span: Span,
}

/// One way of writing a place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlaceKey {
    pub(crate) hash: u64,
    pub(crate) span: Span,
    /// The name is made only of everyday words (自来水公司): it names a kind of place more
    /// than one place.
    pub(crate) generic: bool,
}

/// One named place, with its keys from most to least specific (万科魅力之城, 魅力之城).
#[derive(Debug, Clone)]
pub(crate) struct PlaceMention {
    pub(crate) kind: PlaceKind,
    /// The first key is a bare, unusual name, the generic suffix dropped (魅力之城 from
    /// 魅力之城小区): worth recognising later without the suffix.
    pub(crate) bare: bool,
    pub(crate) keys: Vec<PlaceKey>,
}

/// Everything the engine uses about one complaint.
#[derive(Debug, Clone)]
pub struct ComplaintFeatures {
    /// Hash of the content characters of the whole text.
    pub(crate) exact_hash: u64,
    /// Hash of the content characters of the body alone, when long enough to be meaningful.
    pub(crate) body_hash: Option<u64>,
    pub(crate) signature: Option<Signature>,
    /// LSH band keys of the signature.
    pub(crate) band_keys: Vec<u32>,
    /// Distinct problem terms, sorted by hash.
    pub(crate) terms: Vec<TermOccurrence>,
    pub(crate) places: Vec<PlaceMention>,
    /// District-level admin areas named in the text (A5区, 雨花区), hashed, sorted, distinct.
    pub(crate) text_districts: Vec<u64>,
    /// Runs of name-like words not recognised as places, for matching names learned earlier.
    pub(crate) name_spans: Vec<(u64, Span)>,
    pub(crate) complainants: Vec<u64>,
    pub(crate) district: Option<u64>,
    pub(crate) submitted_at_secs: i64,
}

/// Turns complaints into [`ComplaintFeatures`]. Cheap to share between threads.
#[derive(Clone)]
pub struct Extractor {
    inner: Arc<ExtractorInner>,
}

pub(crate) struct ExtractorInner {
    pub(crate) jieba: Arc<Jieba>,
    pub(crate) shingle_chars: usize,
    pub(crate) min_body_chars: usize,
    pub(crate) lsh_bands: usize,
    pub(crate) lsh_rows_per_band: usize,
    pub(crate) suffixes: FxHashMap<&'static str, &'static PlaceSuffix>,
    pub(crate) generic_place_words: FxHashSet<&'static str>,
    pub(crate) not_name_words: FxHashSet<&'static str>,
    pub(crate) boilerplate: FxHashSet<&'static str>,
    pub(crate) not_area_words: FxHashSet<&'static str>,
    pub(crate) generic_institutions: FxHashSet<&'static str>,
    /// Problem word → hash of its concept term.
    pub(crate) concepts: FxHashMap<&'static str, u64>,
}

impl Extractor {
    /// Builds an extractor for `config`'s shingle, body and LSH settings around a shared jieba
    /// instance (loading one takes ~0.1 s and tens of MB, so the gateway should share the one
    /// its search index uses).
    pub fn new(jieba: Arc<Jieba>, config: &GroupingConfig) -> Self {
        let suffixes = PLACE_SUFFIXES.iter().map(|s| (s.text, s)).collect();
        Extractor {
            inner: Arc::new(ExtractorInner {
                jieba,
                shingle_chars: config.shingle_chars,
                min_body_chars: config.min_body_chars_for_exact,
                lsh_bands: config.lsh_bands,
                lsh_rows_per_band: config.lsh_rows_per_band,
                suffixes,
                generic_place_words: GENERIC_PLACE_WORDS.iter().copied().collect(),
                not_name_words: NOT_NAME_WORDS.iter().copied().collect(),
                boilerplate: BOILERPLATE_WORDS.iter().copied().collect(),
                not_area_words: NOT_AREA_WORDS.iter().copied().collect(),
                generic_institutions: GENERIC_INSTITUTIONS.iter().copied().collect(),
                concepts: PROBLEM_CONCEPTS
                    .iter()
                    .flat_map(|(concept, words)| {
                        let hash = hash_str(seed::TERM, &format!("概念:{concept}"));
                        words.iter().map(move |word| (*word, hash))
                    })
                    .collect(),
            }),
        }
    }

    pub(crate) fn jieba(&self) -> &Jieba {
        &self.inner.jieba
    }

    /// Extracts the features of one complaint.
    pub fn extract(&self, input: &ComplaintInput) -> ComplaintFeatures {
        self.inner.extract(input)
    }

    /// What extraction found, in words: for the API's explanation and for tuning.
    pub fn summarize(&self, input: &ComplaintInput) -> FeatureSummary {
        let features = self.inner.extract(input);
        let text = input.text.as_str();
        FeatureSummary {
            places: features
                .places
                .iter()
                .map(|p| {
                    (
                        p.kind,
                        p.keys.iter().map(|k| k.span.of(text).to_string()).collect(),
                    )
                })
                .collect(),
            terms: features
                .terms
                .iter()
                .map(|t| (t.span.of(text).to_string(), t.count))
                .collect(),
            named_districts: features.text_districts.len(),
            has_body_hash: features.body_hash.is_some(),
        }
    }
}

/// A readable summary of a complaint's features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureSummary {
    /// Named places: kind and keys, most specific first.
    pub places: Vec<(PlaceKind, Vec<String>)>,
    /// Problem terms with their weighted counts (title words count twice).
    pub terms: Vec<(String, u16)>,
    /// How many district-level admin areas the text names.
    pub named_districts: usize,
    /// Whether the body is long enough to be compared on its own.
    pub has_body_hash: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
/// What a token has been recognised as.
pub(crate) enum Claim {
    Free,
    Area,
    Place(u16),
}

pub(crate) struct Token<'t> {
    pub(crate) word: &'t str,
    pub(crate) pos: &'t str,
    pub(crate) span: Span,
    pub(crate) chars: usize,
    pub(crate) claim: Claim,
    /// Could be a piece of a place name (its word and tag allow it), whatever its claim.
    pub(crate) name_piece: bool,
    /// The place suffix the word ends with, if any.
    pub(crate) suffix: Option<&'static PlaceSuffix>,
}

impl ExtractorInner {
    fn extract(&self, input: &ComplaintInput) -> ComplaintFeatures {
        let text = input.text.as_str();
        let title_end = title_end(text, &input.title);
        let mut tokens: Vec<Token> = self
            .jieba
            .tag(text, false)
            .into_iter()
            .map(|tag: Tag| {
                let mut token = Token {
                    word: tag.word,
                    pos: tag.tag,
                    span: Span {
                        start: tag.byte_start as u32,
                        end: tag.byte_end as u32,
                    },
                    chars: tag.end - tag.start,
                    claim: Claim::Free,
                    name_piece: false,
                    suffix: None,
                };
                token.name_piece = self.could_be_name_piece(&token);
                token.suffix = self.suffix_of(token.word);
                token
            })
            .collect();
        let text_districts = self.claim_areas(&mut tokens);
        let places = self.claim_places(text, &mut tokens);
        let name_spans = self.name_spans(text, &tokens);
        let terms = self.terms(text, &tokens, title_end);

        let body = &text[title_end..];
        let body_hash =
            (content_chars(body).count() >= self.min_body_chars).then(|| content_hash(body));
        let mut complainants: Vec<u64> = input
            .complainant_keys
            .iter()
            .filter(|k| !k.trim().is_empty())
            .map(|k| hash_str(seed::COMPLAINANT, k.trim()))
            .collect();
        complainants.sort_unstable();
        complainants.dedup();
        let signature = minhash::signature(text, self.shingle_chars);
        ComplaintFeatures {
            exact_hash: content_hash(text),
            body_hash,
            band_keys: signature
                .as_ref()
                .map(|s| {
                    minhash::band_keys(s, self.lsh_bands, self.lsh_rows_per_band)
                        .map(|key| key as u32)
                        .collect()
                })
                .unwrap_or_default(),
            signature,
            terms,
            places,
            text_districts,
            name_spans,
            complainants,
            district: input
                .district
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(|d| hash_str(seed::DISTRICT, d)),
            submitted_at_secs: input.submitted_at.timestamp(),
        }
    }

    fn terms(&self, text: &str, tokens: &[Token], title_end: usize) -> Vec<TermOccurrence> {
        let mut found: Vec<TermOccurrence> = Vec::new();
        let mut lowered = String::new();
        for token in tokens {
            if token.claim != Claim::Free || token.chars < 2 || !self.is_term(token) {
                continue;
            }
            let word = token.span.of(text);
            let hash = if word.is_ascii() {
                lowered.clear();
                lowered.extend(word.chars().map(|c| c.to_ascii_lowercase()));
                hash_str(seed::TERM, &lowered)
            } else {
                hash_str(seed::TERM, word)
            };
            let weight = if (token.span.start as usize) < title_end {
                2
            } else {
                1
            };
            found.push(TermOccurrence {
                hash,
                count: weight,
                span: token.span,
            });
            // Compounds also count as their leading and trailing words, so 油烟味 meets
            // 油烟 and 夜宵摊 meets 夜宵.
            if token.chars >= 3
                && !word.is_ascii()
                && matches!(token.pos.as_bytes().first(), Some(b'n' | b'v'))
            {
                let starts: Vec<usize> = word.char_indices().map(|(i, _)| i).collect();
                let (head_end, tail_start) = (starts[2], starts[starts.len() - 2]);
                for (from, to) in [(0, head_end), (tail_start, word.len())] {
                    let part = &word[from..to];
                    if self.jieba.has_word(part)
                        && !self.boilerplate.contains(part)
                        && !self.generic_place_words.contains(part)
                        && !self.not_name_words.contains(part)
                    {
                        found.push(TermOccurrence {
                            hash: hash_str(seed::TERM, part),
                            count: weight,
                            span: Span {
                                start: token.span.start + from as u32,
                                end: token.span.start + to as u32,
                            },
                        });
                    }
                }
            }
        }
        let concept_terms: Vec<TermOccurrence> = found
            .iter()
            .filter_map(|t| {
                self.concepts
                    .get(t.span.of(text))
                    .map(|&hash| TermOccurrence { hash, ..*t })
            })
            .collect();
        found.extend(concept_terms);
        found.sort_by_key(|t| (t.hash, t.span.start));
        let mut terms: Vec<TermOccurrence> = Vec::with_capacity(found.len());
        for term in found {
            match terms.last_mut() {
                Some(last) if last.hash == term.hash => {
                    last.count = last.count.saturating_add(term.count)
                }
                _ => terms.push(term),
            }
        }
        terms
    }

    fn is_term(&self, token: &Token) -> bool {
        if self.boilerplate.contains(token.word)
            || self.not_name_words.contains(token.word)
            || self.generic_place_words.contains(token.word)
        {
            return false;
        }
        if token
            .word
            .chars()
            .all(|c| c.is_ascii_digit() || !is_content_char(c))
        {
            return false;
        }
        match token.pos.as_bytes().first() {
            Some(b'n' | b'v' | b'a' | b'i' | b'l' | b'j' | b's' | b'b' | b'z' | b'g' | b't') => {
                true
            }
            Some(b'e' | b'x') => token.word.chars().all(|c| c.is_ascii_alphanumeric()),
            _ => false,
        }
    }
}

/// Byte offset where the title ends in `text` (0 when the text does not start with it).
fn title_end(text: &str, title: &str) -> usize {
    let title = title.trim();
    if !title.is_empty() && text.starts_with(title) {
        return title.len();
    }
    // The title changed in normalisation (full-width punctuation, Traditional characters).
    let title = connectors::text::normalize(title);
    if !title.is_empty() && text.starts_with(&title) {
        title.len()
    } else {
        0
    }
}

fn content_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().filter(|&c| is_content_char(c))
}

fn content_hash(text: &str) -> u64 {
    let mut buffer = String::with_capacity(text.len());
    buffer.extend(content_chars(text).map(|c| c.to_ascii_lowercase()));
    hash_str(seed::EXACT, &buffer)
}

//! Feature extraction: normalised text → hashed, TF-IDF-weighted sparse vector.
//!
//! Three blocks of features are extracted from the normalised text (see
//! [`connectors::text::normalize`]: NFKC, Traditional → Simplified, whitespace collapsed), after
//! lower-casing and, optionally, folding every ASCII digit to `0`:
//! - **characters**: n-grams inside runs of Han characters (1–3 by default), and n-grams of other
//!   words padded with a boundary marker (3–5 by default, like scikit-learn's `char_wb`), so an
//!   English word's prefix and suffix are features of their own;
//! - **words**: jieba-rs tokens (English words come out whole and are Snowball-stemmed), and the
//!   bigrams of consecutive tokens. Tokens without a letter or digit (punctuation) are skipped;
//! - **title**: the same character and word features of the title alone, hashed apart from the
//!   others: a title names the complaint's subject in a few words, and giving it a block of its
//!   own lets it weigh more than its length would (the title is also part of the first two
//!   blocks, which read `title + " " + body`).
//!
//! Every feature is hashed with a fixed function (see `hashing`) into `2^hash_bits` buckets,
//! so extraction needs no vocabulary. Weighting is TF-IDF: sublinear tf (`1 + ln tf`) times
//! idf, each block L2-normalised and scaled by its weight, and the whole vector scaled to unit
//! length. The same code weighs training and prediction vectors, so they cannot drift apart.
//!
//! Extraction never fails: an empty text yields an empty vector.

use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};

use super::hashing::{combine, hash_bytes, mix64};

const CHAR_SEED: u64 = 0x6368_6172_5f67_7261; // "char_gra"
const WORD_SEED: u64 = 0x776f_7264_5f75_6e69; // "word_uni"
const BIGRAM_SEED: u64 = 0x776f_7264_5f62_6967; // "word_big"
const TITLE_SALT: u64 = 0x7469_746c_655f_626c; // "title_bl"
/// The boundary marker around non-Han words in character n-grams.
const BOUNDARY: u64 = b' ' as u64;

/// Number of feature blocks (characters, words, title).
pub(crate) const BLOCKS: usize = 3;

/// How text becomes features. Stored in every model file: a model is always applied with the
/// configuration it was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    /// Base-2 logarithm of the number of hash buckets (feature space size).
    pub hash_bits: u8,
    /// Smallest and largest n-gram length inside runs of Han characters; `[0, 0]` disables.
    pub han_char_ngrams: [u8; 2],
    /// Smallest and largest n-gram length of other words, boundary-padded; `[0, 0]` disables.
    pub word_char_ngrams: [u8; 2],
    /// Longest word n-gram: 0 disables word features, 1 unigrams, 2 adds bigrams.
    pub word_ngrams: u8,
    /// Segment Chinese into words with jieba only within the first this many characters
    /// (title included); 0 means everywhere. Segmentation is the most expensive step of
    /// prediction, and a complaint states its subject early. Words of other scripts (English)
    /// are whole runs of letters and digits and are taken from the entire text.
    pub jieba_max_chars: u32,
    /// Let jieba guess words missing from its dictionary with its HMM (slower).
    pub jieba_hmm: bool,
    /// Snowball-stem (English) words made of ASCII letters.
    pub stem_english: bool,
    /// Fold every ASCII digit to `0`, so numbers count by shape rather than value.
    pub fold_digits: bool,
    /// Use `1 + ln(tf)` instead of the raw term frequency.
    pub sublinear_tf: bool,
    /// Buckets seen in fewer training messages than this are dropped (lowered to
    /// `1 + messages / 2000` on smaller training sets).
    pub min_df: u32,
    /// Weight of the character block relative to the word block.
    pub char_weight: f32,
    /// Weight of the word block relative to the character block.
    pub word_weight: f32,
    /// Weight of the title block (character and word features of the title alone).
    pub title_weight: f32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            hash_bits: 20,
            han_char_ngrams: [1, 2],
            word_char_ngrams: [3, 5],
            word_ngrams: 2,
            jieba_max_chars: 120,
            jieba_hmm: false,
            stem_english: true,
            fold_digits: true,
            sublinear_tf: true,
            min_df: 3,
            char_weight: 1.0,
            word_weight: 1.0,
            title_weight: 1.0,
        }
    }
}

/// Why a feature configuration cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureConfigError {
    #[error("hash_bits must be between 10 and 26, got {0}")]
    HashBits(u8),
    #[error("`{field}` must be [min, max] with 1 <= min <= max <= 8, or [0, 0]; got {value:?}")]
    NgramRange { field: &'static str, value: [u8; 2] },
    #[error("word_ngrams must be 0, 1 or 2, got {0}")]
    WordNgrams(u8),
    #[error("block weights must be finite and non-negative, with at least one block enabled")]
    Weights,
}

impl FeatureConfig {
    /// Checks the ranges; a model file with an invalid configuration is rejected on load.
    pub fn validate(&self) -> Result<(), FeatureConfigError> {
        if !(10..=26).contains(&self.hash_bits) {
            return Err(FeatureConfigError::HashBits(self.hash_bits));
        }
        for (field, value) in [
            ("han_char_ngrams", self.han_char_ngrams),
            ("word_char_ngrams", self.word_char_ngrams),
        ] {
            let [lo, hi] = value;
            if !(value == [0, 0] || (1 <= lo && lo <= hi && hi <= 8)) {
                return Err(FeatureConfigError::NgramRange { field, value });
            }
        }
        if self.word_ngrams > 2 {
            return Err(FeatureConfigError::WordNgrams(self.word_ngrams));
        }
        let weights_ok = self
            .block_weights()
            .iter()
            .all(|w| w.is_finite() && *w >= 0.0);
        let chars_on =
            self.char_weight > 0.0 && (self.han_char_ngrams[1] > 0 || self.word_char_ngrams[1] > 0);
        let words_on = self.word_weight > 0.0 && self.word_ngrams > 0;
        if !weights_ok || !(chars_on || words_on) {
            return Err(FeatureConfigError::Weights);
        }
        Ok(())
    }

    /// Weights of the character, word and title blocks.
    pub(crate) fn block_weights(&self) -> [f32; BLOCKS] {
        [self.char_weight, self.word_weight, self.title_weight]
    }

    pub(crate) fn bucket_count(&self) -> usize {
        1usize << self.hash_bits
    }
}

/// The process's one jieba dictionary.
fn jieba() -> &'static Jieba {
    crate::dictionary::jieba()
}

/// Reusable buffers for extraction, so that predicting allocates little per message.
#[derive(Debug, Default)]
pub struct FeatureScratch {
    prepared: String,
    codes: Vec<u64>,
    counter: BucketCounter,
    /// Per block: `(bucket, term frequency)`, in order of first occurrence.
    pub(crate) counts: [Vec<(u32, u32)>; BLOCKS],
}

/// Extracts hashed term counts from text according to a [`FeatureConfig`].
#[derive(Clone)]
pub struct Featurizer {
    config: FeatureConfig,
    stemmer: frostem::Stemmer,
}

impl std::fmt::Debug for Featurizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Featurizer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Featurizer {
    /// Builds a featurizer; the configuration must be valid.
    pub fn new(config: FeatureConfig) -> Result<Self, FeatureConfigError> {
        config.validate()?;
        Ok(Featurizer {
            config,
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
        })
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// Fills `scratch.counts` with the term counts of a message; title and body are raw text,
    /// normalised here first.
    pub fn count(&self, title: Option<&str>, body: &str, scratch: &mut FeatureScratch) {
        let title = title.map(connectors::text::normalize);
        let body = connectors::text::normalize(body);
        self.count_normalized(title.as_deref(), &body, scratch);
    }

    /// Like [`Featurizer::count`] for title and body already normalised with
    /// [`connectors::text::normalize`].
    pub fn count_normalized(&self, title: Option<&str>, body: &str, scratch: &mut FeatureScratch) {
        let title = title.filter(|t| !t.is_empty());
        let FeatureScratch {
            prepared,
            codes,
            counter,
            counts,
        } = scratch;
        prepared.clear();
        if let Some(title) = title {
            self.prepare(title, prepared);
            prepared.push(' ');
        }
        self.prepare(body, prepared);
        for block in counts.iter_mut() {
            block.clear();
        }
        let shift = 64 - u32::from(self.config.hash_bits);
        let [char_counts, word_counts, title_counts] = counts;
        if self.config.char_weight > 0.0 {
            self.char_features(prepared, codes, |h| {
                counter.add((h >> shift) as u32, char_counts)
            });
        }
        counter.finish();
        if self.config.word_weight > 0.0 {
            self.word_features(prepared, |h| counter.add((h >> shift) as u32, word_counts));
        }
        counter.finish();
        if let Some(title) = title.filter(|_| self.config.title_weight > 0.0) {
            prepared.clear();
            self.prepare(title, prepared);
            let mut emit =
                |h: u64| counter.add((mix64(h ^ TITLE_SALT) >> shift) as u32, title_counts);
            self.char_features(prepared, codes, &mut emit);
            self.word_features(prepared, &mut emit);
        }
        counter.finish();
    }

    /// Appends the lower-cased (and digit-folded) form of `normalized` to `out`.
    fn prepare(&self, normalized: &str, out: &mut String) {
        for c in normalized.chars() {
            if self.config.fold_digits && c.is_ascii_digit() {
                out.push('0');
            } else if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else if ('\u{3000}'..='\u{FEFF}').contains(&c) {
                // CJK, kana, Hangul and Yi have no case: skip the case-mapping table lookup.
                out.push(c);
            } else {
                out.extend(c.to_lowercase());
            }
        }
    }

    fn char_features(&self, text: &str, codes: &mut Vec<u64>, mut emit: impl FnMut(u64)) {
        let mut chars = text.chars().peekable();
        while let Some(&first) = chars.peek() {
            let class = CharClass::of(first);
            codes.clear();
            while let Some(&c) = chars.peek() {
                if CharClass::of(c) != class {
                    break;
                }
                codes.push(u64::from(c));
                chars.next();
            }
            match class {
                CharClass::Separator => {}
                CharClass::Han => ngrams(codes, self.config.han_char_ngrams, &mut emit),
                CharClass::Word => {
                    codes.insert(0, BOUNDARY);
                    codes.push(BOUNDARY);
                    let [lo, hi] = self.config.word_char_ngrams;
                    if hi > 0 && codes.len() < usize::from(lo) {
                        // A word shorter than the shortest n-gram is one feature, as in `char_wb`.
                        ngrams(codes, [codes.len() as u8, codes.len() as u8], &mut emit);
                    } else {
                        ngrams(codes, [lo, hi], &mut emit);
                    }
                }
            }
        }
    }

    /// Emits word unigrams (and bigrams): jieba's tokens of the first `jieba_max_chars`
    /// characters, then the non-Han words of the rest.
    fn word_features(&self, text: &str, mut emit: impl FnMut(u64)) {
        if self.config.word_ngrams == 0 {
            return;
        }
        let split = match self.config.jieba_max_chars {
            0 => text.len(),
            limit => text
                .char_indices()
                .nth(limit as usize)
                .map_or(text.len(), |(end, _)| end),
        };
        let (segmented, rest) = text.split_at(split);
        let mut previous: Option<u64> = None;
        let mut word = |word: &str| {
            let hash = if self.config.stem_english && word.bytes().all(|b| b.is_ascii_alphabetic())
            {
                hash_bytes(WORD_SEED, self.stemmer.stem(word).as_bytes())
            } else {
                hash_bytes(WORD_SEED, word.as_bytes())
            };
            emit(hash);
            if self.config.word_ngrams >= 2 {
                if let Some(previous) = previous {
                    emit(combine(combine(BIGRAM_SEED, previous), hash));
                }
            }
            previous = Some(hash);
        };
        for token in jieba().cut(segmented, self.config.jieba_hmm) {
            if token.word.chars().any(char::is_alphanumeric) {
                word(token.word);
            }
        }
        // The cut may have split a word at `split`; that word's tail is counted as a word.
        // Runs without a letter (numbers, codes) are left to the character block there.
        for run in rest.split(|c: char| CharClass::of(c) != CharClass::Word) {
            if run.chars().any(char::is_alphabetic) {
                word(run);
            }
        }
    }

    /// Term frequency after the configured damping.
    #[inline]
    pub(crate) fn tf(&self, count: u32) -> f32 {
        if self.config.sublinear_tf {
            1.0 + (count as f32).ln()
        } else {
            count as f32
        }
    }

    /// Weighs `counts` into a unit-length vector of `(column, value)`.
    ///
    /// `lookup` maps a bucket to its column and idf, or `None` for a bucket the model does not
    /// use. Blocks are L2-normalised separately, scaled by their weights, and the result is
    /// divided by the norm those weights give, so every non-empty vector has unit length (up to
    /// hash collisions between blocks).
    pub(crate) fn weigh(
        &self,
        counts: &[Vec<(u32, u32)>; BLOCKS],
        mut lookup: impl FnMut(u32) -> Option<(u32, f32)>,
        out: &mut Vec<(u32, f32)>,
    ) {
        out.clear();
        let weights = self.config.block_weights();
        let mut total_sq = 0.0f32;
        for (block, block_counts) in counts.iter().enumerate() {
            let start = out.len();
            let mut norm_sq = 0.0f32;
            for &(bucket, count) in block_counts {
                if let Some((column, idf)) = lookup(bucket) {
                    let value = self.tf(count) * idf;
                    norm_sq += value * value;
                    out.push((column, value));
                }
            }
            if norm_sq > 0.0 {
                let scale = weights[block] / norm_sq.sqrt();
                for entry in &mut out[start..] {
                    entry.1 *= scale;
                }
                total_sq += weights[block] * weights[block];
            }
        }
        if total_sq > 0.0 {
            let scale = 1.0 / total_sq.sqrt();
            for entry in out.iter_mut() {
                entry.1 *= scale;
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharClass {
    Han,
    Word,
    Separator,
}

impl CharClass {
    fn of(c: char) -> CharClass {
        if is_han(c) {
            CharClass::Han
        } else if c.is_alphanumeric() {
            CharClass::Word
        } else {
            CharClass::Separator
        }
    }
}

fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x3007)
}

/// Emits the hash of every n-gram of `codes` with `range[0] <= n <= range[1]`.
fn ngrams(codes: &[u64], [lo, hi]: [u8; 2], emit: &mut impl FnMut(u64)) {
    if hi == 0 {
        return;
    }
    let (lo, hi) = (usize::from(lo), usize::from(hi));
    for start in 0..codes.len() {
        let mut h = CHAR_SEED;
        for (offset, &code) in codes[start..].iter().take(hi).enumerate() {
            h = combine(h, code);
            if offset + 1 >= lo {
                emit(h);
            }
        }
    }
}

/// Counts bucket occurrences of one block in an open-addressing table that is reused across
/// messages (sorting the occurrences instead cost a fifth of prediction time). Each distinct
/// bucket is appended to the block's count list when first seen; the table slot remembers
/// where, so later occurrences only increment.
#[derive(Debug, Default)]
struct BucketCounter {
    /// `(bucket + 1, position in the count list)`; 0 marks an empty slot.
    slots: Vec<(u32, u32)>,
    /// Slots filled since the last `finish`, to clear them without sweeping the table.
    filled: Vec<u32>,
}

impl BucketCounter {
    const INITIAL_SLOTS: usize = 4096;

    #[inline]
    fn add(&mut self, bucket: u32, counts: &mut Vec<(u32, u32)>) {
        if (self.filled.len() + 1) * 2 > self.slots.len() {
            self.grow(counts);
        }
        let mask = self.slots.len() - 1;
        let mut slot = (bucket.wrapping_mul(0x9e37_79b1) >> 7) as usize & mask;
        loop {
            let (key, position) = self.slots[slot];
            if key == bucket + 1 {
                counts[position as usize].1 += 1;
                return;
            }
            if key == 0 {
                self.slots[slot] = (bucket + 1, counts.len() as u32);
                self.filled.push(slot as u32);
                counts.push((bucket, 1));
                return;
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Doubles the table (or creates it) and re-inserts the buckets of the current block.
    fn grow(&mut self, counts: &[(u32, u32)]) {
        let size = (self.slots.len() * 2).max(Self::INITIAL_SLOTS);
        self.slots.clear();
        self.slots.resize(size, (0, 0));
        self.filled.clear();
        let mask = size - 1;
        for (position, &(bucket, _)) in counts.iter().enumerate() {
            let mut slot = (bucket.wrapping_mul(0x9e37_79b1) >> 7) as usize & mask;
            while self.slots[slot].0 != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = (bucket + 1, position as u32);
            self.filled.push(slot as u32);
        }
    }

    /// Ends a block: empties the filled slots for the next one.
    fn finish(&mut self) {
        for &slot in &self.filled {
            self.slots[slot as usize] = (0, 0);
        }
        self.filled.clear();
    }
}

#[cfg(test)]
mod tests;

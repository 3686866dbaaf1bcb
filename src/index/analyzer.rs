//! Text analysis for Chinese (and English) search.
//!
//! jieba words alone miss a substring such as `扣费` inside `被扣费` (jieba cuts `被扣` `费` or
//! keeps `被扣费` whole), so title and body are indexed as **character bigrams** with positions:
//! every substring of two or more characters a user types is then a phrase of bigrams and is
//! found. A CJK run of a single character is indexed as that character. Latin letters and digits
//! form words, lowercased and stemmed (English). A separate `words` field holds jieba's
//! search-mode words, used only to rank (BM25) documents that contain the query's words.
//!
//! Folding happens per character before tokenising, so offsets still point into the original
//! text (snippets highlight the original): NFKC (full-width → half-width, compatibility
//! ideographs → unified), lowercase, and Traditional → Simplified through a single-character
//! table derived once from zhconv's OpenCC data.

use std::sync::OnceLock;

use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};
use unicode_normalization::UnicodeNormalization;

/// Separates the parts of one indexed value (title, title again, body): no bigram and no phrase
/// spans it, because it opens a gap of [`FIELD_GAP`] positions.
pub const FIELD_SEPARATOR: char = '\u{1e}';
/// Positions skipped at a [`FIELD_SEPARATOR`].
pub(super) const FIELD_GAP: usize = 8;

/// Registered name of the bigram analyzer (title, body).
pub const BIGRAM: &str = "cg_bigram";
/// Registered name of the trigram analyzer (the `text3` field).
pub const TRIGRAM: &str = "cg_trigram";
/// Registered name of the jieba words analyzer (ranking field).
pub const WORDS: &str = "cg_words";

const CJK_TABLE_START: u32 = 0x3400;
const CJK_TABLE_END: u32 = 0xA000;

/// Single-character Traditional → Simplified table over the BMP CJK block.
fn t2s_table() -> &'static [char] {
    static TABLE: OnceLock<Vec<char>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let converter = zhconv::get_builtin_converter(zhconv::Variant::ZhHans);
        (CJK_TABLE_START..CJK_TABLE_END)
            .map(|code| {
                let c = char::from_u32(code).unwrap_or('\u{fffd}');
                let converted = converter.convert(c.encode_utf8(&mut [0; 4]));
                let mut chars = converted.chars();
                match (chars.next(), chars.next()) {
                    (Some(single), None) => single,
                    _ => c,
                }
            })
            .collect()
    })
}

/// Forces the folding table and jieba's dictionary to load (they load lazily otherwise; calling
/// this at start-up keeps the first request fast).
pub fn warm_up() {
    let _ = t2s_table();
    let _ = jieba();
}

/// Folds one character into `out`: NFKC, lowercase, Traditional → Simplified.
pub fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let code = c as u32;
    if (0x4E00..0xA000).contains(&code) || (CJK_TABLE_START..0x4DC0).contains(&code) {
        out.push(t2s_table()[(code - CJK_TABLE_START) as usize]);
        return;
    }
    for n in std::iter::once(c).nfkc() {
        for l in n.to_lowercase() {
            let lc = l as u32;
            if (CJK_TABLE_START..CJK_TABLE_END).contains(&lc) {
                out.push(t2s_table()[(lc - CJK_TABLE_START) as usize]);
            } else {
                out.push(l);
            }
        }
    }
}

/// Folds a whole string (used for the words field and for queries).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, &mut out);
    }
    out
}

/// True for characters indexed as bigrams: Han ideographs, kana and hangul.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Class {
    Cjk,
    Word,
    Other,
}

pub(super) fn class_of(c: char) -> Class {
    if is_cjk(c) {
        Class::Cjk
    } else if c.is_alphanumeric() {
        Class::Word
    } else {
        Class::Other
    }
}

/// Bigram tokenizer; see the module documentation.
#[derive(Clone, Default)]
pub struct BigramTokenizer {
    tokens: Vec<Token>,
}

/// A token stream over a precomputed token list.
pub struct VecTokenStream<'a> {
    tokens: &'a mut [Token],
    next: usize,
}

impl<'a> VecTokenStream<'a> {
    /// A stream over `tokens`, from the first.
    pub fn new(tokens: &'a mut [Token]) -> Self {
        VecTokenStream { tokens, next: 0 }
    }
}

impl TokenStream for VecTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = VecTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        self.tokens.clear();
        bigram_tokens(text, &mut self.tokens);
        VecTokenStream {
            tokens: &mut self.tokens,
            next: 0,
        }
    }
}

/// One folded character with the byte range of its original.
pub(super) struct Folded {
    pub(super) c: char,
    pub(super) from: usize,
    pub(super) to: usize,
}

/// A maximal run of characters of one class.
pub(super) struct Run {
    pub(super) class: Class,
    pub(super) start: usize,
    pub(super) end: usize,
    /// An `Other` run holding a [`FIELD_SEPARATOR`].
    pub(super) separator: bool,
}

/// Appends the bigram analysis of `text` to `tokens`.
pub fn bigram_tokens(text: &str, tokens: &mut Vec<Token>) {
    let folded = fold_spans(text);
    let mut position = 0usize;
    for run in runs(&folded) {
        let chars = &folded[run.start..run.end];
        match run.class {
            Class::Other => {
                if run.separator {
                    position += FIELD_GAP;
                }
            }
            Class::Word => push_token(
                tokens,
                chars.iter().map(|f| f.c).collect(),
                chars,
                &mut position,
            ),
            Class::Cjk if chars.len() == 1 => {
                push_token(tokens, chars[0].c.to_string(), chars, &mut position);
            }
            Class::Cjk => {
                for pair in chars.windows(2) {
                    let text: String = [pair[0].c, pair[1].c].into_iter().collect();
                    push_token(tokens, text, pair, &mut position);
                }
            }
        }
    }
}

/// Folded characters of `text` (for deciding how to query a clause).
pub fn folded_chars(text: &str) -> Vec<char> {
    fold(text).chars().collect()
}

/// `text` folded character by character, each folded character with its original's bytes.
pub(super) fn fold_spans(text: &str) -> Vec<Folded> {
    let mut folded: Vec<Folded> = Vec::with_capacity(text.len() / 2);
    let mut buf = String::new();
    for (from, c) in text.char_indices() {
        let to = from + c.len_utf8();
        buf.clear();
        fold_char(c, &mut buf);
        folded.extend(buf.chars().map(|c| Folded { c, from, to }));
    }
    folded
}

/// The runs of `folded`, in order.
pub(super) fn runs(folded: &[Folded]) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut i = 0usize;
    while i < folded.len() {
        let class = class_of(folded[i].c);
        let start = i;
        while i < folded.len() && class_of(folded[i].c) == class {
            i += 1;
        }
        let separator =
            class == Class::Other && folded[start..i].iter().any(|f| f.c == FIELD_SEPARATOR);
        runs.push(Run {
            class,
            start,
            end: i,
            separator,
        });
    }
    runs
}

pub(super) fn push_token(
    tokens: &mut Vec<Token>,
    text: String,
    span: &[Folded],
    position: &mut usize,
) {
    tokens.push(Token {
        offset_from: span[0].from,
        offset_to: span[span.len() - 1].to,
        position: *position,
        text,
        position_length: 1,
    });
    *position += 1;
}

fn jieba() -> &'static jieba_rs::Jieba {
    crate::dictionary::jieba()
}

/// jieba search-mode words of the folded text; punctuation and spaces dropped.
#[derive(Clone, Default)]
pub struct WordsTokenizer {
    tokens: Vec<Token>,
}

impl Tokenizer for WordsTokenizer {
    type TokenStream<'a> = VecTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        self.tokens.clear();
        word_tokens(text, &mut self.tokens);
        VecTokenStream {
            tokens: &mut self.tokens,
            next: 0,
        }
    }
}

/// Appends the words analysis of `text` to `tokens` (offsets refer to the folded text).
pub fn word_tokens(text: &str, tokens: &mut Vec<Token>) {
    let folded = fold(text);
    for (position, word) in jieba()
        .cut_for_search(&folded, false)
        .into_iter()
        .filter(|w| w.word.chars().any(char::is_alphanumeric))
        .enumerate()
    {
        tokens.push(Token {
            offset_from: word.byte_start,
            offset_to: word.byte_end,
            position,
            text: word.word.to_string(),
            position_length: 1,
        });
    }
}

/// The bigram analyzer with English stemming of Latin words.
pub fn bigram_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(StemmingBigrams::default()).build()
}

/// The words analyzer with English stemming.
pub fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordsTokenizer::default())
        .filter(Stemmer::new(Language::English))
        .build()
}

/// [`BigramTokenizer`] followed by an English stemmer on Latin words only.
#[derive(Clone)]
pub struct StemmingBigrams {
    inner: BigramTokenizer,
    stemmer: TextAnalyzer,
}

impl Default for StemmingBigrams {
    fn default() -> Self {
        StemmingBigrams {
            inner: BigramTokenizer::default(),
            stemmer: TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
                .filter(Stemmer::new(Language::English))
                .build(),
        }
    }
}

impl Tokenizer for StemmingBigrams {
    type TokenStream<'a> = VecTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        self.inner.tokens.clear();
        bigram_tokens(text, &mut self.inner.tokens);
        for token in &mut self.inner.tokens {
            if token.text.len() > 2 && token.text.bytes().all(|b| b.is_ascii_lowercase()) {
                let stemmed = {
                    let mut stream = self.stemmer.token_stream(&token.text);
                    stream.next().map(|t| t.text.clone())
                };
                if let Some(stemmed) = stemmed {
                    token.text = stemmed;
                }
            }
        }
        VecTokenStream {
            tokens: &mut self.inner.tokens,
            next: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        let mut analyzer = bigram_analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push(t.text.clone());
        }
        out
    }

    #[test]
    fn cjk_runs_become_bigrams_and_words_stay_whole() {
        assert_eq!(texts("被扣费"), ["被扣", "扣费"]);
        assert_eq!(texts("拨打12345热线"), ["拨打", "12345", "热线"]);
        assert_eq!(texts("A3区，水"), ["a3", "区", "水"]);
        assert_eq!(
            texts("Complaints about parking"),
            ["complaint", "about", "park"]
        );
    }

    #[test]
    fn folding_handles_traditional_and_full_width() {
        assert_eq!(texts("投訴"), texts("投诉"));
        assert_eq!(texts("ＡＢＣ１２３"), ["abc123"]);
        assert_eq!(fold("電話號碼"), "电话号码");
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let text = "市民投訴，ＡＢ";
        let mut tokens = Vec::new();
        bigram_tokens(text, &mut tokens);
        let originals: Vec<&str> = tokens
            .iter()
            .map(|t| &text[t.offset_from..t.offset_to])
            .collect();
        assert_eq!(originals, ["市民", "民投", "投訴", "ＡＢ"]);
        let positions: Vec<usize> = tokens.iter().map(|t| t.position).collect();
        assert_eq!(positions, [0, 1, 2, 3]);
        let mut gapped = Vec::new();
        bigram_tokens("甲乙\u{1e}丙丁", &mut gapped);
        assert_eq!(gapped[1].position - gapped[0].position, FIELD_GAP + 1);
    }

    #[test]
    fn words_are_jieba_search_mode() {
        let mut tokens = Vec::new();
        word_tokens("小区噪音扰民，物業不作為", &mut tokens);
        let words: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert!(words.contains(&"小区"), "{words:?}");
        assert!(words.contains(&"物业"), "{words:?}");
        assert!(!words.contains(&"，"), "{words:?}");
    }
}

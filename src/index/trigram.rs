//! The `text3` analysis: trigrams of CJK runs, and shingles where a word of Latin letters or
//! digits meets CJK characters.
//!
//! Both exist to turn common queries into rare terms. A query of three or more CJK characters
//! is one trigram, or a phrase of trigrams, instead of a phrase of far more common bigrams. A
//! query mixing scripts (`12345热线`, `3号楼`, `5G基站`, `热线12345`) is one *shingle* — the word
//! with the two CJK characters next to it — or a phrase of shingles and trigrams, instead of a
//! phrase whose positions must be checked in every document holding both parts (measured on
//! 1,000,000 generated complaints: `12345热线`, 167,347 matches, 13–25 ms as a bigram phrase).
//!
//! Positions, the same for documents and queries: a CJK run of k ≥ 3 characters takes its
//! k − 2 trigrams plus one position, a shorter CJK run one position, a word two (its left
//! shingle, then its right shingle). Other characters take none except a field separator's
//! gap — the transparency of the bigram analysis, so `12345，热线` matches `12345热线` in both.
//! Words themselves are not indexed here (the bigram field has them).

use tantivy::tokenizer::{TextAnalyzer, Token, Tokenizer};

use super::analyzer::{
    Class, FIELD_GAP, Folded, Run, VecTokenStream, fold_spans, push_token, runs,
};

/// CJK characters a shingle takes from the run next to a word.
const SHINGLE_CJK: usize = 2;

/// The trigram-and-shingle analyzer (registered as [`super::analyzer::TRIGRAM`]).
pub fn trigram_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(TrigramTokenizer::default()).build()
}

/// Tokenizer of [`trigram_tokens`].
#[derive(Clone, Default)]
pub struct TrigramTokenizer {
    tokens: Vec<Token>,
}

impl Tokenizer for TrigramTokenizer {
    type TokenStream<'a> = VecTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        self.tokens.clear();
        trigram_tokens(text, &mut self.tokens);
        VecTokenStream::new(&mut self.tokens)
    }
}

/// Appends the `text3` analysis of `text` (see the module documentation) to `tokens`.
pub fn trigram_tokens(text: &str, tokens: &mut Vec<Token>) {
    let folded = fold_spans(text);
    let runs = runs(&folded);
    let mut position = 0usize;
    for (i, run) in runs.iter().enumerate() {
        let chars = &folded[run.start..run.end];
        match run.class {
            Class::Other => {
                if run.separator {
                    position += FIELD_GAP;
                }
            }
            Class::Cjk => {
                if chars.len() >= 3 {
                    for triple in chars.windows(3) {
                        let text: String = triple.iter().map(|f| f.c).collect();
                        push_token(tokens, text, triple, &mut position);
                    }
                }
                position += 1;
            }
            Class::Word => {
                let word = &folded[run.start..run.end];
                // Left shingle: the end of the CJK run before, then the word.
                if let Some(before) = neighbour(&runs, i, Side::Before) {
                    let cjk = &folded
                        [before.end - (before.end - before.start).min(SHINGLE_CJK)..before.end];
                    shingle(tokens, cjk, word, &mut position);
                } else {
                    position += 1;
                }
                // Right shingle: the word, then the start of the CJK run after.
                if let Some(after) = neighbour(&runs, i, Side::After) {
                    let cjk = &folded
                        [after.start..after.start + (after.end - after.start).min(SHINGLE_CJK)];
                    shingle(tokens, word, cjk, &mut position);
                } else {
                    position += 1;
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Side {
    Before,
    After,
}

/// The CJK run next to run `i` on `side`, across other characters but not across a field
/// separator or another word.
fn neighbour(runs: &[Run], i: usize, side: Side) -> Option<&Run> {
    let mut steps: Box<dyn Iterator<Item = &Run>> = match side {
        Side::Before => Box::new(runs[..i].iter().rev()),
        Side::After => Box::new(runs[i + 1..].iter()),
    };
    steps
        .find(|r| r.class != Class::Other || r.separator)
        .filter(|r| r.class == Class::Cjk)
}

fn shingle(tokens: &mut Vec<Token>, first: &[Folded], second: &[Folded], position: &mut usize) {
    let text: String = first.iter().chain(second).map(|f| f.c).collect();
    let from = first[0].from.min(second[0].from);
    let to = first[first.len() - 1].to.max(second[second.len() - 1].to);
    tokens.push(Token {
        offset_from: from,
        offset_to: to,
        position: *position,
        text,
        position_length: 1,
    });
    *position += 1;
}

/// Whether a query clause (folded) is looked up in `text3` as a mixed-script phrase: at least
/// two runs of letters or CJK, each word next to CJK runs only (a word beside a word has no
/// shingle), and no CJK run shorter than a shingle's share (a one-character run may be the
/// last character of a longer run in a document, whose shingle holds two).
pub fn mixed_script_clause(folded: &[char]) -> bool {
    let runs: Vec<(Class, usize)> = {
        let mut runs: Vec<(Class, usize)> = Vec::new();
        for &c in folded {
            let class = super::analyzer::class_of(c);
            match runs.last_mut() {
                Some((last, n)) if *last == class => *n += 1,
                _ => runs.push((class, 1)),
            }
        }
        runs.into_iter()
            .filter(|(c, _)| *c != Class::Other)
            .collect()
    };
    runs.len() >= 2
        && runs.windows(2).all(|w| w[0].0 != w[1].0)
        && runs
            .iter()
            .all(|(class, n)| *class != Class::Cjk || *n >= SHINGLE_CJK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse(text: &str) -> Vec<(String, usize)> {
        let mut tokens = Vec::new();
        trigram_tokens(text, &mut tokens);
        tokens.into_iter().map(|t| (t.text, t.position)).collect()
    }

    fn texts(text: &str) -> Vec<String> {
        analyse(text).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn trigrams_cover_long_cjk_runs_and_shingles_join_words_to_cjk() {
        assert_eq!(
            texts("工单号A12扣费，噪音扰民"),
            ["工单号", "单号a12", "a12扣费", "噪音扰", "音扰民"]
        );
        assert_eq!(texts("拨打12345热线"), ["拨打12345", "12345热线"]);
        // Punctuation between a word and CJK is transparent, a field separator is not.
        assert_eq!(texts("12345，热线"), ["12345热线"]);
        assert!(texts("12345\u{1e}热线").is_empty());
        // A word next to a word: no shingle between them.
        assert_eq!(texts("pm2.5超标"), ["5超标"]);
    }

    #[test]
    fn positions_agree_between_a_document_and_a_query_inside_it() {
        let doc = analyse("市民拨打热线电话12345反映");
        let query = analyse("热线电话12345");
        let at = |tokens: &[(String, usize)], text: &str| {
            tokens
                .iter()
                .find(|(t, _)| t == text)
                .map(|(_, p)| *p)
                .unwrap()
        };
        assert_eq!(
            at(&doc, "电话12345") - at(&doc, "热线电"),
            at(&query, "电话12345") - at(&query, "热线电"),
            "{doc:?} {query:?}"
        );
    }

    #[test]
    fn offsets_cover_the_original_characters() {
        let text = "ＡＢ热线";
        let mut tokens = Vec::new();
        trigram_tokens(text, &mut tokens);
        assert_eq!(&text[tokens[0].offset_from..tokens[0].offset_to], text);
    }

    #[test]
    fn which_clauses_are_mixed_script() {
        let mixed = |s: &str| mixed_script_clause(&super::super::analyzer::folded_chars(s));
        assert!(mixed("12345热线"));
        assert!(mixed("热线12345"));
        assert!(mixed("5G基站"));
        assert!(!mixed("3-5号楼"), "two words beside each other");
        assert!(!mixed("A座3楼"), "one-character CJK runs");
        assert!(!mixed("热线"));
        assert!(!mixed("12345"));
        assert!(!mixed("工单号"));
    }
}

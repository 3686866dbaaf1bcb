//! Document frequencies of problem terms and place keys, kept incrementally, with a prior
//! from general Chinese.
//!
//! A fresh engine (or a small labelled file) cannot tell from its own counts that 相信 is an
//! everyday word and 油烟 a problem word. jieba's dictionary can: its word frequencies come
//! from a large general corpus. Each term's prior document fraction is derived from that
//! frequency the first time the term is seen, and the inverse document frequency behaves as
//! if `idf_prior_documents` general complaints had been seen besides the real ones; over a
//! large stream the real counts dominate.

use jieba_rs::Jieba;
use rustc_hash::FxHashMap;

/// Sum of the word frequencies of jieba's default dictionary.
const JIEBA_DICTIONARY_TOTAL: f64 = 60_101_964.0;
/// Words in a typical complaint, to turn a word's corpus frequency into the share of
/// complaints that contain it.
const WORDS_PER_COMPLAINT: f64 = 200.0;

#[derive(Debug, Clone, Copy)]
struct TermStat {
    documents: u32,
    /// Share of general documents expected to contain the term.
    prior_fraction: f32,
}

/// Term and place statistics.
pub(crate) struct Vocabulary {
    terms: FxHashMap<u32, TermStat>,
    places: FxHashMap<u64, u32>,
    /// Estate names seen with their suffix, recognised alone later.
    learned_names: FxHashMap<u64, u32>,
    documents: u64,
    prior_documents: f32,
    max_entries: usize,
}

impl Vocabulary {
    pub(crate) fn new(prior_documents: u32, max_entries: usize) -> Self {
        Vocabulary {
            terms: FxHashMap::default(),
            places: FxHashMap::default(),
            learned_names: FxHashMap::default(),
            documents: 0,
            prior_documents: prior_documents as f32,
            max_entries,
        }
    }

    /// Complaints counted so far.
    pub(crate) fn documents(&self) -> u64 {
        self.documents
    }

    /// The prior document fraction of a term: remembered, or computed from jieba.
    pub(crate) fn prior_fraction(&self, id: u32, word: &str, jieba: &Jieba) -> f32 {
        match self.terms.get(&id) {
            Some(stat) => stat.prior_fraction,
            None => {
                let frequency = jieba.suggest_freq(word).saturating_sub(1) as f64;
                let per_word = frequency / JIEBA_DICTIONARY_TOTAL;
                (1.0 - (-per_word * WORDS_PER_COMPLAINT).exp()) as f32
            }
        }
    }

    /// Inverse document frequency of a term given its prior fraction.
    pub(crate) fn term_idf(&self, id: u32, prior_fraction: f32) -> f32 {
        let documents = self.terms.get(&id).map_or(0, |s| s.documents);
        self.smoothed_idf(documents as f32 + prior_fraction * self.prior_documents)
    }

    /// Inverse document frequency of a term already counted (profiles refresh their norm).
    pub(crate) fn known_term_idf(&self, id: u32) -> f32 {
        let stat = self.terms.get(&id).copied().unwrap_or(TermStat {
            documents: 0,
            prior_fraction: 0.0,
        });
        self.term_idf(id, stat.prior_fraction)
    }

    /// Documents containing a term, real ones only.
    pub(crate) fn term_documents(&self, id: u32) -> u32 {
        self.terms.get(&id).map_or(0, |s| s.documents)
    }

    /// Inverse document frequency of a place key.
    pub(crate) fn place_idf(&self, key: u64) -> f32 {
        self.smoothed_idf(self.place_documents(key) as f32)
    }

    /// Documents naming a place key.
    pub(crate) fn place_documents(&self, key: u64) -> u32 {
        self.places.get(&key).copied().unwrap_or(0)
    }

    pub(crate) fn is_learned_name(&self, key: u64) -> bool {
        self.learned_names.contains_key(&key)
    }

    fn smoothed_idf(&self, documents_with: f32) -> f32 {
        let n = self.documents as f32 + self.prior_documents;
        ((n + 1.0) / (documents_with + 1.0)).ln()
    }

    /// Counts one complaint: its distinct terms (with priors), place keys and learned names.
    pub(crate) fn add_document(
        &mut self,
        terms: impl IntoIterator<Item = (u32, f32)>,
        places: impl IntoIterator<Item = (u64, bool)>,
    ) {
        for (id, prior_fraction) in terms {
            self.terms
                .entry(id)
                .or_insert(TermStat {
                    documents: 0,
                    prior_fraction,
                })
                .documents += 1;
        }
        for (key, learnable) in places {
            *self.places.entry(key).or_insert(0) += 1;
            if learnable {
                *self.learned_names.entry(key).or_insert(0) += 1;
            }
        }
        self.documents += 1;
        if self.len() > self.max_entries {
            self.forget_rare();
        }
    }

    /// Distinct terms and place keys tracked.
    pub(crate) fn len(&self) -> usize {
        self.terms.len() + self.places.len()
    }

    /// Drops the rarest entries until half the cap is left (deterministic: by count
    /// threshold, never by iteration order). A forgotten word looks new, so only more
    /// distinctive, the next time it is seen.
    fn forget_rare(&mut self) {
        let mut threshold = 1;
        while self.len() > self.max_entries / 2 {
            self.terms.retain(|_, s| s.documents > threshold);
            self.places.retain(|_, n| *n > threshold);
            self.learned_names.retain(|_, n| *n > threshold);
            threshold += 1;
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.terms.capacity() * 13 + (self.places.capacity() + self.learned_names.capacity()) * 13
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyday_words_start_common_and_problem_words_rare() {
        let jieba = Jieba::new();
        let vocabulary = Vocabulary::new(2000, 1000);
        let everyday = vocabulary.prior_fraction(1, "相信", &jieba);
        let problem = vocabulary.prior_fraction(2, "油烟", &jieba);
        let unknown = vocabulary.prior_fraction(3, "魅力之城", &jieba);
        assert!(everyday > 10.0 * problem, "{everyday} vs {problem}");
        assert!(problem >= unknown);
        assert!(vocabulary.term_idf(1, everyday) < vocabulary.term_idf(2, problem));
    }

    #[test]
    fn counts_raise_document_frequency_and_the_cap_forgets_the_rarest() {
        let mut vocabulary = Vocabulary::new(0, 4);
        vocabulary.add_document([(1, 0.0), (2, 0.0)], [(10, true)]);
        vocabulary.add_document([(1, 0.0)], []);
        assert_eq!(vocabulary.term_documents(1), 2);
        assert!(vocabulary.term_idf(1, 0.0) < vocabulary.term_idf(2, 0.0));
        assert!(vocabulary.is_learned_name(10));
        // A fifth entry exceeds the cap: everything seen once goes.
        vocabulary.add_document([(3, 0.0), (4, 0.0)], []);
        assert_eq!(vocabulary.term_documents(1), 2);
        assert_eq!(vocabulary.term_documents(2), 0);
        assert!(!vocabulary.is_learned_name(10));
    }
}

//! Choosing a case for one complaint: staff pins first, then exact and near duplicates, then
//! the same complainant, then the same issue; a new case when nothing qualifies.
//!
//! Candidates come only from bounded lookups — the content-hash table, the LSH buckets, the
//! complainant's recent complaints and the capped place and term lists — so the work per
//! complaint does not grow with the number of complaints held.

use rustc_hash::FxHashMap;

use super::case::{
    Block, IssueScore, Query, QueryPlace, QueryTerm, passes_same_complainant, passes_same_issue,
    score_issue,
};
use super::engine::Engine;
use super::features::ComplaintFeatures;
use super::input::{ComplaintInput, MatchKind};
use super::lexicon::PlaceKind;
use super::minhash;

/// Where a complaint goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Existing(u32),
    New,
}

/// A decision before it is recorded.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub(crate) target: Target,
    pub(crate) kind: MatchKind,
    pub(crate) score: f32,
    pub(crate) matched_complaint_id: Option<String>,
    pub(crate) issue: Option<IssueScore>,
}

impl Decision {
    fn new_case() -> Self {
        Decision {
            target: Target::New,
            kind: MatchKind::New,
            score: 0.0,
            matched_complaint_id: None,
            issue: None,
        }
    }
}

/// Complaints named in this many documents or fewer always count as specific places and
/// usable retrieval terms, however few documents the engine has seen.
const COMMON_FLOOR_DOCUMENTS: f32 = 20.0;

/// How much a place whose name is made only of everyday words (自来水公司) counts.
const GENERIC_NAME_FACTOR: f32 = 0.5;

/// A candidate case gathered from the inverted lists.
struct Candidate {
    case: u32,
    /// Sum of the weights of the keys that retrieved it.
    retrieval: f32,
    /// The complaint that retrieved it with the heaviest key.
    doc: u32,
    doc_weight: f32,
    same_complainant: bool,
}

impl Engine {
    /// Looks up document frequencies and turns features into a scorable query.
    pub(crate) fn build_query(
        &self,
        input: &ComplaintInput,
        features: &ComplaintFeatures,
    ) -> Query {
        let jieba = self.extractor.jieba();
        let mut all_terms: Vec<(u32, f32)> = Vec::with_capacity(features.terms.len());
        let mut terms: Vec<QueryTerm> = Vec::with_capacity(features.terms.len());
        for t in &features.terms {
            let id = (t.hash >> 32) as u32;
            if all_terms.last().is_some_and(|&(last, _)| last == id) {
                continue;
            }
            let prior = self
                .vocabulary
                .prior_fraction(id, t.span.of(&input.text), jieba);
            all_terms.push((id, prior));
            let term_idf = self.vocabulary.term_idf(id, prior);
            terms.push(QueryTerm {
                id,
                idf: term_idf,
                weight: (1.0 + f32::from(t.count).ln()) * term_idf,
                span: t.span,
            });
        }
        terms.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.id.cmp(&b.id)));
        terms.truncate(self.config.max_terms_per_complaint);
        terms.sort_by_key(|t| t.id);
        let norm = terms
            .iter()
            .map(|t| t.weight * t.weight)
            .sum::<f32>()
            .sqrt();
        let total = self.vocabulary.documents();

        let allowed =
            self.config.max_place_document_fraction * total as f32 + COMMON_FLOOR_DOCUMENTS;
        let specificity = |key: u64| {
            let df = self.vocabulary.place_documents(key) as f32;
            (allowed / df.max(1.0)).min(1.0)
        };
        let mut places: Vec<QueryPlace> = Vec::new();
        for (mention, place) in features.places.iter().enumerate() {
            for (rank, key) in place.keys.iter().enumerate() {
                let genericity = if key.generic {
                    GENERIC_NAME_FACTOR
                } else {
                    1.0
                };
                let (key, span) = (key.hash, key.span);
                places.push(QueryPlace {
                    key,
                    kind: place.kind,
                    specificity: specificity(key) * genericity,
                    mention: mention as u16,
                    span,
                    learnable: place.bare,
                    rank: rank as u8,
                    generic: genericity < 1.0,
                });
            }
        }
        let mut mention = features.places.len() as u16;
        for &(key, span) in &features.name_spans {
            if self.vocabulary.is_learned_name(key) && !places.iter().any(|p| p.key == key) {
                places.push(QueryPlace {
                    key,
                    kind: PlaceKind::Estate,
                    specificity: specificity(key),
                    mention,
                    span,
                    learnable: false,
                    rank: 0,
                    generic: false,
                });
                mention += 1;
            }
        }
        places.sort_by_key(|p| (p.key, p.mention));
        places.dedup_by_key(|p| p.key);

        let mut districts: Vec<u64> = features.text_districts.iter().map(|d| d & !1).collect();
        districts.extend(features.district.map(|d| d | 1));
        districts.sort_unstable();
        districts.dedup();
        Query {
            terms,
            all_terms,
            norm,
            places,
            districts,
            submitted_at_secs: features.submitted_at_secs,
        }
    }

    /// The terms of a query used to find, and later be found by, other complaints: the
    /// weightiest that are not too common.
    pub(crate) fn retrieval_terms(&self, query: &Query) -> Vec<u32> {
        let total = self.vocabulary.documents() as f32;
        let allowed =
            self.config.max_retrieval_term_document_fraction * total + COMMON_FLOOR_DOCUMENTS;
        let mut usable: Vec<&QueryTerm> = query
            .terms
            .iter()
            .filter(|t| self.vocabulary.term_documents(t.id) as f32 <= allowed)
            .collect();
        usable.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.id.cmp(&b.id)));
        usable
            .into_iter()
            .take(self.config.retrieval_terms_per_complaint)
            .map(|t| t.id)
            .collect()
    }

    pub(crate) fn decide(
        &self,
        input: &ComplaintInput,
        features: &ComplaintFeatures,
        query: &Query,
    ) -> Decision {
        let mut forbidden: Vec<u32> = Vec::new();
        if self.pins.mentions(&input.complaint_id) {
            if let Some(decision) = self.pinned_decision(&input.complaint_id) {
                return decision;
            }
            forbidden = self
                .pins
                .apart_from(&input.complaint_id)
                .filter_map(|other| self.pinned_cases.get(other))
                .map(|&(_, case)| case)
                .collect();
        }
        let allowed = |case: u32| !forbidden.contains(&case) && self.cases.contains_key(&case);

        // Exact: the same content, or the same body under another title.
        for hash in std::iter::once(features.exact_hash).chain(features.body_hash) {
            if let Some(&doc) = self.exact.get(&hash)
                && let Some(case) = self.case_of_doc(doc)
                && allowed(case)
            {
                return self.with_issue(query, case, MatchKind::Exact, 1.0, Some(doc));
            }
        }

        let own_docs = self.own_recent_docs(features);

        // Near duplicates: LSH bucket mates and the complainant's own complaints.
        if let Some(signature) = &features.signature {
            let mut near: Vec<u32> = own_docs.clone();
            for &key in &features.band_keys {
                if let Some(&doc) = self.bands.get(&key)
                    && doc >= self.base_seq
                    && !near.contains(&doc)
                {
                    near.push(doc);
                }
            }
            let mut best: Option<(MatchKind, f32, u32)> = None;
            for doc in near {
                let record = self.doc(doc).expect("live document");
                let (Some(other), true) = (&record.signature, allowed(record.case)) else {
                    continue;
                };
                let jaccard = minhash::estimate_jaccard(signature, other);
                let kind = if jaccard >= self.config.near_duplicate_jaccard {
                    MatchKind::NearDuplicate
                } else if own_docs.contains(&doc) && jaccard >= self.config.same_complainant_jaccard
                {
                    MatchKind::SameComplainant
                } else {
                    continue;
                };
                if jaccard < self.config.near_duplicate_across_places_jaccard
                    && score_issue(query, &self.cases[&record.case], &self.config, false).block
                        == Some(Block::DifferentPlace)
                {
                    continue;
                }
                let rank = |k: MatchKind| u8::from(k == MatchKind::NearDuplicate);
                let better = match best {
                    None => true,
                    Some((k, s, d)) => (rank(kind), jaccard, doc) > (rank(k), s, d),
                };
                if better {
                    best = Some((kind, jaccard, doc));
                }
            }
            if let Some((kind, jaccard, doc)) = best {
                let case = self.case_of_doc(doc).expect("live document");
                return self.with_issue(query, case, kind, jaccard, Some(doc));
            }
        }

        // Same issue: score the most promising cases found through places and terms.
        let candidates = self.candidates(query, &own_docs);
        let mut best: Option<(f32, u32, &Candidate, bool)> = None;
        for candidate in &candidates {
            if !allowed(candidate.case) {
                continue;
            }
            let issue = score_issue(query, &self.cases[&candidate.case], &self.config, false);
            let passes_alone = passes_same_issue(&issue, &self.config);
            let passes = passes_alone
                || (candidate.same_complainant && passes_same_complainant(&issue, &self.config));
            if !passes {
                continue;
            }
            let better = match &best {
                None => true,
                Some((score, case, ..)) => {
                    issue.score > *score || (issue.score == *score && candidate.case < *case)
                }
            };
            if better {
                best = Some((issue.score, candidate.case, candidate, passes_alone));
            }
        }
        match best {
            Some((score, case, candidate, passes_alone)) => Decision {
                target: Target::Existing(case),
                kind: if passes_alone {
                    MatchKind::SameIssue
                } else {
                    MatchKind::SameComplainant
                },
                score,
                matched_complaint_id: self.doc(candidate.doc).map(|d| d.complaint_id.to_string()),
                issue: Some(score_issue(query, &self.cases[&case], &self.config, true)),
            },
            None => Decision::new_case(),
        }
    }

    /// Complaints of the same complainant within `same_complainant_window_days`.
    fn own_recent_docs(&self, features: &ComplaintFeatures) -> Vec<u32> {
        let window_secs = i64::from(self.config.same_complainant_window_days) * 86_400;
        let mut own_docs: Vec<u32> = Vec::new();
        for &key in &features.complainants {
            for doc in self.complainants.docs(key, |d| d >= self.base_seq) {
                let record = self.doc(doc).expect("live document");
                if (record.submitted_at_secs - features.submitted_at_secs).abs() <= window_secs
                    && !own_docs.contains(&doc)
                {
                    own_docs.push(doc);
                }
            }
        }
        own_docs
    }

    fn pinned_decision(&self, complaint_id: &str) -> Option<Decision> {
        let mut earliest: Option<(u32, u32, &str)> = None;
        for other in self.pins.merged_with(complaint_id) {
            if let Some(&(seq, case)) = self.pinned_cases.get(other)
                && self.cases.contains_key(&case)
                && earliest.is_none_or(|(s, ..)| seq < s)
            {
                earliest = Some((seq, case, other));
            }
        }
        if let Some((_, case, other)) = earliest {
            return Some(Decision {
                target: Target::Existing(case),
                kind: MatchKind::Pinned,
                score: 1.0,
                matched_complaint_id: Some(other.to_string()),
                issue: None,
            });
        }
        self.pins.is_split_out(complaint_id).then(|| Decision {
            kind: MatchKind::Pinned,
            score: 1.0,
            ..Decision::new_case()
        })
    }

    /// A duplicate decision, with the shared places and terms of the case for the reason.
    fn with_issue(
        &self,
        query: &Query,
        case: u32,
        kind: MatchKind,
        score: f32,
        doc: Option<u32>,
    ) -> Decision {
        Decision {
            target: Target::Existing(case),
            kind,
            score,
            matched_complaint_id: doc
                .and_then(|d| self.doc(d))
                .map(|d| d.complaint_id.to_string()),
            issue: Some(score_issue(query, &self.cases[&case], &self.config, true)),
        }
    }

    /// Cases reachable through the query's places and distinctive terms, the complainant's
    /// recent complaints included, best retrieval weight first, at most `max_scored_cases`.
    fn candidates(&self, query: &Query, own_docs: &[u32]) -> Vec<Candidate> {
        let mut found: Vec<Candidate> = Vec::new();
        let mut index: FxHashMap<u32, usize> = FxHashMap::default();
        let live = |d: u32| d >= self.base_seq;
        let mut add = |found: &mut Vec<Candidate>, doc: u32, weight: f32, own: bool| {
            let Some(case) = self.case_of_doc(doc) else {
                return;
            };
            let i = *index.entry(case).or_insert_with(|| {
                found.push(Candidate {
                    case,
                    retrieval: 0.0,
                    doc,
                    doc_weight: f32::MIN,
                    same_complainant: false,
                });
                found.len() - 1
            });
            let candidate = &mut found[i];
            candidate.retrieval += weight;
            candidate.same_complainant |= own;
            if weight > candidate.doc_weight {
                candidate.doc_weight = weight;
                candidate.doc = doc;
            }
        };
        for place in &query.places {
            let place_idf = self.vocabulary.place_idf(place.key);
            let weight =
                2.0 * place_idf * self.config.place_kind_weights.of(place.kind) * place.specificity;
            for doc in self.places.docs(place.key, live) {
                add(&mut found, doc, weight, false);
            }
        }
        for term in self.retrieval_terms(query) {
            let term_idf = query
                .terms
                .binary_search_by_key(&term, |t| t.id)
                .map(|i| query.terms[i].idf)
                .unwrap_or(0.0);
            for doc in self.terms.docs(u64::from(term), live) {
                add(&mut found, doc, term_idf, false);
            }
        }
        for &doc in own_docs {
            add(&mut found, doc, 0.0, true);
        }
        found.sort_by(|a, b| {
            b.same_complainant
                .cmp(&a.same_complainant)
                .then(b.retrieval.total_cmp(&a.retrieval))
                .then(a.case.cmp(&b.case))
        });
        found.truncate(self.config.max_scored_cases);
        found
    }
}

/// How a complaint compares with one candidate case, without assigning it.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateScore {
    /// The case.
    pub case: super::CaseKey,
    /// Same-issue score (before the threshold).
    pub score: f32,
    /// Place part, 0 to 1.
    pub place: f32,
    /// Problem-term cosine similarity, 0 to 1.
    pub problem: f32,
    /// Why the case may not take it by similarity, if it may not.
    pub blocked: Option<&'static str>,
    /// Whether it would pass the same-issue rules.
    pub passes: bool,
    /// The case already has a recent complaint by the same complainant.
    pub same_complainant: bool,
    /// Shared places, as written in the complaint.
    pub shared_places: Vec<String>,
    /// Shared problem terms, as written in the complaint, weightiest first.
    pub shared_terms: Vec<String>,
}

impl Engine {
    /// Scores a complaint against the cases it would be compared with, without assigning it:
    /// for tuning thresholds and for explaining why two complaints were not grouped.
    pub fn candidate_scores(&self, input: &ComplaintInput) -> Vec<CandidateScore> {
        let features = self.extractor.extract(input);
        let query = self.build_query(input, &features);
        let own_docs = self.own_recent_docs(&features);
        self.candidates(&query, &own_docs)
            .into_iter()
            .map(|candidate| {
                let issue = score_issue(&query, &self.cases[&candidate.case], &self.config, true);
                let passes = passes_same_issue(&issue, &self.config)
                    || (candidate.same_complainant
                        && passes_same_complainant(&issue, &self.config));
                CandidateScore {
                    case: self.case_key(candidate.case),
                    score: issue.score,
                    place: issue.place,
                    problem: issue.problem,
                    blocked: issue
                        .block
                        .map(|b| match b {
                            Block::DifferentPlace => "different_place",
                            Block::DifferentDistrict => "different_district",
                        })
                        .or((issue.unplaced_into_placed && !candidate.same_complainant)
                            .then_some("names_no_place")),
                    passes,
                    same_complainant: candidate.same_complainant,
                    shared_places: issue
                        .shared_places
                        .iter()
                        .map(|s| s.of(&input.text).to_string())
                        .collect(),
                    shared_terms: issue
                        .shared_terms
                        .iter()
                        .map(|s| s.of(&input.text).to_string())
                        .collect(),
                }
            })
            .collect()
    }
}

//! The incremental grouping engine: state, assignment in arrival order, eviction.
//!
//! State is bounded: complaints older than `window_days` of the engine clock, or beyond the
//! newest `max_window_complaints`, are evicted with their duplicate signatures; a case is
//! forgotten when its last complaint is. Inverted lists are capped per key and swept after
//! evictions, and the document-frequency tables are capped by `max_vocabulary`. A complaint
//! that arrives after its case was forgotten starts a new case, which staff can merge.

use std::collections::VecDeque;
use std::sync::Arc;

use jieba_rs::Jieba;
use rustc_hash::FxHashMap;

use super::GroupingError;
use super::case::{CaseRecord, Query};
use super::config::GroupingConfig;
use super::decide::{Decision, Target};
use super::features::{ComplaintFeatures, Extractor};
use super::hash::{hash_str, seed};
use super::input::{Assignment, CaseKey, ComplaintInput, GroupingReason};
use super::minhash::Signature;
use super::pins::Pins;
use super::postings::Postings;
use super::vocabulary::Vocabulary;

/// A complaint in the candidate window.
pub(crate) struct DocRecord {
    pub(crate) complaint_id: Box<str>,
    pub(crate) case: u32,
    pub(crate) signature: Option<Signature>,
    pub(crate) submitted_at_secs: i64,
    /// Engine clock when it was added.
    pub(crate) clock: i64,
}

/// Most complaints remembered per complainant key.
pub(crate) const COMPLAINANT_POSTINGS_CAP: usize = 4;

/// Assigns complaints to cases, one at a time, in arrival order. See the module docs of
/// [`super`] for the contract.
pub struct Engine {
    pub(crate) config: GroupingConfig,
    pub(crate) extractor: Extractor,
    pub(crate) pins: Pins,
    /// Latest `submitted_at` seen, in seconds.
    pub(crate) clock: i64,
    pub(crate) docs: VecDeque<DocRecord>,
    /// Sequence number of `docs[0]`.
    pub(crate) base_seq: u32,
    pub(crate) cases: FxHashMap<u32, CaseRecord>,
    pub(crate) next_case: u32,
    /// Hash of a case key → case.
    pub(crate) case_by_key: FxHashMap<u64, u32>,
    /// Content hash of a whole text or a body → latest complaint with it.
    pub(crate) exact: FxHashMap<u64, u32>,
    /// LSH band key → latest complaint in that bucket.
    /// Keys are 32 bits to halve the table: a collision only adds a candidate that the
    /// signature comparison then rejects.
    pub(crate) bands: FxHashMap<u32, u32>,
    pub(crate) complainants: Postings,
    pub(crate) places: Postings,
    pub(crate) terms: Postings,
    pub(crate) vocabulary: Vocabulary,
    /// Where complaints named by staff decisions went: id → (sequence, case).
    pub(crate) pinned_cases: FxHashMap<Box<str>, (u32, u32)>,
    pub(crate) evicted_since_sweep: usize,
}

/// Sizes of the engine's state, for the bench and for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineStats {
    /// Complaints in the candidate window.
    pub window_complaints: usize,
    /// Cases remembered.
    pub live_cases: usize,
    /// Complaints assigned or observed since the engine started.
    pub complaints_seen: u64,
    /// Distinct terms and place keys with a document frequency.
    pub vocabulary: usize,
    /// Approximate heap bytes of the engine's own tables (jieba's dictionary excluded).
    pub approx_heap_bytes: usize,
}

impl Engine {
    /// A new, empty engine. `jieba` is shared, not copied.
    pub fn new(
        config: GroupingConfig,
        jieba: Arc<Jieba>,
        pins: Pins,
    ) -> Result<Self, GroupingError> {
        config.validate()?;
        let extractor = Extractor::new(jieba, &config);
        Ok(Engine {
            vocabulary: Vocabulary::new(config.idf_prior_documents, config.max_vocabulary),
            config,
            extractor,
            pins,
            clock: i64::MIN,
            docs: VecDeque::new(),
            base_seq: 0,
            cases: FxHashMap::default(),
            next_case: 0,
            case_by_key: FxHashMap::default(),
            exact: FxHashMap::default(),
            bands: FxHashMap::default(),
            complainants: Postings::default(),
            places: Postings::default(),
            terms: Postings::default(),
            pinned_cases: FxHashMap::default(),
            evicted_since_sweep: 0,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &GroupingConfig {
        &self.config
    }

    /// The extractor, to compute features on other threads before [`Engine::assign_extracted`].
    pub fn extractor(&self) -> &Extractor {
        &self.extractor
    }

    /// Assigns one complaint (extracting its features on this thread).
    pub fn assign(&mut self, input: &ComplaintInput) -> Assignment {
        let features = self.extractor.extract(input);
        self.assign_extracted(input, &features)
    }

    /// Assigns one complaint whose features were extracted by [`Engine::extractor`].
    pub fn assign_extracted(
        &mut self,
        input: &ComplaintInput,
        features: &ComplaintFeatures,
    ) -> Assignment {
        self.advance_clock(features.submitted_at_secs);
        let query = self.build_query(input, features);
        let decision = self.decide(input, features, &query);
        self.commit(input, features, &query, decision)
    }

    /// Sizes of the state.
    pub fn stats(&self) -> EngineStats {
        let docs_bytes = self.docs.capacity() * std::mem::size_of::<DocRecord>()
            + self
                .docs
                .iter()
                .map(|d| d.complaint_id.len())
                .sum::<usize>();
        let cases_bytes = self.cases.capacity() * (std::mem::size_of::<(u32, CaseRecord)>() + 1)
            + self
                .cases
                .values()
                .map(CaseRecord::heap_bytes)
                .sum::<usize>();
        let maps_bytes = (self.exact.capacity() + self.case_by_key.capacity()) * 17
            + self.bands.capacity() * 9
            + self.vocabulary.heap_bytes();
        EngineStats {
            window_complaints: self.docs.len(),
            live_cases: self.cases.len(),
            complaints_seen: self.vocabulary.documents(),
            vocabulary: self.vocabulary.len(),
            approx_heap_bytes: docs_bytes
                + cases_bytes
                + maps_bytes
                + self.complainants.heap_bytes()
                + self.places.heap_bytes()
                + self.terms.heap_bytes(),
        }
    }

    pub(crate) fn next_seq(&self) -> u32 {
        self.base_seq + self.docs.len() as u32
    }

    pub(crate) fn doc(&self, seq: u32) -> Option<&DocRecord> {
        seq.checked_sub(self.base_seq)
            .and_then(|i| self.docs.get(i as usize))
    }

    /// The case of a live complaint.
    pub(crate) fn case_of_doc(&self, seq: u32) -> Option<u32> {
        self.doc(seq).map(|d| d.case)
    }

    pub(crate) fn case_key(&self, case: u32) -> CaseKey {
        CaseKey(self.cases[&case].key.to_string())
    }

    pub(crate) fn advance_clock(&mut self, submitted_at_secs: i64) {
        self.clock = self.clock.max(submitted_at_secs);
        let horizon = self
            .clock
            .saturating_sub(i64::from(self.config.window_days) * 86_400);
        while let Some(front) = self.docs.front() {
            if front.clock >= horizon && self.docs.len() < self.config.max_window_complaints {
                break;
            }
            self.docs.pop_front();
            self.base_seq += 1;
            self.evicted_since_sweep += 1;
        }
        if self.evicted_since_sweep >= 4096.max(self.docs.len() / 4) {
            self.sweep(horizon);
        }
    }

    /// Drops everything that only evicted complaints and forgotten cases still reach.
    fn sweep(&mut self, horizon: i64) {
        let base = self.base_seq;
        let live = |doc: u32| doc >= base;
        self.exact.retain(|_, doc| live(*doc));
        self.bands.retain(|_, doc| live(*doc));
        self.complainants.sweep(live);
        self.places.sweep(live);
        self.terms.sweep(live);
        let pinned: Vec<u32> = self.pinned_cases.values().map(|&(_, case)| case).collect();
        let mut forgotten = Vec::new();
        self.cases.retain(|id, case| {
            let reachable = case.last_clock >= horizon && live(case.last_seq);
            let keep = reachable || pinned.contains(id);
            if !keep {
                forgotten.push(hash_str(seed::COMPLAINT_ID, &case.key));
            }
            keep
        });
        for key in forgotten {
            self.case_by_key.remove(&key);
        }
        self.evicted_since_sweep = 0;
    }

    /// Records a decided complaint: its case, signatures, postings and statistics.
    pub(crate) fn commit(
        &mut self,
        input: &ComplaintInput,
        features: &ComplaintFeatures,
        query: &Query,
        decision: Decision,
    ) -> Assignment {
        let seq = self.next_seq();
        let created_case = matches!(decision.target, Target::New);
        let case = match decision.target {
            Target::Existing(case) => case,
            Target::New => self.create_case(&input.complaint_id, seq),
        };
        self.insert_doc(input, features, query, case);
        let matched_complaint_id = decision.matched_complaint_id.clone();
        let (shared_places, shared_terms) = match &decision.issue {
            Some(issue) => (
                issue
                    .shared_places
                    .iter()
                    .map(|s| s.of(&input.text).to_string())
                    .collect(),
                issue
                    .shared_terms
                    .iter()
                    .map(|s| s.of(&input.text).to_string())
                    .collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        Assignment {
            complaint_id: input.complaint_id.clone(),
            case: self.case_key(case),
            created_case,
            reason: GroupingReason {
                kind: decision.kind,
                score: decision.score,
                matched_complaint_id,
                shared_places,
                shared_terms,
            },
        }
    }

    pub(crate) fn create_case(&mut self, key: &str, anchor_seq: u32) -> u32 {
        let id = self.next_case;
        self.next_case += 1;
        self.cases.insert(
            id,
            CaseRecord::new(key.into(), anchor_seq, self.clock, i64::MAX),
        );
        self.case_by_key
            .insert(hash_str(seed::COMPLAINT_ID, key), id);
        id
    }

    /// Adds a complaint to a case and to every index.
    pub(crate) fn insert_doc(
        &mut self,
        input: &ComplaintInput,
        features: &ComplaintFeatures,
        query: &Query,
        case: u32,
    ) {
        let seq = self.next_seq();
        self.docs.push_back(DocRecord {
            complaint_id: input.complaint_id.as_str().into(),
            case,
            signature: features.signature,
            submitted_at_secs: features.submitted_at_secs,
            clock: self.clock,
        });
        let vocabulary = &self.vocabulary;
        let idf_of = |id: u32| vocabulary.known_term_idf(id);
        let record = self.cases.get_mut(&case).expect("assigned case is live");
        if record.members == 0 {
            record.first_submitted = features.submitted_at_secs;
            record.last_submitted = features.submitted_at_secs;
        }
        record.add_member(query, self.clock, &self.config, idf_of);
        record.last_seq = record.last_seq.max(seq);

        self.exact.insert(features.exact_hash, seq);
        if let Some(body) = features.body_hash {
            self.exact.insert(body, seq);
        }
        for &key in &features.band_keys {
            self.bands.insert(key, seq);
        }
        let (docs, base) = (&self.docs, self.base_seq);
        let case_of = |doc: u32| {
            doc.checked_sub(base)
                .and_then(|i| docs.get(i as usize))
                .map(|d| d.case)
        };
        let doc_itself = |doc: u32| (doc >= base).then_some(doc);
        for &key in &features.complainants {
            self.complainants
                .insert(key, seq, COMPLAINANT_POSTINGS_CAP, doc_itself);
        }
        let mut last_key = None;
        for place in &query.places {
            if last_key != Some(place.key) {
                self.places
                    .insert(place.key, seq, self.config.max_cases_per_place, case_of);
                last_key = Some(place.key);
            }
        }
        for term in self.retrieval_terms(query) {
            self.terms.insert(
                u64::from(term),
                seq,
                self.config.max_cases_per_term,
                case_of,
            );
        }

        self.vocabulary.add_document(
            query.all_terms.iter().copied(),
            query.places.iter().map(|p| (p.key, p.learnable)),
        );
        if self.pins.mentions(&input.complaint_id) {
            self.pinned_cases
                .insert(input.complaint_id.as_str().into(), (seq, case));
        }
    }
}

//! Staff decisions applied to a running engine, and restoring stored assignments.
//!
//! The store is the system of record: after a restart the gateway feeds the window's
//! complaints back with [`Engine::observe`] and the case each is stored in, so the engine
//! resumes without deciding anything again. A merge or a split made by staff is recorded in
//! the engine's [`super::Pins`] as well as applied to its state, so later complaints and a
//! later `reprocess` both respect it.

use super::GroupingError;
use super::decide::{Decision, Target};
use super::engine::Engine;
use super::hash::{hash_str, seed};
use super::input::{CaseKey, ComplaintInput, MatchKind};
use super::pins::HumanDecision;

/// What a split changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitOutcome {
    /// The new case of the split complaint (named after it).
    pub split_case: CaseKey,
    /// The case it left, under its possibly new name; `None` when it is now empty or was no
    /// longer in the window.
    pub remaining_case: Option<CaseKey>,
}

impl Engine {
    /// Records a complaint in the case the store says it belongs to, without deciding
    /// anything (warm start after a restart). Creates the case if the engine does not know it.
    pub fn observe(&mut self, input: &ComplaintInput, case: &CaseKey) {
        let features = self.extractor.extract(input);
        self.observe_extracted(input, &features, case);
    }

    /// [`Engine::observe`] with features extracted elsewhere.
    pub fn observe_extracted(
        &mut self,
        input: &ComplaintInput,
        features: &super::ComplaintFeatures,
        case: &CaseKey,
    ) {
        let known = self
            .case_by_key
            .get(&hash_str(seed::COMPLAINT_ID, &case.0))
            .copied()
            .filter(|c| self.cases.contains_key(c));
        let target = match known {
            Some(case) => Target::Existing(case),
            None => Target::Existing(self.create_case(&case.0, self.next_seq())),
        };
        self.advance_clock(features.submitted_at_secs);
        let query = self.build_query(input, features);
        let decision = Decision {
            target,
            kind: MatchKind::Pinned,
            score: 1.0,
            matched_complaint_id: None,
            issue: None,
        };
        self.commit(input, features, &query, decision);
    }

    /// Staff merged these complaints' cases: the merged case keeps the key of the case founded
    /// first. Complaints no longer in the window are only recorded in the pins.
    pub fn merge(&mut self, complaint_ids: &[String]) -> Result<CaseKey, GroupingError> {
        self.pins.record(&HumanDecision::Merge {
            complaint_ids: complaint_ids.to_vec(),
        });
        let found = self.locate(complaint_ids);
        let mut cases: Vec<u32> = found.iter().map(|&(_, case)| case).collect();
        cases.sort_unstable();
        cases.dedup();
        let Some(&target) = cases.iter().min_by_key(|c| (self.cases[c].anchor_seq, **c)) else {
            return Err(GroupingError::UnknownComplaints(complaint_ids.to_vec()));
        };
        for &other in cases.iter().filter(|&&c| c != target) {
            let record = self.cases.remove(&other).expect("located case is live");
            self.case_by_key
                .remove(&hash_str(seed::COMPLAINT_ID, &record.key));
            for doc in self.docs.iter_mut().filter(|d| d.case == other) {
                doc.case = target;
            }
            for entry in self.pinned_cases.values_mut().filter(|e| e.1 == other) {
                entry.1 = target;
            }
            let vocabulary = &self.vocabulary;
            let idf_of = |id: u32| vocabulary.known_term_idf(id);
            self.cases
                .get_mut(&target)
                .expect("target case is live")
                .absorb(record, idf_of);
        }
        for (seq, _) in found {
            let id = self
                .doc(seq)
                .expect("located document")
                .complaint_id
                .clone();
            self.pinned_cases.insert(id, (seq, target));
        }
        Ok(self.case_key(target))
    }

    /// Staff split `complaint` out of its case into a case of its own, apart from
    /// `apart_from` (the other members, earliest first).
    pub fn split_out(
        &mut self,
        complaint: &ComplaintInput,
        apart_from: &[String],
    ) -> Result<SplitOutcome, GroupingError> {
        self.pins.record(&HumanDecision::SplitOut {
            complaint_id: complaint.complaint_id.clone(),
            apart_from: apart_from.to_vec(),
        });
        let features = self.extractor.extract(complaint);
        let query = self.build_query(complaint, &features);
        let located = self.locate(std::slice::from_ref(&complaint.complaint_id));
        let Some(&(seq, old_case)) = located.first() else {
            return Err(GroupingError::UnknownComplaints(vec![
                complaint.complaint_id.clone(),
            ]));
        };
        let new_case = self.create_case(&complaint.complaint_id, seq);
        let vocabulary = &self.vocabulary;
        let idf_of = |id: u32| vocabulary.known_term_idf(id);
        let old = self.cases.get_mut(&old_case).expect("located case is live");
        old.remove_member(&query, idf_of);
        let old_empty = old.members == 0;
        let renamed = (*old.key == *complaint.complaint_id).then(|| old.key.clone());
        {
            let record = self.cases.get_mut(&new_case).expect("just created");
            record.first_submitted = features.submitted_at_secs;
            record.last_submitted = features.submitted_at_secs;
            record.add_member(&query, self.clock, &self.config, idf_of);
            record.last_seq = record.last_seq.max(seq);
        }
        self.docs[(seq - self.base_seq) as usize].case = new_case;
        // The new case took the split complaint's key; give the rest of its old case the name
        // of its earliest remaining member.
        self.case_by_key.insert(
            hash_str(seed::COMPLAINT_ID, &complaint.complaint_id),
            new_case,
        );
        let remaining_case = if old_empty {
            self.cases.remove(&old_case);
            None
        } else {
            let name: Option<Box<str>> = match renamed {
                None => Some(self.cases[&old_case].key.clone()),
                Some(_) => apart_from
                    .first()
                    .map(|first| first.as_str().into())
                    .or_else(|| {
                        self.docs
                            .iter()
                            .find(|d| d.case == old_case)
                            .map(|d| d.complaint_id.clone())
                    }),
            };
            match name {
                Some(name) => {
                    self.case_by_key
                        .insert(hash_str(seed::COMPLAINT_ID, &name), old_case);
                    let first_seq = self.locate(&[name.to_string()]).first().map(|&(s, _)| s);
                    let record = self.cases.get_mut(&old_case).expect("live");
                    record.anchor_seq = first_seq.unwrap_or(record.anchor_seq);
                    record.key = name;
                    Some(self.case_key(old_case))
                }
                // Nothing left to name it after: the engine forgets it, the store keeps it.
                None => {
                    self.cases.remove(&old_case);
                    None
                }
            }
        };
        self.pinned_cases
            .insert(complaint.complaint_id.as_str().into(), (seq, new_case));
        for (seq, case) in self.locate(apart_from) {
            let id = self
                .doc(seq)
                .expect("located document")
                .complaint_id
                .clone();
            self.pinned_cases.insert(id, (seq, case));
        }
        Ok(SplitOutcome {
            split_case: self.case_key(new_case),
            remaining_case,
        })
    }

    /// Sequence numbers and cases of the listed complaints still in the window.
    fn locate(&self, complaint_ids: &[String]) -> Vec<(u32, u32)> {
        let mut found: Vec<(u32, u32)> = self
            .docs
            .iter()
            .enumerate()
            .filter(|(_, d)| complaint_ids.iter().any(|id| **id == *d.complaint_id))
            .map(|(i, d)| (self.base_seq + i as u32, d.case))
            .filter(|(_, case)| self.cases.contains_key(case))
            .collect();
        found.sort_unstable();
        found
    }
}

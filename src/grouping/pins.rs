//! Staff decisions about grouping, which automatic grouping must never undo.
//!
//! The store records every merge and split (who, when, why). To replay them, the lead loads
//! them in the order they were made into [`Pins`] and hands that to the engine; the engine then
//! enforces, for every complaint it assigns:
//!
//! 1. a complaint merged with others joins the case of the first of them already assigned;
//! 2. otherwise a complaint split out founds a case of its own;
//! 3. otherwise it is grouped automatically, but never into a case holding a complaint it was
//!    split apart from.
//!
//! A later decision wins over an earlier one about the same complaints: merging complaints
//! lifts the "apart" between them, splitting a complaint out takes it out of its merge group.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One staff decision, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum HumanDecision {
    /// These complaints belong in one case (merging two cases lists the members of both).
    Merge {
        /// Every complaint of the merged cases.
        complaint_ids: Vec<String>,
    },
    /// This complaint is a case of its own, apart from the complaints it was grouped with.
    SplitOut {
        /// The complaint split out.
        complaint_id: String,
        /// The other members of its case at the time, earliest first: the first one names the
        /// remaining case when the split complaint had founded it.
        apart_from: Vec<String>,
    },
}

/// The effective constraints of all staff decisions so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    /// Complaint → merge group.
    group_of: BTreeMap<String, u32>,
    /// Merge group → members.
    groups: BTreeMap<u32, BTreeSet<String>>,
    apart: BTreeMap<String, BTreeSet<String>>,
    founders: BTreeSet<String>,
    next_group: u32,
}

impl Pins {
    /// No decisions.
    pub fn new() -> Self {
        Pins::default()
    }

    /// Replays decisions in the order they were made.
    pub fn from_decisions<'a>(decisions: impl IntoIterator<Item = &'a HumanDecision>) -> Self {
        let mut pins = Pins::new();
        for decision in decisions {
            pins.record(decision);
        }
        pins
    }

    /// True when no decision constrains anything.
    pub fn is_empty(&self) -> bool {
        self.group_of.is_empty() && self.apart.is_empty() && self.founders.is_empty()
    }

    /// Applies one more decision.
    pub fn record(&mut self, decision: &HumanDecision) {
        match decision {
            HumanDecision::Merge { complaint_ids } => self.record_merge(complaint_ids),
            HumanDecision::SplitOut {
                complaint_id,
                apart_from,
            } => self.record_split(complaint_id, apart_from),
        }
    }

    fn record_merge(&mut self, complaint_ids: &[String]) {
        let mut members: BTreeSet<String> = BTreeSet::new();
        for id in complaint_ids {
            match self.group_of.get(id).copied() {
                Some(group) => members.extend(self.groups.remove(&group).unwrap_or_default()),
                None => {
                    members.insert(id.clone());
                }
            }
        }
        if members.len() < 2 {
            return;
        }
        let group = self.next_group;
        self.next_group += 1;
        for member in &members {
            self.group_of.insert(member.clone(), group);
            if let Some(apart) = self.apart.get_mut(member) {
                apart.retain(|other| !members.contains(other));
                if apart.is_empty() {
                    self.apart.remove(member);
                }
            }
        }
        self.groups.insert(group, members);
    }

    fn record_split(&mut self, complaint_id: &str, apart_from: &[String]) {
        if let Some(group) = self.group_of.remove(complaint_id)
            && let Some(members) = self.groups.get_mut(&group)
        {
            members.remove(complaint_id);
            if members.len() < 2 {
                for member in std::mem::take(members) {
                    self.group_of.remove(&member);
                }
                self.groups.remove(&group);
            }
        }
        self.founders.insert(complaint_id.to_string());
        for other in apart_from.iter().filter(|o| o.as_str() != complaint_id) {
            self.apart
                .entry(complaint_id.to_string())
                .or_default()
                .insert(other.clone());
            self.apart
                .entry(other.clone())
                .or_default()
                .insert(complaint_id.to_string());
        }
    }

    /// The other complaints merged with this one.
    pub fn merged_with<'a>(&'a self, complaint_id: &str) -> impl Iterator<Item = &'a str> + 'a {
        let group = self.group_of.get(complaint_id).copied();
        let me = complaint_id.to_string();
        group
            .and_then(|g| self.groups.get(&g))
            .into_iter()
            .flatten()
            .filter(move |other| **other != me)
            .map(String::as_str)
    }

    /// The complaints this one must never share a case with.
    pub fn apart_from<'a>(&'a self, complaint_id: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.apart
            .get(complaint_id)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Was this complaint split out into a case of its own?
    pub fn is_split_out(&self, complaint_id: &str) -> bool {
        self.founders.contains(complaint_id)
    }

    /// Is this complaint named by any decision?
    pub fn mentions(&self, complaint_id: &str) -> bool {
        self.group_of.contains_key(complaint_id)
            || self.apart.contains_key(complaint_id)
            || self.founders.contains(complaint_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn merged(pins: &Pins, id: &str) -> Vec<String> {
        pins.merged_with(id).map(str::to_string).collect()
    }

    #[test]
    fn merges_are_transitive() {
        let pins = Pins::from_decisions(&[
            HumanDecision::Merge {
                complaint_ids: ids(&["a", "b"]),
            },
            HumanDecision::Merge {
                complaint_ids: ids(&["b", "c"]),
            },
        ]);
        assert_eq!(merged(&pins, "a"), ids(&["b", "c"]));
        assert_eq!(merged(&pins, "c"), ids(&["a", "b"]));
        assert!(merged(&pins, "d").is_empty());
    }

    #[test]
    fn a_split_takes_the_complaint_out_of_its_merge_and_keeps_it_apart() {
        let pins = Pins::from_decisions(&[
            HumanDecision::Merge {
                complaint_ids: ids(&["a", "b", "c"]),
            },
            HumanDecision::SplitOut {
                complaint_id: "b".into(),
                apart_from: ids(&["a", "c"]),
            },
        ]);
        assert_eq!(merged(&pins, "a"), ids(&["c"]));
        assert!(merged(&pins, "b").is_empty());
        assert!(pins.is_split_out("b"));
        assert_eq!(pins.apart_from("a").collect::<Vec<_>>(), vec!["b"]);
        assert_eq!(pins.apart_from("b").collect::<Vec<_>>(), vec!["a", "c"]);
    }

    #[test]
    fn a_later_merge_lifts_the_apart_between_its_members() {
        let pins = Pins::from_decisions(&[
            HumanDecision::SplitOut {
                complaint_id: "b".into(),
                apart_from: ids(&["a", "c"]),
            },
            HumanDecision::Merge {
                complaint_ids: ids(&["a", "b"]),
            },
        ]);
        assert_eq!(merged(&pins, "b"), ids(&["a"]));
        assert!(pins.apart_from("a").next().is_none());
        assert_eq!(pins.apart_from("b").collect::<Vec<_>>(), vec!["c"]);
    }

    #[test]
    fn splitting_one_of_a_pair_dissolves_the_group() {
        let pins = Pins::from_decisions(&[
            HumanDecision::Merge {
                complaint_ids: ids(&["a", "b"]),
            },
            HumanDecision::SplitOut {
                complaint_id: "a".into(),
                apart_from: ids(&["b"]),
            },
        ]);
        assert!(merged(&pins, "b").is_empty());
        assert!(!pins.mentions("x"));
        assert!(pins.mentions("b"));
    }

    #[test]
    fn decisions_round_trip_as_json() {
        let decision = HumanDecision::SplitOut {
            complaint_id: "c-1".into(),
            apart_from: ids(&["c-0"]),
        };
        let json = serde_json::to_string(&decision).unwrap();
        assert_eq!(
            json,
            r#"{"action":"split_out","complaint_id":"c-1","apart_from":["c-0"]}"#
        );
        assert_eq!(
            serde_json::from_str::<HumanDecision>(&json).unwrap(),
            decision
        );
    }
}

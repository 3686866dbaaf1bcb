//! A deterministic stream of realistic complaints with known issues, for the bench, tests and
//! tuning: many estates, roads, schools, companies and hospitals, two dozen kinds of problem
//! each written in many ways, reposts under new titles, edited copies, the same text through
//! two channels, and the same complainant writing again.
//!
//! The gold issue of a place-bound complaint is its (place, problem) pair: two complaints about
//! the same problem at the same estate are one issue, about the same problem at two estates or
//! two problems at one estate are two. Complaints without a place (policy questions) are each
//! an issue of their own, except bus routes, whose number identifies the issue.
//!
//! The stream is generated lazily (memory holds only the issues still active) and in time
//! order, from a seed: the same seed gives the same complaints.

mod text;
mod words;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, TimeZone, Utc};
use connectors::Channel;
use rustc_hash::FxHashMap;

use crate::grouping::{ComplaintInput, PlaceKind};
use text::{edit, paraphrase, title};
use words::*;

/// How a synthetic complaint relates to the earlier ones of its issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyntheticOrigin {
    /// The first complaint of its issue.
    First,
    /// The same issue in other words, usually by someone else.
    Paraphrase,
    /// The previous complaint's body under a new title.
    Repost,
    /// The previous complaint lightly edited (a number changed, a sentence dropped or added).
    EditedCopy,
    /// The previous complaint verbatim through another channel.
    CrossChannel,
}

/// One generated complaint and its gold issue.
#[derive(Debug, Clone)]
pub struct SyntheticComplaint {
    /// The complaint, text normalised as the gateway would.
    pub input: ComplaintInput,
    /// Gold issue id.
    pub issue: u64,
    /// How it was made.
    pub origin: SyntheticOrigin,
}

/// Deterministic pseudo-random numbers (SplitMix64): no dependency whose output could change.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        crate::grouping::hash::mix64(self.0)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub(super) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

pub(super) const CHINESE_NUMBERS: &[&str] = &["两", "三", "四", "五", "六", "七", "八", "九", "十"];

pub(super) struct Issue {
    pub(super) gold: u64,
    pub(super) problem: &'static Problem,
    /// Ways the place is written; the first is the full name.
    pub(super) place_names: Vec<String>,
    pub(super) district: &'static str,
    pub(super) route: u32,
    /// For a policy question: which question (title) it is.
    pub(super) question: Option<usize>,
    pub(super) remaining: u32,
    pub(super) mean_gap_secs: f64,
    pub(super) last: Option<Written>,
}

#[derive(Clone)]
pub(super) struct Written {
    pub(super) title: String,
    pub(super) body: String,
    pub(super) complainant: Option<u64>,
    pub(super) channel: Channel,
}

/// The generator; an iterator of [`SyntheticComplaint`]s.
pub struct SyntheticStream {
    rng: Rng,
    remaining: usize,
    start: DateTime<Utc>,
    issue_rate_per_sec: f64,
    next_issue_at: f64,
    events: BinaryHeap<Reverse<(u64, u64)>>,
    issues: FxHashMap<u64, Issue>,
    next_issue_slot: u64,
    next_person: u64,
    next_id: u64,
}

/// Mean complaints per spawned issue under the size distribution of [`SyntheticStream`].
const MEAN_ISSUE_SIZE: f64 = 0.55 + 0.25 * 2.5 + 0.15 * 8.0 + 0.05 * 36.5;

/// `count` complaints spread over `span_days` from 2024-01-01, generated from `seed`.
pub fn generate(count: usize, span_days: u32, seed: u64) -> SyntheticStream {
    let span_secs = f64::from(span_days.max(1)) * 86_400.0;
    SyntheticStream {
        rng: Rng(seed),
        remaining: count,
        start: Utc.with_ymd_and_hms(2024, 1, 1, 8, 0, 0).unwrap(),
        issue_rate_per_sec: count as f64 / MEAN_ISSUE_SIZE / span_secs,
        next_issue_at: 0.0,
        events: BinaryHeap::new(),
        issues: FxHashMap::default(),
        next_issue_slot: 0,
        next_person: 0,
        next_id: 0,
    }
}

impl Iterator for SyntheticStream {
    type Item = SyntheticComplaint;

    fn next(&mut self) -> Option<SyntheticComplaint> {
        if self.remaining == 0 {
            return None;
        }
        while self
            .events
            .peek()
            .is_none_or(|Reverse((at, _))| *at as f64 > self.next_issue_at)
        {
            let at = self.next_issue_at;
            self.spawn_issue(at as u64);
            self.next_issue_at += self.rng.exponential(1.0 / self.issue_rate_per_sec);
        }
        let Reverse((at, slot)) = self.events.pop().expect("an event was just ensured");
        let mut issue = self.issues.remove(&slot).expect("scheduled issue exists");
        let complaint = self.write(&mut issue, at);
        issue.remaining -= 1;
        if issue.remaining > 0 {
            let next = at + self.rng.exponential(issue.mean_gap_secs).max(60.0) as u64;
            self.events.push(Reverse((next, slot)));
            self.issues.insert(slot, issue);
        }
        self.remaining -= 1;
        Some(complaint)
    }
}

impl SyntheticStream {
    fn spawn_issue(&mut self, at: u64) {
        let rng = &mut self.rng;
        let size = match rng.unit() {
            u if u < 0.55 => 1,
            u if u < 0.80 => 2 + rng.below(2),
            u if u < 0.95 => 4 + rng.below(9),
            _ => 13 + rng.below(48),
        } as u32;
        let problem_index = rng.below(PROBLEMS.len());
        let problem = &PROBLEMS[problem_index];
        let district = *rng.pick(DISTRICTS);
        let route = 1 + rng.below(400) as u32;
        let (place_index, place_names) = match problem.place {
            Some(kind) => {
                let (index, names) = place(rng, kind);
                (Some(index), names)
            }
            None => (None, Vec::new()),
        };
        let question = (place_index.is_none() && !problem.titles[0].contains("{n}"))
            .then(|| rng.below(problem.titles.len()));
        let gold = match (place_index, question) {
            (Some(place), _) => ((problem_index as u64) << 32) | place,
            (None, Some(question)) => {
                let month = at / (30 * 86_400);
                (1 << 62) | ((problem_index as u64) << 40) | ((question as u64) << 32) | month
            }
            (None, None) => ((problem_index as u64) << 32) | u64::from(route),
        };
        let slot = self.next_issue_slot;
        self.next_issue_slot += 1;
        let mean_gap_secs = 86_400.0 * (0.5 + rng.unit() * 9.5);
        self.issues.insert(
            slot,
            Issue {
                gold,
                problem,
                place_names,
                district,
                route,
                question,
                remaining: if question.is_some() { 1 } else { size },
                mean_gap_secs,
                last: None,
            },
        );
        self.events.push(Reverse((at, slot)));
    }

    fn write(&mut self, issue: &mut Issue, at: u64) -> SyntheticComplaint {
        let submitted_at = self.start + chrono::Duration::seconds(at as i64);
        let rng = &mut self.rng;
        let roll = rng.unit();
        let (origin, written) = match &issue.last {
            Some(last) if roll < 0.05 => {
                let mut copy = last.clone();
                copy.channel = other_channel(rng, last.channel);
                (SyntheticOrigin::CrossChannel, copy)
            }
            Some(last) if roll < 0.12 => {
                let mut copy = last.clone();
                copy.title = title(rng, issue);
                copy.channel = channel(rng);
                (SyntheticOrigin::Repost, copy)
            }
            Some(last) if roll < 0.20 => (SyntheticOrigin::EditedCopy, edit(rng, last)),
            Some(last) => {
                let same_person = rng.chance(0.15);
                let complainant = if same_person { last.complainant } else { None };
                let mut fresh = paraphrase(rng, issue, &mut self.next_person);
                if same_person {
                    fresh.complainant = complainant;
                }
                (SyntheticOrigin::Paraphrase, fresh)
            }
            None => (
                SyntheticOrigin::First,
                paraphrase(rng, issue, &mut self.next_person),
            ),
        };
        issue.last = Some(written.clone());
        self.next_id += 1;
        let media_exposed = written.channel == Channel::Media;
        let public_support =
            (written.channel == Channel::Online).then(|| (rng.exponential(4.0)) as u64);
        let text = connectors::text::normalize(&format!("{}\n{}", written.title, written.body));
        SyntheticComplaint {
            input: ComplaintInput {
                complaint_id: format!("syn-{:07}", self.next_id),
                text,
                title: written.title,
                submitted_at,
                channel: written.channel,
                complainant_keys: written
                    .complainant
                    .map(|p| vec![format!("person-{p:06}")])
                    .unwrap_or_default(),
                district: rng.chance(0.3).then(|| issue.district.to_string()),
                public_support,
                media_exposed,
            },
            issue: issue.gold,
            origin,
        }
    }
}

/// A place of `kind`: a stable index and the ways people write it (full name first).
fn place(rng: &mut Rng, kind: PlaceKind) -> (u64, Vec<String>) {
    match kind {
        PlaceKind::Estate => {
            let (p, c, s) = (
                rng.below(NAME_PARTS.len()),
                rng.below(NAME_CORES.len()),
                rng.below(ESTATE_SUFFIXES.len()),
            );
            let base = format!("{}{}", NAME_PARTS[p], NAME_CORES[c]);
            let suffix = ESTATE_SUFFIXES[s];
            let full = format!("{base}{suffix}");
            let mut names = vec![full.clone()];
            if suffix == "小区" {
                names.push(base.clone());
            } else {
                names.push(format!("{full}小区"));
            }
            if rng.chance(0.3) {
                names.push(format!("{}{full}", rng.pick(DEVELOPERS)));
            }
            (
                ((p * NAME_CORES.len() + c) * ESTATE_SUFFIXES.len() + s) as u64,
                names,
            )
        }
        PlaceKind::Road => {
            let (n, d, s) = (
                rng.below(ROAD_NAMES.len()),
                rng.below(ROAD_DIRECTIONS.len()),
                rng.below(ROAD_SUFFIXES.len()),
            );
            let name = format!(
                "{}{}{}",
                ROAD_NAMES[n], ROAD_DIRECTIONS[d], ROAD_SUFFIXES[s]
            );
            let index = (n * ROAD_DIRECTIONS.len() + d) * ROAD_SUFFIXES.len() + s;
            (index as u64, vec![name])
        }
        PlaceKind::School => {
            let (p, s) = (
                rng.below(NAME_PARTS.len()),
                rng.below(SCHOOL_SUFFIXES.len()),
            );
            let name = format!("{}{}", NAME_PARTS[p], SCHOOL_SUFFIXES[s]);
            (
                (p * SCHOOL_SUFFIXES.len() + s) as u64,
                vec![name.clone(), format!("市{name}")],
            )
        }
        PlaceKind::Hospital => {
            let (p, s) = (
                rng.below(NAME_PARTS.len()),
                rng.below(HOSPITAL_SUFFIXES.len()),
            );
            let name = format!("{}{}", NAME_PARTS[p], HOSPITAL_SUFFIXES[s]);
            ((p * HOSPITAL_SUFFIXES.len() + s) as u64, vec![name])
        }
        _ => {
            let all = COMPANY_NAMES.len() + NAME_PARTS.len();
            let (n, t) = (rng.below(all), rng.below(COMPANY_TRADES.len()));
            let brand = COMPANY_NAMES
                .get(n)
                .copied()
                .unwrap_or_else(|| NAME_PARTS[n - COMPANY_NAMES.len()]);
            let name = format!("{brand}{}", COMPANY_TRADES[t]);
            ((n * COMPANY_TRADES.len() + t) as u64, vec![name])
        }
    }
}

pub(super) fn channel(rng: &mut Rng) -> Channel {
    match rng.unit() {
        u if u < 0.50 => Channel::Hotline,
        u if u < 0.85 => Channel::Online,
        u if u < 0.93 => Channel::Petition,
        u if u < 0.98 => Channel::Email,
        _ => Channel::Media,
    }
}

fn other_channel(rng: &mut Rng, not: Channel) -> Channel {
    loop {
        let channel = channel(rng);
        if channel != not {
            return channel;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_in_time_order() {
        let a: Vec<SyntheticComplaint> = generate(300, 60, 7).collect();
        let b: Vec<SyntheticComplaint> = generate(300, 60, 7).collect();
        assert_eq!(a.len(), 300);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.input, y.input);
            assert_eq!(x.issue, y.issue);
        }
        assert!(
            a.windows(2)
                .all(|w| w[0].input.submitted_at <= w[1].input.submitted_at)
        );
        let other: Vec<SyntheticComplaint> = generate(300, 60, 8).collect();
        assert_ne!(a[0].input.text, other[0].input.text);
    }

    #[test]
    fn the_stream_has_every_origin_and_shared_issues() {
        let all: Vec<SyntheticComplaint> = generate(3000, 120, 1).collect();
        for origin in [
            SyntheticOrigin::First,
            SyntheticOrigin::Paraphrase,
            SyntheticOrigin::Repost,
            SyntheticOrigin::EditedCopy,
            SyntheticOrigin::CrossChannel,
        ] {
            assert!(all.iter().any(|c| c.origin == origin), "{origin:?} missing");
        }
        let mut sizes: FxHashMap<u64, usize> = FxHashMap::default();
        for c in &all {
            *sizes.entry(c.issue).or_default() += 1;
        }
        assert!(
            sizes.values().any(|&n| n >= 10),
            "no issue with ten complaints"
        );
        assert!(sizes.values().filter(|&&n| n == 1).count() > sizes.len() / 3);
        let chars: usize = all.iter().map(|c| c.input.text.chars().count()).sum();
        assert!(
            (80..600).contains(&(chars / all.len())),
            "mean length {}",
            chars / all.len()
        );
    }
}

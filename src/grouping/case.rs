//! A case as the engine remembers it: a compact profile of its members' problem terms and
//! named places, and the same-issue score of a new complaint against it.
//!
//! Comparing a complaint with the profile of a whole case, not with one member, is what keeps
//! grouping from chaining: a complaint must resemble what the case is about, not merely one
//! complaint that was itself a borderline match.

use super::config::GroupingConfig;
use super::features::Span;
use super::lexicon::PlaceKind;

/// A problem term of a query, with its weight (tf-idf).
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryTerm {
    pub(crate) id: u32,
    pub(crate) idf: f32,
    pub(crate) weight: f32,
    pub(crate) span: Span,
}

/// A place key of a query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryPlace {
    pub(crate) key: u64,
    pub(crate) kind: PlaceKind,
    /// 1 for a rare key, lower for a key many complaints share.
    pub(crate) specificity: f32,
    /// Which mention it belongs to: keys of one mention are variants of one name.
    pub(crate) mention: u16,
    pub(crate) span: Span,
    /// A bare estate name (its generic suffix dropped), worth recognising later without it.
    pub(crate) learnable: bool,
    /// Position among its mention's keys: 0 for the most specific.
    pub(crate) rank: u8,
    /// Made only of everyday words (混凝土有限公司): shared, it does not show the same place.
    pub(crate) generic: bool,
}

/// The complaint being assigned, ready for scoring.
#[derive(Debug, Default)]
pub(crate) struct Query {
    /// The most characteristic terms, sorted by id.
    pub(crate) terms: Vec<QueryTerm>,
    /// Every distinct term with its prior document fraction, for the statistics.
    pub(crate) all_terms: Vec<(u32, f32)>,
    pub(crate) norm: f32,
    /// Sorted by key.
    pub(crate) places: Vec<QueryPlace>,
    /// Districts, sorted: the one the channel gave (low bit 1) and those named in the text
    /// (low bit 0), compared only within their class (a given "雨花" is not a written "雨花区").
    pub(crate) districts: Vec<u64>,
    pub(crate) submitted_at_secs: i64,
}

/// A place key in a case profile.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CasePlace {
    pub(crate) key: u64,
    pub(crate) count: u16,
    pub(crate) kind: PlaceKind,
}

/// What the engine keeps per case.
#[derive(Debug)]
pub(crate) struct CaseRecord {
    /// The founding complaint's id ([`super::CaseKey`]).
    pub(crate) key: Box<str>,
    /// Sequence number of the founding complaint.
    pub(crate) anchor_seq: u32,
    pub(crate) members: u32,
    /// Engine clock when the case last gained a complaint (eviction).
    pub(crate) last_clock: i64,
    /// Sequence number of its latest complaint: once that one has left the candidate window
    /// (by age or by `max_window_complaints`), nothing can reach the case any more, and a
    /// sweep forgets it (else cases would outlive a count-bounded window and memory grow).
    pub(crate) last_seq: u32,
    pub(crate) first_submitted: i64,
    pub(crate) last_submitted: i64,
    /// `(term id << 32) | members using it`, sorted (so by term id).
    pub(crate) terms: Vec<u64>,
    /// Cached Euclidean norm of the profile's weights (member share × idf).
    pub(crate) norm: f32,
    /// Σ (members using the term × idf)², kept incrementally as members join: the idf of a
    /// term is taken when its count changes, so the norm drifts slowly with the statistics
    /// and is recomputed whenever the profile is pruned, merged or split.
    pub(crate) counts_norm_sq: f32,
    /// Sorted by key.
    pub(crate) places: Vec<CasePlace>,
    /// Districts of members, sorted, at most a few.
    pub(crate) districts: Vec<u64>,
}

const MAX_CASE_DISTRICTS: usize = 4;

impl CaseRecord {
    pub(crate) fn new(key: Box<str>, anchor_seq: u32, clock: i64, submitted: i64) -> Self {
        CaseRecord {
            key,
            anchor_seq,
            members: 0,
            last_clock: clock,
            last_seq: anchor_seq,
            first_submitted: submitted,
            last_submitted: submitted,
            terms: Vec::new(),
            norm: 0.0,
            counts_norm_sq: 0.0,
            places: Vec::new(),
            districts: Vec::new(),
        }
    }

    /// Adds one member's statistics (its strongest terms, its places, its districts).
    pub(crate) fn add_member(
        &mut self,
        query: &Query,
        clock: i64,
        config: &GroupingConfig,
        idf_of: impl Fn(u32) -> f32,
    ) {
        self.members += 1;
        self.last_clock = self.last_clock.max(clock);
        self.first_submitted = self.first_submitted.min(query.submitted_at_secs);
        self.last_submitted = self.last_submitted.max(query.submitted_at_secs);
        // The query holds the complaint's strongest terms already (max_terms_per_complaint).
        for term in &query.terms {
            let probe = u64::from(term.id) << 32;
            let count = match self
                .terms
                .binary_search_by(|t| (t & !0xFFFF_FFFF).cmp(&probe))
            {
                Ok(i) => {
                    let count = self.terms[i] as u32;
                    self.terms[i] += u64::from(count < u32::MAX);
                    count as f32
                }
                Err(i) => {
                    self.terms.insert(i, probe | 1);
                    0.0
                }
            };
            // (c + 1)² − c² = 2c + 1
            self.counts_norm_sq += (2.0 * count + 1.0) * term.idf * term.idf;
        }
        let pruned = self.terms.len() > config.max_terms_per_case + config.max_terms_per_case / 2;
        if pruned {
            // Keep the terms most members use; ties by id so the result is deterministic.
            self.terms
                .sort_by(|a, b| (*b as u32).cmp(&(*a as u32)).then(a.cmp(b)));
            self.terms.truncate(config.max_terms_per_case);
            self.terms.sort_unstable();
        }
        for place in &query.places {
            match self.places.binary_search_by_key(&place.key, |p| p.key) {
                Ok(i) => self.places[i].count = self.places[i].count.saturating_add(1),
                Err(i) => self.places.insert(
                    i,
                    CasePlace {
                        key: place.key,
                        count: 1,
                        kind: place.kind,
                    },
                ),
            }
        }
        for district in &query.districts {
            if let Err(i) = self.districts.binary_search(district)
                && self.districts.len() < MAX_CASE_DISTRICTS
            {
                self.districts.insert(i, *district);
            }
        }
        if pruned {
            self.refresh_norm(idf_of);
        } else {
            self.update_norm();
        }
    }

    /// Removes one member's statistics (a staff split); terms pruned from the profile since
    /// are simply not there to remove.
    pub(crate) fn remove_member(&mut self, query: &Query, idf_of: impl Fn(u32) -> f32) {
        self.members = self.members.saturating_sub(1);
        for term in &query.terms {
            let probe = u64::from(term.id) << 32;
            if let Ok(i) = self
                .terms
                .binary_search_by(|t| (t & !0xFFFF_FFFF).cmp(&probe))
            {
                if self.terms[i] as u32 <= 1 {
                    self.terms.remove(i);
                } else {
                    self.terms[i] -= 1;
                }
            }
        }
        for place in &query.places {
            if let Ok(i) = self.places.binary_search_by_key(&place.key, |p| p.key) {
                if self.places[i].count <= 1 {
                    self.places.remove(i);
                } else {
                    self.places[i].count -= 1;
                }
            }
        }
        self.refresh_norm(idf_of);
    }

    /// Folds another case's statistics into this one (a staff merge).
    pub(crate) fn absorb(&mut self, other: CaseRecord, idf_of: impl Fn(u32) -> f32) {
        self.members += other.members;
        self.last_clock = self.last_clock.max(other.last_clock);
        self.last_seq = self.last_seq.max(other.last_seq);
        self.first_submitted = self.first_submitted.min(other.first_submitted);
        self.last_submitted = self.last_submitted.max(other.last_submitted);
        let mut terms: Vec<u64> = Vec::with_capacity(self.terms.len() + other.terms.len());
        let (mut a, mut b) = (self.terms.iter().peekable(), other.terms.iter().peekable());
        loop {
            match (a.peek(), b.peek()) {
                (Some(&&x), Some(&&y)) if x >> 32 == y >> 32 => {
                    let count = (x as u32).saturating_add(y as u32);
                    terms.push((x & !0xFFFF_FFFF) | u64::from(count));
                    a.next();
                    b.next();
                }
                (Some(&&x), Some(&&y)) => {
                    terms.push(x.min(y));
                    if x < y {
                        a.next()
                    } else {
                        b.next()
                    };
                }
                (Some(&&x), None) => {
                    terms.push(x);
                    a.next();
                }
                (None, Some(&&y)) => {
                    terms.push(y);
                    b.next();
                }
                (None, None) => break,
            }
        }
        self.terms = terms;
        for place in other.places {
            match self.places.binary_search_by_key(&place.key, |p| p.key) {
                Ok(i) => self.places[i].count = self.places[i].count.saturating_add(place.count),
                Err(i) => self.places.insert(i, place),
            }
        }
        for district in other.districts {
            if let Err(i) = self.districts.binary_search(&district)
                && self.districts.len() < MAX_CASE_DISTRICTS
            {
                self.districts.insert(i, district);
            }
        }
        self.refresh_norm(idf_of);
    }

    /// Recomputes the profile's norm from scratch with current term statistics.
    fn refresh_norm(&mut self, idf_of: impl Fn(u32) -> f32) {
        self.counts_norm_sq = self
            .terms
            .iter()
            .map(|&t| {
                let w = (t as u32) as f32 * idf_of((t >> 32) as u32);
                w * w
            })
            .sum::<f32>();
        self.update_norm();
    }

    fn update_norm(&mut self) {
        self.norm = self.counts_norm_sq.max(0.0).sqrt() / self.members.max(1) as f32;
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.key.len()
            + self.terms.capacity() * 8
            + self.places.capacity() * std::mem::size_of::<CasePlace>()
            + self.districts.capacity() * 8
    }
}

/// Why a case may not take a complaint by similarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block {
    /// The complaint names a different place of a kind the case is about (another estate).
    DifferentPlace,
    /// The complaint and the case are in different districts.
    DifferentDistrict,
}

/// The same-issue comparison of a query with a case.
#[derive(Debug, Clone, Default)]
pub(crate) struct IssueScore {
    pub(crate) score: f32,
    pub(crate) place: f32,
    pub(crate) problem: f32,
    /// Days between the complaint and the case's members (0 inside their span).
    pub(crate) gap_days: f32,
    /// Days from the case's first complaint to this one (or to its last, if later).
    pub(crate) span_days: f32,
    /// The complaint names no place while the case is about one: only a duplicate or the
    /// same complainant may join it.
    pub(crate) unplaced_into_placed: bool,
    pub(crate) block: Option<Block>,
    /// Spans (in the query text) of the shared places, one per mention.
    pub(crate) shared_places: Vec<Span>,
    /// Spans of the shared terms, most weighty first.
    pub(crate) shared_terms: Vec<Span>,
}

/// Kinds whose places identify an issue: naming a different one means a different issue.
const EXCLUSIVE_KINDS: [PlaceKind; 6] = [
    PlaceKind::Estate,
    PlaceKind::School,
    PlaceKind::Hospital,
    PlaceKind::Company,
    PlaceKind::Road,
    PlaceKind::Landmark,
];

/// Scores `query` against `case`; with `explain`, also lists the shared places and terms
/// (which allocates, so it is done only for the case finally chosen).
pub(crate) fn score_issue(
    query: &Query,
    case: &CaseRecord,
    config: &GroupingConfig,
    explain: bool,
) -> IssueScore {
    let members = case.members.max(1) as f32;
    let mut result = IssueScore::default();

    // Places: the best shared key counts; the most specific shared key of each mention is
    // reported.
    let mut shared_kinds: Vec<PlaceKind> = Vec::new();
    let mut reported: Vec<(u16, u8, Span)> = Vec::new();
    for place in &query.places {
        let Ok(i) = case.places.binary_search_by_key(&place.key, |p| p.key) else {
            continue;
        };
        let presence = (0.5 + case.places[i].count as f32 / members).min(1.0);
        let strength = config.place_kind_weights.of(place.kind) * place.specificity * presence;
        result.place = result.place.max(strength);
        if place.specificity >= 0.5 && !place.generic {
            shared_kinds.push(place.kind);
        }
        if !explain {
            continue;
        }
        match reported
            .iter_mut()
            .find(|(mention, ..)| *mention == place.mention)
        {
            Some(entry) if place.rank < entry.1 => *entry = (place.mention, place.rank, place.span),
            Some(_) => {}
            None => reported.push((place.mention, place.rank, place.span)),
        }
    }
    reported.sort_by_key(|&(mention, ..)| mention);
    result.shared_places = reported.into_iter().map(|(.., span)| span).collect();
    // A case is about a place of a kind when a third of its members name it.
    let about = |kind: PlaceKind| {
        case.places
            .iter()
            .any(|p| p.kind == kind && u32::from(p.count) * 3 >= case.members)
    };
    let names = |kind: PlaceKind| {
        query
            .places
            .iter()
            .any(|p| p.kind == kind && p.specificity >= 0.5 && !p.generic)
    };
    let names_any = EXCLUSIVE_KINDS.iter().any(|&k| names(k));
    let shares_any = EXCLUSIVE_KINDS.iter().any(|k| shared_kinds.contains(k));
    if names_any && !shares_any {
        // A complaint about a named place only joins cases about that place.
        result.block = Some(Block::DifferentPlace);
    }
    for kind in EXCLUSIVE_KINDS {
        if about(kind) && !shared_kinds.contains(&kind) {
            if names(kind) {
                // Same road, another estate: still another issue.
                result.block = Some(Block::DifferentPlace);
            } else if !names_any {
                result.unplaced_into_placed = true;
            }
        }
    }
    // Given districts (low bit 1) are compared with given ones, named ones with named ones.
    for class in [0u64, 1] {
        let mut ours = query
            .districts
            .iter()
            .filter(|d| *d & 1 == class)
            .peekable();
        let mut theirs = case.districts.iter().filter(|d| *d & 1 == class).peekable();
        if ours.peek().is_some()
            && theirs.peek().is_some()
            && !ours.any(|d| case.districts.binary_search(d).is_ok())
        {
            result.block = result.block.or(Some(Block::DifferentDistrict));
        }
    }

    // Problem terms: cosine of the query's tf-idf and the case's member-share × idf.
    let mut dot = 0.0f32;
    let mut shared: Vec<(f32, Span)> = Vec::new();
    let mut c = case.terms.iter().peekable();
    for term in &query.terms {
        while c.peek().is_some_and(|&&t| ((t >> 32) as u32) < term.id) {
            c.next();
        }
        if let Some(&&t) = c.peek()
            && (t >> 32) as u32 == term.id
        {
            let case_weight = (t as u32) as f32 / members * term.idf;
            dot += term.weight * case_weight;
            if explain {
                shared.push((term.weight * case_weight, term.span));
            }
        }
    }
    if query.norm > 0.0 && case.norm > 0.0 {
        result.problem = (dot / (query.norm * case.norm)).min(1.0);
    }
    shared.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.start.cmp(&b.1.start)));
    // A concept term shares its word's span: report each span once.
    for (_, span) in shared {
        if result.shared_terms.len() < 8 && !result.shared_terms.contains(&span) {
            result.shared_terms.push(span);
        }
    }

    let (half_life, floor) = if result.place >= config.min_place_anchor {
        (
            config.place_match_half_life_days,
            config.min_place_time_factor,
        )
    } else {
        (config.text_match_half_life_days, config.min_time_factor)
    };
    let gap_days = time_gap_secs(query.submitted_at_secs, case) as f32 / 86_400.0;
    result.gap_days = gap_days;
    let latest = query.submitted_at_secs.max(case.last_submitted);
    let earliest = query.submitted_at_secs.min(case.first_submitted);
    result.span_days = (latest - earliest) as f32 / 86_400.0;
    let time_factor = 0.5f32.powf(gap_days / half_life).max(floor);
    result.score =
        (config.place_weight * result.place + config.problem_weight * result.problem) * time_factor;
    result
}

/// Seconds between a time and the span of a case's members (0 inside it).
fn time_gap_secs(at: i64, case: &CaseRecord) -> i64 {
    if at < case.first_submitted {
        case.first_submitted - at
    } else if at > case.last_submitted {
        at - case.last_submitted
    } else {
        0
    }
}

/// Does a score pass the same-issue rules?
pub(crate) fn passes_same_issue(score: &IssueScore, config: &GroupingConfig) -> bool {
    if score.block.is_some() || score.unplaced_into_placed {
        return false;
    }
    let min_problem = if score.place >= config.min_place_anchor {
        let closeness = 0.5f32.powf(score.gap_days / config.recent_half_life_days);
        config.min_problem_similarity_with_place * (1.0 - config.recency_relief * closeness)
    } else {
        if score.span_days > config.max_text_only_case_span_days as f32 {
            return false;
        }
        config.min_problem_similarity_without_place
    };
    score.problem >= min_problem && score.score >= config.same_issue_threshold
}

/// Does a score pass for a case that already has a recent complaint of the same complainant?
/// The person is known to be writing about one thing; a follow-up need not name the place
/// again, but must not name another one.
pub(crate) fn passes_same_complainant(score: &IssueScore, config: &GroupingConfig) -> bool {
    score.block.is_none() && score.problem >= config.same_complainant_min_problem_similarity
}

//! Thresholds and weights of the grouping engine. Every value has a default; a config file
//! only lists what it changes, and a misspelt key is an error naming the key.

use serde::{Deserialize, Serialize};

use super::GroupingError;
use super::lexicon::PlaceKind;
use super::minhash::{MAX_SHINGLE_CHARS, SIGNATURE_LEN};

/// Grouping configuration (`[grouping]` in `gateway.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupingConfig {
    /// How long a complaint stays a match candidate, in days of the engine clock (the latest
    /// effective `submitted_at` seen, so a bulk import of old complaints does not expire at
    /// once; a future-dated complaint counts at its receipt).
    pub window_days: u32,
    /// Most complaints kept as match candidates whatever their age; the oldest go first. With
    /// `window_days` this bounds memory (about 0.6 KB per complaint, see the module docs).
    pub max_window_complaints: usize,
    /// Characters per shingle for near-duplicate detection (1 to 3).
    pub shingle_chars: usize,
    /// LSH bands over the 64-value MinHash signature; `lsh_bands × lsh_rows_per_band ≤ 64`.
    /// Each band costs about 12 bytes per complaint in the window. With 10 bands of 3 rows a
    /// pair at Jaccard 0.6 becomes a candidate with probability 0.91, at 0.8 with 0.999.
    pub lsh_bands: usize,
    /// Signature values per LSH band: more rows find fewer, closer candidates.
    pub lsh_rows_per_band: usize,
    /// Estimated shingle Jaccard similarity from which two complaints are near-duplicates.
    pub near_duplicate_jaccard: f32,
    /// Near-duplicates naming different estates, schools, hospitals or companies (a template
    /// letter sent about two places) stay apart unless their estimated Jaccard similarity is
    /// at least this.
    pub near_duplicate_across_places_jaccard: f32,
    /// Shortest body, in letters and digits, compared on its own for a repost under a new title.
    pub min_body_chars_for_exact: usize,
    /// How far back the same complainant strengthens a match, in days.
    pub same_complainant_window_days: u32,
    /// Estimated Jaccard similarity from which two complaints of one complainant are one case.
    pub same_complainant_jaccard: f32,
    /// Least problem-term cosine similarity with which a complaint joins a case holding a
    /// complaint of the same complainant from within `same_complainant_window_days` (a
    /// follow-up need not name the place again, but must not name another).
    pub same_complainant_min_problem_similarity: f32,
    /// Same-issue score from which a complaint joins a case (score = place part + problem part,
    /// times the time factor).
    pub same_issue_threshold: f32,
    /// Weight of the shared named place in the same-issue score.
    pub place_weight: f32,
    /// Weight of the problem-term cosine similarity in the same-issue score.
    pub problem_weight: f32,
    /// Place part (kind weight × rarity × presence in the case) from which a shared place
    /// anchors a match, allowing the lower `min_problem_similarity_with_place`. With the
    /// default weights a shared estate, school, hospital, company, landmark or road anchors;
    /// a shared government unit only adds to the score.
    pub min_place_anchor: f32,
    /// Least problem-term cosine similarity when a named place anchors the match: two
    /// complaints about one estate but different problems stay apart.
    pub min_problem_similarity_with_place: f32,
    /// How much recency relaxes `min_problem_similarity_with_place`, 0 to 1: complaints about
    /// one place days apart need less shared wording than complaints months apart. The
    /// relief is this fraction for complaints on the same day and halves every
    /// `recent_half_life_days`.
    pub recency_relief: f32,
    /// Half-life of the recency relief, in days.
    pub recent_half_life_days: f32,
    /// Least problem-term cosine similarity when no named place is shared.
    pub min_problem_similarity_without_place: f32,
    /// How much a shared place of each kind counts, 0 to 1: an estate or a school pins down
    /// an issue, a government unit or a long road much less.
    pub place_kind_weights: PlaceKindWeights,
    /// A place key in more than this fraction of complaints seen is too common to count.
    pub max_place_document_fraction: f32,
    /// Half-life of the time factor when a named place is shared, in days.
    pub place_match_half_life_days: f32,
    /// Half-life of the time factor when only words are shared, in days.
    pub text_match_half_life_days: f32,
    /// Longest span, in days from its first complaint, of a case that a complaint joins on
    /// wording alone (no shared place): keeps a popular topic (集中供暖 questions) from
    /// becoming one case for the whole year.
    pub max_text_only_case_span_days: u32,
    /// Lowest value of the time factor when only words are shared.
    pub min_time_factor: f32,
    /// Lowest value of the time factor when a named place is shared: a problem at one place
    /// raised again a year later is still the same issue.
    pub min_place_time_factor: f32,
    /// Never join a case by same-issue when the district (given or named in the text) differs.
    pub block_on_district_mismatch: bool,
    /// Candidate cases fully scored per complaint, chosen by a cheap shared-key score.
    pub max_scored_cases: usize,
    /// Most recent cases remembered per place key.
    pub max_cases_per_place: usize,
    /// Most recent cases remembered per distinctive term.
    pub max_cases_per_term: usize,
    /// Most distinctive terms of a complaint used to retrieve candidate cases.
    pub retrieval_terms_per_complaint: usize,
    /// Terms whose document frequency is above this fraction are not used for retrieval.
    pub max_retrieval_term_document_fraction: f32,
    /// Problem terms of a complaint compared with a case: its most characteristic ones by
    /// tf-idf. Fewer terms keep incidental words from diluting the similarity.
    pub max_terms_per_complaint: usize,
    /// Term statistics behave as if this many more complaints without the word had been seen,
    /// so a small file (or a fresh engine) does not make its own topic words look common.
    pub idf_prior_documents: u32,
    /// Problem terms kept in a case profile, by how many members use them.
    pub max_terms_per_case: usize,
    /// Most distinct terms and place keys whose document frequency is tracked; above it the
    /// rarest are forgotten (they then look new, which only makes them more distinctive).
    pub max_vocabulary: usize,
}

/// Weight of a shared place by kind, 0 to 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaceKindWeights {
    /// Residential estate, village or community.
    pub estate: f32,
    /// Road, street, bridge or tunnel.
    pub road: f32,
    /// School or college.
    pub school: f32,
    /// Hospital or clinic.
    pub hospital: f32,
    /// Company, shop or market.
    pub company: f32,
    /// Government unit.
    pub unit: f32,
    /// Landmark, square, park or station.
    pub landmark: f32,
    /// Town, township or sub-district.
    pub town: f32,
}

impl PlaceKindWeights {
    /// The weight of one kind.
    pub fn of(&self, kind: PlaceKind) -> f32 {
        match kind {
            PlaceKind::Estate => self.estate,
            PlaceKind::Road => self.road,
            PlaceKind::School => self.school,
            PlaceKind::Hospital => self.hospital,
            PlaceKind::Company => self.company,
            PlaceKind::Unit => self.unit,
            PlaceKind::Landmark => self.landmark,
            PlaceKind::Town => self.town,
        }
    }
}

impl Default for PlaceKindWeights {
    fn default() -> Self {
        PlaceKindWeights {
            estate: 1.0,
            road: 0.6,
            school: 1.0,
            hospital: 0.9,
            company: 0.9,
            unit: 0.35,
            landmark: 0.7,
            town: 0.4,
        }
    }
}

impl Default for GroupingConfig {
    fn default() -> Self {
        GroupingConfig {
            window_days: 365,
            max_window_complaints: 1_000_000,
            shingle_chars: 3,
            lsh_bands: 10,
            lsh_rows_per_band: 3,
            near_duplicate_jaccard: 0.6,
            near_duplicate_across_places_jaccard: 0.9,
            min_body_chars_for_exact: 30,
            same_complainant_window_days: 90,
            same_complainant_jaccard: 0.3,
            same_complainant_min_problem_similarity: 0.2,
            same_issue_threshold: 0.45,
            place_weight: 0.5,
            problem_weight: 1.0,
            min_place_anchor: 0.5,
            min_problem_similarity_with_place: 0.1,
            recency_relief: 0.3,
            recent_half_life_days: 30.0,
            min_problem_similarity_without_place: 0.5,
            place_kind_weights: PlaceKindWeights::default(),
            max_place_document_fraction: 0.02,
            place_match_half_life_days: 730.0,
            text_match_half_life_days: 30.0,
            max_text_only_case_span_days: 60,
            min_time_factor: 0.3,
            min_place_time_factor: 0.7,
            block_on_district_mismatch: true,
            max_scored_cases: 12,
            max_cases_per_place: 16,
            max_cases_per_term: 8,
            retrieval_terms_per_complaint: 8,
            max_retrieval_term_document_fraction: 0.05,
            max_terms_per_complaint: 20,
            idf_prior_documents: 2000,
            max_terms_per_case: 48,
            max_vocabulary: 2_000_000,
        }
    }
}

impl GroupingConfig {
    /// Checks the values that would make the engine misbehave rather than just group worse.
    pub fn validate(&self) -> Result<(), GroupingError> {
        let invalid = |field: &'static str, reason: String| {
            Err(GroupingError::InvalidConfig { field, reason })
        };
        if self.window_days == 0 {
            return invalid("window_days", "must be at least 1".into());
        }
        if self.max_window_complaints == 0 {
            return invalid("max_window_complaints", "must be at least 1".into());
        }
        if !(1..=MAX_SHINGLE_CHARS).contains(&self.shingle_chars) {
            return invalid(
                "shingle_chars",
                format!("must be between 1 and {MAX_SHINGLE_CHARS}"),
            );
        }
        if self.lsh_bands == 0
            || self.lsh_rows_per_band == 0
            || self.lsh_bands * self.lsh_rows_per_band > SIGNATURE_LEN
        {
            return invalid(
                "lsh_bands",
                format!("lsh_bands × lsh_rows_per_band must be between 1 and {SIGNATURE_LEN}"),
            );
        }
        for (field, value) in [
            ("near_duplicate_jaccard", self.near_duplicate_jaccard),
            (
                "near_duplicate_across_places_jaccard",
                self.near_duplicate_across_places_jaccard,
            ),
            ("same_complainant_jaccard", self.same_complainant_jaccard),
            (
                "same_complainant_min_problem_similarity",
                self.same_complainant_min_problem_similarity,
            ),
            (
                "max_place_document_fraction",
                self.max_place_document_fraction,
            ),
            ("min_time_factor", self.min_time_factor),
            ("min_place_time_factor", self.min_place_time_factor),
            ("recency_relief", self.recency_relief),
            (
                "max_retrieval_term_document_fraction",
                self.max_retrieval_term_document_fraction,
            ),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return invalid(field, "must be between 0 and 1".into());
            }
        }
        for (field, value) in [
            (
                "place_match_half_life_days",
                self.place_match_half_life_days,
            ),
            ("text_match_half_life_days", self.text_match_half_life_days),
            ("recent_half_life_days", self.recent_half_life_days),
        ] {
            if value.is_nan() || value <= 0.0 {
                return invalid(field, "must be positive".into());
            }
        }
        if self.max_scored_cases == 0 || self.max_terms_per_complaint == 0 {
            return invalid(
                "max_scored_cases",
                "max_scored_cases and max_terms_per_complaint must be at least 1".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_config_keeps_defaults_and_a_misspelt_key_is_named() {
        let config: GroupingConfig =
            serde_json::from_str(r#"{"window_days": 30, "place_kind_weights": {"road": 0.2}}"#)
                .unwrap();
        assert_eq!(config.window_days, 30);
        assert_eq!(config.place_kind_weights.road, 0.2);
        assert_eq!(
            config.place_kind_weights.estate,
            PlaceKindWeights::default().estate
        );
        assert_eq!(config.lsh_bands, GroupingConfig::default().lsh_bands);

        let err = serde_json::from_str::<GroupingConfig>(r#"{"window_day": 30}"#).unwrap_err();
        assert!(err.to_string().contains("window_day"), "{err}");
    }

    #[test]
    fn validation_rejects_impossible_values() {
        assert!(GroupingConfig::default().validate().is_ok());
        let too_many_rows = GroupingConfig {
            lsh_bands: 20,
            lsh_rows_per_band: 4,
            ..GroupingConfig::default()
        };
        assert!(matches!(
            too_many_rows.validate(),
            Err(GroupingError::InvalidConfig {
                field: "lsh_bands",
                ..
            })
        ));
        let bad_fraction = GroupingConfig {
            near_duplicate_jaccard: 1.5,
            ..GroupingConfig::default()
        };
        assert!(bad_fraction.validate().is_err());
    }
}

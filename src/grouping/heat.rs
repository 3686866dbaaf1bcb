//! How hot an issue is: many complaints, from many people, recently, with public support or
//! media attention.
//!
//! Every member counts with a weight that halves every `half_life_days` of age, so the same
//! case cools down by itself; the parts are returned with the score so the API can show why a
//! case is on the hot list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Heat score settings (`[grouping.heat]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeatConfig {
    /// Age at which a complaint counts half, in days.
    pub half_life_days: f64,
    /// Points per (recency-weighted) complaint.
    pub complaint_weight: f64,
    /// Points per (recency-weighted) distinct complainant; anonymous complaints count as one
    /// complainant each.
    pub complainant_weight: f64,
    /// Points per unit of ln(1 + recency-weighted likes and signatures).
    pub support_weight: f64,
    /// Points when a member was exposed by the media, weighted by that member's recency.
    pub media_points: f64,
}

impl Default for HeatConfig {
    fn default() -> Self {
        HeatConfig {
            half_life_days: 7.0,
            complaint_weight: 1.0,
            complainant_weight: 2.0,
            support_weight: 1.5,
            media_points: 5.0,
        }
    }
}

/// One member of a case, as the heat score sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMember {
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// A keyed hash identifying the complainant, `None` when anonymous.
    pub complainant: Option<String>,
    /// Likes, signatures or co-signers reported by its channel.
    pub public_support: u64,
    /// Exposed by the news media.
    pub media_exposed: bool,
}

/// A heat score and its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeatScore {
    /// The total.
    pub score: f64,
    /// Recency-weighted number of complaints.
    pub recent_complaints: f64,
    /// Recency-weighted number of distinct complainants.
    pub recent_complainants: f64,
    /// Recency-weighted public support.
    pub recent_support: f64,
    /// Recency weight of the most recent media exposure, 0 without any.
    pub media: f64,
}

/// Scores a case's members at time `now`. Members dated after `now` count fully.
pub fn heat_score(members: &[HeatMember], now: DateTime<Utc>, config: &HeatConfig) -> HeatScore {
    let weight = |at: DateTime<Utc>| {
        let age_days = ((now - at).num_seconds().max(0)) as f64 / 86_400.0;
        0.5f64.powf(age_days / config.half_life_days)
    };
    let mut recent_complaints = 0.0;
    let mut recent_support = 0.0;
    let mut media = 0.0f64;
    let mut anonymous = 0.0;
    let mut by_complainant: Vec<(&str, f64)> = Vec::new();
    for member in members {
        let w = weight(member.submitted_at);
        recent_complaints += w;
        recent_support += member.public_support as f64 * w;
        if member.media_exposed {
            media = media.max(w);
        }
        match &member.complainant {
            None => anonymous += w,
            Some(key) => match by_complainant.iter_mut().find(|(k, _)| *k == key.as_str()) {
                Some((_, best)) => *best = best.max(w),
                None => by_complainant.push((key.as_str(), w)),
            },
        }
    }
    let recent_complainants = anonymous + by_complainant.iter().map(|(_, w)| w).sum::<f64>();
    let score = config.complaint_weight * recent_complaints
        + config.complainant_weight * recent_complainants
        + config.support_weight * recent_support.ln_1p()
        + config.media_points * media;
    HeatScore {
        score,
        recent_complaints,
        recent_complainants,
        recent_support,
        media,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, day, 12, 0, 0).unwrap()
    }

    fn member(day: u32, who: Option<&str>) -> HeatMember {
        HeatMember {
            submitted_at: at(day),
            complainant: who.map(str::to_string),
            public_support: 0,
            media_exposed: false,
        }
    }

    #[test]
    fn parts_follow_the_definition() {
        let config = HeatConfig::default();
        // Two complaints by one person today, one anonymous a half-life ago, 15 likes today.
        let mut members = vec![
            member(15, Some("p1")),
            member(15, Some("p1")),
            member(8, None),
        ];
        members[0].public_support = 15;
        let heat = heat_score(&members, at(15), &config);
        assert!((heat.recent_complaints - 2.5).abs() < 1e-9);
        assert!((heat.recent_complainants - 1.5).abs() < 1e-9);
        assert!((heat.recent_support - 15.0).abs() < 1e-9);
        assert_eq!(heat.media, 0.0);
        let expected = 2.5 * 1.0 + 1.5 * 2.0 + 1.5 * 16f64.ln();
        assert!((heat.score - expected).abs() < 1e-9);
    }

    #[test]
    fn many_people_recently_beat_one_person_often_and_old_news_cools() {
        let config = HeatConfig::default();
        let crowd: Vec<HeatMember> = ["a", "b", "c", "d"]
            .iter()
            .map(|w| member(14, Some(w)))
            .collect();
        let one_person: Vec<HeatMember> = (0..4).map(|_| member(14, Some("a"))).collect();
        let now = at(15);
        assert!(
            heat_score(&crowd, now, &config).score > heat_score(&one_person, now, &config).score
        );
        let old: Vec<HeatMember> = ["a", "b", "c", "d"]
            .iter()
            .map(|w| member(1, Some(w)))
            .collect();
        assert!(
            heat_score(&old, now, &config).score < heat_score(&crowd, now, &config).score / 3.0
        );
    }

    #[test]
    fn media_exposure_adds_its_points() {
        let config = HeatConfig::default();
        let plain = vec![member(15, Some("a"))];
        let mut exposed = plain.clone();
        exposed[0].media_exposed = true;
        let gain =
            heat_score(&exposed, at(15), &config).score - heat_score(&plain, at(15), &config).score;
        assert!((gain - config.media_points).abs() < 1e-9);
    }
}

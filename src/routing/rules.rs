//! Applying the routing file: tags from rules, category overrides, and the routing table
//! (first match wins, the triage queue when nothing matches). Pure functions of the
//! complaint's signals, so the pipeline stage and a correction through the API decide alike.

use regex::Regex;

use super::config::{CategoryOverride, RouteRule, RoutingConfig, TagRule};
/// What the rules decide, as the store records it in a classification's why.
pub use crate::store::routes::{RouteDecision, TagHit};

/// Folds a keyword or a text into the form rules compare: the store's matching form, lower
/// case.
pub fn fold(text: &str) -> String {
    connectors::text::normalize(text).to_lowercase()
}

/// Keywords and regexes of one rule.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    keywords: Vec<String>,
    regexes: Vec<Regex>,
}

impl Matcher {
    /// Folds the keywords and compiles the regexes; the error names the rule and the pattern.
    pub fn compile(rule: &str, keywords: &[String], regexes: &[String]) -> Result<Matcher, String> {
        let regexes = regexes
            .iter()
            .map(|pattern| {
                Regex::new(pattern)
                    .map_err(|e| format!("rule `{rule}`: regex `{pattern}` does not compile: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Matcher {
            keywords: keywords
                .iter()
                .map(|k| fold(k))
                .filter(|k| !k.is_empty())
                .collect(),
            regexes,
        })
    }

    fn is_empty(&self) -> bool {
        self.keywords.is_empty() && self.regexes.is_empty()
    }

    /// The first keyword or pattern found in `folded` text.
    pub fn find(&self, folded: &str) -> Option<String> {
        if let Some(k) = self.keywords.iter().find(|k| folded.contains(k.as_str())) {
            return Some(k.clone());
        }
        self.regexes
            .iter()
            .find(|r| r.is_match(folded))
            .map(|r| format!("/{}/", r.as_str()))
    }
}

/// A tag rule, ready to apply.
#[derive(Debug, Clone)]
pub struct CompiledTagRule {
    pub rule: TagRule,
    matcher: Matcher,
}

impl CompiledTagRule {
    pub fn compile(rule: TagRule) -> Result<CompiledTagRule, String> {
        let matcher = Matcher::compile(&rule.name, &rule.keywords, &rule.regex)?;
        Ok(CompiledTagRule { rule, matcher })
    }
}

/// A routing table row (nothing to compile today; kept apart so matching lives here).
#[derive(Debug, Clone)]
pub struct CompiledRoute {
    pub rule: RouteRule,
}

impl CompiledRoute {
    pub fn compile(rule: RouteRule) -> CompiledRoute {
        CompiledRoute { rule }
    }
}

/// What the rules look at in one complaint.
#[derive(Debug, Clone, Copy)]
pub struct Signals<'a> {
    /// Title and body in [`fold`]ed form.
    pub folded_text: &'a str,
    pub channel: &'a str,
    pub target_unit: Option<&'a str>,
    pub district: Option<&'a str>,
}

/// Input of the routing table.
#[derive(Debug, Clone, Copy)]
pub struct RouteInput<'a> {
    /// The category, or `None` when unknown or below the confidence threshold.
    pub confident_category: Option<&'a str>,
    pub tags: &'a [String],
    pub channel: &'a str,
    pub target_unit: Option<&'a str>,
    pub district: Option<&'a str>,
}

/// Name recorded when no rule of the table matched.
pub const UNMATCHED_RULE: &str = "unmatched";

impl RoutingConfig {
    /// Every tag the rules set on a complaint, once each, in rule order, with evidence.
    pub fn tags_for(&self, signals: &Signals<'_>) -> Vec<TagHit> {
        let mut hits: Vec<TagHit> = Vec::new();
        for compiled in &self.tag_rules {
            if hits.iter().any(|h| h.tag == compiled.rule.name) {
                continue;
            }
            let rule = &compiled.rule;
            let evidence = if rule.channels.iter().any(|c| c == signals.channel) {
                Some(format!("channel {}", signals.channel))
            } else if let Some(unit) = signals
                .target_unit
                .and_then(|u| rule.target_units.iter().find(|t| u.contains(t.as_str())))
            {
                Some(format!("target_unit {unit}"))
            } else {
                compiled
                    .matcher
                    .find(signals.folded_text)
                    .map(|k| format!("keyword {k}"))
            };
            if let Some(evidence) = evidence {
                hits.push(TagHit {
                    tag: rule.name.clone(),
                    evidence,
                });
            }
        }
        hits
    }

    /// The first category override that applies.
    pub fn override_for(
        &self,
        signals: &Signals<'_>,
        tags: &[String],
    ) -> Option<&CategoryOverride> {
        self.overrides.iter().find_map(|(rule, matcher)| {
            let channel_ok =
                rule.channels.is_empty() || rule.channels.iter().any(|c| c == signals.channel);
            let tags_ok = rule.tags.is_empty() || rule.tags.iter().any(|t| tags.contains(t));
            let text_ok = matcher.is_empty() || matcher.find(signals.folded_text).is_some();
            let has_condition =
                !rule.channels.is_empty() || !rule.tags.is_empty() || !matcher.is_empty();
            (has_condition && channel_ok && tags_ok && text_ok).then_some(rule)
        })
    }

    /// The routing table's answer: the first matching row, or the triage queue.
    pub fn route(&self, input: &RouteInput<'_>) -> RouteDecision {
        for compiled in &self.routes {
            let rule = &compiled.rule;
            if route_matches(rule, input) {
                return RouteDecision {
                    rule: rule.name.clone(),
                    queue: rule.queue.clone(),
                    priority: rule.priority.clone(),
                    informed: rule.informed.clone(),
                    subject: rule.subject.clone(),
                };
            }
        }
        RouteDecision {
            rule: UNMATCHED_RULE.to_string(),
            queue: self.settings.triage_queue.clone(),
            priority: "normal".to_string(),
            informed: Vec::new(),
            subject: None,
        }
    }
}

fn route_matches(rule: &RouteRule, input: &RouteInput<'_>) -> bool {
    let category_ok = rule.categories.is_empty()
        || input
            .confident_category
            .is_some_and(|category| rule.categories.iter().any(|c| c == "*" || c == category));
    let tags_ok = rule.tags.is_empty() || rule.tags.iter().any(|t| input.tags.contains(t));
    let channel_ok = rule.channels.is_empty() || rule.channels.iter().any(|c| c == input.channel);
    let unit_ok = rule.target_units.is_empty()
        || input
            .target_unit
            .is_some_and(|u| rule.target_units.iter().any(|t| u.contains(t.as_str())));
    let district_ok = rule.districts.is_empty()
        || input
            .district
            .is_some_and(|d| rule.districts.iter().any(|x| x == d));
    category_ok && tags_ok && channel_ok && unit_ok && district_ok
}

/// The more pressing of two priorities.
pub fn most_pressing<'a>(a: &'a str, b: &'a str) -> &'a str {
    let rank = |p: &str| {
        super::config::PRIORITIES
            .iter()
            .position(|x| *x == p)
            .unwrap_or(2)
    };
    if rank(b) < rank(a) { b } else { a }
}

//! `config/routing.toml`: queues, tag rules, category overrides and the routing table. Strict
//! (unknown keys are errors naming the key) and checked at load: every queue a route names
//! exists, every regex compiles, the triage queue exists. Keywords are compared in the matching
//! form of the text (NFKC, Traditional → Simplified, lower case), so they are folded the same
//! way at load.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::rules::{CompiledRoute, CompiledTagRule, Matcher};
use crate::store::subjects::{ORIGIN_TARGET_UNIT, ORIGIN_TEXT};

/// The embedded default routing file, used when the configured file is absent.
pub const EMBEDDED_ROUTING: &str = include_str!("../../config/routing.toml");

/// Why a routing file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RoutingConfigError {
    #[error("cannot read routing file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid routing file {origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("invalid routing file {origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// The routing file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingFile {
    pub settings: Settings,
    /// Investigation queues by key (the key is what facets, the API and routes use).
    pub queues: BTreeMap<String, QueueConfig>,
    /// Rules that set tags; every matching rule adds its tag.
    #[serde(default)]
    pub tags: Vec<TagRule>,
    /// Rules that replace the model's category; the first match wins.
    #[serde(default)]
    pub category_overrides: Vec<CategoryOverride>,
    /// The routing table; the first match wins.
    pub routes: Vec<RouteRule>,
}

/// Global routing settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Below this calibrated probability the model's category is a guess: it is recorded but
    /// no route that depends on the category applies (the case goes to triage unless a tag
    /// routes it). 1.0 never routes by the model's category (a model on probation).
    pub min_confidence: f32,
    /// Queue of cases no route matches (never dropped).
    pub triage_queue: String,
}

/// One investigation queue (normally one responsible unit).
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The unit's name as staff know it.
    pub name: String,
    /// Email addresses of the people who work the queue.
    #[serde(default)]
    pub members: Vec<String>,
    /// Email address of the queue's supervisor (overdue notices, escalations).
    pub supervisor: String,
    /// Other names the unit goes by (`外经贸局`, `经发投诉中心`): a complaint whose target unit
    /// or text names any of them, or the queue's name, is about this unit, and its
    /// investigators never see who complained.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Who works on a case the unit accepts (签收): see [`AssignPolicy`].
    #[serde(default)]
    pub assign: AssignPolicy,
}

/// How a unit's accepted case goes to one of its investigators (the unit's lead can always
/// choose by hand). Members marked away are skipped; with nobody else available, whoever
/// accepted works on it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AssignPolicy {
    /// To the investigator with the fewest open cases in the queue (ties: whoever accepted,
    /// then by name).
    #[default]
    LeastOpen,
    /// To the queue's investigators in turn (by name).
    RoundRobin,
    /// To whoever accepted.
    Accepter,
}

/// How a complaint was found to be about a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concern {
    /// [`ORIGIN_TARGET_UNIT`] or [`ORIGIN_TEXT`].
    pub origin: &'static str,
    /// The unit's name or alias that matched.
    pub matched: String,
}

impl QueueConfig {
    /// Whether the complaint with `target_unit` and (normalised) `text` is about this unit.
    pub fn is_concerned(&self, target_unit: Option<&str>, text: &str) -> bool {
        self.concern(target_unit, text).is_some()
    }

    /// How the complaint with `target_unit` and (normalised) `text` is about this unit: its
    /// target unit names the unit or an alias, else its text does (without the city prefix
    /// `市`, at least two characters).
    pub fn concern(&self, target_unit: Option<&str>, text: &str) -> Option<Concern> {
        let names =
            || std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str));
        let targeted = target_unit.and_then(|target| names().find(|name| same_unit(name, target)));
        if let Some(name) = targeted {
            return Some(Concern {
                origin: ORIGIN_TARGET_UNIT,
                matched: name.to_string(),
            });
        }
        names()
            .find(|name| {
                let short = name.strip_prefix('市').unwrap_or(name);
                short.chars().count() >= 2 && text.contains(short)
            })
            .map(|name| Concern {
                origin: ORIGIN_TEXT,
                matched: name.to_string(),
            })
    }
}

/// Unit names are compared without surrounding spaces; one containing the other counts as the
/// same unit (`市人事局` and `人事局`), erring on the side of withholding.
pub fn same_unit(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    !a.is_empty() && !b.is_empty() && (a == b || a.contains(b) || b.contains(a))
}

/// A rule that sets a tag. It matches when any of its conditions does (a keyword, a regex, the
/// channel or the target unit): each list is one more way to recognise the same thing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagRule {
    /// Tag name set when the rule matches.
    pub name: String,
    /// What the tag means (documentation).
    #[serde(default)]
    pub description: String,
    /// Any of these words in the title or body.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Any of these regular expressions on the title and body (matching form).
    #[serde(default)]
    pub regex: Vec<String>,
    /// The complaint came through one of these channels.
    #[serde(default)]
    pub channels: Vec<String>,
    /// The complaint's `target_unit` contains one of these.
    #[serde(default)]
    pub target_units: Vec<String>,
}

/// A rule that sets the category whatever the model says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryOverride {
    /// Rule name, recorded in the complaint's why.
    pub name: String,
    /// The category to set.
    pub category: String,
    /// Any of these words (empty: no keyword condition).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Any of these regular expressions.
    #[serde(default)]
    pub regex: Vec<String>,
    /// One of these channels (empty: any channel).
    #[serde(default)]
    pub channels: Vec<String>,
    /// One of these tags (empty: no tag condition).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// One row of the routing table. Every non-empty condition must hold; within a condition any
/// entry matches. A row without conditions matches everything (the catch-all).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Rule name, recorded in the route's why.
    pub name: String,
    /// Categories; `"*"` means any category the model is confident about (or a human set).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Tags (any of them).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Channels.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Substrings of `target_unit`.
    #[serde(default)]
    pub target_units: Vec<String>,
    /// Districts (`location.district`, exact).
    #[serde(default)]
    pub districts: Vec<String>,
    /// Queue key the case goes to.
    pub queue: String,
    /// `urgent`, `high`, `normal` or `low`.
    #[serde(default = "default_priority")]
    pub priority: String,
    /// Queues told about the case without owning it.
    #[serde(default)]
    pub informed: Vec<String>,
    /// The queue whose unit the complaint is about when this row routes it (often the row's
    /// own `queue`): recorded as a subject of the case, so its investigators never see who
    /// complained.
    #[serde(default)]
    pub subject: Option<String>,
}

fn default_priority() -> String {
    "normal".to_string()
}

/// Priorities, most pressing first.
pub const PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];

/// A checked, compiled routing configuration.
#[derive(Debug, Clone)]
pub struct RoutingConfig {
    pub settings: Settings,
    pub queues: BTreeMap<String, QueueConfig>,
    pub(crate) tag_rules: Vec<CompiledTagRule>,
    pub(crate) overrides: Vec<(CategoryOverride, Matcher)>,
    pub(crate) routes: Vec<CompiledRoute>,
}

/// A queue as other modules see it (notify: who to tell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub members: &'a [String],
    pub supervisor: &'a str,
    pub assign: AssignPolicy,
}

impl RoutingConfig {
    /// Keys of the queues whose unit the complaint is about (see [`QueueConfig::is_concerned`]).
    pub fn concerned_queues(&self, target_unit: Option<&str>, text: &str) -> Vec<String> {
        self.queues
            .iter()
            .filter(|(_, q)| q.is_concerned(target_unit, text))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The queues whose unit the complaint is about, each with how it was found.
    pub fn concerns(&self, target_unit: Option<&str>, text: &str) -> Vec<(&str, Concern)> {
        self.queues
            .iter()
            .filter_map(|(key, q)| q.concern(target_unit, text).map(|c| (key.as_str(), c)))
            .collect()
    }

    /// Loads `path`, or the embedded default when `path` does not exist.
    pub fn load(path: &Path) -> Result<RoutingConfig, RoutingConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_toml(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::embedded(),
            Err(source) => Err(RoutingConfigError::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// The embedded default.
    pub fn embedded() -> Result<RoutingConfig, RoutingConfigError> {
        Self::from_toml(EMBEDDED_ROUTING, "(embedded config/routing.toml)")
    }

    /// Parses and checks a routing file's text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<RoutingConfig, RoutingConfigError> {
        let file: RoutingFile = toml::from_str(text).map_err(|e| RoutingConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| RoutingConfigError::Invalid {
            origin: origin.to_string(),
            message,
        };
        if !file.queues.contains_key(&file.settings.triage_queue) {
            return Err(invalid(format!(
                "settings.triage_queue `{}` is not a queue",
                file.settings.triage_queue
            )));
        }
        if !(0.0..=1.0).contains(&file.settings.min_confidence) {
            return Err(invalid("settings.min_confidence must be in [0, 1]".into()));
        }
        for route in &file.routes {
            if let Some(subject) = &route.subject
                && !file.queues.contains_key(subject)
            {
                return Err(invalid(format!(
                    "route `{}`: subject `{subject}` is not a queue (give the key of a \
                     [queues.<key>] table)",
                    route.name
                )));
            }
            for queue in std::iter::once(&route.queue).chain(&route.informed) {
                if !file.queues.contains_key(queue) {
                    return Err(invalid(format!(
                        "route `{}` names unknown queue `{queue}`",
                        route.name
                    )));
                }
            }
            if !PRIORITIES.contains(&route.priority.as_str()) {
                return Err(invalid(format!(
                    "route `{}`: priority `{}` is not one of {}",
                    route.name,
                    route.priority,
                    PRIORITIES.join(", ")
                )));
            }
        }
        let tag_rules = file
            .tags
            .iter()
            .map(|rule| CompiledTagRule::compile(rule.clone()))
            .collect::<Result<Vec<_>, String>>()
            .map_err(invalid)?;
        let overrides = file
            .category_overrides
            .iter()
            .map(|o| {
                Matcher::compile(&o.name, &o.keywords, &o.regex).map(|matcher| (o.clone(), matcher))
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(invalid)?;
        let routes = file
            .routes
            .iter()
            .map(|r| CompiledRoute::compile(r.clone()))
            .collect();
        Ok(RoutingConfig {
            settings: file.settings,
            queues: file.queues,
            tag_rules,
            overrides,
            routes,
        })
    }

    /// A queue by key: its unit name, members and supervisor.
    pub fn queue(&self, key: &str) -> Option<QueueInfo<'_>> {
        self.queues.get_key_value(key).map(|(key, q)| QueueInfo {
            key,
            name: &q.name,
            members: &q.members,
            supervisor: &q.supervisor,
            assign: q.assign,
        })
    }

    /// The triage queue's key.
    pub fn triage_queue(&self) -> &str {
        &self.settings.triage_queue
    }

    /// Names of the tag rules, in order.
    pub fn tag_names(&self) -> Vec<&str> {
        self.tag_rules
            .iter()
            .map(|r| r.rule.name.as_str())
            .collect()
    }
}

//! A search as a user gives it (the API's query parameters, the CLI's flags): strings, checked
//! once here into a [`SearchRequest`].

use chrono::{DateTime, FixedOffset};

use super::query::Filters;
use super::search::{SearchRequest, Sort};

/// Most hits per page.
pub const MAX_LIMIT: usize = 200;

/// The values of the `status` facet a search filters on: the workflow's states, what routing
/// and the scheduler set (`triage`, `overdue`) and the old free statuses.
pub const FACET_STATUSES: &[&str] = &[
    "new",
    "triaged",
    "assigned",
    "accepted",
    "investigating",
    "answered",
    "closed",
    "returned",
    "reopened",
    "merged",
    "triage",
    "overdue",
    "open",
];

/// Hits per page when none is asked for.
pub const DEFAULT_LIMIT: usize = 20;

/// The parts of a search, unchecked: the API's query parameters (documented in the OpenAPI
/// document from here) and the CLI's flags.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Query: terms (all required, substring match after folding), `"phrases"`, `-excluded`.
    #[serde(default)]
    pub q: String,
    /// Only this channel (`petition`, `hotline`, `online`, `media`, …).
    pub channel: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only complaints with this tag (e.g. `media_exposed`).
    pub tag: Option<String>,
    /// Only this investigation queue.
    pub queue: Option<String>,
    /// Only this priority (`urgent`, `high`, `normal`, `low`).
    pub priority: Option<String>,
    /// Only complaints whose case has this status (`open`, `investigating`, `answered`,
    /// `closed`).
    pub status: Option<String>,
    /// Only the complaints of this case.
    pub case: Option<String>,
    /// Submitted at or after (RFC 3339 or `YYYY-MM-DD`); a future-dated complaint counts as
    /// submitted when it was received.
    pub from: Option<String>,
    /// Submitted before (RFC 3339 or `YYYY-MM-DD`); a future-dated complaint counts as
    /// submitted when it was received.
    pub to: Option<String>,
    /// Received by the gateway at or after (RFC 3339 or `YYYY-MM-DD`): "what arrived", whatever
    /// the complaint says about when it was sent.
    pub received_from: Option<String>,
    /// Received by the gateway before (RFC 3339 or `YYYY-MM-DD`).
    pub received_to: Option<String>,
    /// Hits per page (default 20, at most 200).
    pub limit: Option<usize>,
    /// Hits to skip.
    pub offset: Option<usize>,
    /// `relevance` (default) or `newest`.
    pub sort: Option<Sort>,
}

/// A part of a search that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidParameter {
    /// The parameter's name.
    pub param: &'static str,
    pub message: String,
    /// The values it may take, when they are a fixed list.
    pub allowed: Option<Vec<&'static str>>,
}

impl SearchQuery {
    /// Checks every part; times without an offset are read in `offset`.
    pub fn into_request(self, offset: FixedOffset) -> Result<SearchRequest, InvalidParameter> {
        let channels: Vec<&'static str> = connectors::Channel::ALL
            .iter()
            .map(|c| c.as_str())
            .collect();
        one_of("channel", self.channel.as_deref(), &channels)?;
        one_of(
            "priority",
            self.priority.as_deref(),
            &crate::routing::config::PRIORITIES,
        )?;
        one_of("status", self.status.as_deref(), FACET_STATUSES)?;
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(InvalidParameter {
                param: "limit",
                message: format!("`limit` must be between 1 and {MAX_LIMIT}"),
                allowed: None,
            });
        }
        Ok(SearchRequest {
            query: self.q,
            filters: Filters {
                channel: nonempty(self.channel),
                source: nonempty(self.source),
                category: nonempty(self.category),
                tag: nonempty(self.tag),
                queue: nonempty(self.queue),
                priority: nonempty(self.priority),
                status: nonempty(self.status),
                case_id: nonempty(self.case),
                from: time("from", self.from, offset)?,
                to: time("to", self.to, offset)?,
                received_from: time("received_from", self.received_from, offset)?,
                received_to: time("received_to", self.received_to, offset)?,
                reach: None,
            },
            limit,
            offset: self.offset.unwrap_or(0),
            sort: self.sort.unwrap_or_default(),
        })
    }
}

/// `value`, when given (not blank), is one of `allowed`.
pub fn one_of(
    param: &'static str,
    value: Option<&str>,
    allowed: &[&'static str],
) -> Result<(), InvalidParameter> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(value) if !allowed.contains(&value) => Err(InvalidParameter {
            param,
            message: format!(
                "`{param}` must be one of {}; `{value}` is not",
                allowed.join(", ")
            ),
            allowed: Some(allowed.to_vec()),
        }),
        _ => Ok(()),
    }
}

/// A time parameter: RFC 3339, or a date or time without offset read in `offset`.
pub fn time(
    param: &'static str,
    value: Option<String>,
    offset: FixedOffset,
) -> Result<Option<DateTime<FixedOffset>>, InvalidParameter> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let options = connectors::item::ParseOptions {
        default_offset: offset,
        ..Default::default()
    };
    connectors::item::parse_time(&serde_json::Value::String(value), &options)
        .map(Some)
        .map_err(|problem| InvalidParameter {
            param,
            message: format!("`{param}`: {problem}"),
            allowed: None,
        })
}

fn nonempty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

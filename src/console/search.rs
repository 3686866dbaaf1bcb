//! 检索 (`/console/search`): the search of `GET /v1/search` (`api::search::search_as`: the
//! same reach, masking and recorded views), its facet counts as links that narrow the query,
//! highlighted snippets, paging, and a link from each hit to its case.
//!
//! A snippet is the search's own: HTML-escaped text with the matches in `<b>…</b>`. It is cut
//! into plain pieces here and shown escaped again by the template, the matches in `<mark>`,
//! so the only markup on the page is the page's.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::home::queue_name;
use super::labels;
use super::page::{ConsoleError, Layout, local_text, offset, render};
use crate::api::AppState;
use crate::api::search::search_as;
use crate::api::session::CurrentSession;
use crate::index::facet_counts::FacetCounts;
use crate::index::search::SearchHit;
use crate::index::search_query::SearchQuery;

/// Hits per page.
const PAGE_SIZE: usize = 20;

/// Values shown per facet (the most frequent).
const FACET_VALUES: usize = 12;

/// The page's parameters: the search's own, and the page number.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct SearchParams {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub q: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<usize>,
}

impl SearchParams {
    /// These parameters without blank values.
    fn cleaned(mut self) -> SearchParams {
        for value in [
            &mut self.channel,
            &mut self.category,
            &mut self.queue,
            &mut self.status,
            &mut self.received_from,
            &mut self.received_to,
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *value = None;
            }
        }
        self
    }

    /// The link to these parameters.
    fn href(&self) -> String {
        let query = serde_urlencoded::to_string(self).unwrap_or_default();
        if query.is_empty() {
            "/console/search".into()
        } else {
            format!("/console/search?{query}")
        }
    }

    /// The link to these parameters changed by `change`, on the first page.
    fn with(&self, change: impl FnOnce(&mut SearchParams)) -> String {
        let mut params = self.clone();
        params.page = None;
        change(&mut params);
        params.href()
    }
}

/// One value of a facet: its label, its count, the link narrowing to it, whether it is the
/// filter now.
pub struct FacetValue {
    pub label: String,
    pub count: u64,
    pub href: String,
    pub active: bool,
}

/// A facet: its title, its values, and the link without it when it filters now.
pub struct FacetView {
    pub title: &'static str,
    pub values: Vec<FacetValue>,
    pub clear: Option<String>,
}

/// One hit as shown.
pub struct HitView {
    pub title: String,
    /// (text, is a match) pieces of the snippet, unescaped: the template escapes them.
    pub snippet: Vec<(String, bool)>,
    pub channel: &'static str,
    pub submitted: String,
    pub category: String,
    pub queue: String,
    pub state: String,
    pub case: Option<String>,
}

#[derive(Template)]
#[template(path = "console/search.html")]
struct SearchPage {
    layout: Layout,
    params: SearchParams,
    /// Whether a search was asked for (else the empty form).
    asked: bool,
    error: Option<String>,
    total: usize,
    hits: Vec<HitView>,
    facets: Vec<FacetView>,
    /// Facets are not shown for a search for personal data by a caller who sees it masked.
    facets_withheld: bool,
    page: usize,
    pages: usize,
    previous: Option<String>,
    next: Option<String>,
}

/// `GET /console/search`.
pub async fn search(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Query(params): Query<SearchParams>,
) -> Response {
    match build(&state, &session, params.cleaned()).await {
        Ok(page) => render(&page),
        Err(error) => error.page(&state, Some(&session)),
    }
}

async fn build(
    state: &AppState,
    session: &CurrentSession,
    params: SearchParams,
) -> Result<SearchPage, ConsoleError> {
    let layout = Layout::new(state, session, "检索", "/console/search");
    let asked = params != SearchParams::default();
    let mut page = SearchPage {
        layout,
        asked,
        error: None,
        total: 0,
        hits: Vec::new(),
        facets: Vec::new(),
        facets_withheld: false,
        page: params.page.unwrap_or(1).max(1),
        pages: 0,
        previous: None,
        next: None,
        params,
    };
    if !asked {
        return Ok(page);
    }
    let offset = offset(state);
    let query = SearchQuery {
        q: page.params.q.clone(),
        channel: page.params.channel.clone(),
        category: page.params.category.clone(),
        queue: page.params.queue.clone(),
        status: page.params.status.clone(),
        received_from: page.params.received_from.clone(),
        received_to: page.params.received_to.clone(),
        limit: Some(PAGE_SIZE),
        offset: Some((page.page - 1) * PAGE_SIZE),
        ..SearchQuery::default()
    };
    let request = match query.into_request(offset) {
        Ok(request) => request,
        Err(invalid) => {
            page.error = Some(format!("检索条件无效：{}", invalid.message));
            return Ok(page);
        }
    };
    let found = match search_as(
        state,
        &session.principal,
        request,
        true,
        "GET /console/search",
    )
    .await
    {
        Ok(found) => found,
        Err(error) if error.status.is_client_error() => {
            page.error = Some(format!("检索未能完成：{}", error.message));
            return Ok(page);
        }
        Err(error) => return Err(error.into()),
    };
    page.total = found.results.total;
    page.pages = found.results.total.div_ceil(PAGE_SIZE);
    if page.page > 1 {
        let previous = page.page - 1;
        page.previous = Some(page.params.with(|p| p.page = Some(previous)));
    }
    if page.page < page.pages {
        let next = page.page + 1;
        page.next = Some(page.params.with(|p| p.page = Some(next)));
    }
    page.hits = found
        .results
        .hits
        .iter()
        .map(|hit| hit_view(state, hit, offset))
        .collect();
    match &found.facets {
        Some(facets) => page.facets = facet_views(state, &page.params, facets),
        None => page.facets_withheld = true,
    }
    Ok(page)
}

fn hit_view(state: &AppState, hit: &SearchHit, offset: chrono::FixedOffset) -> HitView {
    HitView {
        title: hit.title.clone().unwrap_or_else(|| "（无标题）".into()),
        snippet: snippet_pieces(&hit.snippet),
        channel: labels::channel(&hit.channel),
        submitted: local_text(&hit.submitted_at, offset),
        category: hit.facets.category.clone().unwrap_or_else(|| "—".into()),
        queue: queue_name(state, hit.facets.queue.as_deref()),
        state: status_label(hit.facets.status.as_deref().unwrap_or("")),
        case: hit.facets.case_id.clone(),
    }
}

/// The search's snippet (escaped text, matches in `<b>…</b>`) as plain pieces.
pub fn snippet_pieces(snippet: &str) -> Vec<(String, bool)> {
    let mut pieces = Vec::new();
    for outside in snippet.split("</b>") {
        let (before, inside) = match outside.split_once("<b>") {
            Some((before, inside)) => (before, Some(inside)),
            None => (outside, None),
        };
        if !before.is_empty() {
            pieces.push((unescape(before), false));
        }
        if let Some(inside) = inside.filter(|t| !t.is_empty()) {
            pieces.push((unescape(inside), true));
        }
    }
    pieces
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// A `status` facet value in Chinese: a workflow state, or what routing and the scheduler set.
fn status_label(code: &str) -> String {
    match code {
        "" => "—".into(),
        "triage" => "待分拣".into(),
        "overdue" => "已超期".into(),
        "open" => "办理中（旧状态）".into(),
        other => labels::state(other).into(),
    }
}

fn facet_views(state: &AppState, params: &SearchParams, facets: &FacetCounts) -> Vec<FacetView> {
    type Field = fn(&mut SearchParams) -> &mut Option<String>;
    let keyword: [(&'static str, &str, Field); 4] = [
        ("渠道", "channel", |p| &mut p.channel),
        ("类别", "category", |p| &mut p.category),
        ("承办单位", "queue", |p| &mut p.queue),
        ("状态", "status", |p| &mut p.status),
    ];
    let mut views = Vec::new();
    for (title, field, slot) in keyword {
        let current = slot(&mut params.clone()).clone();
        let values = facets
            .of(field)
            .iter()
            .take(FACET_VALUES)
            .map(|(value, count)| FacetValue {
                label: match field {
                    "channel" => labels::channel(value).to_string(),
                    "queue" => queue_name(state, Some(value)),
                    "status" => status_label(value),
                    _ => value.clone(),
                },
                count: *count,
                href: params.with(|p| *slot(p) = Some(value.clone())),
                active: current.as_deref() == Some(value.as_str()),
            })
            .collect();
        views.push(FacetView {
            title,
            values,
            clear: current.map(|_| params.with(|p| *slot(p) = None)),
        });
    }
    views.push(received_view(params, &facets.received_days));
    views
}

/// The received-date facet: per day when the filter spans a month or less, else per month.
fn received_view(params: &SearchParams, days: &[(NaiveDate, u64)]) -> FacetView {
    let parse = |v: &Option<String>| {
        v.as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    let (from, to) = (parse(&params.received_from), parse(&params.received_to));
    let by_day = matches!((from, to), (Some(f), Some(t)) if t - f <= Duration::days(31));
    let mut buckets: Vec<(NaiveDate, NaiveDate, u64)> = Vec::new();
    for (day, count) in days {
        let (start, end) = if by_day {
            (*day, *day + Duration::days(1))
        } else {
            let start = day.with_day(1).expect("the first of a month");
            (start, next_month(start))
        };
        match buckets.last_mut() {
            Some(last) if last.0 == start => last.2 += count,
            _ => buckets.push((start, end, *count)),
        }
    }
    buckets.reverse();
    let filtered = params.received_from.is_some() || params.received_to.is_some();
    FacetView {
        title: "收到日期",
        values: buckets
            .into_iter()
            .take(FACET_VALUES)
            .map(|(start, end, count)| {
                let (f, t) = (start.to_string(), end.to_string());
                FacetValue {
                    label: if by_day {
                        start.format("%Y-%m-%d").to_string()
                    } else {
                        format!("{}年{}月", start.year(), start.month())
                    },
                    count,
                    active: params.received_from.as_deref() == Some(f.as_str())
                        && params.received_to.as_deref() == Some(t.as_str()),
                    href: params.with(|p| {
                        p.received_from = Some(f);
                        p.received_to = Some(t);
                    }),
                }
            })
            .collect(),
        clear: filtered.then(|| {
            params.with(|p| {
                p.received_from = None;
                p.received_to = None;
            })
        }),
    }
}

fn next_month(first: NaiveDate) -> NaiveDate {
    let (year, month) = if first.month() == 12 {
        (first.year() + 1, 1)
    } else {
        (first.year(), first.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1).expect("the first of a month")
}

impl PartialEq for SearchParams {
    fn eq(&self, other: &SearchParams) -> bool {
        serde_urlencoded::to_string(self).ok() == serde_urlencoded::to_string(other).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_is_cut_into_plain_pieces_and_its_matches() {
        let pieces = snippet_pieces("井盖&lt;缺失&gt;，<b>幸福</b>里&amp;<b>小区</b>");
        assert_eq!(
            pieces,
            vec![
                ("井盖<缺失>，".to_string(), false),
                ("幸福".to_string(), true),
                ("里&".to_string(), false),
                ("小区".to_string(), true),
            ]
        );
        assert_eq!(
            snippet_pieces("无匹配"),
            vec![("无匹配".to_string(), false)]
        );
    }

    #[test]
    fn facet_links_keep_the_query_and_start_on_the_first_page() {
        let params = SearchParams {
            q: "井盖 缺失".into(),
            page: Some(3),
            ..SearchParams::default()
        };
        let href = params.with(|p| p.channel = Some("hotline".into()));
        assert_eq!(
            href,
            "/console/search?q=%E4%BA%95%E7%9B%96+%E7%BC%BA%E5%A4%B1&channel=hotline"
        );
    }

    #[test]
    fn received_dates_are_counted_by_month_unless_a_month_is_chosen() {
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let days = vec![
            (day("2026-11-30"), 2),
            (day("2026-12-01"), 3),
            (day("2026-12-07"), 1),
        ];
        let months = received_view(&SearchParams::default(), &days);
        let labels: Vec<(&str, u64)> = months
            .values
            .iter()
            .map(|v| (v.label.as_str(), v.count))
            .collect();
        assert_eq!(labels, vec![("2026年12月", 4), ("2026年11月", 2)]);
        assert!(months.values[0].href.contains("received_to=2027-01-01"));
        let december = SearchParams {
            received_from: Some("2026-12-01".into()),
            received_to: Some("2027-01-01".into()),
            ..SearchParams::default()
        };
        let by_day = received_view(&december, &days[1..]);
        assert_eq!(by_day.values[0].label, "2026-12-07");
        assert!(by_day.clear.is_some());
    }
}

//! 路由规则与队列 (`/console/admin/routing`): the loaded routing configuration (`state.routing`),
//! read only — its settings, queues (as `GET /v1/queues` lists them), tag rules, category
//! overrides and the routing table in the order it is tried.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::{ADMIN_HOME, admin_nav};
use crate::api::AppState;
use crate::api::session::CurrentSession;
use crate::console::home::queue_name;
use crate::console::labels;
use crate::console::page::{Layout, render};

/// One queue.
pub struct QueueRow {
    pub key: String,
    pub name: String,
    pub members: String,
    pub supervisor: String,
    pub aliases: String,
    pub assign: &'static str,
}

/// One rule, its conditions in words.
pub struct RuleRow {
    pub name: String,
    pub conditions: Vec<(&'static str, String)>,
    /// What it does.
    pub outcome: String,
}

#[derive(Template)]
#[template(path = "console/admin_routing.html")]
struct RoutingPage {
    layout: Layout,
    admin_nav: Vec<(&'static str, &'static str, bool)>,
    min_confidence: f32,
    triage_queue: String,
    queues: Vec<QueueRow>,
    tags: Vec<RuleRow>,
    overrides: Vec<RuleRow>,
    routes: Vec<RuleRow>,
}

fn joined(items: &[String]) -> String {
    items.join("、")
}

/// The non-empty conditions of a rule.
fn conditions(lists: &[(&'static str, &[String])]) -> Vec<(&'static str, String)> {
    lists
        .iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(label, items)| (*label, joined(items)))
        .collect()
}

/// `GET /console/admin/routing`.
pub async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Response {
    let routing = &state.routing;
    let queue = |key: &str| format!("{}（{key}）", queue_name(&state, Some(key)));
    let page = RoutingPage {
        layout: Layout::new(&state, &session, "路由规则与队列", ADMIN_HOME),
        admin_nav: admin_nav(&session, "/console/admin/routing"),
        min_confidence: routing.settings.min_confidence,
        triage_queue: queue(&routing.settings.triage_queue),
        queues: routing
            .queues
            .iter()
            .map(|(key, q)| QueueRow {
                key: key.clone(),
                name: q.name.clone(),
                members: joined(&q.members),
                supervisor: q.supervisor.clone(),
                aliases: joined(&q.aliases),
                assign: match q.assign {
                    crate::routing::AssignPolicy::LeastOpen => "在办最少者",
                    crate::routing::AssignPolicy::RoundRobin => "轮流",
                    crate::routing::AssignPolicy::Accepter => "签收人",
                },
            })
            .collect(),
        tags: routing
            .tag_rules
            .iter()
            .map(|t| {
                let r = &t.rule;
                RuleRow {
                    name: r.name.clone(),
                    conditions: conditions(&[
                        ("关键词", &r.keywords),
                        ("正则", &r.regex),
                        ("渠道", &r.channels),
                        ("被投诉单位", &r.target_units),
                    ]),
                    outcome: r.description.clone(),
                }
            })
            .collect(),
        overrides: routing
            .overrides
            .iter()
            .map(|(o, _)| RuleRow {
                name: o.name.clone(),
                conditions: conditions(&[
                    ("关键词", &o.keywords),
                    ("正则", &o.regex),
                    ("渠道", &o.channels),
                    ("标签", &o.tags),
                ]),
                outcome: format!("类别定为「{}」", o.category),
            })
            .collect(),
        routes: routing
            .routes
            .iter()
            .map(|c| {
                let r = &c.rule;
                let mut outcome =
                    format!("交 {}，{}", queue(&r.queue), labels::priority(&r.priority));
                if !r.informed.is_empty() {
                    let informed: Vec<String> = r.informed.iter().map(|q| queue(q)).collect();
                    outcome.push_str(&format!("；抄送 {}", informed.join("、")));
                }
                if let Some(subject) = &r.subject {
                    outcome.push_str(&format!("；涉及单位 {}", queue(subject)));
                }
                RuleRow {
                    name: r.name.clone(),
                    conditions: conditions(&[
                        ("类别", &r.categories),
                        ("标签", &r.tags),
                        ("渠道", &r.channels),
                        ("被投诉单位", &r.target_units),
                        ("区县", &r.districts),
                    ]),
                    outcome,
                }
            })
            .collect(),
    };
    render(&page)
}

/// This page's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/console/admin/routing", get(show))
}

//! 为何分类与交办: what classification and routing recorded about the case (`routing`'s
//! contract: every decision records why) — the model's version and its top 3 categories with
//! their probabilities, the category's source, the tags with their evidence, the rules that
//! fired and the route, the routing trail (route events) and the corrections staff made to the
//! complaints shown. The same records `GET /v1/complaints/{id}/classification` answers with;
//! a correction's note and a tag's evidence (an excerpt of the complaint) are masked for a
//! masked view.

use super::case_members::MembersPage;
use super::home::queue_name;
use super::labels;
use super::page::{ConsoleError, local_text, offset};
use crate::api::AppState;
use crate::people::pii;
use crate::routing::ClassificationRecord;

/// Most routing events shown (the latest).
const EVENTS_SHOWN: usize = 20;

/// One routing event.
pub struct EventRow {
    pub at: String,
    pub kind: &'static str,
    pub queue: String,
    pub priority: &'static str,
    pub rule: String,
}

/// One staff correction.
pub struct CorrectionRow {
    pub complaint: String,
    pub by: String,
    pub at: String,
    /// `类别 …、承办单位 …、紧急程度 …`.
    pub what: String,
    pub note: String,
}

/// The why of the case's classification and route.
#[derive(Default)]
pub struct WhyRouted {
    /// The complaint whose classification is shown (the case's founder, else the first shown
    /// complaint that has one).
    pub complaint: Option<String>,
    /// `模型 v3`, or `无模型` when no model was active.
    pub model: String,
    /// (category, probability) of the model's best labels, most probable first.
    pub top: Vec<(String, String)>,
    /// The category kept and where it came from.
    pub category: String,
    /// Tags with the evidence that set them.
    pub tags: Vec<String>,
    /// The rules that fired, in Chinese.
    pub rules: Vec<String>,
    /// The route now: its rule, unit and priority.
    pub route: Option<String>,
    pub events: Vec<EventRow>,
    /// Route events not shown (new members joining, older decisions).
    pub more_events: usize,
    pub corrections: Vec<CorrectionRow>,
}

/// What the routing stages recorded about case `id`, for the complaints of `members`.
pub async fn build(
    state: &AppState,
    id: &str,
    members: &MembersPage,
    masked: bool,
) -> Result<WhyRouted, ConsoleError> {
    let offset = offset(state);
    let mut why = WhyRouted::default();
    let mut record: Option<ClassificationRecord> = state.store.classification(id).await?;
    if record.is_none() {
        for member in &members.members {
            record = state.store.classification(&member.id).await?;
            if record.is_some() {
                break;
            }
        }
    }
    if let Some(record) = record {
        why.model = match record.model_version {
            Some(v) => format!("模型 v{v}"),
            None => "无模型".to_string(),
        };
        why.top = record
            .top
            .iter()
            .take(3)
            .map(|t| (t.label.clone(), format!("{:.2}", t.probability)))
            .collect();
        let source = match record.category_source.as_str() {
            "model" if record.low_confidence => "模型（置信度低，按未知类别交办）",
            "model" => "模型",
            "override" => "类别覆盖规则",
            "correction" => "人工更正",
            _ => "未分类",
        };
        why.category = format!(
            "{}（来源：{source}）",
            record.category.as_deref().unwrap_or("—")
        );
        why.tags = record
            .why
            .tag_hits
            .iter()
            // The evidence is an excerpt of the complaint: masked as the page is.
            .map(|h| {
                let evidence = if masked {
                    pii::mask_text(&h.evidence)
                } else {
                    h.evidence.clone()
                };
                format!("{}：{evidence}", h.tag)
            })
            .chain(
                record
                    .why
                    .case_tags
                    .iter()
                    .map(|t| format!("{t}：来自案件")),
            )
            .collect();
        why.rules = record.rules.iter().map(|r| rule_text(r)).collect();
        why.complaint = Some(record.complaint_id);
    }
    if let Some(route) = state.store.case_route(id).await? {
        why.route = Some(format!(
            "{} → {}，紧急程度 {}{}",
            rule_name(&route.rule),
            queue_name(state, Some(&route.queue)),
            labels::priority(&route.priority),
            if route.pinned {
                "（人工指定，自动路由不再改变）"
            } else {
                ""
            }
        ));
    }
    let events = state.store.route_events(id).await?;
    let decisions: Vec<_> = events.iter().filter(|e| e.kind != "member_added").collect();
    let skip = decisions.len().saturating_sub(EVENTS_SHOWN);
    why.more_events = events.len() - (decisions.len() - skip);
    why.events = decisions
        .into_iter()
        .skip(skip)
        .map(|e| EventRow {
            at: local_text(&e.at, offset),
            kind: event_kind(&e.kind),
            queue: queue_name(state, e.queue.as_deref()),
            priority: labels::priority(e.priority.as_deref().unwrap_or("")),
            rule: e.detail["rule"].as_str().map(rule_name).unwrap_or_default(),
        })
        .collect();
    for member in &members.members {
        let Some(c) = state.store.correction(&member.id).await? else {
            continue;
        };
        let mut what = Vec::new();
        if let Some(category) = &c.category {
            what.push(format!("类别 {category}"));
        }
        if let Some(tags) = &c.tags {
            what.push(format!("标签 {}", tags.join("、")));
        }
        if let Some(queue) = &c.queue {
            what.push(format!("承办单位 {}", queue_name(state, Some(queue))));
        }
        if let Some(priority) = &c.priority {
            what.push(format!("紧急程度 {}", labels::priority(priority)));
        }
        let note = c.note.unwrap_or_default();
        why.corrections.push(CorrectionRow {
            complaint: format!("第 {} 件", member.number),
            by: c.corrected_by.unwrap_or_else(|| "—".into()),
            at: local_text(&c.corrected_at, offset),
            what: what.join("、"),
            note: if masked { pii::mask_text(&note) } else { note },
        });
    }
    Ok(why)
}

/// A fired rule (`tag:…`, `override:…`, `route:…`) in Chinese, its name kept.
fn rule_text(rule: &str) -> String {
    match rule.split_once(':') {
        Some(("tag", name)) => format!("标签规则 {name}"),
        Some(("override", name)) => format!("类别覆盖规则 {name}"),
        Some(("route", name)) => format!("交办规则 {}", rule_name(name)),
        _ => rule.to_string(),
    }
}

/// A route rule's name; the two the router sets itself in Chinese.
fn rule_name(rule: &str) -> String {
    match rule {
        "correction" => "人工更正".to_string(),
        r if r.starts_with("triage") || r == "unmatched" => format!("无规则命中，转分拣（{r}）"),
        r => r.to_string(),
    }
}

fn event_kind(kind: &str) -> &'static str {
    match kind {
        "assigned" => "首次交办",
        "rerouted" => "改派",
        "member_added" => "新增来件",
        "reclassified" => "重新分类",
        "corrected" => "人工更正",
        _ => "路由",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_keep_their_names_in_chinese() {
        assert_eq!(rule_text("tag:media_exposed"), "标签规则 media_exposed");
        assert_eq!(rule_text("route:财政资金"), "交办规则 财政资金");
        assert_eq!(rule_text("route:correction"), "交办规则 人工更正");
        assert_eq!(rule_text("override:x"), "类别覆盖规则 x");
        assert!(rule_name("triage (no rule matched)").contains("转分拣"));
        assert_eq!(event_kind("corrected"), "人工更正");
    }
}

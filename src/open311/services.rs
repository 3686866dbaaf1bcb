//! The services a citizen's app can choose from: the routing file's tag rules that
//! `open311.services` names (the kinds of problem citizens report: approvals delayed, conduct
//! of law-enforcement officers or civil servants, misused funds, enterprises' complaints),
//! plus `general` for anything else. Checked once at start.

use crate::open311::config::Open311Settings;
use crate::routing::RoutingConfig;

/// The service code that names no tag: the classifier and the rules decide alone.
pub const GENERAL: &str = "general";

/// One service as `services.{json,xml}` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The tag rule's name (or `general`).
    pub code: String,
    /// What citizens see (`open311.services`).
    pub name: String,
    /// The tag rule's description.
    pub description: String,
    /// The tag rule's keywords.
    pub keywords: Vec<String>,
    /// The unit the routing table sends the tag to (the triage unit for `general`).
    pub group: String,
}

/// The catalogue; an error naming the service that does not fit the routing file.
pub fn catalogue(
    settings: &Open311Settings,
    routing: &RoutingConfig,
) -> Result<Vec<Service>, String> {
    let unit = |key: &str| routing.queue(key).map(|q| q.name.to_string());
    let triage_unit = unit(routing.triage_queue()).unwrap_or_default();
    settings
        .services
        .iter()
        .map(|(code, name)| {
            if name.trim().is_empty() {
                return Err(format!("open311.services.{code}: give the service a name"));
            }
            if code == GENERAL {
                return Ok(Service {
                    code: code.clone(),
                    name: name.clone(),
                    description: "anything else; the complaint centre routes it".into(),
                    keywords: Vec::new(),
                    group: triage_unit.clone(),
                });
            }
            let rule = routing
                .tag_rules
                .iter()
                .map(|r| &r.rule)
                .find(|r| &r.name == code)
                .ok_or_else(|| {
                    format!(
                        "open311.services.{code}: the routing file has no tag rule `{code}` \
                         (a service is a tag rule's name, or `{GENERAL}`)"
                    )
                })?;
            if !rule.keywords.is_empty() && !rule.keywords.iter().any(|k| name.contains(k)) {
                return Err(format!(
                    "open311.services.{code}: the name `{name}` holds none of the tag's keywords, \
                     so the tag would not follow the service; include one of {}",
                    rule.keywords.join(", ")
                ));
            }
            let group = routing
                .routes
                .iter()
                .find(|r| r.rule.tags.contains(code))
                .and_then(|r| unit(&r.rule.queue))
                .unwrap_or_else(|| triage_unit.clone());
            Ok(Service {
                code: code.clone(),
                name: name.clone(),
                description: rule.description.clone(),
                keywords: rule.keywords.clone(),
                group,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_services_fit_the_default_routing_file() {
        let routing = RoutingConfig::embedded().unwrap();
        let services = catalogue(&Open311Settings::default(), &routing).unwrap();
        let delay = services
            .iter()
            .find(|s| s.code == "approval_delay")
            .unwrap();
        assert_eq!(delay.group, "市监察局");
        assert!(delay.keywords.contains(&"不予受理".to_string()));
        let general = services.iter().find(|s| s.code == GENERAL).unwrap();
        assert_eq!(general.group, "效能投诉中心分拣组");
        assert!(general.keywords.is_empty());
    }

    #[test]
    fn an_unknown_tag_or_a_name_without_a_keyword_is_refused_naming_the_service() {
        let routing = RoutingConfig::embedded().unwrap();
        let mut settings = Open311Settings::default();
        settings
            .services
            .insert("potholes".into(), "路面坑洼".into());
        let error = catalogue(&settings, &routing).unwrap_err();
        assert!(error.contains("open311.services.potholes"), "{error}");
        let mut settings = Open311Settings::default();
        settings
            .services
            .insert("funds_misuse".into(), "钱的问题".into());
        let error = catalogue(&settings, &routing).unwrap_err();
        assert!(
            error.contains("funds_misuse") && error.contains("挪用"),
            "{error}"
        );
    }
}

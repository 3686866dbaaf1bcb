//! `[accountability]`: the queue whose investigators record 责任追究 (besides admins) and the
//! measures a record chooses from.

use serde::Deserialize;

/// `[accountability]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountabilityConfig {
    /// The queue whose investigators record accountability (the supervision bureau's).
    #[serde(default = "default_queue")]
    pub queue: String,
    /// The measures a record chooses from, in the order lists and reports show them.
    #[serde(default = "default_measures")]
    pub measures: Vec<String>,
}

impl Default for AccountabilityConfig {
    fn default() -> Self {
        AccountabilityConfig {
            queue: default_queue(),
            measures: default_measures(),
        }
    }
}

impl AccountabilityConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.queue.trim().is_empty() {
            return Err("accountability.queue must name a queue".into());
        }
        if self.measures.is_empty() {
            return Err("accountability.measures must list at least one measure".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for measure in &self.measures {
            if measure.trim().is_empty() || measure.trim() != measure {
                return Err(format!(
                    "accountability.measures: `{measure}` is empty or has spaces around it"
                ));
            }
            if measure.contains([',', '"', '\n', '\r']) {
                return Err(format!(
                    "accountability.measures: `{measure}` holds a comma, a quote or a line break"
                ));
            }
            if !seen.insert(measure.as_str()) {
                return Err(format!("accountability.measures lists `{measure}` twice"));
            }
        }
        Ok(())
    }
}

fn default_queue() -> String {
    "supervision".into()
}

fn default_measures() -> Vec<String> {
    [
        "效能告诫",
        "通报批评",
        "诫勉谈话",
        "调离岗位",
        "移送纪检监察",
        "其他",
    ]
    .map(String::from)
    .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn accountability_measures_default_to_the_directive_list_and_are_checked() {
        let config = Config::load(None).unwrap();
        assert_eq!(config.accountability, AccountabilityConfig::default());
        assert_eq!(config.accountability.queue, "supervision");
        assert_eq!(config.accountability.measures.len(), 6);
        assert_eq!(config.accountability.measures[0], "效能告诫");
        let config =
            Config::from_toml("[accountability]\nmeasures = [\"约谈\", \"其他\"]", "t").unwrap();
        assert_eq!(config.accountability.measures, ["约谈", "其他"]);
        assert_eq!(config.accountability.queue, "supervision");
        for bad in [
            "measures = []",
            "measures = [\"约谈\", \"约谈\"]",
            "measures = [\" 约谈\"]",
            "measures = [\"a,b\"]",
            "queue = \"\"",
        ] {
            let text = format!("[accountability]\n{bad}");
            let err = Config::from_toml(&text, "t").unwrap_err().to_string();
            assert!(err.contains("accountability."), "{bad}: {err}");
        }
        let err = Config::from_toml("[accountability]\nmeasure = []", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("measure"), "{err}");
    }
}

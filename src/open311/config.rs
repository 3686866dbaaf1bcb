//! `[open311]`: the Open311 GeoReport v2 server's settings.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The Open311 server's settings; every key has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open311Settings {
    /// Largest POST body in bytes; a longer one is answered 413 before it is parsed.
    #[serde(default = "max_body_bytes")]
    pub max_body_bytes: usize,
    /// POSTs per minute allowed per client and per client address (429 past them).
    #[serde(default = "posts_per_minute")]
    pub posts_per_minute: u32,
    /// POSTs allowed in a burst, per client and per client address.
    #[serde(default = "post_burst")]
    pub post_burst: u32,
    /// The services offered: a tag rule's name of the routing file (or `general`, for
    /// anything else) → the name citizens see. A request's title is its service's name, so a
    /// name holding one of its tag's keywords makes the tag (and its route) follow.
    #[serde(default = "services")]
    pub services: BTreeMap<String, String>,
    /// The endpoint discovery announces, e.g. `https://311.example.gov.cn/open311/v2`
    /// (default: built from the request's `Host`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Who to contact, as discovery says.
    #[serde(default = "contact")]
    pub contact: String,
}

impl Default for Open311Settings {
    fn default() -> Self {
        Open311Settings {
            max_body_bytes: max_body_bytes(),
            posts_per_minute: posts_per_minute(),
            post_burst: post_burst(),
            services: services(),
            base_url: None,
            contact: contact(),
        }
    }
}

impl Open311Settings {
    /// Checks the numbers (the services are checked against the routing file at start).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_body_bytes == 0 || self.posts_per_minute == 0 || self.post_burst == 0 {
            return Err(
                "open311.max_body_bytes, open311.posts_per_minute and open311.post_burst must \
                 be at least 1"
                    .into(),
            );
        }
        if self.services.is_empty() {
            return Err("open311.services: offer at least one service".into());
        }
        Ok(())
    }
}

fn max_body_bytes() -> usize {
    64 * 1024
}

fn posts_per_minute() -> u32 {
    30
}

fn post_burst() -> u32 {
    10
}

fn contact() -> String {
    "the administrative-efficiency complaint centre (效能投诉中心)".into()
}

/// The default services: each name holds a keyword of its tag rule in the default routing file.
fn services() -> BTreeMap<String, String> {
    [
        ("approval_delay", "审批拖延、不予受理"),
        ("law_enforcement", "执法人员粗暴执法、乱罚款"),
        ("civil_servant_conduct", "工作人员态度恶劣、推诿扯皮"),
        ("funds_misuse", "挪用、截留专项资金"),
        ("enterprise", "企业反映营商环境问题"),
        ("general", "其他效能问题"),
    ]
    .into_iter()
    .map(|(code, name)| (code.to_string(), name.to_string()))
    .collect()
}

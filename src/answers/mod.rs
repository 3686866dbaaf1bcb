//! Answers go back where the complaint came from. When a case is answered, every member
//! complaint gets an outcome in the answer's transaction (`store::answers`):
//!
//! - a source with a `[callback]` (an `http_json` source's connector file) gets a signed JSON
//!   status update `POST`ed to its system by [`callback`], retried with backoff until accepted
//!   or out of attempts (then `failed`, listed by `GET /v1/callbacks` and retried by hand);
//! - any other source's outcome is on the replies-to-send list (`GET /v1/replies`) until staff
//!   record how they sent it (phone, letter, …: `POST /v1/replies/{id}/sent`, audited).

pub mod callback;

use std::collections::BTreeMap;

use connectors::auth::{Auth, EnvLookup};
use connectors::http_json::CallbackConfig;
use serde_json::{Map, Value};

use crate::store::answers::AnswerOutcome;
use crate::store::workflow::AnswerRecord;

/// How staff may have sent a reply.
pub const REPLY_METHODS: [&str; 7] = [
    "phone",
    "sms",
    "letter",
    "email",
    "in_person",
    "portal",
    "other",
];

/// A source's callback, its secrets read from the environment.
#[derive(Debug, Clone)]
pub struct CallbackTarget {
    pub config: CallbackConfig,
    /// The HMAC secret, or why there is none (each attempt fails with it, so it shows).
    pub secret: Result<Vec<u8>, String>,
    pub auth: Result<Option<Auth>, String>,
}

/// Every source's callback, by source name.
#[derive(Debug, Clone, Default)]
pub struct Callbacks {
    targets: BTreeMap<String, CallbackTarget>,
}

impl Callbacks {
    /// Reads the secrets of `configs` from `env`.
    pub fn resolve(configs: &[(String, CallbackConfig)], env: EnvLookup<'_>) -> Callbacks {
        let targets = configs
            .iter()
            .map(|(source, config)| {
                let secret = env(&config.secret_env)
                    .filter(|v| !v.is_empty())
                    .map(String::into_bytes)
                    .ok_or_else(|| {
                        format!(
                            "the callback secret variable `{}` is not set",
                            config.secret_env
                        )
                    });
                if let Err(problem) = &secret {
                    tracing::error!(source = %source, "{problem}: its answers wait, failing");
                }
                let auth = config
                    .auth
                    .as_ref()
                    .map(|a| a.resolve(source, env))
                    .transpose()
                    .map_err(|e| e.to_string());
                let target = CallbackTarget {
                    config: config.clone(),
                    secret,
                    auth,
                };
                (source.clone(), target)
            })
            .collect();
        Callbacks { targets }
    }

    /// The sources with a callback.
    pub fn sources(&self) -> Vec<String> {
        self.targets.keys().cloned().collect()
    }

    pub fn target(&self, source: &str) -> Option<&CallbackTarget> {
        self.targets.get(source)
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// What a callback says: the outcome's values by name (see
/// [`connectors::http_json::CALLBACK_VALUES`]).
pub fn values(
    outcome: &AnswerOutcome,
    answer: Option<&AnswerRecord>,
    unit: &str,
) -> Map<String, Value> {
    let mut values = Map::new();
    let mut put = |name: &str, value: Value| {
        values.insert(name.to_string(), value);
    };
    put("external_id", outcome.external_id.clone().into());
    put("complaint_id", outcome.complaint_id.clone().into());
    put("case_id", outcome.case_id.clone().into());
    put("status", "answered".into());
    put(
        "finding",
        answer
            .map(|a| a.answer.finding.clone())
            .unwrap_or_default()
            .into(),
    );
    put(
        "reply",
        answer
            .map(|a| a.answer.reply.clone())
            .unwrap_or_default()
            .into(),
    );
    put("unit", unit.into());
    put(
        "answered_at",
        answer
            .map(|a| a.answer.answered_at.clone())
            .unwrap_or_else(|| outcome.created_at.clone())
            .into(),
    );
    put("source", outcome.source.clone().into());
    put("channel", outcome.channel.clone().into());
    values
}

/// The callback body: `fields` maps body names to values; empty, every value under its name.
pub fn body(values: &Map<String, Value>, fields: &BTreeMap<String, String>) -> Value {
    if fields.is_empty() {
        return Value::Object(values.clone());
    }
    Value::Object(
        fields
            .iter()
            .map(|(name, value)| {
                (
                    name.clone(),
                    values.get(value).cloned().unwrap_or(Value::Null),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome() -> AnswerOutcome {
        AnswerOutcome {
            id: 1,
            case_id: "c1".into(),
            complaint_id: "k1".into(),
            answer_id: 3,
            source: "hotline".into(),
            channel: "hotline".into(),
            external_id: "WO-7".into(),
            queue_key: Some("finance".into()),
            state: "pending".into(),
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
            done_at: None,
            done_by: None,
            method: None,
            note: None,
            created_at: "2026-03-02T01:00:00.000Z".into(),
        }
    }

    #[test]
    fn a_body_maps_values_to_the_channel_s_names_or_gives_them_all() {
        let v = values(&outcome(), None, "市财政局");
        let all = body(&v, &BTreeMap::new());
        assert_eq!(all["external_id"], "WO-7");
        assert_eq!(all["unit"], "市财政局");
        assert_eq!(all["status"], "answered");
        assert_eq!(all["answered_at"], "2026-03-02T01:00:00.000Z");
        let fields = BTreeMap::from([
            ("orderNo".to_string(), "external_id".to_string()),
            ("handleDept".to_string(), "unit".to_string()),
        ]);
        let mapped = body(&v, &fields);
        assert_eq!(
            mapped,
            serde_json::json!({"orderNo": "WO-7", "handleDept": "市财政局"})
        );
    }

    #[test]
    fn a_missing_secret_is_named_and_kept_for_each_attempt() {
        let config: CallbackConfig = toml::from_str(
            "url = \"https://example.gov.cn/r/{external_id}\"\nsecret_env = \"CB_SECRET\"",
        )
        .unwrap();
        let configs = vec![("hotline".to_string(), config)];
        let none = Callbacks::resolve(&configs, &|_| None);
        let problem = none.target("hotline").unwrap().secret.clone().unwrap_err();
        assert!(problem.contains("CB_SECRET"), "{problem}");
        let set = Callbacks::resolve(&configs, &|name| {
            (name == "CB_SECRET").then(|| "k".to_string())
        });
        assert_eq!(set.target("hotline").unwrap().secret, Ok(b"k".to_vec()));
        assert_eq!(set.sources(), ["hotline"]);
    }
}

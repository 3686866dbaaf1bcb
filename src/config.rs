//! Gateway configuration: a TOML file, strict (unknown keys are errors naming the key), with
//! every default in one place ([`Config::default`] mirrors `config/gateway.toml`, which is
//! embedded in the binary and used when no file is given).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use connectors::Channel;
use serde::Deserialize;

/// The embedded default configuration file.
pub const EMBEDDED_DEFAULT: &str = include_str!("../config/gateway.toml");

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config {origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The whole gateway configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory of the SQLite store and the search index.
    #[serde(default = "defaults::data_dir")]
    pub data_dir: PathBuf,
    /// Address the HTTP server listens on.
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    /// UTC offset, in hours, of timestamps that carry none.
    #[serde(default = "defaults::utc_offset_hours")]
    pub default_utc_offset_hours: i32,
    /// Intake limits and group commit.
    #[serde(default)]
    pub intake: IntakeConfig,
    /// Search index settings.
    #[serde(default)]
    pub search: SearchConfig,
    /// Access to the staff API.
    #[serde(default)]
    pub api: ApiConfig,
    /// Timeouts and limits of every connection and request (`[http]`).
    #[serde(default)]
    pub http: crate::http::HttpConfig,
    /// Webhook senders, by source name.
    #[serde(default)]
    pub webhooks: BTreeMap<String, WebhookSource>,
    /// Pull sources (connectors) and the intake loop that runs them.
    #[serde(default)]
    pub sources: SourcesConfig,
    /// Classification and routing (queues, rules, routing table).
    #[serde(default)]
    pub routing: RoutingSection,
    /// Deadline policies, the working-day calendar, reminders and escalation.
    #[serde(default)]
    pub deadlines: crate::notify::config::DeadlinesConfig,
    /// The email templates (`[notify]`).
    #[serde(default)]
    pub notify: crate::notify::config::NotifyConfig,
    /// Email delivery of the notification outbox.
    #[serde(default)]
    pub email: crate::notify::config::EmailConfig,
    /// Grouping complaints into cases (`[grouping]`) and the hot-issue score
    /// (`[grouping.heat]`).
    #[serde(default)]
    pub grouping: GroupingSection,
    /// Who sees the complainant's identity (`[privacy]`).
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// The Open311 GeoReport v2 server (`[open311]`).
    #[serde(default)]
    pub open311: crate::open311::config::Open311Settings,
    /// 责任追究: who files accountability records and the measures they choose from
    /// (`[accountability]`).
    #[serde(default)]
    pub accountability: crate::accountability::config::AccountabilityConfig,
}

/// `[privacy]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// `shown` (default): investigators of a unit that is not the complaint's subject see the
    /// complainant's identity (they may have to call back); `masked`: they never do.
    #[serde(default)]
    pub investigator_identity: IdentityShown,
}

/// Whether investigators see identities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityShown {
    #[default]
    Shown,
    Masked,
}

/// Where the routing file is (`[routing]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSection {
    /// The routing file (queues, tag rules, category overrides, routing table); relative to the
    /// working directory. When it does not exist the embedded default `config/routing.toml`
    /// is used.
    #[serde(default = "defaults::routing_file")]
    pub file: PathBuf,
}

impl Default for RoutingSection {
    fn default() -> Self {
        RoutingSection {
            file: defaults::routing_file(),
        }
    }
}

impl RoutingSection {
    /// Loads and checks the routing file (or the embedded default).
    pub fn load(
        &self,
    ) -> Result<crate::routing::RoutingConfig, crate::routing::RoutingConfigError> {
        crate::routing::RoutingConfig::load(&self.file)
    }
}

/// `[grouping]`: the grouping engine's thresholds ([`GroupingConfig`], every key optional)
/// and `[grouping.heat]` ([`HeatConfig`]). Unknown keys in either are errors naming the key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupingSection {
    /// Thresholds, weights and the candidate window of the engine.
    pub engine: crate::grouping::GroupingConfig,
    /// Weights of the hot-issue score.
    pub heat: crate::grouping::HeatConfig,
}

impl<'de> Deserialize<'de> for GroupingSection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(deserializer)?;
        let heat = match table.remove("heat") {
            Some(value) => crate::grouping::HeatConfig::deserialize(value)
                .map_err(|e| D::Error::custom(format!("grouping.heat: {}", e.message())))?,
            None => crate::grouping::HeatConfig::default(),
        };
        let engine = crate::grouping::GroupingConfig::deserialize(toml::Value::Table(table))
            .map_err(|e| D::Error::custom(format!("grouping: {}", e.message())))?;
        Ok(GroupingSection { engine, heat })
    }
}

/// Pull sources: where their files are and how the intake loop retries them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesConfig {
    /// Directory of connector files, one per source (`<name>.toml`, the file stem is the source
    /// name); relative to the working directory. A missing directory means no pull sources.
    #[serde(default = "defaults::connectors_dir")]
    pub connectors_dir: PathBuf,
    /// Delay before the first retry of a failed poll, in milliseconds; it doubles with every
    /// further consecutive failure (with random jitter), up to `retry_max_secs`.
    #[serde(default = "defaults::retry_initial_ms")]
    pub retry_initial_ms: u64,
    /// Longest delay between retries, in seconds. A source that failed permanently (refused
    /// credentials, a pagination loop, a bad URL) is retried at this cadence, or at its poll
    /// interval when that is longer.
    #[serde(default = "defaults::retry_max_secs")]
    pub retry_max_secs: u64,
    /// Sample files copied once into drop folders at start (the demo's petition export). A
    /// copied file is remembered by a hidden marker beside it, so it is not copied again.
    #[serde(default)]
    pub seed: Vec<SeedFiles>,
}

/// Files copied once into a drop folder (`[[sources.seed]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFiles {
    /// A file, or a directory whose files are all copied; relative to the working directory.
    pub from: PathBuf,
    /// The drop folder to copy into (created if missing).
    pub into: PathBuf,
}

impl Default for SourcesConfig {
    fn default() -> Self {
        SourcesConfig {
            connectors_dir: defaults::connectors_dir(),
            retry_initial_ms: defaults::retry_initial_ms(),
            retry_max_secs: defaults::retry_max_secs(),
            seed: Vec::new(),
        }
    }
}

/// Access to the staff API (search, complaints, dead letters).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Environment variables holding bearer tokens; when none is set the staff API is open
    /// (acceptable only on a loopback listener).
    #[serde(default = "defaults::api_token_envs")]
    pub token_envs: Vec<String>,
    /// The role of a caller presenting one of those tokens (a service account).
    #[serde(default = "defaults::service_role")]
    pub service_role: crate::people::Role,
    /// A browser session ends after this many minutes without a request.
    #[serde(default = "defaults::session_idle_minutes")]
    pub session_idle_minutes: u32,
    /// A browser session ends this many hours after login, however active.
    #[serde(default = "defaults::session_max_hours")]
    pub session_max_hours: u32,
    /// Consecutive failed logins that lock an account until an admin unlocks it.
    #[serde(default = "defaults::lock_after_failures")]
    pub lock_after_failures: u32,
    /// Login attempts per minute allowed per account name and per client address.
    #[serde(default = "defaults::logins_per_minute")]
    pub logins_per_minute: u32,
    /// Mark the session cookie `Secure` (set it when a TLS proxy serves the gateway).
    #[serde(default)]
    pub cookie_secure: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            token_envs: defaults::api_token_envs(),
            service_role: defaults::service_role(),
            session_idle_minutes: defaults::session_idle_minutes(),
            session_max_hours: defaults::session_max_hours(),
            lock_after_failures: defaults::lock_after_failures(),
            logins_per_minute: defaults::logins_per_minute(),
            cookie_secure: false,
        }
    }
}

/// A staff-API token from the environment: a service account named after its variable.
#[derive(Debug, Clone)]
pub struct ServiceToken {
    pub env: String,
    pub token: String,
}

impl ApiConfig {
    /// The tokens currently set in the environment.
    pub fn tokens(&self) -> Vec<ServiceToken> {
        self.token_envs
            .iter()
            .filter_map(|var| {
                let token = std::env::var(var).ok()?.trim().to_string();
                (!token.is_empty()).then(|| ServiceToken {
                    env: var.clone(),
                    token,
                })
            })
            .collect()
    }
}

/// Intake limits and the group-commit writer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeConfig {
    /// Largest accepted webhook body, in bytes (larger: 413).
    #[serde(default = "defaults::max_body_bytes")]
    pub max_body_bytes: usize,
    /// Most items per webhook request (more: 413).
    #[serde(default = "defaults::max_batch_items")]
    pub max_batch_items: usize,
    /// Most items committed in one transaction.
    #[serde(default = "defaults::commit_max_items")]
    pub commit_max_items: usize,
    /// Microseconds the writer waits for more work before committing a partial batch (0: none;
    /// requests that arrive during a commit share the next one anyway).
    #[serde(default = "defaults::commit_linger_us")]
    pub commit_linger_us: u64,
    /// How far past its time of receipt an item's `submitted_at` may lie, in seconds, before the
    /// item is flagged future-dated: its `submitted_at` is kept as given, but grouping, hot
    /// issues, deadlines, search order and cursors use the time it was received instead.
    #[serde(default = "defaults::future_tolerance_secs")]
    pub future_tolerance_secs: u64,
    /// Upper bound on the store's size, in SQLite pages of 4 KiB (unset: none), applied to every
    /// connection. At the bound webhooks answer 503 `store_full` with `Retry-After`, pull
    /// sources back off with their cursors unchanged, and work resumes by itself once pages are
    /// free again (a quota; the tests simulate a full disk with it).
    #[serde(default)]
    pub store_max_pages: Option<u64>,
}

/// Search index settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// Milliseconds between index commits while new complaints arrive.
    #[serde(default = "defaults::commit_interval_ms")]
    pub commit_interval_ms: u64,
    /// Memory budget of the index writer, in MiB.
    #[serde(default = "defaults::writer_heap_mb")]
    pub writer_heap_mb: usize,
    /// Memory budget of the index writer of the bulk commands (`import`, `index rebuild`), in
    /// MiB: fewer, larger segments to merge.
    #[serde(default = "defaults::bulk_writer_heap_mb")]
    pub bulk_writer_heap_mb: usize,
}

/// One webhook sender.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSource {
    /// Channel of the complaints this sender pushes.
    pub channel: Channel,
    /// Environment variables holding the HMAC secrets (at most two: current and next).
    #[serde(default)]
    pub secret_envs: Vec<String>,
    /// Files holding the HMAC secrets (one secret per file, surrounding whitespace ignored).
    #[serde(default)]
    pub secret_files: Vec<PathBuf>,
    /// Sustained requests per second allowed.
    #[serde(default = "defaults::rate_limit_per_sec")]
    pub rate_limit_per_sec: u32,
    /// Requests allowed in a burst.
    #[serde(default = "defaults::rate_limit_burst")]
    pub rate_limit_burst: u32,
    /// Largest accepted difference between the signature timestamp and now, in seconds.
    #[serde(default = "defaults::max_clock_skew_secs")]
    pub max_clock_skew_secs: u64,
}

mod defaults {
    use std::net::SocketAddr;
    use std::path::PathBuf;

    pub fn routing_file() -> PathBuf {
        PathBuf::from("config/routing.toml")
    }
    pub fn data_dir() -> PathBuf {
        PathBuf::from("data")
    }
    pub fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    }
    pub fn utc_offset_hours() -> i32 {
        8
    }
    pub fn max_body_bytes() -> usize {
        10 * 1024 * 1024
    }
    pub fn max_batch_items() -> usize {
        1000
    }
    pub fn commit_max_items() -> usize {
        2000
    }
    pub fn commit_linger_us() -> u64 {
        0
    }
    pub fn future_tolerance_secs() -> u64 {
        24 * 3600
    }
    pub fn commit_interval_ms() -> u64 {
        300
    }
    pub fn writer_heap_mb() -> usize {
        128
    }
    pub fn bulk_writer_heap_mb() -> usize {
        512
    }
    pub fn rate_limit_per_sec() -> u32 {
        50
    }
    pub fn rate_limit_burst() -> u32 {
        100
    }
    pub fn max_clock_skew_secs() -> u64 {
        300
    }
    pub fn api_token_envs() -> Vec<String> {
        vec!["COMPLAINT_GATEWAY_API_TOKEN".to_string()]
    }
    pub fn service_role() -> crate::people::Role {
        crate::people::Role::Admin
    }
    pub fn session_idle_minutes() -> u32 {
        30
    }
    pub fn session_max_hours() -> u32 {
        12
    }
    pub fn lock_after_failures() -> u32 {
        5
    }
    pub fn logins_per_minute() -> u32 {
        10
    }
    pub fn connectors_dir() -> PathBuf {
        PathBuf::from("config/connectors")
    }
    pub fn retry_initial_ms() -> u64 {
        1000
    }
    pub fn retry_max_secs() -> u64 {
        300
    }
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            max_body_bytes: defaults::max_body_bytes(),
            max_batch_items: defaults::max_batch_items(),
            commit_max_items: defaults::commit_max_items(),
            commit_linger_us: defaults::commit_linger_us(),
            future_tolerance_secs: defaults::future_tolerance_secs(),
            store_max_pages: None,
        }
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            commit_interval_ms: defaults::commit_interval_ms(),
            writer_heap_mb: defaults::writer_heap_mb(),
            bulk_writer_heap_mb: defaults::bulk_writer_heap_mb(),
        }
    }
}

impl Config {
    /// Parses configuration text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Loads `path`, or the embedded default when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Config::from_toml(EMBEDDED_DEFAULT, "(embedded default)"),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Config::from_toml(&text, &path.display().to_string())
            }
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(-12..=14).contains(&self.default_utc_offset_hours) {
            return Err(ConfigError::Invalid(format!(
                "default_utc_offset_hours = {} is not between -12 and 14",
                self.default_utc_offset_hours
            )));
        }
        for (name, source) in &self.webhooks {
            validate_source_name(name).map_err(ConfigError::Invalid)?;
            if source.secret_envs.len() + source.secret_files.len() > 2 {
                return Err(ConfigError::Invalid(format!(
                    "webhooks.{name}: at most two secrets (current and next) may be active"
                )));
            }
            if source.rate_limit_per_sec == 0 || source.rate_limit_burst == 0 {
                return Err(ConfigError::Invalid(format!(
                    "webhooks.{name}: rate_limit_per_sec and rate_limit_burst must be at least 1"
                )));
            }
        }
        if self.sources.retry_initial_ms == 0 || self.sources.retry_max_secs == 0 {
            return Err(ConfigError::Invalid(
                "sources.retry_initial_ms and sources.retry_max_secs must be at least 1".into(),
            ));
        }
        if self.sources.retry_initial_ms > self.sources.retry_max_secs.saturating_mul(1000) {
            return Err(ConfigError::Invalid(
                "sources.retry_initial_ms must not exceed sources.retry_max_secs".into(),
            ));
        }
        self.http.validate().map_err(ConfigError::Invalid)?;
        self.open311.validate().map_err(ConfigError::Invalid)?;
        self.accountability
            .validate()
            .map_err(ConfigError::Invalid)?;
        self.deadlines.validate().map_err(ConfigError::Invalid)?;
        self.grouping
            .engine
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if self.grouping.heat.half_life_days <= 0.0 {
            return Err(ConfigError::Invalid(
                "grouping.heat.half_life_days must be positive".into(),
            ));
        }
        if self.intake.max_batch_items == 0 || self.intake.commit_max_items == 0 {
            return Err(ConfigError::Invalid(
                "intake.max_batch_items and intake.commit_max_items must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Options for parsing items under this configuration.
    pub fn parse_options(&self) -> connectors::item::ParseOptions {
        connectors::item::ParseOptions {
            default_offset: chrono::FixedOffset::east_opt(self.default_utc_offset_hours * 3600)
                .expect("validated offset"),
            future_tolerance: self.future_tolerance(),
        }
    }

    /// How far past its receipt an item's `submitted_at` may lie before the item is
    /// future-dated (`intake.future_tolerance_secs`).
    pub fn future_tolerance(&self) -> chrono::Duration {
        // Capped at a century: chrono's durations end near 292 million years.
        chrono::Duration::seconds(
            self.intake.future_tolerance_secs.min(100 * 365 * 24 * 3600) as i64
        )
    }

    /// The channel of `source`: the webhook's configured channel, else `fallback`.
    pub fn channel_of(&self, source: &str) -> Option<Channel> {
        self.webhooks.get(source).map(|w| w.channel)
    }
}

/// Source names appear in URLs, metrics and file names: lowercase letters, digits, `-` and `_`.
pub fn validate_source_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "source name `{name}` must be 1-64 characters of a-z, 0-9, `-` and `_`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses_and_defines_demo() {
        let config = Config::load(None).unwrap();
        let demo = &config.webhooks["demo"];
        assert_eq!(demo.channel, Channel::Online);
        assert_eq!(demo.secret_envs[0], "COMPLAINT_GATEWAY_DEMO_SECRET");
        assert_eq!(config.data_dir, PathBuf::from("data"));
        // The embedded file's Open311 section says what the defaults are.
        let defaults = crate::open311::config::Open311Settings::default();
        assert_eq!(config.open311.services, defaults.services);
        assert_eq!(config.open311.max_body_bytes, defaults.max_body_bytes);
        assert_eq!(config.open311.posts_per_minute, defaults.posts_per_minute);
        assert_eq!(config.open311.post_burst, defaults.post_burst);
    }

    #[test]
    fn misspelt_key_is_an_error_naming_the_key() {
        let err = Config::from_toml("data_dri = \"x\"", "test")
            .unwrap_err()
            .to_string();
        assert!(err.contains("data_dri"), "{err}");
        let err = Config::from_toml("[intake]\nmax_body_byte = 1", "test")
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_body_byte"), "{err}");
        let err = Config::from_toml("[webhooks.x]\nchannel = \"fax\"", "test")
            .unwrap_err()
            .to_string();
        assert!(err.contains("fax"), "{err}");
    }

    #[test]
    fn grouping_sections_are_strict_and_default_to_the_engine_defaults() {
        let config = Config::load(None).unwrap();
        assert_eq!(
            config.grouping.engine,
            crate::grouping::GroupingConfig::default()
        );
        assert_eq!(config.grouping.heat, crate::grouping::HeatConfig::default());
        let config = Config::from_toml(
            "[grouping]\nsame_issue_threshold = 0.6\n[grouping.heat]\nhalf_life_days = 3.0",
            "t",
        )
        .unwrap();
        assert_eq!(config.grouping.engine.same_issue_threshold, 0.6);
        assert_eq!(config.grouping.heat.half_life_days, 3.0);
        let err = Config::from_toml("[grouping]\nsame_issue_treshold = 0.6", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("same_issue_treshold"), "{err}");
        let err = Config::from_toml("[grouping.heat]\nhalf_life = 3.0", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("half_life"), "{err}");
    }

    #[test]
    fn invalid_values_are_explained() {
        let err = Config::from_toml("[webhooks.Bad]\nchannel = \"online\"", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("Bad"), "{err}");
        let three = "[webhooks.x]\nchannel = \"online\"\nsecret_envs = [\"A\", \"B\", \"C\"]";
        let err = Config::from_toml(three, "t").unwrap_err().to_string();
        assert!(err.contains("at most two"), "{err}");
    }
}

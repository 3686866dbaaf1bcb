//! Connector configuration: one TOML file per source under `config/connectors/`, file stem =
//! source name, `type = "…"` selects the protocol and `channel = "…"` the channel.
//!
//! Parsing is strict: an unknown key is an error that names it, an unknown `type` lists the
//! available ones, and every file error names the file. Secrets never appear in these files,
//! only the names of the environment variables that hold them (`token_env = "HOTLINE_TOKEN"`).
//! Every default lives in [`defaults`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::Channel;
use crate::auth::{EnvLookup, process_env};
use crate::connector::Connector;
use crate::file_drop::{FileDropConfig, FileDropConnector};
use crate::http_json::{HttpJsonConfig, HttpJsonConnector};
use crate::item::ParseOptions;
use crate::open311::{Open311Config, Open311Connector};
use crate::rss::{RssConfig, RssConnector};

/// Every default value of connector configuration, in one place.
pub mod defaults {
    /// Seconds between polls of an HTTP API once it is caught up.
    pub const POLL_INTERVAL_SECS: u64 = 60;
    /// Seconds between polls of a news feed.
    pub const RSS_POLL_INTERVAL_SECS: u64 = 300;
    /// Seconds between scans of a drop folder.
    pub const FILE_DROP_POLL_INTERVAL_SECS: u64 = 10;
    /// Whole-request timeout in seconds.
    pub const TIMEOUT_SECS: u64 = 30;
    /// Largest HTTP answer accepted, in bytes (32 MiB).
    pub const MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;
    /// Largest file read from a drop folder, in bytes (256 MiB).
    pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
    /// http_json: number of the first page.
    pub const FIRST_PAGE: u64 = 1;
    /// Callbacks: attempts before an update is marked failed.
    pub const CALLBACK_MAX_ATTEMPTS: u32 = 10;
    /// Callbacks: the first pause between attempts (doubling), in milliseconds.
    pub const CALLBACK_RETRY_INITIAL_MS: u64 = 5_000;
    /// Callbacks: the longest pause between attempts, in seconds.
    pub const CALLBACK_RETRY_MAX_SECS: u64 = 3_600;
    /// Requests per minute to one upstream (enforced by the gateway's rate limiter).
    pub const MAX_REQUESTS_PER_MIN: u32 = 60;
    /// Open311: the longest query window servers accept, in days.
    pub const OPEN311_WINDOW_DAYS: u64 = 90;
    /// Open311: the result cap servers apply to one query.
    pub const OPEN311_MAX_RESULTS: usize = 1000;
    /// Open311: query parameters of the window, as the GeoReport v2 spec names them.
    pub const OPEN311_START_PARAM: &str = "start_date";
    pub const OPEN311_END_PARAM: &str = "end_date";
    /// Open311: the smallest window a full answer is split down to, in seconds.
    pub const OPEN311_MIN_WINDOW_SECS: u64 = 60;
    /// Open311: how far back to re-read once caught up (late writes upstream), in seconds.
    pub const OPEN311_OVERLAP_SECS: u64 = 600;
    /// Open311: how far back the first sync starts when `start` is not set, in days.
    pub const OPEN311_BACKFILL_DAYS: u64 = 90;
    /// file_drop: sub-folder for processed files.
    pub const DONE_DIR: &str = "done";
    /// file_drop: sub-folder for unreadable files.
    pub const FAILED_DIR: &str = "failed";

    pub(crate) fn poll_interval_secs() -> u64 {
        POLL_INTERVAL_SECS
    }
    pub(crate) fn rss_poll_interval_secs() -> u64 {
        RSS_POLL_INTERVAL_SECS
    }
    pub(crate) fn file_drop_poll_interval_secs() -> u64 {
        FILE_DROP_POLL_INTERVAL_SECS
    }
    pub(crate) fn timeout_secs() -> u64 {
        TIMEOUT_SECS
    }
    pub(crate) fn max_body_bytes() -> u64 {
        MAX_BODY_BYTES
    }
    pub(crate) fn max_file_bytes() -> u64 {
        MAX_FILE_BYTES
    }
    pub(crate) fn first_page() -> u64 {
        FIRST_PAGE
    }
    pub(crate) fn max_requests_per_min() -> u32 {
        MAX_REQUESTS_PER_MIN
    }
    pub(crate) fn callback_max_attempts() -> u32 {
        CALLBACK_MAX_ATTEMPTS
    }
    pub(crate) fn callback_retry_initial_ms() -> u64 {
        CALLBACK_RETRY_INITIAL_MS
    }
    pub(crate) fn callback_retry_max_secs() -> u64 {
        CALLBACK_RETRY_MAX_SECS
    }
    pub(crate) fn yes() -> bool {
        true
    }
}

/// One connector instance, as written in its file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConnectorConfig {
    /// A JSON API pulled page by page.
    HttpJson(HttpJsonConfig),
    /// An Open311 GeoReport v2 server.
    Open311(Open311Config),
    /// An RSS 2.0, Atom or JSON Feed news feed.
    Rss(RssConfig),
    /// A watched folder of CSV, XLSX or JSON Lines exports.
    FileDrop(FileDropConfig),
}

/// A configured source: its name (the file stem) and its connector configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    /// The source name, unique in the gateway.
    pub name: String,
    /// The file it came from, if any.
    pub path: Option<PathBuf>,
    /// The connector configuration.
    pub config: ConnectorConfig,
}

/// A configuration problem; every variant names the file or the source.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The file or directory could not be read.
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    /// The file is not valid TOML or does not match the schema (the message names the key).
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// The file name cannot be a source name.
    #[error("{path}: source name `{name}` must be lowercase ASCII letters, digits, `_` or `-`")]
    SourceName { path: PathBuf, name: String },
    /// A value is well-formed TOML but cannot work.
    #[error("source `{source_name}`: `{field}`: {problem}")]
    Invalid {
        source_name: String,
        field: String,
        problem: String,
    },
    /// A secret's environment variable is not set.
    #[error("source `{source_name}`: environment variable `{var}` is not set")]
    MissingEnv { source_name: String, var: String },
}

impl ConfigError {
    pub(crate) fn invalid(source: &str, field: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            source_name: source.to_string(),
            field: field.to_string(),
            problem: problem.into(),
        }
    }
}

impl ConnectorConfig {
    /// The channel this source feeds.
    pub fn channel(&self) -> Channel {
        match self {
            ConnectorConfig::HttpJson(c) => c.channel,
            ConnectorConfig::Open311(c) => c.channel,
            ConnectorConfig::Rss(c) => c.channel,
            ConnectorConfig::FileDrop(c) => c.channel,
        }
    }

    /// The protocol name, as written in `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorConfig::HttpJson(_) => "http_json",
            ConnectorConfig::Open311(_) => "open311",
            ConnectorConfig::Rss(_) => "rss",
            ConnectorConfig::FileDrop(_) => "file_drop",
        }
    }

    /// The upstream's `host:port`, the key for the gateway's per-upstream rate limit; `None`
    /// for local sources.
    pub fn upstream(&self) -> Option<String> {
        let url = match self {
            ConnectorConfig::HttpJson(c) => &c.url,
            ConnectorConfig::Open311(c) => &c.base_url,
            ConnectorConfig::Rss(c) => &c.url,
            ConnectorConfig::FileDrop(_) => return None,
        };
        let url = reqwest::Url::parse(url).ok()?;
        Some(format!(
            "{}:{}",
            url.host_str()?,
            url.port_or_known_default()?
        ))
    }

    /// Requests per minute allowed to the upstream; `None` for local sources.
    pub fn max_requests_per_min(&self) -> Option<u32> {
        match self {
            ConnectorConfig::HttpJson(c) => Some(c.max_requests_per_min),
            ConnectorConfig::Open311(c) => Some(c.max_requests_per_min),
            ConnectorConfig::Rss(c) => Some(c.max_requests_per_min),
            ConnectorConfig::FileDrop(_) => None,
        }
    }

    /// The configured poll interval (the wait a caught-up connector asks for).
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(match self {
            ConnectorConfig::HttpJson(c) => c.poll_interval_secs,
            ConnectorConfig::Open311(c) => c.poll_interval_secs,
            ConnectorConfig::Rss(c) => c.poll_interval_secs,
            ConnectorConfig::FileDrop(c) => c.poll_interval_secs,
        })
    }

    /// Builds the connector, reading secrets through `env`, with default parse options. Every
    /// check that needs no network happens here, so a bad file fails at start, not at the
    /// first poll.
    pub fn build(
        &self,
        source: &str,
        env: EnvLookup<'_>,
    ) -> Result<Box<dyn Connector>, ConfigError> {
        self.build_with(source, env, ParseOptions::default())
    }

    /// [`ConnectorConfig::build`] with the gateway's parse options (default offset, future
    /// tolerance), which items and cursors of the connector follow.
    pub fn build_with(
        &self,
        source: &str,
        env: EnvLookup<'_>,
        options: ParseOptions,
    ) -> Result<Box<dyn Connector>, ConfigError> {
        Ok(match self {
            ConnectorConfig::HttpJson(c) => {
                let mut connector = HttpJsonConnector::new(source, c.clone(), env)?;
                connector.set_parse_options(options);
                Box::new(connector)
            }
            ConnectorConfig::Open311(c) => {
                let mut connector = Open311Connector::new(source, c.clone(), env)?;
                connector.set_parse_options(options);
                Box::new(connector)
            }
            ConnectorConfig::Rss(c) => {
                let mut connector = RssConnector::new(source, c.clone(), env)?;
                connector.set_parse_options(options);
                Box::new(connector)
            }
            ConnectorConfig::FileDrop(c) => {
                let mut connector = FileDropConnector::new(source, c.clone())?;
                connector.set_parse_options(options);
                Box::new(connector)
            }
        })
    }
}

impl SourceSpec {
    /// Builds the connector with secrets from the process environment.
    pub fn build(&self) -> Result<Box<dyn Connector>, ConfigError> {
        self.config.build(&self.name, &process_env)
    }

    /// Builds the connector with secrets from the process environment and these parse options.
    pub fn build_with(&self, options: ParseOptions) -> Result<Box<dyn Connector>, ConfigError> {
        self.config.build_with(&self.name, &process_env, options)
    }
}

/// Parses one connector file's text; `path` is only used in error messages.
pub fn parse_source(name: &str, path: &Path, text: &str) -> Result<SourceSpec, ConfigError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(ConfigError::SourceName {
            path: path.to_path_buf(),
            name: name.to_string(),
        });
    }
    let config: ConnectorConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    Ok(SourceSpec {
        name: name.to_string(),
        path: Some(path.to_path_buf()),
        config,
    })
}

/// Loads every `*.toml` of `dir`, sorted by name. A missing directory means no connectors.
pub fn load_dir(dir: &Path) -> Result<Vec<SourceSpec>, ConfigError> {
    let io = |path: &Path, e: std::io::Error| ConfigError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir, e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            parse_source(&name, path, &text)
        })
        .collect()
}

#[cfg(test)]
mod tests;

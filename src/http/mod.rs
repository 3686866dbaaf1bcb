//! The HTTP edge: what every connection and request is held to before a handler sees it.
//!
//! - [`HttpConfig`]: the `[http]` section (timeouts, limits, refusal rate).
//! - [`serve`]: the accept loop — a connection cap, the header-read timeout (which also ends an
//!   idle kept-alive connection), an idle timer on the socket, graceful shutdown, and the
//!   client address for every request.
//! - [`min_rate`]: the least transfer rate of a request body.
//!
//! The whole-request timeout and the one error shape are router layers ([`crate::api::router`]).

pub mod min_rate;
pub mod serve;

use std::time::Duration;

use serde::Deserialize;

/// Limits of the HTTP edge (`[http]`). The defaults suit a public-facing listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's headers, counted from when the gateway starts
    /// waiting for them: on a new connection, and between requests on a kept-alive one (so this
    /// is also how long an idle keep-alive connection is kept). Slower: the connection is closed.
    #[serde(default = "defaults::header_read_timeout_secs")]
    pub header_read_timeout_secs: u64,
    /// Seconds from a request's headers to its answer, body upload included. Longer: 408
    /// `request_timeout`.
    #[serde(default = "defaults::request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Seconds a connection may pass without a byte moving in either direction while a request
    /// or its answer is under way (a client that stops reading its answer); then it is closed.
    /// Must be longer than `request_timeout_secs`.
    #[serde(default = "defaults::idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// Least average upload rate of a request body, in bytes per second, counted from the start
    /// of the body once `body_grace_secs` have passed. Slower (or silent): 408 `body_too_slow`.
    #[serde(default = "defaults::body_min_bytes_per_sec")]
    pub body_min_bytes_per_sec: u64,
    /// Seconds a request body may take before its rate is checked.
    #[serde(default = "defaults::body_grace_secs")]
    pub body_grace_secs: u64,
    /// Most connections served at once. Over the cap a connection is answered 503
    /// `too_many_connections` with `Connection: close` and closed.
    #[serde(default = "defaults::max_connections")]
    pub max_connections: usize,
    /// Refused webhook requests (unknown source, missing or bad signature, too large) allowed per
    /// minute, per client address and per source; past it refusals are answered 429
    /// `too_many_refusals` with `Retry-After`.
    #[serde(default = "defaults::refusals_per_min")]
    pub refusals_per_min: u32,
    /// Refusals allowed in a burst, per client address and per source.
    #[serde(default = "defaults::refusal_burst")]
    pub refusal_burst: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_secs: defaults::header_read_timeout_secs(),
            request_timeout_secs: defaults::request_timeout_secs(),
            idle_timeout_secs: defaults::idle_timeout_secs(),
            body_min_bytes_per_sec: defaults::body_min_bytes_per_sec(),
            body_grace_secs: defaults::body_grace_secs(),
            max_connections: defaults::max_connections(),
            refusals_per_min: defaults::refusals_per_min(),
            refusal_burst: defaults::refusal_burst(),
        }
    }
}

impl HttpConfig {
    /// Checks the values; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("request_timeout_secs", self.request_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("body_min_bytes_per_sec", self.body_min_bytes_per_sec),
            ("max_connections", self.max_connections as u64),
            ("refusals_per_min", u64::from(self.refusals_per_min)),
            ("refusal_burst", u64::from(self.refusal_burst)),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("http.{key} must be at least 1"));
        }
        // A request still in progress is ended by its own timeout (a 408 the client can read)
        // before the socket's idle timer cuts it off silently.
        if self.idle_timeout_secs <= self.request_timeout_secs {
            return Err(
                "http.idle_timeout_secs must be longer than http.request_timeout_secs".into(),
            );
        }
        Ok(())
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// The body rate rule.
    pub fn min_rate(&self) -> min_rate::MinRate {
        min_rate::MinRate {
            bytes_per_sec: self.body_min_bytes_per_sec,
            grace: Duration::from_secs(self.body_grace_secs),
        }
    }
}

mod defaults {
    pub fn header_read_timeout_secs() -> u64 {
        10
    }
    pub fn request_timeout_secs() -> u64 {
        60
    }
    pub fn idle_timeout_secs() -> u64 {
        120
    }
    pub fn body_min_bytes_per_sec() -> u64 {
        1024
    }
    pub fn body_grace_secs() -> u64 {
        10
    }
    pub fn max_connections() -> usize {
        512
    }
    pub fn refusals_per_min() -> u32 {
        60
    }
    pub fn refusal_burst() -> u32 {
        20
    }
}

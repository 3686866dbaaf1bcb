//! The [`Connector`] trait: a pull source, polled by the gateway's intake loop.
//!
//! Contract, the same for every protocol:
//! - One [`Connector::poll`] fetches at most one page (or one file) and answers a [`Batch`]: the
//!   raw items, the cursor to save **in the same transaction as the items**, whether more is
//!   immediately available, and how long to wait otherwise.
//! - A connector never sleeps, never retries and never saves its cursor: the runtime owns
//!   scheduling, rate limits, retries with backoff and cursor storage, once for all protocols.
//!   A failed poll returns a [`ConnectorError`] that says whether retrying can help; the cursor the
//!   runtime holds is then unchanged, so a retry re-reads and never skips.
//! - Items are [`RawItem`]s: verbatim upstream bytes plus the parse result. A record that cannot
//!   be mapped is an item whose `parsed` is an error, never a dropped record; the rest of the
//!   batch proceeds.
//! - When a batch carries an [`AckToken`], the runtime calls [`Connector::committed`] after the
//!   batch and its cursor are durably committed (file_drop moves the file to `done/` then). A
//!   crash before that call re-delivers the batch, which the store deduplicates.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::raw::RawItem;

/// A boxed future, so that `dyn Connector` works without extra crates.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Position of a source in its upstream, opaque to the runtime: stored as JSON and handed back
/// unchanged at the next poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub Value);

impl Cursor {
    /// Reads a typed cursor; `None` when the stored value does not have the expected shape (a
    /// cursor from an older version or another protocol starts over from the configured start).
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_value(self.0.clone()).ok()
    }

    /// Builds a cursor from a serialisable value.
    pub fn encode<T: Serialize>(value: &T) -> Cursor {
        Cursor(serde_json::to_value(value).expect("cursor types always serialise"))
    }
}

/// What a connector needs back after the gateway committed a batch (e.g. which file to move).
#[derive(Debug, Clone, PartialEq)]
pub struct AckToken(pub Value);

/// What the gateway did with a committed batch; file_drop writes it into its report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSummary {
    /// Items stored as new complaints.
    pub stored: u64,
    /// Items that were already stored with identical content.
    pub duplicates: u64,
    /// Items stored as a new revision of an existing complaint.
    pub revisions: u64,
    /// Items kept in the dead-letter store.
    pub dead_lettered: u64,
}

/// The answer to one poll.
#[derive(Debug)]
pub struct Batch {
    /// The items fetched, in upstream order; may be empty.
    pub items: Vec<RawItem>,
    /// The cursor to save with these items (`None`: this connector keeps no cursor).
    pub cursor: Option<Cursor>,
    /// True when more is immediately available: poll again as soon as the rate limit allows.
    pub more: bool,
    /// How long to wait before the next poll when `more` is false.
    pub wait: Duration,
    /// Records fetched but deliberately not turned into items (e.g. outside the rss watch list).
    pub skipped: u64,
    /// Conditions worth showing in the source's status (not errors: the batch is good).
    pub warnings: Vec<String>,
    /// When set, hand it back through [`Connector::committed`] after the commit.
    pub ack: Option<AckToken>,
}

impl Batch {
    /// An empty batch: nothing new, poll again after `wait`.
    pub fn idle(cursor: Option<Cursor>, wait: Duration) -> Batch {
        Batch {
            items: Vec::new(),
            cursor,
            more: false,
            wait,
            skipped: 0,
            warnings: Vec::new(),
            ack: None,
        }
    }
}

/// A pull source. See the module documentation for the contract.
pub trait Connector: Send + std::fmt::Debug {
    /// Fetches the next batch after `cursor` (`None`: the first poll ever). `now` is the runtime's
    /// clock, injected so that windows and schedules are testable.
    fn poll<'a>(
        &'a mut self,
        cursor: Option<&'a Cursor>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Batch, ConnectorError>>;

    /// Called once the batch that carried `ack` is durably committed. The default does nothing.
    /// An error here is reported in the source's status; the items are already safe.
    fn committed<'a>(
        &'a mut self,
        ack: AckToken,
        summary: &'a CommitSummary,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        let _ = (ack, summary);
        Box::pin(async { Ok(()) })
    }
}

/// Why a poll failed, and what the runtime should do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// The upstream answered with an error status.
    #[error("upstream answered HTTP {status}{}", detail_suffix(.detail))]
    Status {
        status: u16,
        /// From `Retry-After` (429, 503), already converted to a duration.
        retry_after: Option<Duration>,
        /// A short excerpt of the answer, without personal data (error pages only).
        detail: String,
    },
    /// No complete answer within the configured timeout.
    #[error("upstream did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection could not be made or broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The answer ended before its announced end (truncated body).
    #[error("answer truncated: {0}")]
    Truncated(String),
    /// The answer is not in the expected format (a page that is not JSON, a feed that is not a
    /// feed). Retried: an upstream mid-deployment or a proxy error page is the usual cause.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The answer is larger than `max_body_bytes`.
    #[error("answer larger than {max_bytes} bytes")]
    TooLarge { max_bytes: u64 },
    /// The upstream hands back a cursor or page already seen in this run, and keeps doing so.
    #[error("pagination loop: {0}")]
    PaginationLoop(String),
    /// The upstream answered a position with a page already seen for another one (a stale
    /// cache, until it persists: then [`ConnectorError::PaginationLoop`]). Retried.
    #[error("repeated page: {0}")]
    RepeatedPage(String),
    /// The upstream refused our credentials (401, 403).
    #[error("upstream refused the credentials (HTTP {status})")]
    Auth { status: u16 },
    /// The configuration cannot work (bad URL, missing directory).
    #[error("configuration: {0}")]
    Config(String),
    /// Local I/O failed (file_drop).
    #[error("i/o: {0}")]
    Io(String),
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// What the runtime should do after a failed poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Retry with exponential backoff and jitter; wait at least `retry_after` when given.
    Retry { retry_after: Option<Duration> },
    /// Retrying the same request cannot succeed until someone changes the configuration or the
    /// upstream: mark the source failed and retry only at the slowest cadence.
    Permanent,
}

impl ConnectorError {
    /// Whether to retry, and how soon at the earliest.
    pub fn disposition(&self) -> Disposition {
        match self {
            ConnectorError::Status {
                status,
                retry_after,
                ..
            } => {
                if *status >= 500 || *status == 408 || *status == 429 {
                    Disposition::Retry {
                        retry_after: *retry_after,
                    }
                } else {
                    Disposition::Permanent
                }
            }
            ConnectorError::Timeout(_)
            | ConnectorError::Connect(_)
            | ConnectorError::Truncated(_)
            | ConnectorError::Malformed(_)
            | ConnectorError::RepeatedPage(_)
            | ConnectorError::Io(_) => Disposition::Retry { retry_after: None },
            ConnectorError::TooLarge { .. }
            | ConnectorError::PaginationLoop(_)
            | ConnectorError::Auth { .. }
            | ConnectorError::Config(_) => Disposition::Permanent,
        }
    }

    /// Shorthand for `disposition()` being [`Disposition::Retry`].
    pub fn is_retryable(&self) -> bool {
        matches!(self.disposition(), Disposition::Retry { .. })
    }

    /// The upstream's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.disposition() {
            Disposition::Retry { retry_after } => retry_after,
            Disposition::Permanent => None,
        }
    }

    /// A stable, low-cardinality name for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorError::Status { .. } => "status",
            ConnectorError::Timeout(_) => "timeout",
            ConnectorError::Connect(_) => "connect",
            ConnectorError::Truncated(_) => "truncated",
            ConnectorError::Malformed(_) => "malformed",
            ConnectorError::TooLarge { .. } => "too_large",
            ConnectorError::PaginationLoop(_) => "pagination_loop",
            ConnectorError::RepeatedPage(_) => "repeated_page",
            ConnectorError::Auth { .. } => "auth",
            ConnectorError::Config(_) => "config",
            ConnectorError::Io(_) => "io",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, retry_after: Option<Duration>) -> ConnectorError {
        ConnectorError::Status {
            status,
            retry_after,
            detail: String::new(),
        }
    }

    #[test]
    fn server_errors_and_throttling_are_retried_client_errors_are_not() {
        assert!(status(500, None).is_retryable());
        assert!(status(502, None).is_retryable());
        assert!(status(408, None).is_retryable());
        let throttled = status(429, Some(Duration::from_secs(7)));
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(7)));
        assert!(!status(404, None).is_retryable());
        assert!(!status(400, Some(Duration::from_secs(1))).is_retryable());
        assert_eq!(
            status(400, Some(Duration::from_secs(1))).retry_after(),
            None
        );
        assert!(!ConnectorError::Auth { status: 401 }.is_retryable());
        assert!(ConnectorError::Truncated("x".into()).is_retryable());
        assert!(ConnectorError::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(!ConnectorError::PaginationLoop("x".into()).is_retryable());
    }

    #[test]
    fn cursor_round_trips_and_tolerates_foreign_shapes() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Page {
            page: u64,
        }
        let cursor = Cursor::encode(&Page { page: 3 });
        assert_eq!(cursor.decode::<Page>(), Some(Page { page: 3 }));
        assert_eq!(Cursor(Value::String("x".into())).decode::<Page>(), None);
    }

    #[test]
    fn status_error_message_includes_detail_only_when_present() {
        assert_eq!(status(503, None).to_string(), "upstream answered HTTP 503");
        let with = ConnectorError::Status {
            status: 400,
            retry_after: None,
            detail: "bad jurisdiction".into(),
        };
        assert_eq!(
            with.to_string(),
            "upstream answered HTTP 400: bad jurisdiction"
        );
    }
}

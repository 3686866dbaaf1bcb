//! Per-source status: what `GET /v1/sources` shows and what survives a restart.
//!
//! The runner of each source records every poll here, and the webhook handler every push to a
//! webhook sender; the registry is read by the API and flushed to the store every few seconds
//! (see [`super::persist`]). Counters are totals since `counting_since` (the first start of the
//! source on this data directory). Messages hold error descriptions and connector warnings,
//! never item content.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use connectors::{CommitSummary, Cursor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Warnings kept per source (the newest).
pub const MAX_WARNINGS: usize = 10;

/// What a source is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// Configured, first poll not done yet.
    Starting,
    /// A poll (or its commit) is in progress.
    Polling,
    /// The last poll succeeded; waiting for the next one.
    Ok,
    /// The last poll failed with an error worth retrying; backing off.
    Retrying,
    /// The last poll failed in a way retrying cannot fix (credentials, configuration, a
    /// pagination loop); retried only at the slowest cadence.
    Failed,
    /// The gateway is shutting down.
    Stopped,
    /// A webhook sender: items are pushed, nothing is polled.
    Push,
}

/// Items received from a source, by what the store did with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Received {
    /// Stored as new complaints.
    pub stored: u64,
    /// Already stored with identical content (re-reads, overlaps).
    pub duplicates: u64,
    /// Stored as a new revision of a complaint.
    pub revisions: u64,
    /// Kept in the dead-letter store.
    pub dead_lettered: u64,
}

impl std::ops::AddAssign<&CommitSummary> for Received {
    fn add_assign(&mut self, summary: &CommitSummary) {
        self.stored += summary.stored;
        self.duplicates += summary.duplicates;
        self.revisions += summary.revisions;
        self.dead_lettered += summary.dead_lettered;
    }
}

/// The last failure of a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LastError {
    pub at: DateTime<Utc>,
    /// Stable, low-cardinality kind: `status`, `timeout`, `connect`, `truncated`, `malformed`,
    /// `too_large`, `pagination_loop`, `auth`, `config`, `io`, or `store` (the commit failed);
    /// for a webhook sender, the error code its refused request was answered with
    /// (`signature_invalid`, `rate_limited`, `malformed_json`, …).
    pub kind: String,
    /// Human-readable description.
    pub message: String,
    /// True when retrying cannot help until the configuration or the upstream changes.
    pub permanent: bool,
}

/// A condition worth knowing that did not fail the poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Warning {
    pub at: DateTime<Utc>,
    pub message: String,
}

/// The status of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceStatus {
    /// Source name (the connector file's stem, or the webhook table's name).
    pub name: String,
    /// Channel its complaints are filed under.
    pub channel: String,
    /// Protocol (`http_json`, `open311`, `rss`, `file_drop`) or `webhook`.
    pub kind: String,
    /// `host:port` polled, for HTTP sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    pub state: SourceState,
    /// False while the source is retrying or failed, a retry's poll included: from a failure
    /// until a poll succeeds.
    pub healthy: bool,
    #[serde(default)]
    pub last_poll_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_success_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<LastError>,
    /// Failed polls (refused requests, for a webhook sender) since the last success.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Polls answered, successful or not.
    #[serde(default)]
    pub polls: u64,
    #[serde(default)]
    pub received: Received,
    /// Records fetched but deliberately not kept (an rss entry outside the watch list).
    #[serde(default)]
    pub skipped: u64,
    /// The newest warnings, oldest first.
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// The committed cursor: where the next poll starts (protocol-specific JSON).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub cursor: Option<Value>,
    /// When the next poll is due.
    #[serde(default)]
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Since when the counters count.
    pub counting_since: DateTime<Utc>,
}

impl SourceStatus {
    /// A source seen for the first time.
    pub fn new(name: &str, channel: &str, kind: &str, now: DateTime<Utc>) -> SourceStatus {
        SourceStatus {
            name: name.to_string(),
            channel: channel.to_string(),
            kind: kind.to_string(),
            upstream: None,
            state: SourceState::Starting,
            healthy: true,
            last_poll_at: None,
            last_success_at: None,
            last_error: None,
            consecutive_failures: 0,
            polls: 0,
            received: Received::default(),
            skipped: 0,
            warnings: Vec::new(),
            cursor: None,
            next_poll_at: None,
            counting_since: now,
        }
    }

    /// Takes the history (counters, last success and error) of a persisted status; everything
    /// that describes the current configuration and run stays as in `self`.
    pub fn resume_from(&mut self, saved: SourceStatus) {
        self.last_poll_at = saved.last_poll_at;
        self.last_success_at = saved.last_success_at;
        self.last_error = saved.last_error;
        self.consecutive_failures = saved.consecutive_failures;
        self.polls = saved.polls;
        self.received = saved.received;
        self.skipped = saved.skipped;
        self.warnings = saved.warnings;
        self.counting_since = saved.counting_since;
    }

    fn set_state(&mut self, state: SourceState) {
        self.state = state;
        // A retry in progress is still a failing source: only its outcome changes `healthy`.
        if state != SourceState::Polling {
            self.healthy = !matches!(state, SourceState::Retrying | SourceState::Failed);
        }
    }

    fn push_warning(&mut self, at: DateTime<Utc>, message: String) {
        self.warnings.push(Warning { at, message });
        let excess = self.warnings.len().saturating_sub(MAX_WARNINGS);
        self.warnings.drain(..excess);
    }
}

struct Entry {
    status: SourceStatus,
    /// Changed since the last flush to the store.
    dirty: bool,
}

/// Every source's status, shared by the runners, the API and the flusher.
#[derive(Default)]
pub struct SourceRegistry {
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl SourceRegistry {
    /// Adds (or replaces) a source.
    pub fn insert(&self, status: SourceStatus) {
        let name = status.name.clone();
        let mut entries = self.entries.lock().expect("status lock");
        entries.insert(
            name,
            Entry {
                status,
                dirty: true,
            },
        );
    }

    /// Every source, by name.
    pub fn list(&self) -> Vec<SourceStatus> {
        let entries = self.entries.lock().expect("status lock");
        entries.values().map(|e| e.status.clone()).collect()
    }

    /// One source.
    pub fn get(&self, name: &str) -> Option<SourceStatus> {
        let entries = self.entries.lock().expect("status lock");
        entries.get(name).map(|e| e.status.clone())
    }

    /// The statuses changed since the last call.
    pub fn take_dirty(&self) -> Vec<SourceStatus> {
        let mut entries = self.entries.lock().expect("status lock");
        entries
            .values_mut()
            .filter(|e| e.dirty)
            .map(|e| {
                e.dirty = false;
                e.status.clone()
            })
            .collect()
    }

    /// A webhook sender's request was stored (answered 202): counts what the store did with
    /// its items.
    pub fn pushed(&self, name: &str, at: DateTime<Utc>, received: &CommitSummary) {
        self.update(name, |s| {
            s.last_success_at = Some(at);
            s.consecutive_failures = 0;
            s.received += received;
        });
    }

    /// A webhook sender's request was refused, answered with `code` (recorded as the last
    /// error; the message names the code only, never what the body held). `kept` counts a body
    /// that was dead-lettered all the same.
    pub fn push_refused(&self, name: &str, at: DateTime<Utc>, code: &str, kept: &CommitSummary) {
        self.update(name, |s| {
            s.consecutive_failures += 1;
            s.last_error = Some(LastError {
                at,
                kind: code.to_string(),
                message: format!("a pushed request was refused: {code}"),
                permanent: false,
            });
            s.received += kept;
        });
    }

    /// Marks statuses changed again (their flush failed).
    pub fn mark_dirty(&self, statuses: &[SourceStatus]) {
        let mut entries = self.entries.lock().expect("status lock");
        for status in statuses {
            if let Some(entry) = entries.get_mut(&status.name) {
                entry.dirty = true;
            }
        }
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut SourceStatus)) {
        let mut entries = self.entries.lock().expect("status lock");
        if let Some(entry) = entries.get_mut(name) {
            change(&mut entry.status);
            entry.dirty = true;
        }
    }
}

/// A runner's handle on its own status.
#[derive(Clone)]
pub struct StatusHandle {
    registry: Arc<SourceRegistry>,
    name: String,
}

impl StatusHandle {
    pub fn new(registry: Arc<SourceRegistry>, name: &str) -> StatusHandle {
        StatusHandle {
            registry,
            name: name.to_string(),
        }
    }

    /// The current status.
    pub fn get(&self) -> Option<SourceStatus> {
        self.registry.get(&self.name)
    }

    /// A poll starts.
    pub fn polling(&self) {
        self.registry
            .update(&self.name, |s| s.set_state(SourceState::Polling));
    }

    /// A batch was committed.
    pub fn succeeded(&self, success: Success<'_>) {
        self.registry.update(&self.name, |s| {
            s.set_state(SourceState::Ok);
            s.polls += 1;
            s.last_poll_at = Some(success.at);
            s.last_success_at = Some(success.at);
            s.consecutive_failures = 0;
            s.received += success.summary;
            s.skipped += success.skipped;
            for warning in success.warnings {
                s.push_warning(success.at, warning.clone());
            }
            if let Some(cursor) = success.cursor {
                s.cursor = Some(cursor.0.clone());
            }
            s.next_poll_at = Some(success.next_poll_at);
        });
    }

    /// A poll or its commit failed.
    pub fn failed(&self, error: LastError, failures: u32, next_poll_at: DateTime<Utc>) {
        self.registry.update(&self.name, |s| {
            s.set_state(if error.permanent {
                SourceState::Failed
            } else {
                SourceState::Retrying
            });
            s.polls += 1;
            s.last_poll_at = Some(error.at);
            s.consecutive_failures = failures;
            s.last_error = Some(error);
            s.next_poll_at = Some(next_poll_at);
        });
    }

    /// A condition worth showing that does not fail the source.
    pub fn warn(&self, at: DateTime<Utc>, message: String) {
        self.registry
            .update(&self.name, |s| s.push_warning(at, message));
    }

    /// The source will not be polled again in this run.
    pub fn stopped(&self) {
        self.registry.update(&self.name, |s| {
            s.set_state(SourceState::Stopped);
            s.next_poll_at = None;
        });
    }
}

/// What a successful poll reports.
pub struct Success<'a> {
    pub at: DateTime<Utc>,
    pub summary: &'a CommitSummary,
    pub skipped: u64,
    pub warnings: &'a [String],
    /// The cursor just committed (`None`: unchanged).
    pub cursor: Option<&'a Cursor>,
    pub next_poll_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry_with(name: &str) -> (Arc<SourceRegistry>, StatusHandle) {
        let registry = Arc::new(SourceRegistry::default());
        registry.insert(SourceStatus::new(name, "hotline", "http_json", Utc::now()));
        let handle = StatusHandle::new(registry.clone(), name);
        (registry, handle)
    }

    #[test]
    fn failures_count_until_a_success_resets_them_and_counts_add_up() {
        let (registry, handle) = registry_with("hotline");
        let now = Utc::now();
        let error = |permanent| LastError {
            at: now,
            kind: "status".into(),
            message: "upstream answered HTTP 502".into(),
            permanent,
        };
        handle.failed(error(false), 1, now);
        handle.failed(error(false), 2, now);
        let status = registry.get("hotline").unwrap();
        assert_eq!(
            (status.state, status.healthy, status.consecutive_failures),
            (SourceState::Retrying, false, 2)
        );
        // The retry's poll does not make the source look healthy until it succeeds.
        handle.polling();
        let status = registry.get("hotline").unwrap();
        assert_eq!(
            (status.state, status.healthy),
            (SourceState::Polling, false)
        );
        handle.failed(error(true), 3, now);
        assert_eq!(registry.get("hotline").unwrap().state, SourceState::Failed);
        let summary = CommitSummary {
            stored: 3,
            duplicates: 1,
            revisions: 0,
            dead_lettered: 1,
        };
        for _ in 0..2 {
            handle.succeeded(Success {
                at: now,
                summary: &summary,
                skipped: 2,
                warnings: &[],
                cursor: Some(&Cursor(serde_json::json!({"page": 4}))),
                next_poll_at: now,
            });
        }
        let status = registry.get("hotline").unwrap();
        assert_eq!(status.state, SourceState::Ok);
        assert!(status.healthy);
        assert_eq!(status.consecutive_failures, 0);
        assert_eq!(status.polls, 5);
        assert_eq!(
            (status.received.stored, status.received.dead_lettered),
            (6, 2)
        );
        assert_eq!(status.skipped, 4);
        assert_eq!(status.cursor, Some(serde_json::json!({"page": 4})));
        // The last error stays visible after recovery, for the operator's benefit.
        assert_eq!(status.last_error.unwrap().kind, "status");
    }

    #[test]
    fn a_webhook_sender_counts_its_pushes_and_refusals_and_is_saved() {
        let registry = SourceRegistry::default();
        let mut status = SourceStatus::new("demo", "online", "webhook", Utc::now());
        status.state = SourceState::Push;
        registry.insert(status);
        assert_eq!(registry.take_dirty().len(), 1);
        let now = Utc::now();
        let two_new = CommitSummary {
            stored: 2,
            ..CommitSummary::default()
        };
        registry.pushed("demo", now, &two_new);
        registry.push_refused("demo", now, "signature_invalid", &CommitSummary::default());
        let one_kept = CommitSummary {
            dead_lettered: 1,
            ..CommitSummary::default()
        };
        registry.push_refused("demo", now, "malformed_json", &one_kept);
        let status = registry.get("demo").unwrap();
        assert_eq!(
            (status.received.stored, status.received.dead_lettered),
            (2, 1)
        );
        assert_eq!(status.consecutive_failures, 2);
        let error = status.last_error.unwrap();
        assert_eq!(error.kind, "malformed_json");
        assert_eq!(status.last_success_at, Some(now));
        // A push sender stays healthy: a refused request is the sender's problem, and anyone
        // can send one.
        assert!(status.healthy);
        // Its history is saved like a polled source's.
        let dirty = registry.take_dirty();
        assert_eq!(dirty.len(), 1);
        assert_eq!(dirty[0].state, SourceState::Push);
        registry.pushed("demo", now, &CommitSummary::default());
        assert_eq!(registry.get("demo").unwrap().consecutive_failures, 0);
        // An unknown name changes nothing.
        registry.pushed("nope", now, &two_new);
        assert!(registry.get("nope").is_none());
    }

    #[test]
    fn only_the_newest_warnings_are_kept_and_dirty_entries_are_taken_once() {
        let (registry, handle) = registry_with("media");
        for n in 0..15 {
            handle.warn(Utc::now(), format!("warning {n}"));
        }
        let status = registry.get("media").unwrap();
        assert_eq!(status.warnings.len(), MAX_WARNINGS);
        assert_eq!(status.warnings[0].message, "warning 5");
        assert_eq!(registry.take_dirty().len(), 1);
        assert!(registry.take_dirty().is_empty());
        handle.polling();
        assert_eq!(registry.take_dirty().len(), 1);
    }
}

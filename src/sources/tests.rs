//! The runner's loop against a scripted connector and a sink that fails on demand, on a manual
//! clock: every wait is read exactly from simulated time, nothing sleeps.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use connectors::connector::BoxFuture;
use connectors::item::ParseOptions;
use connectors::{
    AckToken, Batch, Channel, CommitSummary, Connector, ConnectorError, Cursor, RawItem,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::backoff::RetryPolicy;
use super::runner::{SourceRunner, Step};
use super::sink::{Clock, Sink};
use super::status::{SourceRegistry, SourceState, SourceStatus, StatusHandle};
use crate::intake::Origin;
use crate::store::StoreError;

/// What happened, in order, across the connector and the sink.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Poll {
        cursor: Option<Cursor>,
        at: Duration,
    },
    Commit {
        items: usize,
        cursor: Option<String>,
    },
    CommitFailed,
    Ack,
}

type Log = Arc<Mutex<Vec<Event>>>;

/// Simulated time: a sleep advances it at once (or, frozen, never ends).
struct ManualClock {
    start: DateTime<Utc>,
    elapsed: Mutex<Duration>,
    frozen: bool,
}

impl ManualClock {
    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        super::runner::at_after(self.start, self.elapsed())
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        if self.frozen {
            return Box::pin(std::future::pending());
        }
        *self.elapsed.lock().unwrap() += duration;
        Box::pin(tokio::task::yield_now())
    }
}

struct Scripted {
    answers: VecDeque<Result<Batch, ConnectorError>>,
    log: Log,
    clock: Arc<ManualClock>,
    /// Requests shutdown at this poll (counted from 1), like an operator pressing Ctrl-C.
    stop_at_poll: usize,
    stop: CancellationToken,
}

impl std::fmt::Debug for Scripted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scripted")
    }
}

impl Connector for Scripted {
    fn poll<'a>(
        &'a mut self,
        cursor: Option<&'a Cursor>,
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Batch, ConnectorError>> {
        let polls = {
            let mut log = self.log.lock().unwrap();
            log.push(Event::Poll {
                cursor: cursor.cloned(),
                at: self.clock.elapsed(),
            });
            log.iter()
                .filter(|e| matches!(e, Event::Poll { .. }))
                .count()
        };
        if polls == self.stop_at_poll {
            self.stop.cancel();
        }
        let answer = self
            .answers
            .pop_front()
            .unwrap_or_else(|| Ok(Batch::idle(cursor.cloned(), Duration::from_secs(3600))));
        Box::pin(async move { answer })
    }

    fn committed<'a>(
        &'a mut self,
        _ack: AckToken,
        _summary: &'a CommitSummary,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        self.log.lock().unwrap().push(Event::Ack);
        Box::pin(async { Ok(()) })
    }
}

struct FlakySink {
    log: Log,
    /// Commits to fail, counted from the first.
    fail: Mutex<Vec<bool>>,
}

impl Sink for FlakySink {
    fn commit<'a>(
        &'a self,
        _origin: &'a Origin,
        items: Vec<RawItem>,
        cursor: Option<String>,
    ) -> BoxFuture<'a, Result<CommitSummary, StoreError>> {
        let fail = {
            let mut plan = self.fail.lock().unwrap();
            if plan.is_empty() {
                false
            } else {
                plan.remove(0)
            }
        };
        let event = if fail {
            Event::CommitFailed
        } else {
            Event::Commit {
                items: items.len(),
                cursor,
            }
        };
        self.log.lock().unwrap().push(event);
        let stored = items.len() as u64;
        Box::pin(async move {
            if fail {
                Err(StoreError::Commit("disk full".into()))
            } else {
                Ok(CommitSummary {
                    stored,
                    ..CommitSummary::default()
                })
            }
        })
    }
}

fn item(id: &str) -> RawItem {
    RawItem::from_synthetic_json(
        json!({"external_id": id, "body": format!("编号{id}：小区路灯不亮已两周")}),
        &ParseOptions::default(),
    )
}

fn page(ids: &[&str], cursor: serde_json::Value, more: bool) -> Result<Batch, ConnectorError> {
    Ok(Batch {
        items: ids.iter().map(|id| item(id)).collect(),
        cursor: Some(Cursor(cursor)),
        more,
        wait: Duration::from_secs(60),
        skipped: 0,
        warnings: Vec::new(),
        ack: None,
    })
}

fn status_error(status: u16, retry_after: Option<Duration>) -> Result<Batch, ConnectorError> {
    Err(ConnectorError::Status {
        status,
        retry_after,
        detail: String::new(),
    })
}

struct Harness {
    runner: SourceRunner,
    log: Log,
    registry: Arc<SourceRegistry>,
    stop: CancellationToken,
}

fn policy() -> RetryPolicy {
    RetryPolicy::new(
        Duration::from_secs(2),
        Duration::from_secs(120),
        Duration::from_secs(60),
    )
}

/// A runner over `answers` that stops at poll `stop_at_poll`; commits listed `true` in
/// `failing_commits` fail.
fn harness(
    answers: Vec<Result<Batch, ConnectorError>>,
    failing_commits: Vec<bool>,
    stop_at_poll: usize,
    frozen: bool,
) -> Harness {
    let log: Log = Arc::default();
    let registry = Arc::new(SourceRegistry::default());
    let start = Utc.with_ymd_and_hms(2024, 6, 3, 9, 0, 0).unwrap();
    registry.insert(SourceStatus::new("hotline", "hotline", "http_json", start));
    let clock = Arc::new(ManualClock {
        start,
        elapsed: Mutex::new(Duration::ZERO),
        frozen,
    });
    let stop = CancellationToken::new();
    let connector = Scripted {
        answers: answers.into(),
        log: log.clone(),
        clock: clock.clone(),
        stop_at_poll,
        stop: stop.clone(),
    };
    let sink = FlakySink {
        log: log.clone(),
        fail: Mutex::new(failing_commits),
    };
    let mut runner = SourceRunner::new(
        Origin {
            source: "hotline".into(),
            channel: Channel::Hotline,
            historical: false,
        },
        Box::new(connector),
        Arc::new(sink),
        StatusHandle::new(registry.clone(), "hotline"),
        policy(),
        clock,
        None,
    );
    runner.rng = StdRng::seed_from_u64(3);
    Harness {
        runner,
        log,
        registry,
        stop,
    }
}

/// Runs the loop until the connector requested shutdown; the last poll's answer is dropped,
/// as at a real shutdown.
async fn run(h: Harness) -> (Vec<Event>, Arc<SourceRegistry>) {
    h.runner.run(h.stop.clone()).await;
    let log = h.log.lock().unwrap().clone();
    (log, h.registry)
}

fn polls(log: &[Event]) -> Vec<(Option<Cursor>, Duration)> {
    log.iter()
        .filter_map(|e| match e {
            Event::Poll { cursor, at } => Some((cursor.clone(), *at)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_cursor_advances_only_after_its_commit_and_a_failed_commit_rereads() {
    let h = harness(
        vec![
            page(&["a1", "a2"], json!({"page": 2}), true),
            page(&["b1", "b2"], json!({"page": 3}), true),
            page(&["b1", "b2"], json!({"page": 3}), true),
            page(&["c1"], json!({"page": 3}), false),
        ],
        vec![false, true],
        5,
        false,
    );
    let (log, registry) = run(h).await;
    let cursors: Vec<Option<Cursor>> = polls(&log).into_iter().map(|(c, _)| c).collect();
    let page = |n: u64| Some(Cursor(json!({ "page": n })));
    assert_eq!(cursors, [None, page(2), page(2), page(3), page(3)]);
    let commits: Vec<&Event> = log
        .iter()
        .filter(|e| !matches!(e, Event::Poll { .. }))
        .collect();
    assert_eq!(
        commits,
        [
            &Event::Commit {
                items: 2,
                cursor: Some(r#"{"page":2}"#.into())
            },
            &Event::CommitFailed,
            &Event::Commit {
                items: 2,
                cursor: Some(r#"{"page":3}"#.into())
            },
            // The last page kept the cursor: only its item is committed.
            &Event::Commit {
                items: 1,
                cursor: None
            },
        ]
    );
    let status = registry.get("hotline").unwrap();
    assert_eq!(status.received.stored, 5);
    assert_eq!(status.last_error.unwrap().kind, "store");
    assert_eq!(status.cursor, Some(json!({"page": 3})));
    assert_eq!(status.state, SourceState::Stopped);
}

#[tokio::test]
async fn failures_back_off_exponentially_and_wait_for_retry_after() {
    let h = harness(
        vec![
            status_error(500, None),
            Err(ConnectorError::Timeout(Duration::from_secs(30))),
            status_error(429, Some(Duration::from_secs(45))),
            page(&["x1"], json!({"page": 1}), false),
        ],
        vec![],
        5,
        false,
    );
    let (log, registry) = run(h).await;
    let times: Vec<Duration> = polls(&log).into_iter().map(|(_, at)| at).collect();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let p = policy();
    for (n, gap) in gaps[..2].iter().enumerate() {
        let ceiling = p.ceiling(n as u32 + 1);
        assert!(*gap >= ceiling / 2 && *gap <= ceiling, "retry {n}: {gap:?}");
    }
    // The third failure's backoff (4-8 s) is shorter than the upstream asked for.
    assert!(gaps[2] >= Duration::from_secs(45), "{:?}", gaps[2]);
    assert!(gaps[2] < Duration::from_secs(46), "{:?}", gaps[2]);
    // After the success, the connector's wait.
    assert_eq!(gaps[3], Duration::from_secs(60));
    // Every retry asked for the same (initial) position.
    assert!(polls(&log)[..4].iter().all(|(c, _)| c.is_none()));
    let status = registry.get("hotline").unwrap();
    assert_eq!(status.consecutive_failures, 0);
    // The fifth poll was abandoned by the shutdown.
    assert_eq!(status.polls, 4);
    assert_eq!(status.last_error.unwrap().kind, "status");
}

#[tokio::test]
async fn a_permanent_failure_marks_the_source_failed_and_waits_the_slowest_cadence() {
    let mut h = harness(
        vec![
            Err(ConnectorError::PaginationLoop(
                "the upstream handed back a cursor already seen in this run".into(),
            )),
            page(&["y1"], json!({"cursor": "n2"}), false),
        ],
        vec![],
        0,
        false,
    );
    let stop = CancellationToken::new();
    let step = h.runner.step(&stop).await;
    assert_eq!(step, Step::Next(policy().failed_cadence));
    let status = h.registry.get("hotline").unwrap();
    assert_eq!((status.state, status.healthy), (SourceState::Failed, false));
    let error = status.last_error.unwrap();
    assert!(error.permanent);
    assert_eq!(error.kind, "pagination_loop");
    assert_eq!(
        status.next_poll_at.unwrap() - error.at,
        chrono::Duration::seconds(120)
    );
    assert_eq!(
        h.runner.step(&stop).await,
        Step::Next(Duration::from_secs(60))
    );
    assert_eq!(h.registry.get("hotline").unwrap().state, SourceState::Ok);
}

#[tokio::test]
async fn more_polls_at_once_and_the_ack_comes_after_the_commit_before_the_next_poll() {
    let mut with_ack = page(&["f1", "f2"], json!(null), true).unwrap();
    with_ack.cursor = None;
    with_ack.ack = Some(AckToken(json!({"file": "export.csv"})));
    let h = harness(
        vec![
            Ok(with_ack),
            page(&["g1"], json!({"page": 2}), true),
            page(&[], json!({"page": 2}), false),
        ],
        vec![],
        4,
        false,
    );
    let (log, _) = run(h).await;
    let shape: Vec<&str> = log
        .iter()
        .map(|e| match e {
            Event::Poll { .. } => "poll",
            Event::Commit { .. } => "commit",
            Event::CommitFailed => "commit failed",
            Event::Ack => "ack",
        })
        .collect();
    // The idle third poll (same cursor, no items) commits nothing.
    assert_eq!(
        shape,
        ["poll", "commit", "ack", "poll", "commit", "poll", "poll"]
    );
    let times: Vec<Duration> = polls(&log).into_iter().map(|(_, at)| at).collect();
    assert_eq!(times[..3], [Duration::ZERO; 3]);
    assert_eq!(times[3], Duration::from_secs(60));
}

#[tokio::test]
async fn shutdown_interrupts_the_wait_and_leaves_the_source_stopped() {
    let h = harness(
        vec![page(&["z1"], json!({"page": 1}), false)],
        vec![],
        0,
        true,
    );
    let (registry, log, stop) = (h.registry.clone(), h.log.clone(), h.stop.clone());
    let task = tokio::spawn(h.runner.run(stop.clone()));
    // Let the first poll commit; the runner then waits for its (frozen) next poll time.
    while !log
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, Event::Commit { .. }))
    {
        tokio::task::yield_now().await;
    }
    stop.cancel();
    task.await.unwrap();
    let status = registry.get("hotline").unwrap();
    assert_eq!(status.state, SourceState::Stopped);
    assert_eq!(status.received.stored, 1);
    assert_eq!(log.lock().unwrap().len(), 2, "one poll and its commit");
}

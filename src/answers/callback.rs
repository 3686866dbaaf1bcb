//! The callback worker: sends each pending outcome of a source with a `[callback]` to the
//! source's system as a signed JSON `POST` (`X-Signature-Timestamp`, `X-Signature:
//! sha256=HMAC(secret, "{timestamp}.{body}")`, exactly as the gateway's own webhooks verify
//! them), and records the attempt: a 2xx answer delivers it; anything else (an error status, a
//! timeout, a refused connection) tries again after a pause that doubles from the source's
//! `retry_initial_ms` up to `retry_max_secs`, until `max_attempts`, then marks it `failed`.
//! Attempts are recorded in the store, so a restart carries on where it stopped (an update
//! whose answer was lost in a crash is sent again: receivers key on `external_id`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Callbacks, body, values};
use crate::routing::RoutingConfig;
use crate::store::answers::{AnswerOutcome, Attempt};
use crate::store::{Store, StoreError};
use crate::webhook::auth::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

/// How often the worker looks for due updates.
const POLL: Duration = Duration::from_millis(500);
/// Updates sent per pass.
const BATCH: i64 = 50;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Starts the worker (nothing when no source has a callback); it stops with `shutdown`.
pub fn start(
    store: Store,
    callbacks: Arc<Callbacks>,
    routing: Arc<RoutingConfig>,
    shutdown: CancellationToken,
) -> Option<JoinHandle<()>> {
    if callbacks.is_empty() {
        return None;
    }
    let client = reqwest::Client::new();
    Some(tokio::spawn(async move {
        loop {
            match deliver_due(&store, &callbacks, &routing, &client, Utc::now()).await {
                Ok(pass) if pass != Pass::default() => tracing::info!(
                    delivered = pass.delivered,
                    retried = pass.retried,
                    failed = pass.failed,
                    "answer callbacks sent"
                ),
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "answer callbacks failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }))
}

/// Sends every due update once.
pub async fn deliver_due(
    store: &Store,
    callbacks: &Callbacks,
    routing: &RoutingConfig,
    client: &reqwest::Client,
    now: DateTime<Utc>,
) -> Result<Pass, StoreError> {
    let mut pass = Pass::default();
    for outcome in store
        .due_callbacks(&callbacks.sources(), now, BATCH)
        .await?
    {
        let result = send(store, callbacks, routing, client, &outcome).await;
        let attempt = match &result {
            Ok(()) => Attempt::Delivered,
            Err(error) => Attempt::Failed {
                error,
                retry_at: retry_at(callbacks, &outcome, now),
            },
        };
        let recorded = store
            .record_callback_attempt(outcome.id, attempt.clone(), Utc::now())
            .await?;
        match (&attempt, recorded) {
            (_, false) => {}
            (Attempt::Delivered, true) => pass.delivered += 1,
            (
                Attempt::Failed {
                    retry_at: Some(_), ..
                },
                true,
            ) => pass.retried += 1,
            (
                Attempt::Failed {
                    retry_at: None,
                    error,
                },
                true,
            ) => {
                pass.failed += 1;
                tracing::warn!(
                    source = %outcome.source, outcome = outcome.id, %error,
                    "answer callback failed for good; retry it with POST /v1/callbacks/{{id}}/retry"
                );
            }
        }
    }
    Ok(pass)
}

/// When to try again after a failed attempt; `None` when that was the last.
fn retry_at(
    callbacks: &Callbacks,
    outcome: &AnswerOutcome,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let config = &callbacks.target(&outcome.source)?.config;
    let attempts = u32::try_from(outcome.attempts)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    if attempts >= config.max_attempts {
        return None;
    }
    let pause_ms = config
        .retry_initial_ms
        .saturating_mul(1u64 << (attempts - 1).min(30))
        .min(config.retry_max_secs.saturating_mul(1000));
    Some(now + chrono::Duration::milliseconds(pause_ms as i64))
}

/// One attempt: `Err` says why it did not go through (no personal data: status, transport).
async fn send(
    store: &Store,
    callbacks: &Callbacks,
    routing: &RoutingConfig,
    client: &reqwest::Client,
    outcome: &AnswerOutcome,
) -> Result<(), String> {
    let target = callbacks
        .target(&outcome.source)
        .ok_or_else(|| "the source has no callback any more".to_string())?;
    let secret = target.secret.as_ref().map_err(Clone::clone)?;
    let auth = target.auth.as_ref().map_err(Clone::clone)?;
    let answers = store
        .case_answers(&outcome.case_id)
        .await
        .map_err(|e| format!("reading the answer: {e}"))?;
    let answer = answers.iter().find(|a| a.id == outcome.answer_id);
    let unit = outcome
        .queue_key
        .as_deref()
        .and_then(|key| routing.queue(key))
        .map(|q| q.name.to_string())
        .unwrap_or_default();
    let payload = body(&values(outcome, answer, &unit), &target.config.fields);
    let bytes = serde_json::to_vec(&payload).expect("JSON values serialise");
    let timestamp = Utc::now().timestamp();
    let url = target
        .config
        .url
        .replace("{external_id}", &percent_encode(&outcome.external_id));
    let mut request = client
        .post(url)
        .timeout(Duration::from_secs(target.config.timeout_secs.max(1)))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, sign(secret, timestamp, &bytes))
        .body(bytes);
    if let Some(auth) = auth {
        request = auth.apply(request);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("the channel answered HTTP {}", response.status())),
        Err(error) if error.is_timeout() => Err("no answer within the timeout".into()),
        Err(error) if error.is_connect() => Err("cannot connect to the channel".into()),
        Err(error) => Err(format!("request failed: {}", error.without_url())),
    }
}

/// RFC 3986's unreserved characters, the only ones an id keeps as they are in a URL.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_percent_encoded_for_the_url() {
        assert_eq!(percent_encode("WO-2026/07 甲"), "WO-2026%2F07%20%E7%94%B2");
        assert_eq!(percent_encode("a.b_c~1"), "a.b_c~1");
    }
}

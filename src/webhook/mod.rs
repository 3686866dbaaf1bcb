//! Webhook intake: `POST /v1/webhooks/{source}` for channel operators who push. This module
//! holds the senders' run-time state, signing and splitting, and storing a body; the HTTP
//! handler that applies the checks below is `api::webhook`.
//!
//! Order of checks, each with its own answer: unknown source (404), declared body too large
//! (413), the signature headers — present, well-formed, timestamp within the window (401) —
//! all before a byte of the body is read; then the body is read against the limit (413, or
//! 408 when it arrives too slowly), the HMAC and the replay memory are checked (401), the
//! sender's rate limit (429 + `Retry-After`), body not JSON (400 naming line and column; the
//! body is dead-lettered), too many items (413). Then the valid items are stored and the
//! invalid ones dead-lettered, and only after the durable commit the gateway answers 202 with
//! one entry per item.
//!
//! Refusals up to the HMAC check are themselves rate-limited per source and client address
//! ([`refusals`]): past the allowance they are answered 429 `too_many_refusals`.

pub mod auth;
pub mod refusals;

use std::num::NonZeroU32;
use std::sync::Arc;

use connectors::body::{BodyError, BodyFormat, split_body};
use connectors::{Channel, ItemError, RawItem};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::{Config, WebhookSource};
use crate::intake::{IntakeReport, Origin, ingest};
use crate::store::{Store, StoreError};
use auth::Verifier;

/// A configured webhook sender at run time.
pub struct WebhookRuntime {
    pub channel: Channel,
    pub verifier: Verifier,
    pub limiter: DefaultDirectRateLimiter,
}

/// Builds the run-time state of every configured sender, reading secrets from the environment
/// and files. A sender without any secret is reported and refuses every request.
pub fn runtimes(config: &Config) -> std::collections::BTreeMap<String, Arc<WebhookRuntime>> {
    config
        .webhooks
        .iter()
        .map(|(name, source)| {
            let secrets = load_secrets(name, source);
            if secrets.is_empty() {
                tracing::warn!(
                    source = %name,
                    envs = ?source.secret_envs,
                    "webhook source has no secret; it will refuse every request until one is set"
                );
            }
            let quota = Quota::per_second(nonzero(source.rate_limit_per_sec))
                .allow_burst(nonzero(source.rate_limit_burst));
            let runtime = WebhookRuntime {
                channel: source.channel,
                verifier: Verifier::new(secrets, source.max_clock_skew_secs),
                limiter: RateLimiter::direct(quota),
            };
            (name.clone(), Arc::new(runtime))
        })
        .collect()
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn load_secrets(name: &str, source: &WebhookSource) -> Vec<Vec<u8>> {
    let mut secrets: Vec<Vec<u8>> = source
        .secret_envs
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .map(|s| s.trim().as_bytes().to_vec())
        .filter(|s| !s.is_empty())
        .collect();
    for path in &source.secret_files {
        match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => secrets.push(text.trim().as_bytes().to_vec()),
            Ok(_) => tracing::warn!(source = name, path = %path.display(), "secret file is empty"),
            Err(error) => {
                tracing::warn!(source = name, path = %path.display(), %error, "cannot read secret file")
            }
        }
    }
    secrets
}

/// Splits a request body into items: format and charset from `Content-Type`, at most the
/// configured batch size.
pub fn split_request(
    bytes: &[u8],
    content_type: Option<&str>,
    config: &Config,
) -> Result<Vec<RawItem>, BodyError> {
    let format = BodyFormat::from_content_type(content_type);
    let charset = content_type.and_then(connectors::text::charset_of_content_type);
    let max_items = config.intake.max_batch_items;
    split_body(bytes, format, charset, max_items, &config.parse_options())
}

/// Why a body was not accepted as a whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyRefused {
    /// More items than `intake.max_batch_items`: nothing was stored.
    #[error("{0}")]
    TooManyItems(BodyError),
    /// The body could not be split into items at all; it is kept as one dead letter
    /// (`dead_letter_id`, when the store answered).
    #[error("{error}")]
    Unsplittable {
        error: BodyError,
        dead_letter_id: Option<String>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Splits, stores and dead-letters a body: the shared path of the webhook and the dead-letter
/// replay of a whole body.
pub async fn accept_body(
    store: &Store,
    config: &Config,
    origin: &Origin,
    bytes: &[u8],
    content_type: Option<&str>,
) -> Result<IntakeReport, BodyRefused> {
    let items = match split_request(bytes, content_type, config) {
        Ok(items) => items,
        Err(error @ BodyError::TooManyItems { .. }) => {
            return Err(BodyRefused::TooManyItems(error));
        }
        Err(error) => {
            let dead_letter_id =
                dead_letter_body(store, origin, bytes, content_type, &error).await?;
            return Err(BodyRefused::Unsplittable {
                error,
                dead_letter_id,
            });
        }
    };
    Ok(ingest(store, origin, items, None).await?)
}

/// Keeps a body that could not be split at all; the id of its dead letter.
async fn dead_letter_body(
    store: &Store,
    origin: &Origin,
    bytes: &[u8],
    content_type: Option<&str>,
    error: &BodyError,
) -> Result<Option<String>, StoreError> {
    let item_error = match error {
        BodyError::Json {
            line,
            column,
            message,
        } => ItemError::Json {
            line: *line,
            column: *column,
            message: message.clone(),
        },
        other => ItemError::Mapping(other.to_string()),
    };
    let raw = RawItem::failed(
        bytes.to_vec(),
        content_type
            .unwrap_or("application/octet-stream")
            .to_string(),
        item_error,
    );
    let report = ingest(store, origin, vec![raw], None).await?;
    Ok(report.rejected.first().map(|r| r.dead_letter_id.clone()))
}

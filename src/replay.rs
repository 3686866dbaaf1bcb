//! Replaying a dead letter after a fix: either the gateway now parses the kept bytes (a parser
//! or configuration fix), or staff supply a corrected item. The original bytes stay in the
//! dead-letter store, linked to the complaint they became.

use connectors::Channel;
use connectors::body::{BodyFormat, split_body};

use crate::config::Config;
use crate::intake::{IntakeReport, Origin, commit_batch, prepare};
use crate::store::{Store, StoreError, WriteBatch};

/// Why a replay did not store anything.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no dead letter with id `{0}`")]
    NotFound(String),
    #[error("dead letter was already replayed as complaint {0}")]
    AlreadyReplayed(String),
    #[error("the item is still invalid: {0}")]
    StillInvalid(String),
    #[error("bytes of type `{0}` cannot be re-parsed alone; supply a corrected item as JSON")]
    NeedsCorrection(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Replays dead letter `id`, with `corrected` JSON (one item, an array, or JSON Lines) when
/// given, else its own bytes.
pub async fn replay(
    store: &Store,
    config: &Config,
    id: &str,
    corrected: Option<Vec<u8>>,
) -> Result<IntakeReport, ReplayError> {
    let letter = store
        .dead_letter(id)
        .await?
        .ok_or_else(|| ReplayError::NotFound(id.to_string()))?;
    if let Some(complaint) = letter.replayed_as {
        return Err(ReplayError::AlreadyReplayed(complaint));
    }
    let (bytes, content_type) = match corrected {
        Some(bytes) => (bytes, "application/json".to_string()),
        None => (letter.raw, letter.raw_content_type),
    };
    let media = content_type.split(';').next().unwrap_or("").trim();
    let format = match media {
        "application/json" => BodyFormat::Json,
        other => match BodyFormat::from_content_type(Some(other)) {
            BodyFormat::JsonLines => BodyFormat::JsonLines,
            BodyFormat::Json => return Err(ReplayError::NeedsCorrection(content_type)),
        },
    };
    let charset = connectors::text::charset_of_content_type(&content_type);
    let items = split_body(&bytes, format, charset, usize::MAX, &config.parse_options())
        .map_err(|e| ReplayError::StillInvalid(e.to_string()))?;
    if let Some(error) = items.iter().find_map(|i| i.parsed.as_ref().err())
        && items.iter().all(|i| i.parsed.is_err())
    {
        return Err(ReplayError::StillInvalid(error.to_string()));
    }
    let channel = letter
        .channel
        .as_deref()
        .and_then(|c| c.parse::<Channel>().ok())
        .or_else(|| config.channel_of(&letter.source))
        .unwrap_or(Channel::Other);
    let origin = Origin {
        source: letter.source.clone(),
        channel,
        historical: false,
    };
    let batch = WriteBatch {
        ops: prepare(&origin, items, store.future_tolerance()),
        cursor: None,
        replay_of: Some(letter.id),
        audit: Vec::new(),
    };
    Ok(commit_batch(store, &origin.source, batch).await?)
}

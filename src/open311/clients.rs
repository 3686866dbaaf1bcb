//! Open311 clients and their api_keys: registered at the command line (`open311 client add`),
//! each key printed once and kept only as an argon2id hash ([`crate::people::secrets`], the
//! tokens' code under the prefix `o311`), checked on every request against the store (a
//! disabled client is refused at once). A key whose secret was verified is remembered by its
//! SHA-256, so argon2 runs once per key and process, not once per request.

use chrono::Utc;
use serde_json::json;

use crate::people::Actor;
use crate::people::secrets::{self, MintedToken};
use crate::store::audit::NewAuditEvent;
use crate::store::open311::Open311Client;
use crate::store::{Store, StoreError, format_utc};

/// The prefix of every api_key: `o311_<id>_<secret>`.
pub const KEY_PREFIX: &str = "o311";

/// Why a client operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Invalid(String),
    #[error("an Open311 client named `{0}` exists already")]
    Taken(String),
    #[error("no enabled Open311 client `{0}` (`complaint-gateway open311 client list`)")]
    NoClient(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers client `name`; the new key, to be shown once.
pub async fn add(store: &Store, actor: &Actor, name: &str) -> Result<MintedToken, ClientError> {
    crate::config::validate_source_name(name)
        .map_err(|e| ClientError::Invalid(e.replace("source name", "client name")))?;
    let minted = tokio::task::spawn_blocking(|| secrets::mint_key(KEY_PREFIX))
        .await
        .expect("minting does not panic");
    let at = format_utc(Utc::now());
    let client = Open311Client {
        name: name.to_string(),
        key_id: minted.id.clone(),
        key_hash: minted.hash.clone(),
        created_at: at.clone(),
        created_by: actor.to_string(),
        disabled_at: None,
    };
    let mut tx = store.begin_decision().await?;
    match tx.add_open311_client(&client).await {
        Err(StoreError::Conflict(_)) => return Err(ClientError::Taken(name.to_string())),
        other => other?,
    }
    tx.append_audit(&[event(actor, "open311.client_add", name, &minted.id, &at)])
        .await?;
    tx.commit().await?;
    Ok(minted)
}

/// Disables client `name`: its key is refused from its next request on.
pub async fn disable(store: &Store, actor: &Actor, name: &str) -> Result<(), ClientError> {
    let at = format_utc(Utc::now());
    let mut tx = store.begin_decision().await?;
    if !tx.disable_open311_client(name, &at).await? {
        return Err(ClientError::NoClient(name.to_string()));
    }
    let key_id = store
        .open311_clients()
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.key_id)
        .unwrap_or_default();
    tx.append_audit(&[event(actor, "open311.client_disable", name, &key_id, &at)])
        .await?;
    tx.commit().await?;
    Ok(())
}

fn event(actor: &Actor, action: &str, client: &str, key_id: &str, at: &str) -> NewAuditEvent {
    NewAuditEvent {
        at: at.to_string(),
        actor: actor.to_string(),
        action: action.into(),
        case_id: None,
        complaint_ids: Vec::new(),
        detail: json!({"client": client, "key": key_id}).to_string(),
    }
}

/// Why a presented key was refused (all answered 403; the message says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefused {
    #[error("an api_key is required: ask the complaint centre to register your application")]
    Missing,
    #[error("the api_key is not valid")]
    Invalid,
    #[error("the api_key's client is disabled")]
    Disabled,
}

/// Checks presented keys, remembering verified secrets.
#[derive(Default)]
pub struct Keys {
    verified: secrets::VerifiedSecrets,
}

impl Keys {
    /// The enabled client whose key `presented` is.
    pub async fn check(
        &self,
        store: &Store,
        presented: Option<&str>,
    ) -> Result<Result<Open311Client, KeyRefused>, StoreError> {
        let Some(presented) = presented.map(str::trim).filter(|k| !k.is_empty()) else {
            return Ok(Err(KeyRefused::Missing));
        };
        let Some((id, secret)) = secrets::split_key(KEY_PREFIX, presented) else {
            return Ok(Err(KeyRefused::Invalid));
        };
        let Some(client) = store.open311_client_by_key(id).await? else {
            return Ok(Err(KeyRefused::Invalid));
        };
        if !self.verified.verify(id, secret, &client.key_hash).await {
            return Ok(Err(KeyRefused::Invalid));
        }
        if client.disabled_at.is_some() {
            return Ok(Err(KeyRefused::Disabled));
        }
        Ok(Ok(client))
    }
}

//! The store's operations for the Open311 server: its clients (one api_key each, kept only as
//! an argon2 hash made above the store) and which complaint each client filed, with the token
//! its answer carried. Human data: `reprocess` never touches these tables.

use async_trait::async_trait;

use super::StoreError;

/// An Open311 client as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Client {
    /// The client's name (a-z, 0-9, `-`, `_`); its complaints come from source
    /// `open311:<name>`.
    pub name: String,
    /// The public part of its api_key: finds the row.
    pub key_id: String,
    /// argon2 PHC string of the secret part.
    pub key_hash: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Who registered it (a user's name or `cli:<login>`).
    pub created_by: String,
    /// Set once the client is disabled: its key is refused from then on.
    pub disabled_at: Option<String>,
}

/// A complaint a client filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Filing {
    pub complaint_id: String,
    pub client: String,
    /// What the answer to the POST carried besides the id (`tokens/{token}` resolves it).
    pub token: String,
    pub service_code: String,
    /// When it was filed, in milliseconds since the epoch (the requested time).
    pub filed_ms: i64,
}

/// Which filings of one client to list: newest first, at most `limit`.
#[derive(Debug, Clone)]
pub struct FilingFilter<'a> {
    pub client: &'a str,
    pub service_code: Option<&'a str>,
    /// Filed at or after (ms).
    pub from_ms: i64,
    /// Filed at or before (ms).
    pub to_ms: i64,
    pub limit: i64,
}

/// On the store: reads of clients and filings.
#[async_trait]
pub trait Open311Reads: Send + Sync {
    /// Every client, by name.
    async fn open311_clients(&self) -> Result<Vec<Open311Client>, StoreError>;

    /// One client by the public part of its key.
    async fn open311_client_by_key(
        &self,
        key_id: &str,
    ) -> Result<Option<Open311Client>, StoreError>;

    /// The filings of one client that `filter` selects, newest first.
    async fn open311_filings(
        &self,
        filter: &FilingFilter<'_>,
    ) -> Result<Vec<Open311Filing>, StoreError>;

    /// One filing of `client` by complaint id.
    async fn open311_filing(
        &self,
        client: &str,
        complaint_id: &str,
    ) -> Result<Option<Open311Filing>, StoreError>;

    /// One filing of `client` by its token.
    async fn open311_filing_by_token(
        &self,
        client: &str,
        token: &str,
    ) -> Result<Option<Open311Filing>, StoreError>;
}

/// In a decision transaction: registering and disabling clients, recording filings.
#[async_trait]
pub trait Open311Writes: Send {
    /// Registers a client; [`StoreError::Conflict`] when the name (or key id) is taken.
    async fn add_open311_client(&mut self, client: &Open311Client) -> Result<(), StoreError>;

    /// Disables a client at `at`; false when there is no such client or it is disabled
    /// already.
    async fn disable_open311_client(&mut self, name: &str, at: &str) -> Result<bool, StoreError>;

    /// Records that a client filed a complaint; false when that complaint was recorded
    /// already (a repeated POST), which changes nothing.
    async fn record_open311_filing(&mut self, filing: &Open311Filing) -> Result<bool, StoreError>;
}

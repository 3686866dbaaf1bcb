//! The store's operations on people: user accounts with their roles and queue memberships,
//! API tokens and browser sessions. Every secret is kept only as a hash made above the store
//! (argon2 for passwords and tokens, SHA-256 for high-entropy session ids): the store never
//! sees a password or a token.
//!
//! Roles are kept as the names the access layer (`crate::people`) defines; the store does not
//! interpret them. Nothing here is derived: `reprocess` never touches these tables.

use async_trait::async_trait;

use super::StoreError;

/// A queue a user works in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMembership {
    /// The queue's key in the routing file.
    pub queue: String,
    /// The unit's lead for this queue (may reassign within it).
    pub lead: bool,
}

/// A user account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// argon2 PHC string; `None` for an account that signs in with tokens only.
    pub password_hash: Option<String>,
    /// Role names, sorted.
    pub roles: Vec<String>,
    /// Sorted by queue.
    pub queues: Vec<QueueMembership>,
    pub disabled: bool,
    /// Consecutive failed logins since the last success or unlock.
    pub failed_logins: i64,
    /// Set when too many failed logins locked the account; cleared by an admin's unlock.
    pub locked_at: Option<String>,
    pub created_at: String,
}

/// An account to create.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub roles: Vec<String>,
    pub queues: Vec<QueueMembership>,
    pub created_at: String,
}

/// An API token as stored. A token reads `<prefix>_<id>_<secret>`: the id finds the row, the
/// secret is checked against `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub user: String,
    /// What the token is for (the holder's label).
    pub name: String,
    /// argon2 PHC string of the secret part.
    pub hash: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: String,
    pub user: String,
    pub name: String,
    pub hash: String,
    pub created_at: String,
    pub expires_at: Option<String>,
}

/// A browser session as stored, by the SHA-256 of its cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub user: String,
    /// The token every state-changing request made with this session must carry.
    pub csrf: String,
    pub created_at: String,
    pub last_seen_at: String,
    /// The absolute end; the idle end is `last_seen_at` plus the idle timeout.
    pub expires_at: String,
}

/// Reads of people, on the store.
#[async_trait]
pub trait PeopleReads: Send + Sync {
    /// Every account, by name.
    async fn users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// One account by name.
    async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;

    /// How many accounts exist (disabled ones included).
    async fn user_count(&self) -> Result<i64, StoreError>;

    /// Tokens, of one user or of all, newest first.
    async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenRecord>, StoreError>;

    /// One token by id.
    async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// One session by the hash of its id.
    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
}

/// Changes to people, inside a decision transaction (each is also an audited decision).
#[async_trait]
pub trait PeopleWrites: Send {
    /// Creates an account; [`StoreError::Conflict`] when the name is taken.
    async fn add_user(&mut self, user: &NewUser) -> Result<(), StoreError>;

    /// One account by name, as this transaction sees it.
    async fn user_for_update(&mut self, name: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Replaces the password hash; false when no such user.
    async fn set_password(&mut self, name: &str, hash: &str) -> Result<bool, StoreError>;

    /// Replaces the roles and queue memberships; false when no such user.
    async fn set_roles(
        &mut self,
        name: &str,
        roles: &[String],
        queues: &[QueueMembership],
    ) -> Result<bool, StoreError>;

    /// Disables or enables an account; false when no such user.
    async fn set_disabled(&mut self, name: &str, disabled: bool) -> Result<bool, StoreError>;

    /// Counts a failed login; locks the account (at `at`) when the count reaches `lock_after`.
    /// Returns the count and whether the account is now locked; `None` when no such user.
    async fn record_failed_login(
        &mut self,
        name: &str,
        lock_after: i64,
        at: &str,
    ) -> Result<Option<(i64, bool)>, StoreError>;

    /// Clears the failed-login count and the lock (a successful login, or an admin's unlock);
    /// false when no such user.
    async fn clear_failed_logins(&mut self, name: &str) -> Result<bool, StoreError>;

    /// Stores a new token.
    async fn add_token(&mut self, token: &NewToken) -> Result<(), StoreError>;

    /// Revokes a token at `at`; false when no such token or already revoked.
    async fn revoke_token(&mut self, id: &str, at: &str) -> Result<bool, StoreError>;

    /// Notes a token's use (at most once a minute is enough for callers).
    async fn touch_token(&mut self, id: &str, at: &str) -> Result<(), StoreError>;

    /// Stores a new session.
    async fn add_session(&mut self, session: &SessionRecord) -> Result<(), StoreError>;

    /// Moves a session's last-seen time.
    async fn touch_session(&mut self, id_hash: &str, at: &str) -> Result<(), StoreError>;

    /// Ends a session (logout); false when there was none.
    async fn delete_session(&mut self, id_hash: &str) -> Result<bool, StoreError>;

    /// Ends every session of a user (disabled, password changed); returns how many.
    async fn delete_user_sessions(&mut self, user: &str) -> Result<u64, StoreError>;

    /// E-mail addresses of the enabled accounts that work `queue` (notices go to them), by
    /// account name.
    async fn queue_user_emails(&mut self, queue: &str) -> Result<Vec<String>, StoreError>;
}

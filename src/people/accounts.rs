//! Creating and changing accounts and tokens. Each change is one decision transaction that
//! also appends its audit entry, so an account change and its record commit together. Secrets
//! never reach the audit record or the logs.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::secrets::{self, MintedToken};
use super::{Actor, Role, check_user_name};
use crate::store::audit::NewAuditEvent;
use crate::store::people::{NewToken, NewUser, QueueMembership, TokenRecord};
use crate::store::{DerivedTx, Store, StoreError, format_utc};

/// Why an account operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("no user `{0}`")]
    NoUser(String),
    #[error("no token `{0}` (or it was revoked already)")]
    NoToken(String),
    #[error("a user named `{0}` exists already")]
    Taken(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(error: StoreError) -> Self {
        AccountError::Store(error)
    }
}

/// An account to create or the new roles of one.
#[derive(Debug, Clone, Default)]
pub struct Membership {
    pub roles: Vec<Role>,
    pub queues: Vec<QueueMembership>,
}

impl Membership {
    /// The membership the command line's `--role`, `--queue` and `--lead` (and the console's
    /// form) give: roles once each, each queue once, led when it is among `leads` (a lead works
    /// the queue too).
    pub fn new(mut roles: Vec<Role>, queues: &[String], leads: &[String]) -> Membership {
        roles.sort();
        roles.dedup();
        let mut members: Vec<QueueMembership> = Vec::new();
        for (queue, lead) in queues
            .iter()
            .map(|q| (q, false))
            .chain(leads.iter().map(|q| (q, true)))
        {
            match members.iter_mut().find(|m| &m.queue == queue) {
                Some(m) => m.lead |= lead,
                None => members.push(QueueMembership {
                    queue: queue.clone(),
                    lead,
                }),
            }
        }
        Membership {
            roles,
            queues: members,
        }
    }

    /// Checks the combination: an investigator works at least one queue, and only
    /// investigators have queues; every queue is one the routing file knows.
    pub fn check(&self, known_queue: &dyn Fn(&str) -> bool) -> Result<(), AccountError> {
        if self.roles.is_empty() {
            return Err(AccountError::Invalid(
                "give at least one role (--role admin|triage|investigator|supervisor)".into(),
            ));
        }
        let investigator = self.roles.contains(&Role::Investigator);
        if investigator && self.queues.is_empty() {
            return Err(AccountError::Invalid(
                "an investigator works at least one queue (--queue KEY)".into(),
            ));
        }
        if !investigator && !self.queues.is_empty() {
            return Err(AccountError::Invalid(
                "queues are for investigators: add --role investigator".into(),
            ));
        }
        if let Some(unknown) = self.queues.iter().find(|q| !known_queue(&q.queue)) {
            return Err(AccountError::Invalid(format!(
                "no queue `{}` in the routing file",
                unknown.queue
            )));
        }
        Ok(())
    }

    fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.as_str().to_string()).collect()
    }

    fn detail(&self) -> serde_json::Value {
        json!({
            "roles": self.role_names(),
            "queues": self.queues.iter().map(|q| json!({"queue": q.queue, "lead": q.lead})).collect::<Vec<_>>(),
        })
    }
}

/// An account to create.
#[derive(Debug, Clone, Default)]
pub struct UserSpec {
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// `None`: the account signs in with tokens only until a password is set.
    pub password: Option<String>,
    pub membership: Membership,
}

fn now() -> String {
    format_utc(Utc::now())
}

fn event(actor: &Actor, action: &str, detail: serde_json::Value) -> NewAuditEvent {
    NewAuditEvent {
        at: now(),
        actor: actor.to_string(),
        action: action.into(),
        case_id: None,
        complaint_ids: Vec::new(),
        detail: detail.to_string(),
    }
}

/// Commits `tx` after appending `entry`.
async fn commit_with(mut tx: Box<dyn DerivedTx>, entry: NewAuditEvent) -> Result<(), StoreError> {
    tx.append_audit(&[entry]).await?;
    tx.commit().await
}

/// Creates an account.
pub async fn add_user(
    store: &Store,
    actor: &Actor,
    spec: UserSpec,
    known_queue: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(), AccountError> {
    check_user_name(&spec.name).map_err(AccountError::Invalid)?;
    spec.membership.check(known_queue)?;
    if let Some(email) = &spec.email
        && !email.contains('@')
    {
        return Err(AccountError::Invalid(format!(
            "`{email}` is not an e-mail address"
        )));
    }
    let password_hash = match &spec.password {
        Some(password) => {
            secrets::check_password(password).map_err(AccountError::Invalid)?;
            Some(hash_off_thread(password.clone()).await)
        }
        None => None,
    };
    let new = NewUser {
        name: spec.name.clone(),
        display_name: spec.display_name.clone(),
        email: spec.email.clone(),
        password_hash,
        roles: spec.membership.role_names(),
        queues: spec.membership.queues.clone(),
        created_at: now(),
    };
    let mut tx = store.begin_decision().await?;
    match tx.add_user(&new).await {
        Err(StoreError::Conflict(_)) => return Err(AccountError::Taken(spec.name)),
        other => other?,
    }
    let mut detail = spec.membership.detail();
    detail["user"] = json!(spec.name);
    detail["password"] = json!(spec.password.is_some());
    commit_with(tx, event(actor, "user.add", detail)).await?;
    Ok(())
}

/// argon2 takes tens of milliseconds of CPU: never on the async threads.
async fn hash_off_thread(secret: String) -> String {
    tokio::task::spawn_blocking(move || secrets::hash_secret(&secret))
        .await
        .expect("hashing does not panic")
}

/// Sets a password; the user's sessions end.
pub async fn set_password(
    store: &Store,
    actor: &Actor,
    name: &str,
    password: &str,
) -> Result<(), AccountError> {
    secrets::check_password(password).map_err(AccountError::Invalid)?;
    let hash = hash_off_thread(password.to_string()).await;
    let mut tx = store.begin_decision().await?;
    if !tx.set_password(name, &hash).await? {
        return Err(AccountError::NoUser(name.into()));
    }
    let ended = tx.delete_user_sessions(name).await?;
    let detail = json!({"user": name, "sessions_ended": ended});
    commit_with(tx, event(actor, "user.password", detail)).await?;
    Ok(())
}

/// Disables (ending the user's sessions) or enables an account.
pub async fn set_disabled(
    store: &Store,
    actor: &Actor,
    name: &str,
    disabled: bool,
) -> Result<(), AccountError> {
    let mut tx = store.begin_decision().await?;
    if !tx.set_disabled(name, disabled).await? {
        return Err(AccountError::NoUser(name.into()));
    }
    let ended = if disabled {
        tx.delete_user_sessions(name).await?
    } else {
        0
    };
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    let detail = json!({"user": name, "sessions_ended": ended});
    commit_with(tx, event(actor, action, detail)).await?;
    Ok(())
}

/// Replaces an account's roles and queues.
pub async fn set_roles(
    store: &Store,
    actor: &Actor,
    name: &str,
    membership: &Membership,
    known_queue: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(), AccountError> {
    membership.check(known_queue)?;
    let mut tx = store.begin_decision().await?;
    let before = tx
        .user_for_update(name)
        .await?
        .ok_or_else(|| AccountError::NoUser(name.into()))?;
    tx.set_roles(name, &membership.role_names(), &membership.queues)
        .await?;
    let mut detail = membership.detail();
    detail["user"] = json!(name);
    detail["before"] = json!({
        "roles": before.roles,
        "queues": before.queues.iter().map(|q| json!({"queue": q.queue, "lead": q.lead})).collect::<Vec<_>>(),
    });
    commit_with(tx, event(actor, "user.roles", detail)).await?;
    Ok(())
}

/// Clears a lock after failed logins.
pub async fn unlock(store: &Store, actor: &Actor, name: &str) -> Result<(), AccountError> {
    let mut tx = store.begin_decision().await?;
    if !tx.clear_failed_logins(name).await? {
        return Err(AccountError::NoUser(name.into()));
    }
    commit_with(tx, event(actor, "user.unlock", json!({"user": name}))).await?;
    Ok(())
}

/// Marks `name` away (`away`) or back: automatic assignment inside a unit skips members away.
pub async fn set_away(
    store: &Store,
    actor: &Actor,
    name: &str,
    away: bool,
) -> Result<(), AccountError> {
    let mut tx = store.begin_decision().await?;
    let at = crate::store::format_utc(Utc::now());
    if !tx.set_away(name, away, &at).await? {
        return Err(AccountError::NoUser(name.into()));
    }
    let action = if away { "user.away" } else { "user.back" };
    commit_with(tx, event(actor, action, json!({"user": name}))).await?;
    Ok(())
}

/// Creates a token for `user`; the text in the answer is shown once and kept nowhere.
pub async fn create_token(
    store: &Store,
    actor: &Actor,
    user: &str,
    label: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<MintedToken, AccountError> {
    if label.trim().is_empty() {
        return Err(AccountError::Invalid(
            "name the token after what it is for (--name LABEL)".into(),
        ));
    }
    let minted = tokio::task::spawn_blocking(secrets::mint_token)
        .await
        .expect("minting does not panic");
    let mut tx = store.begin_decision().await?;
    let account = tx
        .user_for_update(user)
        .await?
        .ok_or_else(|| AccountError::NoUser(user.into()))?;
    if account.disabled {
        return Err(AccountError::Invalid(format!(
            "`{user}` is disabled: enable the account first"
        )));
    }
    let expires_at = expires_at.map(format_utc);
    tx.add_token(&NewToken {
        id: minted.id.clone(),
        user: user.into(),
        name: label.into(),
        hash: minted.hash.clone(),
        created_at: now(),
        expires_at: expires_at.clone(),
    })
    .await?;
    let detail = json!({"user": user, "token": minted.id, "name": label, "expires_at": expires_at});
    commit_with(tx, event(actor, "token.create", detail)).await?;
    Ok(minted)
}

/// Revokes a token at once (the next request that presents it is refused).
pub async fn revoke_token(store: &Store, actor: &Actor, id: &str) -> Result<(), AccountError> {
    let mut tx = store.begin_decision().await?;
    if !tx.revoke_token(id, &now()).await? {
        return Err(AccountError::NoToken(id.into()));
    }
    commit_with(tx, event(actor, "token.revoke", json!({"token": id}))).await?;
    Ok(())
}

/// A token's state at `now`: `active`, `expired` or `revoked`.
pub fn token_state(token: &TokenRecord, now: DateTime<Utc>) -> &'static str {
    if token.revoked_at.is_some() {
        "revoked"
    } else if token
        .expires_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t <= now)
    {
        "expired"
    } else {
        "active"
    }
}

/// Reads an expiry such as `90d`, `12h` or `30m`.
pub fn parse_lifetime(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}`: give a positive number and d, h or m, e.g. 90d"))?;
    match unit {
        "d" => Ok(chrono::Duration::days(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        "m" => Ok(chrono::Duration::minutes(n)),
        _ => Err(format!("`{text}`: the unit is d, h or m, e.g. 90d")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_are_checked() {
        let known = |q: &str| q == "urban";
        let queue = |q: &str| QueueMembership {
            queue: q.into(),
            lead: false,
        };
        let m = |roles: &[Role], queues: Vec<QueueMembership>| Membership {
            roles: roles.to_vec(),
            queues,
        };
        assert!(m(&[Role::Admin], vec![]).check(&known).is_ok());
        assert!(
            m(&[Role::Investigator], vec![queue("urban")])
                .check(&known)
                .is_ok()
        );
        for bad in [
            m(&[], vec![]),
            m(&[Role::Investigator], vec![]),
            m(&[Role::Triage], vec![queue("urban")]),
            m(&[Role::Investigator], vec![queue("nowhere")]),
        ] {
            assert!(bad.check(&known).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lifetimes_parse() {
        assert_eq!(parse_lifetime("90d"), Ok(chrono::Duration::days(90)));
        assert_eq!(parse_lifetime("12h"), Ok(chrono::Duration::hours(12)));
        for bad in ["", "d", "0d", "-1d", "90", "3w", "1.5d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}

//! SQLite: accounts, queue memberships, tokens and sessions ([`crate::store::people`]).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqliteRow};

use super::{SqliteStore, SqliteTx};
use crate::store::StoreError;
use crate::store::people::{
    NewToken, NewUser, PeopleReads, PeopleWrites, QueueMembership, SessionRecord, TokenRecord,
    UserRecord,
};

const USER_COLUMNS: &str = "name, display_name, email, password_hash, roles, disabled, \
     failed_logins, locked_at, created_at";
const TOKEN_COLUMNS: &str =
    "id, user_name, name, hash, created_at, expires_at, revoked_at, last_used_at";
const SESSION_COLUMNS: &str = "id_hash, user_name, csrf, created_at, last_seen_at, expires_at";

fn json_list(values: &[String]) -> String {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.dedup();
    serde_json::to_string(&sorted).expect("strings serialise")
}

fn user_from_row(row: &SqliteRow, queues: Vec<QueueMembership>) -> Result<UserRecord, StoreError> {
    let roles: String = row.get("roles");
    Ok(UserRecord {
        name: row.get("name"),
        display_name: row.get("display_name"),
        email: row.get("email"),
        password_hash: row.get("password_hash"),
        roles: serde_json::from_str(&roles)
            .map_err(|e| StoreError::Corrupt(format!("user roles: {e}")))?,
        queues,
        disabled: row.get::<i64, _>("disabled") != 0,
        failed_logins: row.get("failed_logins"),
        locked_at: row.get("locked_at"),
        created_at: row.get("created_at"),
    })
}

fn token_from_row(row: &SqliteRow) -> TokenRecord {
    TokenRecord {
        id: row.get("id"),
        user: row.get("user_name"),
        name: row.get("name"),
        hash: row.get("hash"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        revoked_at: row.get("revoked_at"),
        last_used_at: row.get("last_used_at"),
    }
}

fn session_from_row(row: &SqliteRow) -> SessionRecord {
    SessionRecord {
        id_hash: row.get("id_hash"),
        user: row.get("user_name"),
        csrf: row.get("csrf"),
        created_at: row.get("created_at"),
        last_seen_at: row.get("last_seen_at"),
        expires_at: row.get("expires_at"),
    }
}

/// Users (all, or the one named), with their queues; on a pool or in a transaction.
async fn load_users(
    conn: &mut SqliteConnection,
    name: Option<&str>,
) -> Result<Vec<UserRecord>, StoreError> {
    let filter = if name.is_some() { "WHERE name = ?" } else { "" };
    let sql = format!("SELECT {USER_COLUMNS} FROM users {filter} ORDER BY name");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    if let Some(name) = name {
        query = query.bind(name);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let queue_sql = if name.is_some() {
        "SELECT user_name, queue, lead FROM user_queues WHERE user_name = ? ORDER BY queue"
    } else {
        "SELECT user_name, queue, lead FROM user_queues ORDER BY queue"
    };
    let mut queue_query = sqlx::query(queue_sql);
    if let Some(name) = name {
        queue_query = queue_query.bind(name);
    }
    let memberships = queue_query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            let user: String = row.get("name");
            let queues = memberships
                .iter()
                .filter(|m| m.get::<String, _>("user_name") == user)
                .map(|m| QueueMembership {
                    queue: m.get("queue"),
                    lead: m.get::<i64, _>("lead") != 0,
                })
                .collect();
            user_from_row(row, queues)
        })
        .collect()
}

#[async_trait]
impl PeopleReads for SqliteStore {
    async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        load_users(&mut *self.pool.acquire().await?, None).await
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(load_users(&mut conn, Some(name)).await?.pop())
    }

    async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenRecord>, StoreError> {
        let filter = if user.is_some() {
            "WHERE user_name = ?"
        } else {
            ""
        };
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens {filter} ORDER BY created_at DESC, id");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(user) = user {
            query = query.bind(user);
        }
        Ok(query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(token_from_row)
            .collect())
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(token_from_row))
    }

    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(session_from_row))
    }
}

/// A unique-constraint failure, as a conflict naming `what`.
fn conflict(error: sqlx::Error, what: String) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(error),
    }
}

async fn replace_queues(
    conn: &mut SqliteConnection,
    name: &str,
    queues: &[QueueMembership],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM user_queues WHERE user_name = ?")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    for membership in queues {
        sqlx::query(
            "INSERT INTO user_queues (user_name, queue, lead) VALUES (?, ?, ?)
             ON CONFLICT (user_name, queue) DO UPDATE SET lead = MAX(lead, excluded.lead)",
        )
        .bind(name)
        .bind(&membership.queue)
        .bind(membership.lead as i64)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl PeopleWrites for SqliteTx {
    async fn add_user(&mut self, user: &NewUser) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (name, display_name, email, password_hash, roles, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&user.name)
        .bind(&user.display_name)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(json_list(&user.roles))
        .bind(&user.created_at)
        .execute(self.conn())
        .await
        .map_err(|e| conflict(e, format!("user {}", user.name)))?;
        replace_queues(self.conn(), &user.name, &user.queues).await
    }

    async fn user_for_update(&mut self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(load_users(self.conn(), Some(name)).await?.pop())
    }

    async fn set_password(&mut self, name: &str, hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE name = ?")
            .bind(hash)
            .bind(name)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_roles(
        &mut self,
        name: &str,
        roles: &[String],
        queues: &[QueueMembership],
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET roles = ? WHERE name = ?")
            .bind(json_list(roles))
            .bind(name)
            .execute(self.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        replace_queues(self.conn(), name, queues).await?;
        Ok(true)
    }

    async fn set_disabled(&mut self, name: &str, disabled: bool) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET disabled = ? WHERE name = ?")
            .bind(disabled as i64)
            .bind(name)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_failed_login(
        &mut self,
        name: &str,
        lock_after: i64,
        at: &str,
    ) -> Result<Option<(i64, bool)>, StoreError> {
        let row: Option<(i64, Option<String>)> = sqlx::query_as(
            "UPDATE users SET failed_logins = failed_logins + 1,
                locked_at = CASE WHEN locked_at IS NULL AND failed_logins + 1 >= ? THEN ?
                                 ELSE locked_at END
             WHERE name = ? RETURNING failed_logins, locked_at",
        )
        .bind(lock_after)
        .bind(at)
        .bind(name)
        .fetch_optional(self.conn())
        .await?;
        Ok(row.map(|(count, locked_at)| (count, locked_at.is_some())))
    }

    async fn clear_failed_logins(&mut self, name: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE users SET failed_logins = 0, locked_at = NULL WHERE name = ?")
                .bind(name)
                .execute(self.conn())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn add_token(&mut self, token: &NewToken) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, user_name, name, hash, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.id)
        .bind(&token.user)
        .bind(&token.name)
        .bind(&token.hash)
        .bind(&token.created_at)
        .bind(&token.expires_at)
        .execute(self.conn())
        .await
        .map_err(|e| conflict(e, format!("token {}", token.id)))?;
        Ok(())
    }

    async fn revoke_token(&mut self, id: &str, at: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(self.conn())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_token(&mut self, id: &str, at: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn add_session(&mut self, session: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_name, csrf, created_at, last_seen_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&session.id_hash)
        .bind(&session.user)
        .bind(&session.csrf)
        .bind(&session.created_at)
        .bind(&session.last_seen_at)
        .bind(&session.expires_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn touch_session(&mut self, id_hash: &str, at: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?")
            .bind(at)
            .bind(id_hash)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn delete_session(&mut self, id_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn queue_user_emails(&mut self, queue: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT u.email FROM users u JOIN user_queues q ON q.user_name = u.name
             WHERE q.queue = ? AND u.disabled = 0 AND u.email IS NOT NULL AND u.email != ''
             ORDER BY u.name",
        )
        .bind(queue)
        .fetch_all(self.conn())
        .await?)
    }

    async fn delete_user_sessions(&mut self, user: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_name = ?")
            .bind(user)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }
}

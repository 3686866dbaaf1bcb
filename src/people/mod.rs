//! People: who works in the gateway and what each may do.
//!
//! - [`Role`]: `admin`, `triage` (complaint-centre staff), `investigator` (works the queues of
//!   one or more units), `supervisor` (reads everything, statistics; personal data only when
//!   also triage). Webhook senders are not users: they authenticate by signature.
//! - [`secrets`]: password and token hashes (argon2id), token format, session ids.
//! - [`accounts`]: creating and changing accounts and tokens; every change is one decision
//!   transaction with its audit entry.
//! - [`Actor`]: who a decision is recorded under — an authenticated user, a configured service
//!   token, the local operator at the command line, or `system:<stage>`.

pub mod access;
pub mod accounts;
pub mod pii;
pub mod privacy;
pub mod secrets;

use std::fmt;

/// A role a user holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Triage,
    Investigator,
    Supervisor,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Admin,
        Role::Triage,
        Role::Investigator,
        Role::Supervisor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Triage => "triage",
            Role::Investigator => "investigator",
            Role::Supervisor => "supervisor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text.trim())
            .ok_or_else(|| {
                format!(
                    "unknown role `{text}`: one of {}",
                    Role::ALL.map(Role::as_str).join(", ")
                )
            })
    }
}

/// Who a decision is recorded under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An authenticated user (session, token, or `--as` at the command line).
    User(String),
    /// A token from the configuration's `api.token_envs` (the variable's name).
    Service(String),
    /// The person at the server's command line, with no `--as` (bootstrapping the first
    /// admin); recorded with the operating-system user when known.
    LocalOperator(Option<String>),
    /// An automatic decision of a pipeline stage or worker.
    System(&'static str),
    /// A request to an open API (no account and no token exist; loopback only).
    Open,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(name) => f.write_str(name),
            Actor::Service(label) => write!(f, "service:{label}"),
            Actor::LocalOperator(Some(os_user)) => write!(f, "cli:{os_user}"),
            Actor::LocalOperator(None) => f.write_str("cli"),
            Actor::System(stage) => write!(f, "system:{stage}"),
            Actor::Open => f.write_str("open:loopback"),
        }
    }
}

/// A user name: 1–64 characters, letters (any script), digits, `.`, `-`, `_`; no `:` (that
/// marks the non-user actors) and no space.
pub fn check_user_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 || chars > 64 {
        return Err(format!(
            "a user name has 1 to 64 characters (`{name}` has {chars})"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return Err(format!(
            "`{name}`: a user name may hold letters, digits, `.`, `-` and `_`, not `{bad}`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_print_the_same_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        let error = "boss".parse::<Role>().unwrap_err();
        assert!(
            error.contains("admin, triage, investigator, supervisor"),
            "{error}"
        );
    }

    #[test]
    fn user_names_exclude_actor_markers_and_spaces() {
        assert!(check_user_name("wang.fang").is_ok());
        assert!(check_user_name("王芳").is_ok());
        for bad in ["", "system:assign", "wang fang", "a/b", &"x".repeat(65)] {
            assert!(check_user_name(bad).is_err(), "{bad}");
        }
        assert_eq!(Actor::System("assign").to_string(), "system:assign");
        assert_eq!(Actor::Service("OPS".into()).to_string(), "service:OPS");
    }
}

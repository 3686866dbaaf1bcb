//! Credentials for HTTP upstreams. Config files name environment variables; the secrets
//! themselves are read once, when the connector is built, and never printed.

use std::fmt;

use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use crate::config::ConfigError;

/// How to authenticate to an upstream (the `[auth]` table).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// Environment variable holding the token, e.g. `HOTLINE_TOKEN`.
        token_env: String,
    },
    /// HTTP basic authentication.
    Basic {
        /// The user name (not a secret).
        username: String,
        /// Environment variable holding the password.
        password_env: String,
    },
    /// A custom header, e.g. `X-Api-Key`.
    Header {
        /// The header name.
        name: String,
        /// Environment variable holding the header value.
        value_env: String,
    },
}

/// Credentials read from the environment, ready to attach to requests.
#[derive(Clone)]
pub enum Auth {
    Bearer(String),
    Basic {
        username: String,
        password: String,
    },
    Header {
        name: HeaderName,
        value: HeaderValue,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets never reach a log line, even through `{:?}`.
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Auth::Header { name, .. } => write!(f, "Header({name}: <redacted>)"),
        }
    }
}

/// Looks up an environment variable; injected so tests never touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, for production use.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl AuthConfig {
    /// Reads the secret from the environment.
    pub fn resolve(&self, source: &str, env: EnvLookup<'_>) -> Result<Auth, ConfigError> {
        let secret = |var: &str| {
            env(var)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ConfigError::MissingEnv {
                    source_name: source.to_string(),
                    var: var.to_string(),
                })
        };
        match self {
            AuthConfig::Bearer { token_env } => Ok(Auth::Bearer(secret(token_env)?)),
            AuthConfig::Basic {
                username,
                password_env,
            } => Ok(Auth::Basic {
                username: username.clone(),
                password: secret(password_env)?,
            }),
            AuthConfig::Header { name, value_env } => {
                let invalid = |problem: String| ConfigError::Invalid {
                    source_name: source.to_string(),
                    field: "auth".into(),
                    problem,
                };
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| invalid(format!("`{name}` is not a valid header name")))?;
                let mut value = HeaderValue::from_str(&secret(value_env)?).map_err(|_| {
                    invalid(format!(
                        "the value of `{value_env}` is not a valid header value"
                    ))
                })?;
                value.set_sensitive(true);
                Ok(Auth::Header { name, value })
            }
        }
    }
}

impl Auth {
    /// Attaches the credentials to a request.
    pub fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic { username, password } => request.basic_auth(username, Some(password)),
            Auth::Header { name, value } => request.header(name.clone(), value.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_the_named_variable_and_are_redacted() {
        let env = |name: &str| (name == "HOTLINE_TOKEN").then(|| "s3cret".to_string());
        let auth = AuthConfig::Bearer {
            token_env: "HOTLINE_TOKEN".into(),
        }
        .resolve("hotline", &env)
        .unwrap();
        assert!(matches!(&auth, Auth::Bearer(t) if t == "s3cret"));
        assert!(!format!("{auth:?}").contains("s3cret"));

        let missing = AuthConfig::Basic {
            username: "gw".into(),
            password_env: "PETITION_PASSWORD".into(),
        }
        .resolve("petition", &env)
        .unwrap_err()
        .to_string();
        assert!(
            missing.contains("PETITION_PASSWORD") && missing.contains("petition"),
            "{missing}"
        );
    }
}

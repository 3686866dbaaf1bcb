//! Outbound HTTP shared by the HTTP-based connectors: one client per source, one fetch that
//! classifies every failure into a [`ConnectorError`] the runtime can act on.
//!
//! The fetch never retries and never sleeps. A `file://` URL is read from disk as if a server
//! had answered 200, so sample upstreams need no server. It reads the body in chunks so a body larger than
//! `max_body_bytes` is refused without being held in memory, and an answer cut short is
//! [`ConnectorError::Truncated`] (retryable), never a short page taken for the whole.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, ETAG, HeaderMap, LAST_MODIFIED, RETRY_AFTER};

use crate::connector::ConnectorError;

/// The User-Agent every connector sends, so upstream operators can tell who is calling.
pub const USER_AGENT: &str = concat!("complaint-gateway-connectors/", env!("CARGO_PKG_VERSION"));

/// Per-source HTTP settings, already converted from the config's units.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Whole-request timeout (connect, send, read the body).
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_body_bytes: u64,
    /// The configured encoding of the upstream's answers, replacing their charset label.
    pub charset: Option<String>,
}

/// Checks a source's `charset` setting: it must name an encoding the gateway reads.
pub fn charset_setting(
    source: &str,
    charset: Option<&str>,
) -> Result<Option<String>, crate::config::ConfigError> {
    let Some(label) = charset.map(str::trim) else {
        return Ok(None);
    };
    match crate::text::accepted_encoding(label) {
        Some(_) => Ok(Some(label.to_string())),
        None => Err(crate::config::ConfigError::invalid(
            source,
            "charset",
            format!(
                "`{label}` is not an encoding the gateway reads (utf-8, gb18030, gbk, gb2312, \
                 big5, utf-16le, utf-16be)"
            ),
        )),
    }
}

/// Builds a client with rustls (ring) and the settings' timeout.
pub fn build_client(settings: &HttpSettings) -> Result<reqwest::Client, ConnectorError> {
    // reqwest is built with `rustls-no-provider`: a process-wide provider must exist before a
    // client is built. Installing twice fails harmlessly, so the error is ignored.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .build()
        .map_err(|e| ConnectorError::Config(format!("cannot build the HTTP client: {e}")))
}

/// A successful (2xx or 304) answer.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The HTTP status (2xx or 304).
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
    /// The `Last-Modified` header, if any.
    pub last_modified: Option<String>,
    /// The complete body (empty for 304).
    pub body: Vec<u8>,
    /// The source's configured encoding, which wins over the `Content-Type` label.
    pub charset_override: Option<String>,
}

impl Fetched {
    /// The encoding label to read the body by: the source's configured `charset`, else the
    /// charset parameter of the `Content-Type`, if any.
    pub fn charset(&self) -> Option<&str> {
        self.charset_override.as_deref().or_else(|| {
            self.content_type
                .as_deref()
                .and_then(crate::text::charset_of_content_type)
        })
    }
}

/// Sends `request` (built for `url`) and reads the whole answer; `now` converts an HTTP-date
/// `Retry-After`.
pub async fn fetch(
    url: &reqwest::Url,
    request: reqwest::RequestBuilder,
    settings: &HttpSettings,
    now: DateTime<Utc>,
) -> Result<Fetched, ConnectorError> {
    // reqwest refuses `file://` when the request is built, hence the URL beside the request.
    if url.scheme() == "file" {
        return fetch_file(url, settings).await;
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| classify(e, settings.timeout))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    if status == 401 || status == 403 {
        return Err(ConnectorError::Auth { status });
    }
    if !(200..300).contains(&status) && status != 304 {
        return Err(ConnectorError::Status {
            status,
            retry_after: retry_after(&headers, now),
            detail: response
                .status()
                .canonical_reason()
                .unwrap_or_default()
                .to_string(),
        });
    }
    if let Some(length) = response.content_length()
        && length > settings.max_body_bytes
    {
        return Err(ConnectorError::TooLarge {
            max_bytes: settings.max_body_bytes,
        });
    }
    let mut body = Vec::new();
    if status != 304 {
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > settings.max_body_bytes {
                        return Err(ConnectorError::TooLarge {
                            max_bytes: settings.max_body_bytes,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(ConnectorError::Timeout(settings.timeout)),
                Err(e) => {
                    return Err(ConnectorError::Truncated(format!(
                        "after {} bytes: {}",
                        body.len(),
                        error_chain(&e.without_url())
                    )));
                }
            }
        }
    }
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    Ok(Fetched {
        status,
        content_type: header(CONTENT_TYPE),
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED),
        body,
        charset_override: settings.charset.clone(),
    })
}

/// Reads a `file://` URL as if a server had answered 200 with the file, so sample upstreams
/// (and offline demos) need no server. The query string is ignored.
async fn fetch_file(
    url: &reqwest::Url,
    settings: &HttpSettings,
) -> Result<Fetched, ConnectorError> {
    let path = url
        .to_file_path()
        .map_err(|()| ConnectorError::Config(format!("`{url}` is not a local file path")))?;
    let io = |e: std::io::Error| ConnectorError::Io(format!("{}: {e}", path.display()));
    let length = tokio::fs::metadata(&path).await.map_err(io)?.len();
    if length > settings.max_body_bytes {
        return Err(ConnectorError::TooLarge {
            max_bytes: settings.max_body_bytes,
        });
    }
    let body = tokio::fs::read(&path).await.map_err(io)?;
    let content_type = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Some("application/json"),
        Some("xml" | "rss" | "atom") => Some("application/xml"),
        _ => None,
    };
    Ok(Fetched {
        status: 200,
        content_type: content_type.map(str::to_string),
        etag: None,
        last_modified: None,
        body,
        charset_override: settings.charset.clone(),
    })
}

fn classify(error: reqwest::Error, timeout: Duration) -> ConnectorError {
    if error.is_timeout() {
        return ConnectorError::Timeout(timeout);
    }
    if error.is_builder() {
        return ConnectorError::Config(error_chain(&error.without_url()));
    }
    // The URL is left out: a query string may carry an API key.
    ConnectorError::Connect(error_chain(&error.without_url()))
}

/// The error and its causes, joined: reqwest's own message alone ("error sending request")
/// does not say what happened.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Reads `Retry-After` as delta-seconds or an HTTP-date (relative to `now`).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, now)
}

/// Parses a `Retry-After` value; a date in the past means "now" (zero).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    let delta = date.with_timezone(&Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_configured_charset_must_be_one_the_gateway_reads() {
        assert_eq!(charset_setting("s", None).unwrap(), None);
        for label in ["gb18030", "GBK", " big5 ", "utf-8", "UTF-16LE"] {
            assert!(
                charset_setting("s", Some(label)).unwrap().is_some(),
                "{label}"
            );
        }
        for label in ["windows-1252", "shift_jis", "klingon"] {
            let error = charset_setting("s", Some(label)).unwrap_err().to_string();
            assert!(
                error.contains("charset") && error.contains(label),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn file_urls_are_read_without_a_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.json");
        std::fs::write(&path, r#"{"data":[]}"#).unwrap();
        let settings = HttpSettings {
            timeout: Duration::from_secs(1),
            max_body_bytes: 1024,
            charset: None,
        };
        let client = build_client(&settings).unwrap();
        let url = reqwest::Url::from_file_path(&path).unwrap();
        let fetched = fetch(
            &url,
            client.get("http://unused.invalid/"),
            &settings,
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(
            (fetched.status, fetched.body.as_slice()),
            (200, &br#"{"data":[]}"#[..])
        );
        assert_eq!(fetched.content_type.as_deref(), Some("application/json"));

        let small = HttpSettings {
            max_body_bytes: 4,
            ..settings
        };
        let err = fetch(
            &url,
            client.get("http://unused.invalid/"),
            &small,
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(err, ConnectorError::TooLarge { max_bytes: 4 });
        let missing = reqwest::Url::from_file_path(dir.path().join("none.json")).unwrap();
        let err = fetch(
            &missing,
            client.get("http://unused.invalid/"),
            &small,
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, ConnectorError::Io(_)) && err.is_retryable(),
            "{err}"
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 01 May 2024 08:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 01 May 2024 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}

//! Webhook sender authentication.
//!
//! A request carries `X-Signature-Timestamp: <unix seconds>` and
//! `X-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{raw body}">` computed with the source's
//! secret. It is rejected when either header is missing or malformed, when the timestamp is more
//! than `max_skew` away from now, when no active secret produces the signature (two secrets may
//! be active during a rotation), and when the same (timestamp, signature) pair was already
//! accepted within the window (a replay). Comparison is constant-time.
//!
//! Everything but the HMAC and the replay check needs only the headers
//! ([`Verifier::check_headers`]), so the webhook refuses such requests before reading the body.
//!
//! The replay memory is per process and bounded by the window; a replay that reaches another
//! node or arrives after a restart is still harmless, because `(source, external_id)` is unique
//! in the store.

use std::collections::BTreeSet;
use std::sync::Mutex;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// Header carrying the signing time.
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";

/// Why a request is not authenticated. `Display` is what the sender sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing X-Signature header")]
    MissingSignature,
    #[error("missing X-Signature-Timestamp header")]
    MissingTimestamp,
    #[error("X-Signature-Timestamp must be unix seconds")]
    MalformedTimestamp,
    #[error("X-Signature must be `sha256=` followed by 64 hex digits")]
    MalformedSignature,
    #[error(
        "signature timestamp is {skew_secs} s away from the gateway's clock (at most {max_secs} s allowed)"
    )]
    Expired { skew_secs: i64, max_secs: u64 },
    #[error("signature does not match the body with any active secret of this source")]
    BadSignature,
    #[error("this (timestamp, signature) pair was already used; sign every request anew")]
    Replayed,
    #[error("no secret is configured for this source")]
    NoSecret,
}

impl AuthError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingSignature => "signature_missing",
            AuthError::MissingTimestamp => "timestamp_missing",
            AuthError::MalformedTimestamp => "timestamp_malformed",
            AuthError::MalformedSignature => "signature_malformed",
            AuthError::Expired { .. } => "signature_expired",
            AuthError::BadSignature => "signature_invalid",
            AuthError::Replayed => "signature_replayed",
            AuthError::NoSecret => "source_secret_missing",
        }
    }
}

/// Verifies one source's signatures.
pub struct Verifier {
    secrets: Vec<Vec<u8>>,
    max_skew_secs: u64,
    seen: Mutex<BTreeSet<(i64, [u8; 32])>>,
}

impl Verifier {
    /// A verifier accepting any of `secrets` (at most two during a rotation).
    pub fn new(secrets: Vec<Vec<u8>>, max_skew_secs: u64) -> Verifier {
        Verifier {
            secrets,
            max_skew_secs,
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// Whether any secret is configured.
    pub fn has_secret(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// What the headers alone can refuse, checked before the body is read: no secret
    /// configured, a header missing or malformed, a timestamp outside the window. Returns the
    /// timestamp and the signature's tag.
    pub fn check_headers(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        now_secs: i64,
    ) -> Result<(i64, [u8; 32]), AuthError> {
        if self.secrets.is_empty() {
            return Err(AuthError::NoSecret);
        }
        let timestamp = timestamp.ok_or(AuthError::MissingTimestamp)?.trim();
        let signature = signature.ok_or(AuthError::MissingSignature)?.trim();
        let ts: i64 = timestamp
            .parse()
            .map_err(|_| AuthError::MalformedTimestamp)?;
        let tag = parse_signature(signature)?;
        let skew = now_secs - ts;
        if skew.unsigned_abs() > self.max_skew_secs {
            return Err(AuthError::Expired {
                skew_secs: skew,
                max_secs: self.max_skew_secs,
            });
        }
        Ok((ts, tag))
    }

    /// Checks the headers against `body` at time `now_secs`: [`Verifier::check_headers`], then
    /// the HMAC and the replay memory.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<(), AuthError> {
        let (ts, tag) = self.check_headers(timestamp, signature, now_secs)?;
        // Signed as sent (trimmed), which `check_headers` found present.
        let timestamp = timestamp.unwrap_or_default().trim();
        let valid = self.secrets.iter().any(|secret| {
            let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.verify_slice(&tag).is_ok()
        });
        if !valid {
            return Err(AuthError::BadSignature);
        }
        let mut seen = self.seen.lock().expect("replay set lock");
        let horizon = now_secs - self.max_skew_secs as i64;
        while seen.first().is_some_and(|(t, _)| *t < horizon) {
            seen.pop_first();
        }
        if !seen.insert((ts, tag)) {
            return Err(AuthError::Replayed);
        }
        Ok(())
    }
}

fn parse_signature(header: &str) -> Result<[u8; 32], AuthError> {
    let hex_part = header
        .strip_prefix("sha256=")
        .ok_or(AuthError::MalformedSignature)?;
    let mut tag = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut tag).map_err(|_| AuthError::MalformedSignature)?;
    Ok(tag)
}

/// The `X-Signature` value for `body` signed at `timestamp` with `secret`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn verifier() -> Verifier {
        Verifier::new(vec![b"old-secret".to_vec(), b"new-secret".to_vec()], 300)
    }

    fn check(v: &Verifier, ts: i64, sig: &str, body: &[u8]) -> Result<(), AuthError> {
        v.verify(Some(&ts.to_string()), Some(sig), body, NOW)
    }

    #[test]
    fn accepts_either_active_secret_once() {
        let v = verifier();
        let body = br#"{"external_id":"1","body":"x"}"#;
        assert_eq!(
            check(&v, NOW, &sign(b"old-secret", NOW, body), body),
            Ok(())
        );
        assert_eq!(
            check(&v, NOW - 1, &sign(b"new-secret", NOW - 1, body), body),
            Ok(())
        );
        assert_eq!(
            check(&v, NOW, &sign(b"old-secret", NOW, body), body),
            Err(AuthError::Replayed)
        );
    }

    #[test]
    fn rejects_wrong_secret_body_and_time() {
        let v = verifier();
        let body = b"{}";
        assert_eq!(
            check(&v, NOW, &sign(b"other", NOW, body), body),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            check(&v, NOW, &sign(b"old-secret", NOW, body), b"{ }"),
            Err(AuthError::BadSignature)
        );
        // Signed for another timestamp than the header says.
        assert_eq!(
            check(&v, NOW, &sign(b"old-secret", NOW - 5, body), body),
            Err(AuthError::BadSignature)
        );
        let late = NOW - 301;
        assert!(matches!(
            check(&v, late, &sign(b"old-secret", late, body), body),
            Err(AuthError::Expired { skew_secs: 301, .. })
        ));
        let early = NOW + 301;
        assert!(matches!(
            check(&v, early, &sign(b"old-secret", early, body), body),
            Err(AuthError::Expired { .. })
        ));
    }

    #[test]
    fn malformed_and_missing_headers() {
        let v = verifier();
        assert_eq!(
            v.verify(None, Some("sha256=00"), b"", NOW),
            Err(AuthError::MissingTimestamp)
        );
        assert_eq!(
            v.verify(Some("1"), None, b"", NOW),
            Err(AuthError::MissingSignature)
        );
        assert_eq!(
            v.verify(Some("soon"), Some("x"), b"", NOW),
            Err(AuthError::MalformedTimestamp)
        );
        assert_eq!(
            v.verify(Some("1"), Some("md5=abc"), b"", NOW),
            Err(AuthError::MalformedSignature)
        );
        assert_eq!(
            v.verify(Some("1"), Some("sha256=zz"), b"", NOW),
            Err(AuthError::MalformedSignature)
        );
        let none = Verifier::new(Vec::new(), 300);
        assert_eq!(
            none.verify(Some("1"), Some("x"), b"", NOW),
            Err(AuthError::NoSecret)
        );
    }

    #[test]
    fn replay_memory_forgets_outside_the_window() {
        let v = verifier();
        let body = b"{}";
        let sig = sign(b"old-secret", NOW, body);
        assert_eq!(
            v.verify(Some(&NOW.to_string()), Some(&sig), body, NOW),
            Ok(())
        );
        // Much later the old pair is outside the window: rejected as expired, and the memory
        // no longer holds it.
        let later = NOW + 1000;
        assert!(matches!(
            v.verify(Some(&NOW.to_string()), Some(&sig), body, later),
            Err(AuthError::Expired { .. })
        ));
        let fresh = sign(b"old-secret", later, body);
        assert_eq!(
            v.verify(Some(&later.to_string()), Some(&fresh), body, later),
            Ok(())
        );
        assert_eq!(v.seen.lock().unwrap().len(), 1);
    }
}

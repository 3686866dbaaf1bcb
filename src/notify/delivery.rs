//! The delivery worker: claims due outbox messages with a lease, sends each pending recipient
//! its own SMTP transaction (lettre; STARTTLS, implicit TLS or plain; credentials from the
//! environment variables `[email]` names), records a status per recipient, and retries the
//! rest with exponential backoff.
//!
//! Contract — a restart loses nothing and sends nothing twice:
//! - a message is claimed by setting a lease (an owner and an expiry); another worker
//!   takes it over only after the lease has run out (the first one crashed);
//! - the lease is renewed before every recipient and a worker that lost it stops at once;
//! - a recipient is marked `sent` right after the server accepted it, and never sent again;
//! - the Message-ID is fixed at enqueue time, so the one remaining window (a crash between the
//!   server's acceptance and the status update) resends the same Message-ID, which receiving
//!   systems discard as a duplicate.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::NotifyError;
use super::config::{EmailConfig, SmtpSecurity};
use crate::store::Store;
use crate::store::outbox::{ClaimedNotification, DeliveryState, Settlement};

/// An SMTP client built from `[email]`.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Builds the transport; reads the credentials from the environment.
    pub fn from_config(email: &EmailConfig) -> Result<Mailer, NotifyError> {
        // rustls needs a process-wide crypto provider (ring here, never aws-lc).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let from: Mailbox = email.from.parse().map_err(|e| {
            NotifyError::Invalid(format!(
                "email.from `{}` is not an address: {e}",
                email.from
            ))
        })?;
        let plain = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&email.smtp_host);
        let builder = match email.security {
            SmtpSecurity::Plain => plain,
            SmtpSecurity::Tls => plain.tls(Tls::Wrapper(tls_parameters(email)?)),
            SmtpSecurity::Starttls => plain.tls(Tls::Required(tls_parameters(email)?)),
        };
        let mut builder = builder
            .port(email.smtp_port)
            .timeout(Some(Duration::from_secs(email.timeout_secs)));
        let user = std::env::var(&email.username_env)
            .ok()
            .filter(|v| !v.is_empty());
        if let Some(user) = user {
            let password = std::env::var(&email.password_env).unwrap_or_default();
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }
}

/// TLS settings for `email.smtp_host`: the public roots, plus those of `email.ca_file`.
fn tls_parameters(email: &EmailConfig) -> Result<TlsParameters, NotifyError> {
    let mut builder = TlsParameters::builder(email.smtp_host.clone());
    if let Some(path) = &email.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| NotifyError::Invalid(format!("email.ca_file {}: {e}", path.display())))?;
        let certificates = pem_certificates(&pem);
        if certificates.is_empty() {
            return Err(NotifyError::Invalid(format!(
                "email.ca_file {} holds no PEM certificate",
                path.display()
            )));
        }
        for block in certificates {
            let certificate = Certificate::from_pem(block).map_err(|e| {
                NotifyError::Invalid(format!("email.ca_file {}: {e}", path.display()))
            })?;
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build_rustls()
        .map_err(|e| NotifyError::Invalid(format!("email TLS settings: {e}")))
}

/// The `CERTIFICATE` blocks of a PEM file (a bundle may hold several).
fn pem_certificates(pem: &[u8]) -> Vec<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = find(rest, BEGIN) {
        let Some(len) = find(&rest[start..], END) else {
            break;
        };
        let end = start + len + END.len();
        blocks.push(&rest[start..end]);
        rest = &rest[end..];
    }
    blocks
}

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub messages: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Claims up to `limit` due messages for `owner` until `now + lease_secs`.
async fn claim(
    store: &Store,
    owner: &str,
    now: DateTime<Utc>,
    lease_secs: u64,
    limit: u32,
) -> Result<Vec<ClaimedNotification>, NotifyError> {
    let lease_until = now + chrono::Duration::seconds(lease_secs as i64);
    Ok(store
        .claim_notifications(owner, now, lease_until, limit)
        .await?)
}

/// Claims due messages for `owner` without sending them (what a worker that crashes right after
/// claiming leaves behind; tests use it to show the lease hands them over).
pub async fn claim_only(
    store: &Store,
    email: &EmailConfig,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<usize, NotifyError> {
    Ok(claim(store, owner, now, email.lease_secs, 100).await?.len())
}

/// Delivers every due message once, as worker `owner`, at `now`.
pub async fn deliver_due(
    store: &Store,
    email: &EmailConfig,
    mailer: &Mailer,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, NotifyError> {
    let mut report = DeliveryReport::default();
    let claimed = claim(store, owner, now, email.lease_secs, 100).await?;
    for message in claimed {
        report.messages += 1;
        deliver_one(store, email, mailer, owner, now, &message, &mut report).await?;
    }
    Ok(report)
}

async fn deliver_one(
    store: &Store,
    email: &EmailConfig,
    mailer: &Mailer,
    owner: &str,
    now: DateTime<Utc>,
    message: &ClaimedNotification,
    report: &mut DeliveryReport,
) -> Result<(), NotifyError> {
    let pending = store.pending_recipients(&message.id).await?;
    let mut last_error = None;
    for recipient in &pending {
        let address = &recipient.address;
        let attempts = recipient.attempts + 1;
        // Renew the lease; a worker that lost it (it stalled past the lease) stops here.
        let lease_until = Utc::now().max(now) + chrono::Duration::seconds(email.lease_secs as i64);
        if !store.renew_lease(&message.id, owner, lease_until).await? {
            tracing::warn!(outbox_id = %message.id, "outbox lease lost; another worker continues");
            return Ok(());
        }
        let outcome = send(mailer, address, &recipient.message_id, message).await;
        match outcome {
            Ok(()) => {
                store
                    .record_sent(&message.id, address, attempts, Utc::now())
                    .await?;
                report.sent += 1;
                metrics::counter!("gateway_emails_sent_total").increment(1);
            }
            Err((error, permanent)) => {
                let give_up = permanent || attempts >= i64::from(email.max_attempts);
                let logged = redact_addresses(&error);
                tracing::warn!(outbox_id = %message.id, attempts, permanent, error = %logged, "email delivery failed");
                store
                    .record_failure(&message.id, address, attempts, &error, give_up)
                    .await?;
                if give_up {
                    report.failed += 1;
                } else {
                    report.retried += 1;
                }
                last_error = Some(error);
            }
        }
    }
    finish(store, email, now, message, last_error).await
}

/// Settles the message: `sent` when every recipient is sent, `failed` when none is pending but
/// some failed, else pending again after the backoff, lease released.
async fn finish(
    store: &Store,
    email: &EmailConfig,
    now: DateTime<Utc>,
    message: &ClaimedNotification,
    last_error: Option<String>,
) -> Result<(), NotifyError> {
    let states = store.recipient_states(&message.id).await?;
    let attempts = message.attempts + 1;
    let state = if states.iter().any(|s| s == DeliveryState::Pending.as_str()) {
        DeliveryState::Pending
    } else if states.iter().any(|s| s == DeliveryState::Failed.as_str()) {
        DeliveryState::Failed
    } else {
        DeliveryState::Sent
    };
    let settlement = Settlement {
        state,
        attempts,
        next_attempt_at: now + chrono::Duration::milliseconds(backoff_ms(email, attempts)),
        last_error,
        now,
    };
    store.settle_notification(&message.id, &settlement).await?;
    Ok(())
}

/// The pause before attempt `attempts + 1`: `retry_initial_secs` doubling per attempt, capped.
pub fn backoff_ms(email: &EmailConfig, attempts: i64) -> i64 {
    let exponent = (attempts - 1).clamp(0, 20) as u32;
    let secs = email
        .retry_initial_secs
        .saturating_mul(1u64 << exponent)
        .min(email.retry_max_secs);
    secs as i64 * 1000
}

/// Sends one recipient its copy. The error says whether retrying can help.
async fn send(
    mailer: &Mailer,
    address: &str,
    message_id: &str,
    message: &ClaimedNotification,
) -> Result<(), (String, bool)> {
    let to: Mailbox = address
        .parse()
        .map_err(|e| (format!("invalid recipient address: {e}"), true))?;
    let email = Message::builder()
        .from(mailer.from.clone())
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(message_id.to_string()))
        .header(ContentType::TEXT_PLAIN)
        .body(message.body.clone())
        .map_err(|e| (format!("cannot build the message: {e}"), true))?;
    match mailer.transport.send(email).await {
        Ok(_) => Ok(()),
        Err(error) => Err((error.to_string(), error.is_permanent())),
    }
}

/// An SMTP error with every email address replaced: servers often echo the recipient, and
/// logs never carry personal data.
pub fn redact_addresses(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            if word.contains('@') {
                "<address>"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_errors_carry_no_address() {
        let error = "permanent error (550): <liu.min@example.com>: Recipient address rejected";
        let logged = redact_addresses(error);
        assert!(!logged.contains("example.com"), "{logged}");
        assert!(logged.contains("Recipient address rejected"));
    }

    #[test]
    fn a_pem_bundle_splits_into_its_certificates() {
        let bundle = b"junk\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\
            -----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\ntrailing";
        let blocks = pem_certificates(bundle);
        assert_eq!(blocks.len(), 2);
        assert!(blocks[1].starts_with(b"-----BEGIN") && blocks[1].ends_with(b"CERTIFICATE-----"));
        assert!(String::from_utf8_lossy(blocks[0]).contains("AAA"));
        assert!(pem_certificates(b"no certificate").is_empty());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let email = EmailConfig {
            retry_initial_secs: 30,
            retry_max_secs: 100,
            ..EmailConfig::default()
        };
        assert_eq!(backoff_ms(&email, 1), 30_000);
        assert_eq!(backoff_ms(&email, 2), 60_000);
        assert_eq!(backoff_ms(&email, 3), 100_000);
        assert_eq!(backoff_ms(&email, 40), 100_000);
    }
}

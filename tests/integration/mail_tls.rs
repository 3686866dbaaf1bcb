//! Email over TLS to a real SMTP server (python3-aiosmtpd) presenting a certificate of the
//! test's own certificate authority: STARTTLS (required by the server before `MAIL`) and
//! implicit TLS, trusted through `email.ca_file`; and the same server refused when its
//! authority is not trusted, with the message kept for a retry.

use complaint_gateway::notify::delivery::{Mailer, deliver_due};
use complaint_gateway::notify::outbox::OutboxFilter;

use super::mail_server::{MailServer, Security, TestCa};
use super::notify_support::*;

fn section(server: &MailServer, security: &str, ca: Option<&TestCa>) -> String {
    let ca_line = ca.map_or(String::new(), |ca| {
        format!("ca_file = \"{}\"\n", ca.ca_file.display())
    });
    server.email_section(true).replace(
        "security = \"plain\"",
        &format!("security = \"{security}\"\n{ca_line}"),
    )
}

async fn deliver_one(server: &MailServer, security: &str, ca: Option<&TestCa>) -> NotifyEnv {
    let env = NotifyEnv::new(&section(server, security, ca)).await;
    let mut a = assignment("case-tls", "high", "2026-03-02T09:00:00+08:00");
    a.members = vec!["jiancha.wang@test.example.gov.cn".into()];
    a.informed.clear();
    assign(&env, &a).await;
    env
}

#[tokio::test]
async fn starttls_and_implicit_tls_deliver_to_a_server_of_the_configured_authority() {
    let certs = tempfile::tempdir().unwrap();
    let ca = TestCa::new(certs.path());
    for (security, name) in [(Security::Starttls, "starttls"), (Security::Tls, "tls")] {
        let server = MailServer::start_secured(0, security, Some(&ca)).await;
        let env = deliver_one(&server, name, Some(&ca)).await;
        let mailer = Mailer::from_config(&env.cfg.email).unwrap();
        let now = utc("2026-03-02T09:00:01+08:00");
        let report = deliver_due(&env.store, &env.cfg.email, &mailer, "w1", now)
            .await
            .unwrap();
        assert_eq!(report.sent, 1, "{name}: {report:?}");
        let received = server.received();
        assert_eq!(received.len(), 1, "{name}");
        assert!(received[0].tls, "{name}: the message came over TLS");
        assert!(received[0].header("subject").starts_with("【交办通知】"));
        assert_eq!(
            received[0].envelope_to,
            ["jiancha.wang@test.example.gov.cn"]
        );
    }
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_and_the_message_waits_for_a_retry() {
    let certs = tempfile::tempdir().unwrap();
    let ca = TestCa::new(certs.path());
    let server = MailServer::start_secured(0, Security::Starttls, Some(&ca)).await;
    // No `ca_file`: the test authority is not among the public roots.
    let env = deliver_one(&server, "starttls", None).await;
    let mailer = Mailer::from_config(&env.cfg.email).unwrap();
    let now = utc("2026-03-02T09:00:01+08:00");
    let report = deliver_due(&env.store, &env.cfg.email, &mailer, "w1", now)
        .await
        .unwrap();
    assert_eq!((report.sent, report.retried), (0, 1), "{report:?}");
    assert!(server.received().is_empty());
    let pending = env
        .store
        .notifications(&OutboxFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pending[0].state, "pending");
    let error = pending[0].recipients[0].last_error.as_deref().unwrap();
    assert!(error.to_lowercase().contains("certificate"), "{error}");
}

#[tokio::test]
async fn a_missing_or_empty_ca_file_is_a_clear_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate").unwrap();
    for (path, expected) in [
        (dir.path().join("missing.pem"), "email.ca_file"),
        (empty, "holds no PEM certificate"),
    ] {
        let text = format!(
            "data_dir = \"{}\"\n[api]\ntoken_envs = []\n[email]\nenabled = true\nsecurity = \"tls\"\nca_file = \"{}\"\n",
            dir.path().join("data").display(),
            path.display()
        );
        let cfg = complaint_gateway::config::Config::from_toml(&text, "test").unwrap();
        let error = Mailer::from_config(&cfg.email).err().unwrap().to_string();
        assert!(error.contains(expected), "{error}");
    }
}

//! A real SMTP server for the mail tests: Debian's python3-aiosmtpd running
//! `tests/fixtures/smtp_server.py`, on a free loopback port, storing every message it accepts
//! as JSON in a temporary directory. A test that cannot start it fails (CI installs the
//! package in `.ci/run`); it never skips.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Debian's interpreter: the `python3` first on PATH may be another build without
/// Debian's modules.
const DEBIAN_PYTHON: &str = "/usr/bin/python3";

pub struct MailServer {
    pub port: u16,
    dir: tempfile::TempDir,
    _child: Child,
}

/// How the test server secures its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Plain,
    /// STARTTLS offered, and required before `MAIL`.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// A certificate authority of the test and the server certificate it signed for 127.0.0.1,
/// as PEM files in `dir`.
pub struct TestCa {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl TestCa {
    pub fn new(dir: &std::path::Path) -> TestCa {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "complaint-gateway test CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let server_params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let server_key = rcgen::KeyPair::generate().unwrap();
        let server = server_params.signed_by(&server_key, &issuer).unwrap();
        let files = TestCa {
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join("server.pem"),
            key_file: dir.join("server-key.pem"),
        };
        std::fs::write(&files.ca_file, ca.pem()).unwrap();
        std::fs::write(&files.cert_file, server.pem()).unwrap();
        std::fs::write(&files.key_file, server_key.serialize_pem()).unwrap();
        files
    }
}

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub envelope_to: Vec<String>,
    pub headers: serde_json::Map<String, Value>,
    pub content_type: String,
    pub charset: Option<String>,
    pub body: String,
    pub raw: String,
    /// The message came over a TLS connection.
    pub tls: bool,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no header {name} in {:?}", self.headers))
    }
}

impl MailServer {
    /// Starts a plain server that answers `451` to the first `refuse_first_rcpt` recipients.
    pub async fn start(refuse_first_rcpt: u32) -> MailServer {
        Self::start_secured(refuse_first_rcpt, Security::Plain, None).await
    }

    /// Starts a server with the given security, presenting `ca`'s server certificate.
    pub async fn start_secured(
        refuse_first_rcpt: u32,
        security: Security,
        ca: Option<&TestCa>,
    ) -> MailServer {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let dir = tempfile::tempdir().unwrap();
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp_server.py");
        let mut child = Command::new(DEBIAN_PYTHON)
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path())
            .arg(refuse_first_rcpt.to_string())
            .args(match (security, ca) {
                (Security::Plain, _) => Vec::new(),
                (Security::Starttls, Some(ca)) => vec![
                    "starttls".into(),
                    ca.cert_file.clone().into_os_string(),
                    ca.key_file.clone().into_os_string(),
                ],
                (Security::Tls, Some(ca)) => vec![
                    "tls".into(),
                    ca.cert_file.clone().into_os_string(),
                    ca.key_file.clone().into_os_string(),
                ],
                (_, None) => panic!("a TLS server needs a certificate"),
            })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {DEBIAN_PYTHON}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        if !matches!(ready, Ok(Ok(Some(ref line))) if line == "ready") {
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), err.read_to_string(&mut stderr))
                        .await;
            }
            panic!(
                "the SMTP test server did not start (install Debian's python3-aiosmtpd: \
                 apt-get install -y python3-aiosmtpd): {ready:?} {stderr}"
            );
        }
        MailServer {
            port,
            dir,
            _child: child,
        }
    }

    /// Every message accepted so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
                Received {
                    envelope_to: v["envelope_to"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_str().unwrap().to_string())
                        .collect(),
                    headers: v["headers"].as_object().unwrap().clone(),
                    content_type: v["content_type"].as_str().unwrap().to_string(),
                    charset: v["charset"].as_str().map(str::to_string),
                    body: v["body"].as_str().unwrap().to_string(),
                    raw: v["raw"].as_str().unwrap().to_string(),
                    tls: v["tls"].as_bool().unwrap(),
                }
            })
            .collect()
    }

    /// The `[email]` section that sends here in plain SMTP, retrying after one second.
    pub fn email_section(&self, enabled: bool) -> String {
        format!(
            r#"
[email]
enabled = {enabled}
smtp_host = "127.0.0.1"
smtp_port = {port}
security = "plain"
username_env = "COMPLAINT_GATEWAY_TEST_SMTP_USER_UNSET"
from = "效能投诉中心 <noreply@test.example.gov.cn>"
message_id_domain = "test.example.gov.cn"
console_url = "https://console.test.example.gov.cn/"
poll_interval_secs = 1
retry_initial_secs = 60
retry_max_secs = 600
max_attempts = 3
lease_secs = 120
timeout_secs = 10
"#,
            port = self.port
        )
    }
}

//! Test support: a scripted HTTP/1.1 server on `127.0.0.1:0`.
//!
//! Written by hand rather than with a mock framework because the tests need answers a
//! well-behaved server never gives: a body shorter than its `Content-Length`, a stall, a wrong
//! charset label. Each connection serves one request and is closed.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Path and query, e.g. `/api/orders?page=2`.
    pub target: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    /// A query parameter, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(&format!("http://test{}", self.target)).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// A header value by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

/// What the server does with a request.
pub enum Reply {
    /// Write these bytes (a full HTTP response, possibly malformed on purpose) and close.
    Bytes(Vec<u8>),
    /// Accept the request and never answer.
    Stall,
}

impl Reply {
    /// A complete response with a correct `Content-Length`.
    pub fn with(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Reply {
        let body = body.into();
        let length = body.len();
        Reply::announcing(status, headers, body, length)
    }

    /// A JSON response in UTF-8.
    pub fn json(body: &str) -> Reply {
        Reply::with(
            200,
            &[("content-type", "application/json; charset=utf-8")],
            body,
        )
    }

    /// A response whose `Content-Length` announces `announced` bytes whatever the body holds.
    pub fn announcing(
        status: u16,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        announced: usize,
    ) -> Reply {
        let mut head =
            format!("HTTP/1.1 {status} X\r\ncontent-length: {announced}\r\nconnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&body);
        Reply::Bytes(bytes)
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A running test server; it stops with the test's runtime.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl TestServer {
    /// Starts a server answering every request with `handler`.
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    log.lock().unwrap().push(request.clone());
                    match handler(&request) {
                        Reply::Bytes(bytes) => {
                            let _ = socket.write_all(&bytes).await;
                            let _ = socket.shutdown().await;
                        }
                        Reply::Stall => {
                            std::future::pending::<()>().await;
                        }
                    }
                });
            }
        });
        TestServer { base, requests }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buffer);
    let mut lines = head.split("\r\n");
    let target = lines.next()?.split(' ').nth(1)?.to_string();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Recorded { target, headers })
}

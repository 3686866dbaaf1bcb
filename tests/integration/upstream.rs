//! A scripted upstream for the pull-source tests: raw HTTP/1.1 on `127.0.0.1:0`, one request per
//! connection, so a test can answer what a well-behaved server never would (a body shorter than
//! its `Content-Length`, a stall, a wrong charset) and hold an answer until the test releases it.
//! Every request is recorded with the time it arrived.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST` …
    pub method: String,
    /// Path and query, e.g. `/orders?page=2`.
    pub target: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// When it arrived.
    pub at: Instant,
    /// The body (as long as its `Content-Length`).
    pub body: Vec<u8>,
}

impl Request {
    /// A query parameter, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(&format!("http://upstream{}", self.target)).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// A header by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the upstream does with a request.
pub enum Reply {
    /// Write these bytes (a whole response, malformed on purpose or not) and close.
    Raw(Vec<u8>),
    /// Accept the request and never answer.
    Stall,
    /// Wait for a permit of `gate`, then reply.
    Held(Arc<Semaphore>, Box<Reply>),
}

impl Reply {
    /// A response whose `Content-Length` announces `announced` bytes whatever the body holds.
    pub fn announcing(
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
        announced: usize,
    ) -> Reply {
        let mut head =
            format!("HTTP/1.1 {status} X\r\ncontent-length: {announced}\r\nconnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        Reply::Raw(bytes)
    }

    /// A complete response.
    pub fn with(status: u16, headers: &[(&str, &str)], body: impl AsRef<[u8]>) -> Reply {
        let body = body.as_ref();
        Reply::announcing(status, headers, body, body.len())
    }

    /// A UTF-8 JSON answer.
    pub fn json(body: &str) -> Reply {
        Reply::with(
            200,
            &[("content-type", "application/json; charset=utf-8")],
            body,
        )
    }

    /// An error status with an empty body.
    pub fn status(status: u16) -> Reply {
        Reply::with(status, &[], "")
    }

    /// A body cut off after half of what `Content-Length` announced.
    pub fn truncated(content_type: &str, body: &[u8]) -> Reply {
        Reply::announcing(
            200,
            &[("content-type", content_type)],
            &body[..body.len() / 2],
            body.len(),
        )
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A running upstream; it stops with the test's runtime.
pub struct Upstream {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    requests: Arc<Mutex<Vec<Request>>>,
    /// Set once a held reply was written out completely.
    pub released_written: Arc<AtomicBool>,
}

impl Upstream {
    /// Starts an upstream answering every request with `handler`.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let released_written = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (log, written) = (requests.clone(), released_written.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (handler, log, written) = (handler.clone(), log.clone(), written.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    log.lock().unwrap().push(request.clone());
                    let mut reply = handler(&request);
                    let mut held = false;
                    loop {
                        match reply {
                            Reply::Raw(bytes) => {
                                let _ = socket.write_all(&bytes).await;
                                let _ = socket.shutdown().await;
                                if held {
                                    written.store(true, Ordering::SeqCst);
                                }
                                return;
                            }
                            Reply::Stall => {
                                // Keep the connection open until the client gives up.
                                let mut sink = [0u8; 64];
                                while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                                return;
                            }
                            Reply::Held(gate, then) => {
                                let _permit = gate.acquire().await;
                                held = true;
                                reply = *then;
                            }
                        }
                    }
                });
            }
        });
        Upstream {
            base,
            requests,
            released_written,
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The values of query parameter `name` of every request, in order (`-` when absent).
    pub fn query_log(&self, name: &str) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.query(name).unwrap_or_else(|| "-".into()))
            .collect()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let at = Instant::now();
    let end = buffer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buffer[..end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        method,
        target,
        headers,
        at,
        body,
    })
}

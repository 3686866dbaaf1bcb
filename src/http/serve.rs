//! The accept loop: HTTP/1.1 connections served with the edge's limits.
//!
//! - At most `max_connections` at once (a semaphore permit per connection). Over the cap a
//!   connection gets a fixed 503 `too_many_connections` answer in the error shape with
//!   `Connection: close` and is closed; at most [`MAX_REFUSING`] such answers are written at a
//!   time, past that the socket is dropped unanswered.
//! - hyper's header-read timer: the headers of a request must arrive within
//!   `header_read_timeout_secs`. hyper starts that timer whenever it waits for a request head,
//!   so it also ends a kept-alive connection that sends nothing more.
//! - [`IdleIo`]: a connection on which no byte moves either way for `idle_timeout_secs` is
//!   closed (a client that stops reading its answer). Longer than the request timeout, so a
//!   request in progress ends with its 408 first.
//! - Every request carries `ConnectInfo<SocketAddr>`, the client address.
//! - A connection ends with [`linger`]: FIN after the last answer, then the rest of what the
//!   client sends is dropped for a moment, so a refused request's answer is not lost to a reset.
//! - On `stop`, no connection is accepted any more, every open one is told to finish its
//!   request in flight and close, and [`serve`] returns when the last one has closed.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::HttpConfig;

/// Most over-the-cap connections answered at once.
pub const MAX_REFUSING: usize = 64;

/// How long an over-the-cap connection is given to take its 503.
const REFUSAL_BUDGET: Duration = Duration::from_secs(1);

/// Longest wait, after a connection's last answer, for the client to stop sending and close.
pub const LINGER: Duration = Duration::from_secs(2);

/// The answer over the connection cap.
const TOO_MANY_CONNECTIONS: &str = r#"{"error":{"code":"too_many_connections","message":"the gateway serves as many connections as it may; retry shortly"}}"#;

/// Serves `router` on `listener` until `stop` is cancelled and every connection has closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: &HttpConfig,
    stop: CancellationToken,
) -> io::Result<()> {
    let max = config.max_connections.clamp(1, Semaphore::MAX_PERMITS) as u32;
    let connections = Arc::new(Semaphore::new(max as usize));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout())
        .keep_alive(true);
    let idle = config.idle_timeout();
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    if accept_error_is_fatal(&error) {
                        // Out of descriptors and the like: pause rather than spin.
                        tracing::warn!(%error, "cannot accept a connection; pausing");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = stop.cancelled() => break,
                        }
                    }
                    continue;
                }
            },
            _ = stop.cancelled() => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            crate::telemetry::connection_refused();
            if let Ok(slot) = refusing.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(REFUSAL_BUDGET, refuse(stream)).await;
                    drop(slot);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            // Boxed so the connection is `Unpin` and can hand its socket back for `linger`.
            Box::pin(router.clone().oneshot(request.map(axum::body::Body::new)))
        });
        let mut connection =
            http.serve_connection(TokioIo::new(IdleIo::new(stream, idle)), service);
        let stop = stop.clone();
        tokio::spawn(async move {
            let cancelled = stop.cancelled();
            tokio::pin!(cancelled);
            let mut stopping = false;
            let result = std::future::poll_fn(|cx| {
                if !stopping && cancelled.as_mut().poll(cx).is_ready() {
                    stopping = true;
                    Pin::new(&mut connection).graceful_shutdown();
                }
                connection.poll_without_shutdown(cx)
            })
            .await;
            match result {
                Ok(()) => linger(connection.into_parts().io.into_inner()).await,
                // Timeouts, resets and malformed requests: the client's doing, not ours.
                Err(error) => tracing::debug!(%error, "connection ended with an error"),
            }
            drop(permit);
        });
    }
    // Every permit back means every connection closed.
    let _ = connections.acquire_many(max).await;
    Ok(())
}

/// Closes a served connection: the answer is flushed, FIN is sent, and what the client still
/// sends (the rest of a body refused before it was read) is read and dropped until it closes or
/// for at most [`LINGER`]. Closing with unread data would reset the connection, and a reset can
/// destroy the answer before the client has read it.
async fn linger<T: AsyncRead + AsyncWrite + Unpin>(mut io: T) {
    if io.shutdown().await.is_err() {
        return;
    }
    let mut scratch = [0u8; 8192];
    let _ = tokio::time::timeout(LINGER, async {
        while matches!(io.read(&mut scratch).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Errors of `accept` that are about the gateway (descriptors, memory), not one client.
fn accept_error_is_fatal(error: &io::Error) -> bool {
    !matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Answers 503 `too_many_connections` and closes. What the client already sent is read and
/// dropped first (closing with unread data would reset the connection and lose the answer).
async fn refuse(mut stream: TcpStream) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{}",
        TOO_MANY_CONNECTIONS.len(),
        TOO_MANY_CONNECTIONS
    );
    let mut scratch = [0u8; 4096];
    // Whatever has arrived by now (usually the request head); not waiting for more.
    let _ = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut scratch)).await;
    if stream.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    // Drain until the client closes or the refusal budget ends.
    while matches!(stream.read(&mut scratch).await, Ok(n) if n > 0) {}
}

/// A socket closed when no byte moves in either direction for `idle`: reads and writes that
/// wait past it fail with `TimedOut`.
pub struct IdleIo<T> {
    inner: T,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
}

impl<T> IdleIo<T> {
    pub fn new(inner: T, idle: Duration) -> IdleIo<T> {
        IdleIo {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn progressed(&mut self) {
        self.timer.as_mut().reset(Instant::now() + self.idle);
    }

    /// After the inner IO returned `Pending`: whether the idle time has run out (the timer is
    /// registered with `cx` otherwise).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.timer.as_mut().poll(cx).is_ready()
    }

    /// A write's result: progress restarts the idle timer; waiting past it is an error.
    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.progressed();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            other => other,
        }
    }
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle too long")
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.progressed();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(idle_error())),
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, data);
        this.after_write(cx, written)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(idle_error())),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_silent_peer_times_out_and_traffic_keeps_it_open() {
        let (client, server) = tokio::io::duplex(64);
        let mut io = IdleIo::new(server, Duration::from_millis(150));
        let (mut client_read, mut client_write) = tokio::io::split(client);
        let mut buf = [0u8; 8];
        // Bytes every 50 ms keep it open past the idle time.
        for _ in 0..5 {
            client_write.write_all(b"x").await.unwrap();
            assert_eq!(io.read(&mut buf).await.unwrap(), 1);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        io.write_all(b"ok").await.unwrap();
        assert_eq!(client_read.read(&mut buf).await.unwrap(), 2);
        let started = std::time::Instant::now();
        let error = io.read(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

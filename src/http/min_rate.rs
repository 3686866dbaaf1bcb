//! The least transfer rate of a request body.
//!
//! [`MinRateBody`] wraps a request body and fails it with [`BodyTooSlow`] once, after the grace
//! period, fewer bytes have arrived than `bytes_per_sec` times the time since the body started.
//! A timer runs while the body waits for data, so a body that stops sending altogether fails
//! too, instead of holding its connection until some other limit. The rule is an average since
//! the start, not a sliding window: a sender that was fast early may pause for a while.
//!
//! The handler that reads the body sees the failure as a body error; [`is_too_slow`] tells it
//! apart from others so the answer can be 408 `body_too_slow`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The rule: at least `bytes_per_sec` on average, checked once `grace` has passed.
#[derive(Debug, Clone, Copy)]
pub struct MinRate {
    pub bytes_per_sec: u64,
    pub grace: Duration,
}

impl MinRate {
    /// When `received` bytes stop being enough: the grace period, or the moment the average
    /// falls below the rate, whichever is later.
    fn deadline_after_start(&self, received: u64) -> Duration {
        let rate = self.bytes_per_sec.max(1) as f64;
        self.grace
            .max(Duration::from_secs_f64((received as f64 + 1.0) / rate))
    }

    fn too_slow(&self, received: u64, elapsed: Duration) -> bool {
        elapsed >= self.grace
            && (received as f64) < self.bytes_per_sec as f64 * elapsed.as_secs_f64()
    }
}

/// A body that arrived slower than its [`MinRate`].
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived slower than {bytes_per_sec} bytes per second")]
pub struct BodyTooSlow {
    pub bytes_per_sec: u64,
}

/// Whether `error`, or any error it wraps, is a [`BodyTooSlow`].
pub fn is_too_slow(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<BodyTooSlow>() {
            return true;
        }
        current = error.source();
    }
    false
}

/// A request body held to a [`MinRate`].
pub struct MinRateBody<B> {
    inner: B,
    rule: MinRate,
    started: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
    failed: bool,
}

impl<B> MinRateBody<B> {
    pub fn new(inner: B, rule: MinRate) -> MinRateBody<B> {
        let started = Instant::now();
        MinRateBody {
            inner,
            rule,
            started,
            received: 0,
            timer: Box::pin(tokio::time::sleep_until(
                started + rule.deadline_after_start(0),
            )),
            failed: false,
        }
    }

    fn rearm(&mut self) {
        let deadline = self.started + self.rule.deadline_after_start(self.received);
        self.timer.as_mut().reset(deadline);
    }
}

impl<B> Body for MinRateBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    this.rearm();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => loop {
                if this.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                if this.rule.too_slow(this.received, this.started.elapsed()) {
                    this.failed = true;
                    return Poll::Ready(Some(Err(Box::new(BodyTooSlow {
                        bytes_per_sec: this.rule.bytes_per_sec,
                    }))));
                }
                // The timer fired early (it never should); wait for the real deadline.
                this.rearm();
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::SinkExt;

    fn rule(ms: u64, bytes_per_sec: u64) -> MinRate {
        MinRate {
            bytes_per_sec,
            grace: Duration::from_millis(ms),
        }
    }

    type Sender = futures::channel::mpsc::Sender<Result<Bytes, std::io::Error>>;

    fn channel_body(rule: MinRate) -> (Sender, MinRateBody<axum::body::Body>) {
        let (tx, rx) = futures::channel::mpsc::channel(8);
        (
            tx,
            MinRateBody::new(axum::body::Body::from_stream(rx), rule),
        )
    }

    async fn next<B: Body<Data = Bytes, Error = axum::BoxError> + Unpin>(
        body: &mut B,
    ) -> Option<Result<Frame<Bytes>, axum::BoxError>> {
        std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await
    }

    #[test]
    fn the_deadline_is_the_grace_or_when_the_average_falls_below() {
        let r = rule(1000, 100);
        assert_eq!(r.deadline_after_start(0), Duration::from_secs(1));
        assert_eq!(r.deadline_after_start(499), Duration::from_secs(5));
        assert!(!r.too_slow(0, Duration::from_millis(999)));
        assert!(r.too_slow(0, Duration::from_secs(1)));
        assert!(!r.too_slow(500, Duration::from_secs(5)));
        assert!(r.too_slow(499, Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn a_silent_body_fails_after_the_grace_period() {
        let (_tx, mut body) = channel_body(rule(100, 1000));
        let started = std::time::Instant::now();
        let error = next(&mut body).await.unwrap().unwrap_err();
        assert!(is_too_slow(&*error), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(next(&mut body).await.is_none(), "a failed body ends");
    }

    #[tokio::test]
    async fn a_body_that_keeps_the_rate_is_read_whole() {
        let (mut tx, mut body) = channel_body(rule(50, 1000));
        let sender = tokio::spawn(async move {
            for _ in 0..5 {
                tx.send(Ok(Bytes::from(vec![b'x'; 1000]))).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let mut total = 0;
        while let Some(frame) = next(&mut body).await {
            total += frame.unwrap().into_data().unwrap().len();
        }
        sender.await.unwrap();
        assert_eq!(total, 5000);
    }

    #[tokio::test]
    async fn a_body_that_stalls_after_a_start_fails() {
        let (mut tx, mut body) = channel_body(rule(50, 1000));
        tx.send(Ok(Bytes::from_static(b"0123456789")))
            .await
            .unwrap();
        assert!(next(&mut body).await.unwrap().is_ok());
        let error = next(&mut body).await.unwrap().unwrap_err();
        assert!(is_too_slow(&*error));
        drop(tx);
    }
}

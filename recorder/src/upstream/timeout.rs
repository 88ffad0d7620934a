//! How long record waits on a silent upstream (`--upstream-timeout`).
//!
//! Two waits are bounded, both by the same limit, and both measure silence,
//! never the exchange's length: a healthy stream that sends an event every
//! few seconds for an hour is never cut.
//! - [`await_head`]: from the moment the request was sent whole (the
//!   client's upload is the client's pace, not the upstream's) to the
//!   response head. On expiry the client gets a 504.
//! - [`IdleBody`]: the gap since the response body's last frame (or its
//!   head). On expiry the body fails, as when the upstream resets: the
//!   client sees an incomplete response, the archive keeps what arrived.
//!
//! Both ring the upstream connection's [`Alarm`] (checked by a sweeper,
//! so a timeout fires up to a period late: [`crate::alarm`]), not one of
//! tokio's timers per request. The body's alarm is armed only when the
//! upstream is actually quiet, and re-armed from the last frame's time when
//! it rings, not on every frame.

use crate::alarm::{Alarm, Ring};
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A limit as the user wrote it: `600 s`, `0.5 s`.
pub fn seconds(limit: Duration) -> String {
    format!("{} s", limit.as_secs_f64())
}

/// The upstream sent no response head in time.
#[derive(Debug, thiserror::Error)]
#[error("sent no response head within {} (--upstream-timeout)", seconds(*.0))]
pub struct NoHead(pub Duration);

/// Waits for `send` (the response head), giving up once the request has
/// been sent whole (`sent_at`) and `limit` has passed since, with no head.
/// `None` waits for ever.
pub async fn await_head<F: Future>(
    send: F,
    limit: Option<Duration>,
    sent_at: impl Fn() -> Option<Instant>,
    alarm: &Arc<Alarm>,
) -> Result<F::Output, NoHead> {
    let Some(limit) = limit else {
        return Ok(send.await);
    };
    tokio::pin!(send);
    loop {
        // Still uploading: look again after `limit`.
        let from = sent_at().unwrap_or_else(Instant::now);
        let Some(deadline) = from.checked_add(limit) else {
            return Ok(send.await);
        };
        tokio::select! {
            biased;
            out = &mut send => return Ok(out),
            _ = alarm.ring_at(deadline) => {
                if sent_at().is_some_and(|t| t + limit <= Instant::now()) {
                    return Err(NoHead(limit));
                }
            }
        }
    }
}

/// What an [`IdleBody`] fails with: the inner body's own error, or silence.
#[derive(Debug)]
pub enum IdleError<E> {
    Inner(E),
    Silent(Duration),
}

impl<E: std::error::Error + 'static> std::fmt::Display for IdleError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdleError::Inner(e) => std::fmt::Display::fmt(e, f),
            IdleError::Silent(limit) => write!(
                f,
                "upstream went silent for {} mid-response (--upstream-timeout)",
                seconds(*limit)
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for IdleError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IdleError::Inner(e) => e.source(),
            IdleError::Silent(_) => None,
        }
    }
}

/// A response body that fails when no frame came for `limit`; see the
/// module doc.
pub struct IdleBody<B> {
    inner: B,
    limit: Option<Duration>,
    /// When the last frame (or the head) arrived.
    last: Instant,
    /// The connection's alarm, and its ring once a poll found it quiet.
    alarm: Arc<Alarm>,
    ring: Option<Ring>,
}

impl<B> IdleBody<B> {
    /// Wraps a body whose head just arrived; `None` never times out.
    pub fn new(inner: B, limit: Option<Duration>, alarm: Arc<Alarm>) -> IdleBody<B> {
        IdleBody {
            inner,
            limit,
            last: Instant::now(),
            alarm,
            ring: None,
        }
    }

    /// Whether the upstream has been silent for `limit`; re-arms the timer
    /// for the rest of the gap otherwise.
    fn silent(&mut self, limit: Duration, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.last.checked_add(limit) else {
            return false;
        };
        let ring = self
            .ring
            .get_or_insert_with(|| self.alarm.ring_at(deadline));
        if !ring.is_at(deadline) {
            ring.reset(deadline);
        }
        Pin::new(ring).poll(cx).is_ready()
    }
}

impl<B> Body for IdleBody<B>
where
    B: Body + Unpin,
{
    type Data = B::Data;
    type Error = IdleError<B::Error>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if this.limit.is_some() {
                    this.last = Instant::now();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(IdleError::Inner(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let limit = this.limit;
                match limit {
                    Some(limit) if this.silent(limit, cx) => {
                        Poll::Ready(Some(Err(IdleError::Silent(limit))))
                    }
                    _ => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::Alarms;
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use std::convert::Infallible;
    use tokio::sync::mpsc;

    /// A body fed frame by frame by the test (real time: no paused clock).
    struct Fed(mpsc::Receiver<Bytes>);

    impl Body for Fed {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
        }
    }

    /// An upstream connection's alarm, swept often enough for `limit`; the
    /// handle must be kept for the sweeper to run.
    fn alarm_for(limit: Option<Duration>) -> (Alarms, Arc<Alarm>) {
        let alarms = Alarms::start();
        alarms.fit(limit);
        let alarm = alarms.alarm();
        (alarms, alarm)
    }

    fn fed() -> (mpsc::Sender<Bytes>, Fed) {
        let (tx, rx) = mpsc::channel(8);
        (tx, Fed(rx))
    }

    #[tokio::test]
    async fn regular_frames_are_never_cut_however_long_the_body() {
        let (tx, body) = fed();
        tokio::spawn(async move {
            for _ in 0..12 {
                tokio::time::sleep(Duration::from_millis(60)).await;
                tx.send(Bytes::from_static(b"event\n\n")).await.unwrap();
            }
        });
        let limit = Some(Duration::from_millis(400));
        let (_alarms, alarm) = alarm_for(limit);
        let body = IdleBody::new(body, limit, alarm);
        let started = Instant::now();
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 12 * 7);
        assert!(
            started.elapsed() > Duration::from_millis(600),
            "longer than the limit"
        );
    }

    #[tokio::test]
    async fn silence_after_a_frame_fails_the_body_and_keeps_what_came() {
        let (tx, body) = fed();
        tx.send(Bytes::from_static(b"first")).await.unwrap();
        let limit = Some(Duration::from_millis(200));
        let (_alarms, alarm) = alarm_for(limit);
        let mut body = IdleBody::new(body, limit, alarm);
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "first");
        let quiet = Instant::now();
        let err = body.frame().await.unwrap().unwrap_err();
        assert!(matches!(err, IdleError::Silent(_)), "{err}");
        assert_eq!(
            err.to_string(),
            "upstream went silent for 0.2 s mid-response (--upstream-timeout)"
        );
        assert!(
            quiet.elapsed() >= Duration::from_millis(190),
            "{:?}",
            quiet.elapsed()
        );
        drop(tx);
    }

    #[tokio::test]
    async fn no_limit_waits_and_the_end_is_passed_on() {
        let (tx, body) = fed();
        let (_alarms, alarm) = alarm_for(None);
        let mut body = IdleBody::new(body, None, alarm);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            tx.send(Bytes::from_static(b"late")).await.unwrap();
        });
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "late");
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn the_head_wait_starts_when_the_request_was_sent() {
        let sent = std::sync::Mutex::new(None);
        let limit = Some(Duration::from_millis(200));
        let (_alarms, alarm) = alarm_for(limit);
        let started = Instant::now();
        let waiting = await_head(
            std::future::pending::<()>(),
            limit,
            || *sent.lock().unwrap(),
            &alarm,
        );
        let upload = async {
            // A slow upload: the client's pace, not the upstream's silence.
            tokio::time::sleep(Duration::from_millis(300)).await;
            *sent.lock().unwrap() = Some(Instant::now());
            std::future::pending::<()>().await
        };
        let err = tokio::select! {
            r = waiting => r.unwrap_err(),
            _ = upload => unreachable!(),
        };
        assert_eq!(
            err.to_string(),
            "sent no response head within 0.2 s (--upstream-timeout)"
        );
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(490), "{waited:?}");
        let quick = await_head(async { 7 }, limit, || None, &alarm)
            .await
            .unwrap();
        assert_eq!(quick, 7);
    }

    #[test]
    fn limits_read_as_typed() {
        assert_eq!(seconds(Duration::from_secs(600)), "600 s");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5 s");
    }
}

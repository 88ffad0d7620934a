//! A body that forwards every frame at once and shows each one to a sink.
//!
//! The proxy's hot path: [`TeeBody`] hands each frame on unchanged (the
//! client sees every SSE event as soon as upstream sends it) and gives the
//! sink a cheap `Bytes` clone of its data for the archive. The sink also
//! learns how the body ended: cleanly, with an error, or dropped half-way
//! (the client went away, or shutdown cut it off).

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// What the recorder side of a tee is told.
pub trait TeeSink: Send + 'static {
    /// A data frame went through.
    fn data(&mut self, chunk: &Bytes);
    /// The body ended cleanly.
    fn end(&mut self);
    /// The body failed (the peer reset the stream, or went silent): the
    /// error itself, so a sink can tell which.
    fn error(&mut self, err: &(dyn std::error::Error + 'static));
    /// The body was dropped before its end.
    fn dropped(&mut self);
}

/// Wraps a body; see the module doc.
pub struct TeeBody<B: Body, S: TeeSink> {
    inner: B,
    /// An error held back for one poll, so that hyper flushes the frames
    /// before it (it drops unflushed output when a body fails): the client
    /// gets every byte that arrived, then sees the stream break.
    failed: Option<B::Error>,
    /// Taken when the sink has been told how the body ended.
    sink: Option<S>,
}

impl<B: Body, S: TeeSink> TeeBody<B, S> {
    pub fn new(inner: B, sink: S) -> TeeBody<B, S> {
        TeeBody {
            inner,
            failed: None,
            sink: Some(sink),
        }
    }
}

impl<B, S> Body for TeeBody<B, S>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::error::Error + Unpin + 'static,
    S: TeeSink + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        if let Some(e) = this.failed.take() {
            return Poll::Ready(Some(Err(e)));
        }
        let poll = Pin::new(&mut this.inner).poll_frame(cx);
        match &poll {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(sink)) = (frame.data_ref(), this.sink.as_mut()) {
                    sink.data(data);
                }
                // hyper stops polling a body whose length it knows once that
                // many bytes went through: that is its end.
                if this.inner.is_end_stream() {
                    if let Some(mut sink) = this.sink.take() {
                        sink.end();
                    }
                }
            }
            Poll::Ready(Some(Err(e))) => {
                if let Some(mut sink) = this.sink.take() {
                    sink.error(e);
                }
                if let Poll::Ready(Some(Err(e))) = poll {
                    this.failed = Some(e);
                }
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(None) => {
                if let Some(mut sink) = this.sink.take() {
                    sink.end();
                }
            }
            Poll::Pending => {}
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An error and its causes on one line (`a: b: c`): hyper puts the
/// interesting part (`connection reset by peer`) in the source.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s = format!("{s}: {c}");
        cause = c.source();
    }
    s
}

impl<B: Body, S: TeeSink> Drop for TeeBody<B, S> {
    fn drop(&mut self) {
        if let Some(mut sink) = self.sink.take() {
            if self.inner.is_end_stream() {
                sink.end();
            } else {
                sink.dropped();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};
    use std::sync::{Arc, Mutex};

    #[derive(Default, Clone)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl TeeSink for Seen {
        fn data(&mut self, chunk: &Bytes) {
            self.0.lock().unwrap().push(format!("data {}", chunk.len()));
        }
        fn end(&mut self) {
            self.0.lock().unwrap().push("end".into());
        }
        fn error(&mut self, err: &(dyn std::error::Error + 'static)) {
            self.0.lock().unwrap().push(format!("error {err}"));
        }
        fn dropped(&mut self) {
            self.0.lock().unwrap().push("dropped".into());
        }
    }

    #[tokio::test]
    async fn forwards_frames_and_reports_the_end_once() {
        let seen = Seen::default();
        let body = TeeBody::new(Full::new(Bytes::from_static(b"hello")), seen.clone());
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"hello");
        assert_eq!(*seen.0.lock().unwrap(), ["data 5", "end"]);
    }

    #[tokio::test]
    async fn a_body_whose_length_is_known_ends_with_its_last_frame() {
        let seen = Seen::default();
        let mut body = TeeBody::new(Full::new(Bytes::from_static(b"hello")), seen.clone());
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap().len(), 5);
        assert_eq!(*seen.0.lock().unwrap(), ["data 5", "end"]);
        drop(body);
        assert_eq!(seen.0.lock().unwrap().len(), 2, "told once");
    }

    #[test]
    fn a_body_dropped_unread_reports_dropped() {
        let seen = Seen::default();
        drop(TeeBody::new(
            Full::new(Bytes::from_static(b"x")),
            seen.clone(),
        ));
        assert_eq!(*seen.0.lock().unwrap(), ["dropped"]);
    }
}

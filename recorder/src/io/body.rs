//! The body types the proxy hands to hyper.
//!
//! Every response body, whether streamed from upstream, canned by offline
//! mode or a one-line error, is boxed into [`ProxyBody`] so that one hyper
//! service type serves them all.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Errors that travel inside bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Any body the proxy sends, either way.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// Boxes any body whose errors can be boxed.
pub fn boxed<B>(body: B) -> ProxyBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// A body held whole (error pages, canned JSON).
pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|e: Infallible| -> BoxError { match e {} })
        .boxed_unsync()
}

/// A body sent as separate frames, one per chunk (canned SSE streams), so
/// that clients see them arrive as events. A stream's size is left unknown,
/// so HTTP/1 sends it chunked, as the real API does.
#[derive(Debug, Default)]
pub struct Chunks {
    chunks: VecDeque<Bytes>,
    /// Whether to announce the size (`content-length`).
    sized: bool,
}

impl Chunks {
    /// A stream of frames, sent chunked.
    pub fn new(chunks: impl IntoIterator<Item = Bytes>) -> Chunks {
        Chunks {
            chunks: chunks.into_iter().collect(),
            sized: false,
        }
    }

    /// No body at all (`content-length: 0`), ended from the start.
    pub fn empty() -> Chunks {
        Chunks {
            chunks: VecDeque::new(),
            sized: true,
        }
    }

    /// One frame, sent with its `content-length`.
    pub fn whole(bytes: impl Into<Bytes>) -> Chunks {
        Chunks {
            chunks: VecDeque::from([bytes.into()]),
            sized: true,
        }
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.get_mut()
                .chunks
                .pop_front()
                .map(|b| Ok(Frame::data(b))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        if self.sized {
            SizeHint::with_exact(self.chunks.iter().map(|b| b.len() as u64).sum())
        } else {
            SizeHint::default()
        }
    }
}

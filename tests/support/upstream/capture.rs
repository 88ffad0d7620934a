//! Keeps the raw bytes of request heads, so the fake upstream can log
//! header names with the case and order they had on the wire.
//!
//! hyper lower-cases header names and keeps no public record of the
//! original case, yet "the proxy keeps header case" is something the tests
//! must check. [`CaptureIo`] copies what it reads into a small shared buffer;
//! the request handler parses the head out of it with `httparse` and clears
//! the buffer once the body is read (clients here never pipeline).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes kept per connection: enough for any head; body bytes beyond it are
/// not copied.
const CAPTURE_LIMIT: usize = 256 * 1024;

/// Most headers a request head may have and still be parsed.
const MAX_HEADERS: usize = 256;

/// The shared buffer of one connection's unparsed bytes.
#[derive(Clone, Default)]
pub struct HeadCapture(Arc<Mutex<Vec<u8>>>);

impl HeadCapture {
    /// The headers of the head at the start of the buffer, in wire order and
    /// original case, removing the head from the buffer.
    pub fn take_head(&self) -> Option<Vec<(String, String)>> {
        let mut buf = self.0.lock().ok()?;
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut slots);
        let httparse::Status::Complete(len) = request.parse(&buf).ok()? else {
            return None;
        };
        let headers = request
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        buf.drain(..len);
        Some(headers)
    }

    /// Forgets what was read so far: the current request's body.
    pub fn clear(&self) {
        if let Ok(mut buf) = self.0.lock() {
            buf.clear();
        }
    }

    fn keep(&self, bytes: &[u8]) {
        if let Ok(mut buf) = self.0.lock() {
            let room = CAPTURE_LIMIT.saturating_sub(buf.len());
            buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }
}

/// An I/O stream that copies what it reads into a [`HeadCapture`].
pub struct CaptureIo<T> {
    inner: T,
    capture: HeadCapture,
}

impl<T> CaptureIo<T> {
    pub fn new(inner: T, capture: HeadCapture) -> Self {
        CaptureIo { inner, capture }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for CaptureIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.capture.keep(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CaptureIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_case_and_order_then_forgets_the_head() {
        let capture = HeadCapture::default();
        capture.keep(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Stainless-Lang: js\r\nx-api-key: k\r\n\r\nbody");
        let headers = capture.take_head().unwrap();
        let names: Vec<_> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Host", "X-Stainless-Lang", "x-api-key"]);
        assert_eq!(capture.0.lock().unwrap().as_slice(), b"body");
        assert!(capture.take_head().is_none());
    }
}

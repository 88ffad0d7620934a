//! Header names as they were on the wire: order and original case.
//!
//! hyper keeps header case for forwarding (`preserve_header_case`) but does
//! not expose it, and its `HeaderMap` groups repeated names. The archive
//! wants the wire, so [`HeadTap`] wraps a socket, watches the bytes hyper
//! reads through it, parses each message head with `httparse` and queues it
//! for the exchange that hyper will serve next (HTTP/1 messages on one
//! connection come in order). Body bytes are skipped by their framing
//! (`content-length`, or chunk sizes), never copied. Anything the tap does
//! not understand turns it off; the exchange then falls back to hyper's
//! lower-case names.

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// Longest head the tap accepts (hyper's own limit is about this size).
const MAX_HEAD: usize = 512 * 1024;
/// Most headers the tap parses (hyper allows 100).
const MAX_HEADERS: usize = 128;

/// One message head as it was on the wire.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WireHead {
    /// Header names in original case and values, in wire order.
    pub headers: Vec<(String, String)>,
    /// Bytes of the head, request or status line and final blank line included.
    pub size: usize,
    /// The reason phrase of a response (`OK`, `Overloaded`); empty for requests.
    pub reason: String,
    /// The body's length when its framing gives one (`Content-Length`,
    /// not chunked): the exchange reserves its buffer by it.
    pub body_length: Option<u64>,
}

/// Heads parsed on one connection, waiting for their exchange.
#[derive(Debug, Default)]
pub struct HeadQueue {
    heads: VecDeque<WireHead>,
    /// For a response tap: whether each request sent was `HEAD` (no body).
    head_requests: VecDeque<bool>,
}

/// The queue shared by a tap and the exchanges on its connection.
#[derive(Clone, Debug, Default)]
pub struct Heads(Arc<Mutex<HeadQueue>>);

impl Heads {
    /// The next head, in wire order; `None` once the tap gave up.
    pub fn pop(&self) -> Option<WireHead> {
        self.0.lock().ok()?.heads.pop_front()
    }

    /// Tells a response tap whether the request just sent was `HEAD`.
    pub fn expect_response(&self, to_head_request: bool) {
        if let Ok(mut q) = self.0.lock() {
            q.head_requests.push_back(to_head_request);
        }
    }

    fn push(&self, head: WireHead) {
        if let Ok(mut q) = self.0.lock() {
            q.heads.push_back(head);
        }
    }

    fn next_is_head_request(&self) -> bool {
        self.0
            .lock()
            .ok()
            .and_then(|mut q| q.head_requests.pop_front())
            .unwrap_or(false)
    }
}

/// Which kind of message the tapped bytes carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Requests from a client.
    Request,
    /// Responses from an upstream server.
    Response,
}

#[derive(Debug, PartialEq)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    /// Chunk data plus its trailing CRLF.
    ChunkData(u64),
    Trailers,
    /// Body delimited by the end of the connection: nothing more to parse.
    UntilClose,
    Off,
}

/// The parser behind [`HeadTap`]: fed every byte read, in order.
#[derive(Debug)]
pub struct Tap {
    side: Side,
    state: State,
    buf: Vec<u8>,
    heads: Heads,
}

impl Tap {
    pub fn new(side: Side, heads: Heads) -> Tap {
        Tap {
            side,
            state: State::Head,
            buf: Vec::new(),
            heads,
        }
    }

    /// Consumes the next bytes of the stream.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            data = match self.state {
                State::Off | State::UntilClose => return,
                State::Body(n) => {
                    let take = n.min(data.len() as u64);
                    self.state = if take == n {
                        State::Head
                    } else {
                        State::Body(n - take)
                    };
                    &data[take as usize..]
                }
                State::ChunkData(n) => {
                    let take = n.min(data.len() as u64);
                    self.state = if take == n {
                        State::ChunkSize
                    } else {
                        State::ChunkData(n - take)
                    };
                    &data[take as usize..]
                }
                State::ChunkSize | State::Trailers => self.feed_line(data),
                State::Head => self.feed_head(data),
            };
        }
    }

    /// Accumulates one line of chunked framing; returns the rest.
    fn feed_line<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        let Some(nl) = data.iter().position(|&b| b == b'\n') else {
            self.buf.extend_from_slice(data);
            if self.buf.len() > MAX_HEAD {
                self.state = State::Off;
            }
            return &[];
        };
        self.buf.extend_from_slice(&data[..nl]);
        let line = std::mem::take(&mut self.buf);
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        self.state = match self.state {
            State::ChunkSize => match chunk_size(line) {
                Some(0) => State::Trailers,
                Some(n) => State::ChunkData(n.saturating_add(2)),
                None => State::Off,
            },
            _ if line.is_empty() => State::Head,
            _ => State::Trailers,
        };
        &data[nl + 1..]
    }

    /// Accumulates a head until it parses; returns the bytes after it.
    fn feed_head<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        if self.buf.is_empty() {
            // A head nearly always arrives whole, often with body bytes
            // behind it: parsed where it lies, nothing copied (copying each
            // read had kept a buffer as large as the largest read, per
            // connection).
            return match self.parse_head(data) {
                Ok(Some(len)) => &data[len..],
                Ok(None) if data.len() <= MAX_HEAD => {
                    self.buf.extend_from_slice(data);
                    &[]
                }
                _ => self.give_up(),
            };
        }
        // The head began in an earlier read: join no more than a head may be.
        let before = self.buf.len();
        let take = data.len().min((MAX_HEAD + 1).saturating_sub(before));
        self.buf.extend_from_slice(&data[..take]);
        let joined = std::mem::take(&mut self.buf);
        match self.parse_head(&joined) {
            // The head ended inside `data`; what follows is body or the next head.
            Ok(Some(len)) => &data[len - before..],
            Ok(None) if joined.len() <= MAX_HEAD => {
                self.buf = joined;
                &[]
            }
            _ => self.give_up(),
        }
    }

    /// Stops tapping this stream (not HTTP/1, or a head past [`MAX_HEAD`]).
    fn give_up<'a>(&mut self) -> &'a [u8] {
        self.state = State::Off;
        self.buf = Vec::new();
        &[]
    }

    /// Parses `bytes`; on a complete head queues it, sets the body state
    /// and returns the head's length.
    fn parse_head(&mut self, bytes: &[u8]) -> Result<Option<usize>, httparse::Error> {
        // Left uninitialised: filling 128 headers (4 KiB) before every
        // parse was over half of this function's own cycles, for heads of
        // ten headers.
        let mut storage = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS];
        let config = httparse::ParserConfig::default();
        let (len, headers, framing, reason) = match self.side {
            Side::Request => {
                let mut req = httparse::Request::new(&mut []);
                let parsed =
                    config.parse_request_with_uninit_headers(&mut req, bytes, &mut storage);
                let httparse::Status::Complete(len) = parsed? else {
                    return Ok(None);
                };
                let tunnel = req.method == Some("CONNECT");
                let framing = Framing::of(req.headers, tunnel);
                let headers = copy_headers(&bytes[..len], req.headers);
                (len, headers, framing, String::new())
            }
            Side::Response => {
                let mut res = httparse::Response::new(&mut []);
                let parsed =
                    config.parse_response_with_uninit_headers(&mut res, bytes, &mut storage);
                let httparse::Status::Complete(len) = parsed? else {
                    return Ok(None);
                };
                let code = res.code.unwrap_or(0);
                if (100..200).contains(&code) && code != 101 {
                    // An interim response: the final one follows, same request.
                    self.state = State::Head;
                    return Ok(Some(len));
                }
                let no_body = self.heads.next_is_head_request() || code == 204 || code == 304;
                let mut framing = Framing::of(res.headers, code == 101);
                if no_body && framing != Framing::Off {
                    framing = Framing::None;
                } else if framing == Framing::None {
                    framing = Framing::UntilClose;
                }
                let reason = res.reason.unwrap_or("").to_owned();
                let headers = copy_headers(&bytes[..len], res.headers);
                (len, headers, framing, reason)
            }
        };
        let body_length = match framing {
            Framing::Length(n) => Some(n),
            _ => None,
        };
        self.heads.push(WireHead {
            headers,
            size: len,
            reason,
            body_length,
        });
        self.state = match framing {
            Framing::None | Framing::Length(0) => State::Head,
            Framing::Length(n) => State::Body(n),
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
            Framing::Off => State::Off,
        };
        Ok(Some(len))
    }
}

/// How the body after a head is delimited.
#[derive(Debug, PartialEq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
    /// A tunnel or protocol switch: the bytes after are not HTTP/1.
    Off,
}

impl Framing {
    /// How the body after these headers is delimited; one pass, no
    /// allocation (it runs on every head, both directions).
    fn of(headers: &[httparse::Header<'_>], tunnel: bool) -> Framing {
        let mut chunked = false;
        let mut length = None;
        for h in headers {
            // By length first: most names are none of the three.
            let named = |wanted: &str| h.name.eq_ignore_ascii_case(wanted);
            match h.name.len() {
                7 if named("upgrade") => return Framing::Off,
                17 if named("transfer-encoding") => {
                    chunked |= h
                        .value
                        .windows(b"chunked".len())
                        .any(|w| w.eq_ignore_ascii_case(b"chunked"));
                }
                14 if length.is_none() && named("content-length") => length = Some(h.value),
                _ => {}
            }
        }
        if tunnel {
            Framing::Off
        } else if chunked {
            Framing::Chunked
        } else {
            match length {
                Some(value) => std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse().ok())
                    .map_or(Framing::Off, Framing::Length),
                None => Framing::None,
            }
        }
    }
}

/// The headers of `head` (the bytes they were parsed from) as owned pairs.
fn copy_headers(head: &[u8], headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    // Heads are nearly always UTF-8 (ASCII): one check of the whole head
    // instead of one per value (~1k instructions per exchange, callgrind).
    // A value cut at ASCII delimiters of valid UTF-8 is valid UTF-8 too.
    let text = std::str::from_utf8(head).ok();
    headers
        .iter()
        .map(|h| {
            let at = (h.value.as_ptr() as usize).checked_sub(head.as_ptr() as usize);
            let exact = text
                .zip(at)
                .and_then(|(t, at)| t.get(at..at + h.value.len()));
            let value =
                exact.map_or_else(|| String::from_utf8_lossy(h.value).into(), str::to_owned);
            (h.name.to_owned(), value)
        })
        .collect()
}

/// The size at the start of a chunk-size line (extensions ignored).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let hex: Vec<u8> = line
        .iter()
        .copied()
        .take_while(|b| b.is_ascii_hexdigit())
        .collect();
    if hex.is_empty() {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()
}

/// A socket whose incoming bytes are also fed to a [`Tap`].
pub struct HeadTap<IO> {
    io: IO,
    tap: Tap,
}

impl<IO> HeadTap<IO> {
    pub fn new(io: IO, side: Side, heads: Heads) -> HeadTap<IO> {
        HeadTap {
            io,
            tap: Tap::new(side, heads),
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for HeadTap<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            this.tap.feed(&buf.filled()[before..]);
        }
        poll
    }
}

crate::io::write_through::write_through!(HeadTap);

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_REQUESTS: &[u8] = b"POST /v1/messages?beta=true HTTP/1.1\r\n\
        Host: 127.0.0.1\r\nX-Stainless-Lang: js\r\ncontent-length: 5\r\nX-Stainless-Lang: again\r\n\r\n\
        hello\
        POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
        3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer-X: 1\r\n\r\n\
        GET /c HTTP/1.1\r\nUser-Agent: claude-cli\r\n\r\n";

    #[test]
    fn framing_reads_the_headers_that_delimit_a_body() {
        let of = |pairs: &[(&'static str, &'static [u8])], tunnel: bool| {
            let headers: Vec<httparse::Header<'_>> = pairs
                .iter()
                .map(|&(name, value)| httparse::Header { name, value })
                .collect();
            Framing::of(&headers, tunnel)
        };
        assert_eq!(of(&[], false), Framing::None);
        assert_eq!(
            of(&[("Content-Length", b" 12 ")], false),
            Framing::Length(12)
        );
        assert_eq!(of(&[("content-length", b"x")], false), Framing::Off);
        let te: &[u8] = b"gzip, Chunked";
        assert_eq!(
            of(
                &[("Content-Length", b"3"), ("Transfer-Encoding", te)],
                false
            ),
            Framing::Chunked
        );
        assert_eq!(of(&[("Transfer-Encoding", b"gzip")], false), Framing::None);
        assert_eq!(
            of(
                &[("Content-Length", b"3"), ("Upgrade", b"websocket")],
                false
            ),
            Framing::Off
        );
        assert_eq!(of(&[("Content-Length", b"3")], true), Framing::Off);
    }

    fn names(h: &WireHead) -> Vec<&str> {
        h.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn check_two_requests(heads: &Heads) {
        let a = heads.pop().expect("first head");
        assert_eq!(
            names(&a),
            [
                "Host",
                "X-Stainless-Lang",
                "content-length",
                "X-Stainless-Lang"
            ]
        );
        assert_eq!(a.headers[3].1, "again");
        // The head ends at the first blank line.
        let end = TWO_REQUESTS
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
            + 4;
        assert_eq!(a.size, end);
        assert_eq!(a.body_length, Some(5));
        let b = heads.pop().expect("second head");
        assert_eq!(names(&b), ["Host", "Transfer-Encoding"]);
        assert_eq!(b.body_length, None, "chunked");
        let c = heads.pop().expect("third head");
        assert_eq!(names(&c), ["User-Agent"]);
        assert_eq!(c.body_length, None, "no body");
        assert!(heads.pop().is_none());
    }

    #[test]
    fn pipelined_requests_split_at_every_byte() {
        for split in 0..=TWO_REQUESTS.len() {
            let heads = Heads::default();
            let mut tap = Tap::new(Side::Request, heads.clone());
            tap.feed(&TWO_REQUESTS[..split]);
            tap.feed(&TWO_REQUESTS[split..]);
            check_two_requests(&heads);
        }
    }

    #[test]
    fn requests_fed_one_byte_at_a_time() {
        let heads = Heads::default();
        let mut tap = Tap::new(Side::Request, heads.clone());
        for b in TWO_REQUESTS {
            tap.feed(std::slice::from_ref(b));
        }
        check_two_requests(&heads);
    }

    #[test]
    fn values_keep_their_text_and_invalid_bytes_become_replacement_characters() {
        let utf8 = "GET / HTTP/1.1\r\nX-City: Zürich\r\nX-Empty:\r\nX-Plain:  a b \r\n\r\n";
        let mut latin1 = b"GET / HTTP/1.1\r\nX-City: Z\xfcrich\r\nX-Plain: ok\r\n\r\n".to_vec();
        latin1.extend_from_slice(b"GET / HTTP/1.1\r\nX-After: fine\r\n\r\n");
        let heads = Heads::default();
        let mut tap = Tap::new(Side::Request, heads.clone());
        tap.feed(utf8.as_bytes());
        tap.feed(&latin1);
        let pairs = |head: WireHead| head.headers;
        let own = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            pairs(heads.pop().unwrap()),
            own(&[("X-City", "Zürich"), ("X-Empty", ""), ("X-Plain", "a b")])
        );
        assert_eq!(
            pairs(heads.pop().unwrap()),
            own(&[("X-City", "Z\u{fffd}rich"), ("X-Plain", "ok")])
        );
        assert_eq!(pairs(heads.pop().unwrap()), own(&[("X-After", "fine")]));
    }

    #[test]
    fn a_head_read_with_its_body_is_not_copied() {
        let body = vec![b'x'; 300 * 1024];
        let mut read = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            body.len() + 5
        )
        .into_bytes();
        read.extend_from_slice(&body);
        let heads = Heads::default();
        let mut tap = Tap::new(Side::Request, heads.clone());
        tap.feed(&read);
        assert_eq!(tap.buf.capacity(), 0, "the read was copied");
        // A head split over two reads is joined, and only the head is kept.
        tap.feed(b"12345GET / HTTP/1.1\r\nHo");
        tap.feed(b"st: a\r\n\r\n");
        tap.feed(&read);
        assert_eq!(tap.buf.capacity(), 0, "the joined head outlived it");
        assert_eq!(names(&heads.pop().unwrap()), ["Content-Length"]);
        assert_eq!(names(&heads.pop().unwrap()), ["Host"]);
        assert_eq!(names(&heads.pop().unwrap()), ["Content-Length"]);
    }

    #[test]
    fn responses_skip_interim_and_respect_head_requests() {
        let wire: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n\
            5\r\nevent\r\n0\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n\
            HTTP/1.1 529 Overloaded\r\nX-Should-Request-Id: 1\r\n\r\n";
        for split in 0..=wire.len() {
            let heads = Heads::default();
            heads.expect_response(false);
            heads.expect_response(true);
            heads.expect_response(false);
            let mut tap = Tap::new(Side::Response, heads.clone());
            tap.feed(&wire[..split]);
            tap.feed(&wire[split..]);
            let first = heads.pop().unwrap();
            assert_eq!(names(&first), ["Content-Type", "Transfer-Encoding"]);
            assert_eq!(first.reason, "OK");
            let to_head = heads.pop().unwrap();
            assert_eq!(names(&to_head), ["Content-Length"]);
            assert_eq!(to_head.body_length, None, "a HEAD response has no body");
            let last = heads.pop().unwrap();
            assert_eq!(last.reason, "Overloaded");
            assert_eq!(names(&last), ["X-Should-Request-Id"]);
        }
    }

    #[test]
    fn connect_turns_the_tap_off() {
        let heads = Heads::default();
        let mut tap = Tap::new(Side::Request, heads.clone());
        tap.feed(
            b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\x16\x03\x01GET / HTTP/1.1\r\n\r\n",
        );
        assert_eq!(names(&heads.pop().unwrap()), ["Host"]);
        assert!(heads.pop().is_none());
    }

    #[test]
    fn garbage_turns_the_tap_off_without_panicking() {
        let heads = Heads::default();
        let mut tap = Tap::new(Side::Request, heads.clone());
        tap.feed(b"\x00\x01 not http\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        assert!(heads.pop().is_none());
    }
}

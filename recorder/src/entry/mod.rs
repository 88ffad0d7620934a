//! What an exchange left behind, turned into a HAR entry.
//!
//! [`Recorded`] is filled by the exchange as bytes flow (cheap `Bytes`
//! clones and timestamps only); [`build`] runs once, when the exchange is
//! over, and does all the work the archive needs: joins the bodies and
//! hands heads and bytes to the archive crate's wire builder
//! (`cctap_archive::wire`, shared with the flow-file reader: bodies
//! decoded, base64 for non-UTF-8), parses the SSE stream with each event's
//! arrival time, and computes HAR timings.

use cctap_archive::model::{find_header, format_started, Request, Response, Timings};
use cctap_archive::spill::BodyNote;
use cctap_archive::sse::{parse_all, SseParser};
use cctap_archive::{Entry, SseEvent};
use std::net::IpAddr;
use std::time::Instant;

mod capture;
mod tokens;

pub use capture::Captured;
use capture::{archive_body, ArchivedBody};
use cctap_archive::fields::no_response;
use cctap_archive::wire;
use cctap_archive::writer::stream::Which;
pub use tokens::count as count_tokens;

/// How HAR names an HTTP version (`HTTP/1.1`, `HTTP/2.0`).
pub fn version_name(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// Everything an exchange saw, as it happened.
#[derive(Debug)]
pub struct Recorded {
    pub started_wall: time::OffsetDateTime,
    pub started: Instant,
    pub method: String,
    /// The HTTP version the client spoke, as HAR names it.
    pub http_version: &'static str,
    /// Absolute upstream URL.
    pub url: String,
    /// Request headers in wire order and case (as forwarded).
    pub request_headers: Vec<(String, String)>,
    /// Wire size of the request head, when known.
    pub request_head_size: Option<usize>,
    pub request_body: Captured,
    pub request_done: Option<Instant>,
    pub connection: Option<ConnRecord>,
    /// When the upstream connection was ready to send on.
    pub conn_ready: Option<Instant>,
    pub response: Option<ResponseHead>,
    pub response_at: Option<Instant>,
    /// Response body chunks and when each arrived.
    pub response_body: Captured,
    /// When the response body ended cleanly.
    pub response_done: Option<Instant>,
    pub error: Option<String>,
    /// Whether the entry is redacted (and bodies written from spill files
    /// on the way).
    pub redact: bool,
    /// When the exchange was over: the end of one that saw nothing more
    /// after its request began (its entry is built later, elsewhere).
    pub over: Option<Instant>,
}

/// The upstream connection an exchange used.
#[derive(Clone, Debug)]
pub struct ConnRecord {
    pub id: u64,
    pub server_ip: IpAddr,
    /// `None` when the connection was reused.
    pub fresh: Option<crate::upstream::ConnectTimings>,
}

/// A response head as received.
#[derive(Clone, Debug)]
pub struct ResponseHead {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub head_size: Option<usize>,
}

impl Recorded {
    /// A record for a request that arrived now.
    pub fn new(
        method: String,
        http_version: &'static str,
        url: String,
        request_headers: Vec<(String, String)>,
        head_size: Option<usize>,
    ) -> Self {
        Recorded {
            started_wall: time::OffsetDateTime::now_utc(),
            started: Instant::now(),
            method,
            http_version,
            url,
            request_headers,
            request_head_size: head_size,
            request_body: Captured::default(),
            request_done: None,
            connection: None,
            conn_ready: None,
            response: None,
            response_at: None,
            response_body: Captured::default(),
            response_done: None,
            error: None,
            redact: false,
            over: None,
        }
    }

    /// The bytes this holds, for the writer queue's budget: the bodies kept
    /// in memory, the heads, and a fixed share for the rest.
    pub fn weight(&self) -> usize {
        let headers = |list: &[(String, String)]| -> usize {
            list.iter().map(|(n, v)| n.len() + v.len() + 64).sum()
        };
        1024 + self.url.len()
            + headers(&self.request_headers)
            + self.response.as_ref().map_or(0, |r| headers(&r.headers))
            + self.request_body.held_bytes()
            + self.response_body.held_bytes()
    }

    fn ms(&self, t: Instant) -> f64 {
        // Through u64: converting the u128 to a float is a library call,
        // and this runs ten times per exchange (an exchange lasts < 2^64 µs).
        t.saturating_duration_since(self.started).as_micros() as u64 as f64 / 1000.0
    }

    /// The last moment anything happened, either way.
    fn end(&self) -> Instant {
        let response_end = self
            .response_done
            .or_else(|| self.response_body.last_at())
            .or(self.response_at)
            .or(self.over)
            .unwrap_or_else(Instant::now);
        self.request_done
            .map_or(response_end, |t| t.max(response_end))
    }
}

/// The archive entry of an exchange that is over, redacted when
/// [`Recorded::redact`] says so. Runs on the writer thread: the strings
/// and vectors of the entry are made and freed there, not on a proxy
/// worker.
pub fn build_redacted(rec: Recorded) -> Entry {
    let redact = rec.redact;
    let mut entry = build(rec);
    if redact {
        cctap_archive::redact::redact_entry(&mut entry);
    }
    entry
}

/// Turns what an exchange saw into its archive entry. Headers, URL and
/// bodies move into the entry; only the joined bodies are new copies.
pub fn build(mut rec: Recorded) -> Entry {
    let mut entry = Entry::default();
    let har = &mut entry.har;
    let end = rec.end();
    har.started_date_time = format_started(rec.started_wall);
    har.time = rec.ms(end);
    har.timings = timings(&rec, end);
    let (request, request_note) = request(&mut rec);
    har.request = request;
    entry.request_note = request_note;
    if let Some(conn) = &rec.connection {
        har.server_ip_address = Some(ip_text(conn.server_ip));
        har.connection = Some(itoa::Buffer::new().format(conn.id).to_owned());
    }
    let (response, sse, response_note) = response(&mut rec, end);
    entry.har.response = response;
    entry.sse_events = sse;
    entry.response_note = response_note;
    entry.error = rec.error;
    // What Chrome writes for fetch(): DevTools lists the call under Fetch/XHR.
    entry
        .extra
        .insert("_resourceType".to_owned(), "fetch".into());
    entry
}

/// The address as `Display` writes it, IPv4 without `fmt`'s machinery:
/// that was ~1.3k of the writer thread's ~46k instructions per exchange
/// (callgrind).
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    let mut digits = itoa::Buffer::new();
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        text.push_str(digits.format(octet));
    }
    text
}

/// HAR timings that partition the exchange, so that they add up to `time`
/// (HAR 1.2), also when the answer came before the request ended.
fn timings(rec: &Recorded, end: Instant) -> Timings {
    let fresh = rec.connection.as_ref().and_then(|c| c.fresh);
    let ready = rec.conn_ready.unwrap_or(rec.started).min(end);
    let sent = rec.request_done.map_or(ready, |t| t.clamp(ready, end));
    let head = rec.response_at.map_or(end, |t| t.clamp(sent, end));
    let span = |a: Instant, b: Instant| rec.ms(b) - rec.ms(a);
    let (dns, connect) = fresh.map_or((0.0, 0.0), |f| (f.dns.max(0.0), f.connect.max(0.0)));
    // Time to a usable connection that was not DNS or connecting: the pool.
    let blocked = (span(rec.started, ready) - dns - connect).max(0.0);
    let us = |ms: f64| (ms * 1000.0).round() / 1000.0;
    Timings {
        blocked: Some(us(blocked)),
        dns: Some(fresh.map_or(-1.0, |f| f.dns)),
        connect: Some(fresh.map_or(-1.0, |f| f.connect)),
        ssl: Some(fresh.map_or(-1.0, |f| f.ssl)),
        send: us(span(ready, sent)),
        wait: us(span(sent, head)),
        receive: us(span(head, end)),
        comment: None,
    }
}

fn header<'a>(list: &'a [(String, String)], name: &str) -> Option<&'a str> {
    list.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn request(rec: &mut Recorded) -> (Request, Option<BodyNote>) {
    let captured = std::mem::take(&mut rec.request_body);
    let wire_size = captured.seen();
    let head = wire::RequestHead {
        method: std::mem::take(&mut rec.method),
        url: std::mem::take(&mut rec.url),
        http_version: rec.http_version.to_owned(),
        headers: wire::headers(std::mem::take(&mut rec.request_headers)),
        size: rec.request_head_size,
    };
    if captured.is_empty() {
        return (wire::request_with(head, wire_size, None), None);
    }
    let encoding = find_header(&head.headers, "content-encoding");
    let (body, note) = archive_body(captured, encoding, Which::Request, rec.redact).split();
    (wire::request_with(head, wire_size, Some(body)), note)
}

fn response(
    rec: &mut Recorded,
    end: Instant,
) -> (Response, Option<Vec<SseEvent>>, Option<BodyNote>) {
    let Some(head) = rec.response.take() else {
        return (no_response(), None, None);
    };
    let encoding = header(&head.headers, "content-encoding");
    let is_sse = header(&head.headers, "content-type")
        .is_some_and(|m| m.to_ascii_lowercase().starts_with("text/event-stream"));
    let sse = is_sse.then(|| sse_events(rec, end, encoding));
    let captured = std::mem::take(&mut rec.response_body);
    let wire_size = captured.seen();
    let archived = archive_body(captured, encoding, Which::Response, rec.redact);
    let sse = sse.map(|events| events.unwrap_or_else(|| sse_from_text(&archived, rec.ms(end))));
    let (body, note) = archived.split();
    let head = wire::ResponseHead {
        status: i64::from(head.status),
        reason: head.reason,
        http_version: rec.http_version.to_owned(),
        headers: wire::headers(head.headers),
        size: head.head_size,
    };
    (wire::response_with(head, wire_size, body), sse, note)
}

/// The stream's events: an unencoded stream held in memory is parsed chunk
/// by chunk with each chunk's arrival time; `None` leaves it to
/// [`sse_from_text`].
fn sse_events(rec: &Recorded, end: Instant, encoding: Option<&str>) -> Option<Vec<SseEvent>> {
    let chunks = rec.response_body.timed_chunks()?;
    if !wire::is_identity(encoding) {
        return None;
    }
    let mut out = Vec::new();
    let mut parser = SseParser::new();
    for (t, chunk) in chunks {
        parser.feed(chunk, rec.ms(t), &mut out);
    }
    parser.finish(rec.ms(end), &mut out);
    Some(out)
}

/// An encoded stream's events (rare), parsed from the decoded text as a
/// whole, all stamped with the end. A stream written from a spill file
/// (past [`capture::SPILL_AT`]) has none: its text is not in memory.
fn sse_from_text(body: &ArchivedBody, end_ms: f64) -> Vec<SseEvent> {
    if body.base64 || body.note.spilled.is_some() {
        return Vec::new();
    }
    let mut out = parse_all(&body.text);
    for ev in &mut out {
        ev.time = end_ms;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::Duration;

    fn recorded() -> Recorded {
        Recorded::new(
            "POST".into(),
            "HTTP/1.1",
            "https://api.z.ai/api/anthropic/v1/messages?beta=true".into(),
            vec![
                ("Host".into(), "api.z.ai".into()),
                ("content-type".into(), "application/json".into()),
            ],
            Some(120),
        )
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        let addresses = [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.4",
            "255.255.255.255",
            "::1",
            "::ffff:10.0.0.1",
            "2001:db8::8a2e:370:7334",
        ];
        for text in addresses {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
            assert_eq!(ip_text(ip), text);
        }
    }

    #[test]
    fn an_exchange_without_response_has_status_0_and_its_error() {
        let mut rec = recorded();
        rec.request_body
            .push(rec.started, &Bytes::from_static(b"{\"model\":"));
        rec.request_body
            .push(rec.started, &Bytes::from_static(b"\"m\"}"));
        rec.error = Some("cannot connect to http://127.0.0.1:9: refused".into());
        let e = build(rec);
        assert_eq!(e.har.response.status, 0);
        assert_eq!(
            e.error.as_deref(),
            Some("cannot connect to http://127.0.0.1:9: refused")
        );
        assert_eq!(e.request_text(), Some("{\"model\":\"m\"}"));
        assert_eq!(e.har.request.body_size, 13);
        assert_eq!(e.har.request.headers_size, 120);
        assert_eq!(e.har.request.headers[0].name, "Host");
        assert_eq!(e.har.request.query_string[0].name, "beta");
        assert_eq!(e.har.timings.connect, Some(-1.0));
    }

    #[test]
    fn binary_bodies_are_base64_and_timings_add_up() {
        let mut rec = recorded();
        let t = rec.started;
        rec.conn_ready = Some(t + Duration::from_millis(5));
        rec.connection = Some(ConnRecord {
            id: 7,
            server_ip: IpAddr::from([127, 0, 0, 1]),
            fresh: Some(crate::upstream::ConnectTimings {
                dns: 1.0,
                connect: 4.0,
                ssl: -1.0,
            }),
        });
        rec.request_done = Some(t + Duration::from_millis(6));
        rec.response_at = Some(t + Duration::from_millis(10));
        rec.response = Some(ResponseHead {
            status: 200,
            reason: "OK".into(),
            headers: vec![("Content-Type".into(), "application/octet-stream".into())],
            head_size: Some(50),
        });
        rec.response_body.push(
            t + Duration::from_millis(12),
            &Bytes::from_static(&[0xff, 0xfe]),
        );
        rec.response_done = Some(t + Duration::from_millis(20));
        let e = build(rec);
        let c = &e.har.response.content;
        assert_eq!(
            (c.text.as_deref(), c.encoding.as_deref()),
            (Some("//4="), Some("base64"))
        );
        assert_eq!(c.size, 2);
        assert!(e.sse_events.is_none());
        let tm = &e.har.timings;
        assert_eq!((tm.send, tm.wait, tm.receive), (1.0, 4.0, 10.0));
        assert_eq!(e.har.time, 20.0);
        assert_eq!(e.har.connection.as_deref(), Some("7"));
        assert_eq!(e.har.server_ip_address.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn timings_add_up_also_when_the_answer_beats_the_request() {
        let mut rec = recorded();
        let t = rec.started;
        let at = |ms| t + Duration::from_millis(ms);
        rec.conn_ready = Some(at(2));
        rec.response_at = Some(at(3));
        rec.response = Some(ResponseHead {
            status: 413,
            reason: "Payload Too Large".into(),
            headers: Vec::new(),
            head_size: None,
        });
        rec.response_done = Some(at(4));
        rec.request_done = Some(at(104));
        let e = build(rec);
        let tm = &e.har.timings;
        assert_eq!(e.har.time, 104.0);
        assert_eq!(
            (tm.blocked, tm.send, tm.wait, tm.receive),
            (Some(2.0), 102.0, 0.0, 0.0)
        );
    }

    #[test]
    fn sse_events_carry_their_arrival_time() {
        let mut rec = recorded();
        let t = rec.started;
        rec.response_at = Some(t);
        rec.response = Some(ResponseHead {
            status: 200,
            reason: "OK".into(),
            headers: vec![(
                "content-type".into(),
                "text/event-stream; charset=utf-8".into(),
            )],
            head_size: None,
        });
        rec.response_body.push(
            t + Duration::from_micros(1500),
            &Bytes::from_static(b"event: ping\ndata: {}\n\nevent: message_delta\n"),
        );
        rec.response_body.push(
            t + Duration::from_micros(2250),
            &Bytes::from_static(b"data: {\"usage\":{\"output_tokens\":9}}\n\n"),
        );
        rec.response_done = Some(t + Duration::from_millis(3));
        let e = build(rec);
        let ev = e.sse_events.as_ref().unwrap();
        assert_eq!(ev.len(), 2);
        assert_eq!((ev[0].event.as_str(), ev[0].time), ("ping", 1.5));
        assert_eq!((ev[1].event.as_str(), ev[1].time), ("message_delta", 2.25));
        assert_eq!(count_tokens(&e), (0, 9));
    }

    #[test]
    fn the_weight_counts_the_bodies_held() {
        let mut rec = recorded();
        let empty = rec.weight();
        rec.response_body
            .push(rec.started, &Bytes::from(vec![b'x'; 300 * 1024]));
        assert!(rec.weight() >= empty + 300 * 1024, "{}", rec.weight());
        assert!(rec.weight() < empty + 301 * 1024, "{}", rec.weight());
    }

    #[test]
    fn an_exchange_built_later_ends_when_it_was_over() {
        // The writer thread builds the entry after the exchange is over: an
        // exchange that saw nothing after its start lasts until then.
        let mut rec = recorded();
        rec.error = Some("cut off at shutdown".into());
        rec.over = Some(rec.started + Duration::from_millis(7));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(build(rec).har.time, 7.0);
    }

    #[test]
    fn built_redacted_when_recording_redacts() {
        let key = "sk-ant-api03-FAKE0000000000000000000000000000000000000000000000000000000000000000000000000000000000-AAAAAA";
        let kept = build_redacted(recorded_with(key, false));
        assert_eq!(kept.har.request.headers[2].value, key);
        let redacted = build_redacted(recorded_with(key, true));
        let value = &redacted.har.request.headers[2].value;
        assert_ne!(value, key);
        assert!(!value.contains("FAKE000000"), "{value}");
    }

    fn recorded_with(key: &str, redact: bool) -> Recorded {
        let mut rec = recorded();
        rec.request_headers.push(("x-api-key".into(), key.into()));
        rec.redact = redact;
        rec
    }
}

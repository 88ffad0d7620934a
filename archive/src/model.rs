//! The archive's data model: standard HAR 1.2 from the `har` crate, plus the
//! custom fields of `archive/FORMAT.md` carried beside it.
//!
//! [`Entry`] flattens `har::v1_2::Entries` and adds `_sseEvents`, `_error`,
//! `_redacted` and `_webSocketMessages` (the rest of the custom fields are
//! kept as found in [`Entry::extra`]), so the standard part stays the `har` crate's and no HAR
//! struct exists twice.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use har::v1_2::{
    Cache, Content, Cookies as Cookie, Creator, Entries as HarEntry, Headers as Header, PostData,
    QueryString, Request, Response, Timings,
};

/// The HAR version cctap writes.
pub const HAR_VERSION: &str = "1.2";

/// One exchange: a standard HAR entry and cctap's extras.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(flatten)]
    pub har: HarEntry,
    /// The `text/event-stream` response as parsed events, in arrival order.
    #[serde(
        rename = "_sseEvents",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sse_events: Option<Vec<SseEvent>>,
    /// Why the exchange did not complete normally.
    #[serde(rename = "_error", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The places redaction changed (`request.headers.authorization`, …).
    #[serde(rename = "_redacted", default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
    /// The messages of a WebSocket connection (Chrome's field).
    #[serde(
        rename = "_webSocketMessages",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub websocket_messages: Option<Vec<WebSocketMessage>>,
    /// Every other field of the entry (custom `_fields` of other tools),
    /// kept as found so that HAR → HAR loses nothing.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
    /// How `request.postData` is written beyond HAR's fields: a body
    /// streamed from a spill file, `_undecoded`, `_truncated`
    /// (`writer/stream.rs`; never read back into this field).
    #[serde(skip)]
    pub request_note: Option<crate::spill::BodyNote>,
    /// The same for `response.content`.
    #[serde(skip)]
    pub response_note: Option<crate::spill::BodyNote>,
    /// What the reader had to change to read this entry (never written).
    #[serde(skip)]
    pub warnings: Vec<crate::reader::FieldWarning>,
}

/// One WebSocket message as Chrome DevTools writes it in HAR.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebSocketMessage {
    /// `send` (client to server) or `receive`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// 1 text, 2 binary.
    pub opcode: i64,
    /// The text, or base64 for a binary message.
    pub data: String,
}

impl WebSocketMessage {
    /// Whether the client sent it.
    pub fn is_sent(&self) -> bool {
        self.kind == "send"
    }
}

/// One server-sent event, stamped with the time it arrived.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SseEvent {
    /// Milliseconds since the entry's `startedDateTime` (µs precision).
    pub time: f64,
    /// The event type; `message` when the stream named none.
    pub event: String,
    /// The data lines joined with `\n`.
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u64>,
}

/// The document's `log` object without its entries: what a reader learns
/// before the first entry and what a writer emits in the head.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogHead {
    pub version: String,
    pub creator: Creator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<Creator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The pages a browser groups its entries by, kept as found (entries
    /// name theirs in `pageref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<Vec<Value>>,
    /// `log`'s custom `_fields` (other tools'), kept as found so that
    /// HAR → HAR loses nothing.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

impl LogHead {
    /// The head cctap's own tools write: version 1.2 and the given creator.
    pub fn new(creator_name: &str, creator_version: &str) -> Self {
        LogHead {
            version: HAR_VERSION.to_owned(),
            creator: Creator {
                name: creator_name.to_owned(),
                version: creator_version.to_owned(),
                comment: None,
            },
            ..LogHead::default()
        }
    }
}

impl Entry {
    /// The first request header with this name, compared case-insensitively.
    pub fn request_header(&self, name: &str) -> Option<&str> {
        find_header(&self.har.request.headers, name)
    }

    /// The first response header with this name, compared case-insensitively.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        find_header(&self.har.response.headers, name)
    }

    /// The request body as text, if the entry has one.
    pub fn request_text(&self) -> Option<&str> {
        self.har.request.post_data.as_ref()?.text.as_deref()
    }

    /// The response body as stored: text, or base64 when
    /// `content.encoding` says so.
    pub fn response_text(&self) -> Option<&str> {
        self.har.response.content.text.as_deref()
    }
}

/// The first header with this name, compared case-insensitively.
pub fn find_header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// Formats a time as HAR wants it: RFC 3339 with milliseconds and offset
/// (`2026-12-04T10:46:04.228+00:00`). Digits are written by hand: the time
/// crate's formatter cost 2,300 instructions of every recorded exchange.
pub fn format_started(t: time::OffsetDateTime) -> String {
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return format_started_slowly(t);
    }
    let (hours, minutes, _) = t.offset().as_hms();
    let mut out = String::with_capacity(29);
    push_digits(&mut out, year as u32, 4);
    out.push('-');
    push_digits(&mut out, u32::from(u8::from(t.month())), 2);
    out.push('-');
    push_digits(&mut out, u32::from(t.day()), 2);
    out.push('T');
    push_digits(&mut out, u32::from(t.hour()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.minute()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.second()), 2);
    out.push('.');
    push_digits(&mut out, u32::from(t.millisecond()), 3);
    out.push(if hours < 0 || minutes < 0 { '-' } else { '+' });
    push_digits(&mut out, u32::from(hours.unsigned_abs()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(minutes.unsigned_abs()), 2);
    out
}

/// `n` as exactly `width` decimal digits (zero-padded; `n` fits).
fn push_digits(out: &mut String, n: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = (n / 10u32.pow(place)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

/// [`format_started`] for years outside 0..=9999, through the time crate.
fn format_started_slowly(t: time::OffsetDateTime) -> String {
    const FMT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
    );
    // The format has only fields every OffsetDateTime has.
    t.format(FMT).unwrap_or_default()
}

/// Parses a HAR `startedDateTime` (RFC 3339, any precision).
pub fn parse_started(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn started_times_are_formatted_as_the_time_crate_does() {
        let base = time::macros::datetime!(2026-12-04 10:46:04.228_999 UTC);
        let offsets = [(0, 0), (5, 30), (-3, -30), (-11, 0), (14, 0), (0, -45)];
        for step in 0..500i64 {
            let t = base + time::Duration::milliseconds(step * 86_400_123 + step * step * 7);
            for (h, m) in offsets {
                let t = t.to_offset(time::UtcOffset::from_hms(h, m, 0).unwrap());
                assert_eq!(format_started(t), format_started_slowly(t), "{t}");
            }
        }
    }

    #[test]
    fn extras_serialize_beside_the_standard_fields() {
        let mut e = Entry::default();
        e.har.started_date_time = "2026-11-25T12:00:00.000+00:00".into();
        // What serde's defaults read back for absent optional timings.
        let t = &mut e.har.timings;
        (t.blocked, t.dns, t.connect, t.ssl) = (Some(-1.0), Some(-1.0), Some(-1.0), Some(-1.0));
        e.error = Some("upstream reset".into());
        e.redacted = vec!["request.headers.x-api-key".into()];
        e.sse_events = Some(vec![SseEvent {
            time: 1.5,
            event: "ping".into(),
            data: "{}".into(),
            ..Default::default()
        }]);
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["_error"], "upstream reset");
        assert_eq!(v["_redacted"][0], "request.headers.x-api-key");
        assert_eq!(v["_sseEvents"][0]["event"], "ping");
        assert!(v["_sseEvents"][0].get("id").is_none());
        assert_eq!(v["startedDateTime"], "2026-11-25T12:00:00.000+00:00");
        let back: Entry = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn started_time_has_millis_and_offset() {
        let t = time::macros::datetime!(2026-11-25 12:34:56.789_123 UTC);
        let s = format_started(t);
        assert_eq!(s, "2026-11-25T12:34:56.789+00:00");
        assert_eq!(
            parse_started(&s).unwrap().unix_timestamp(),
            t.unix_timestamp()
        );
    }
}

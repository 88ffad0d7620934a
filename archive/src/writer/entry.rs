//! An entry's JSON, written field by field.
//!
//! The same bytes as serialising [`Entry`] with serde (test
//! `every_peer_entry_is_written_as_serde_writes_it`), without serde's path
//! for a struct with `#[serde(flatten)]`: that path turns the entry into a
//! map and sends every field through a boxed key and a dynamic value
//! serializer, about as much work per exchange as escaping all of its text.
//! The fields an exchange always has (heads, bodies, timings, events) are
//! written here; the rare ones (cookies, cache entries, form parameters,
//! WebSocket messages, other tools' `_fields`) go through [`write_json`].
use super::escape::write_str;
use super::json::write_json;
use crate::model::{Content, Entry, Header, PostData, Request, Response, SseEvent, Timings};
use serde_json::ser::{CompactFormatter, Formatter};
use serde_json::Error;

/// Appends `entry` as compact JSON, byte for byte what
/// `serde_json::to_writer(entry)` writes.
pub fn write_entry(out: &mut Vec<u8>, entry: &Entry) -> Result<(), Error> {
    let har = &entry.har;
    let mut o = Object::open(out);
    o.opt_str("pageref", &har.pageref);
    o.str("startedDateTime", &har.started_date_time);
    o.f64("time", har.time);
    request(o.key("request"), &har.request)?;
    response(o.key("response"), &har.response)?;
    write_json(o.key("cache"), &har.cache)?;
    timings(o.key("timings"), &har.timings);
    o.opt_str("serverIPAddress", &har.server_ip_address);
    o.opt_str("connection", &har.connection);
    o.opt_str("comment", &har.comment);
    if let Some(events) = &entry.sse_events {
        let out = o.key("_sseEvents");
        array(out, events, |out, ev| {
            sse_event(out, ev);
            Ok(())
        })?;
    }
    o.opt_str("_error", &entry.error);
    if !entry.redacted.is_empty() {
        array(o.key("_redacted"), &entry.redacted, |out, place| {
            write_str(out, place);
            Ok(())
        })?;
    }
    if let Some(messages) = &entry.websocket_messages {
        write_json(o.key("_webSocketMessages"), messages)?;
    }
    for (name, value) in &entry.extra {
        o.comma();
        write_str(o.out, name);
        o.out.push(b':');
        write_json(o.out, value)?;
    }
    o.close();
    Ok(())
}

fn request(out: &mut Vec<u8>, r: &Request) -> Result<(), Error> {
    let mut o = Object::open(out);
    o.str("method", &r.method);
    o.str("url", &r.url);
    o.str("httpVersion", &r.http_version);
    write_json(o.key("cookies"), &r.cookies)?;
    pairs(o.key("headers"), &r.headers)?;
    array(o.key("queryString"), &r.query_string, |out, q| {
        pair(out, &q.name, &q.value, &q.comment);
        Ok(())
    })?;
    if let Some(post) = &r.post_data {
        post_data(o.key("postData"), post)?;
    }
    o.i64("headersSize", r.headers_size);
    o.i64("bodySize", r.body_size);
    o.opt_str("comment", &r.comment);
    o.close();
    Ok(())
}

fn response(out: &mut Vec<u8>, r: &Response) -> Result<(), Error> {
    let mut o = Object::open(out);
    o.i64("status", r.status);
    o.str("statusText", &r.status_text);
    o.str("httpVersion", &r.http_version);
    write_json(o.key("cookies"), &r.cookies)?;
    pairs(o.key("headers"), &r.headers)?;
    content(o.key("content"), &r.content);
    o.opt_str("redirectURL", &r.redirect_url);
    o.i64("headersSize", r.headers_size);
    o.i64("bodySize", r.body_size);
    o.opt_str("comment", &r.comment);
    o.close();
    Ok(())
}

fn post_data(out: &mut Vec<u8>, p: &PostData) -> Result<(), Error> {
    let mut o = Object::open(out);
    o.str("mimeType", &p.mime_type);
    o.opt_str("text", &p.text);
    if let Some(params) = &p.params {
        write_json(o.key("params"), params)?;
    }
    o.opt_str("comment", &p.comment);
    o.close();
    Ok(())
}

fn content(out: &mut Vec<u8>, c: &Content) {
    let mut o = Object::open(out);
    o.i64("size", c.size);
    if let Some(compression) = c.compression {
        o.i64("compression", compression);
    }
    o.opt_str("mimeType", &c.mime_type);
    o.opt_str("text", &c.text);
    o.opt_str("encoding", &c.encoding);
    o.opt_str("comment", &c.comment);
    o.close();
}

fn timings(out: &mut Vec<u8>, t: &Timings) {
    let mut o = Object::open(out);
    o.opt_f64("blocked", t.blocked);
    o.opt_f64("dns", t.dns);
    o.opt_f64("connect", t.connect);
    o.f64("send", t.send);
    o.f64("wait", t.wait);
    o.f64("receive", t.receive);
    o.opt_f64("ssl", t.ssl);
    o.opt_str("comment", &t.comment);
    o.close();
}

fn sse_event(out: &mut Vec<u8>, ev: &SseEvent) {
    let mut o = Object::open(out);
    o.f64("time", ev.time);
    o.str("event", &ev.event);
    o.str("data", &ev.data);
    o.opt_str("id", &ev.id);
    if let Some(retry) = ev.retry {
        let out = o.key("retry");
        // Writing into a Vec cannot fail.
        let _ = CompactFormatter.write_u64(out, retry);
    }
    o.close();
}

/// Headers: `[{"name":…,"value":…},…]`.
fn pairs(out: &mut Vec<u8>, headers: &[Header]) -> Result<(), Error> {
    array(out, headers, |out, h| {
        pair(out, &h.name, &h.value, &h.comment);
        Ok(())
    })
}

/// A header or query parameter (the two have the same fields).
fn pair(out: &mut Vec<u8>, name: &str, value: &str, comment: &Option<String>) {
    let mut o = Object::open(out);
    o.str("name", name);
    o.str("value", value);
    o.opt_str("comment", comment);
    o.close();
}

fn array<T>(
    out: &mut Vec<u8>,
    items: &[T],
    mut each: impl FnMut(&mut Vec<u8>, &T) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, item)?;
    }
    out.push(b']');
    Ok(())
}

/// An object being written: commas between members, `}` at the end.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Object<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    #[inline(always)]
    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// Writes `"key":` and hands back the buffer for the value. Keys are
    /// the constants above: nothing in them needs escaping. Inlined (with
    /// the methods that write a key) where each key is a constant, so that
    /// copying it is a few stores instead of a `memcpy` call: the writer
    /// thread 44.0k -> 41.4k instructions per 1 KiB exchange (callgrind).
    #[inline(always)]
    fn key(&mut self, key: &'static str) -> &mut Vec<u8> {
        self.comma();
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    #[inline(always)]
    fn str(&mut self, key: &'static str, value: &str) {
        write_str(self.key(key), value);
    }

    /// Skipped when `None`, as the `har` crate's `skip_serializing_none` does.
    #[inline(always)]
    fn opt_str(&mut self, key: &'static str, value: &Option<String>) {
        if let Some(value) = value {
            self.str(key, value);
        }
    }

    #[inline(always)]
    fn i64(&mut self, key: &'static str, value: i64) {
        let out = self.key(key);
        let _ = CompactFormatter.write_i64(out, value);
    }

    /// As serde_json writes a float: shortest round-trip digits, `null`
    /// when not finite.
    #[inline(always)]
    fn f64(&mut self, key: &'static str, value: f64) {
        let out = self.key(key);
        let _ = match value.is_finite() {
            true => CompactFormatter.write_f64(out, value),
            false => CompactFormatter.write_null(out),
        };
    }

    #[inline(always)]
    fn opt_f64(&mut self, key: &'static str, value: Option<f64>) {
        if let Some(value) = value {
            self.f64(key, value);
        }
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests;

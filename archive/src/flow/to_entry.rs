//! One mitmproxy HTTP flow state → one archive entry.
//!
//! Method, URL (`scheme://host[:port]path`), headers in order and case,
//! bodies decoded by their `content-encoding` (text, or base64; the shared
//! wire builder, `crate::wire`, as `record` does it), status and
//! reason, HTTP versions, the server's address, the flow's error and the
//! timestamps (`timing.rs`). `_sseEvents` stays `None`: mitmproxy keeps no
//! event times; the stream is in `response.content.text`.
use super::state::Obj;
use super::timing::{self, FlowTimes};
use super::tnetstring::Value;
use super::{url, FlowError, FLOW_FORMAT_VERSION};
use crate::fields::no_response;
use crate::model::{Entry, Header, Request, Response, WebSocketMessage};
use crate::wire;

/// The entry for `flow`; `reused` says its server connection was already
/// accounted for by an earlier flow.
pub(crate) fn convert(flow: &Value, reused: bool) -> Result<Entry, FlowError> {
    let root = Obj::root(flow)?;
    check_kind(&root)?;
    let req = root.obj("request", "flow.request")?;
    let resp = root.opt_obj("response", "flow.response")?;
    let server = root.obj("server_conn", "flow.server_conn")?;
    let error = root.opt_obj("error", "flow.error")?;

    let times = FlowTimes {
        request_start: req.float("timestamp_start")?,
        request_end: req.opt_float("timestamp_end")?,
        response_start: resp.map(|r| r.float("timestamp_start")).transpose()?,
        response_end: resp
            .map(|r| r.opt_float("timestamp_end"))
            .transpose()?
            .flatten(),
        conn_start: server.opt_float("timestamp_start")?,
        tcp_setup: server.opt_float("timestamp_tcp_setup")?,
        tls_setup: server.opt_float("timestamp_tls_setup")?,
        error_at: error
            .map(|e| e.opt_float("timestamp"))
            .transpose()?
            .flatten(),
    };
    let (time, timings) = timing::to_har(&times, reused);

    let mut entry = Entry::default();
    let har = &mut entry.har;
    har.started_date_time = started(times.request_start);
    har.time = time;
    har.timings = timings;
    har.request = request(&req)?;
    har.response = match resp {
        Some(r) => response(&r)?,
        None => no_response(),
    };
    // Version 18 and older call the resolved address `ip_address`.
    let peer = match server.opt_address("peername")? {
        Some(p) => Some(p),
        None => server.opt_address("ip_address")?,
    };
    har.server_ip_address = peer.map(|(ip, _)| ip);
    har.connection = server.opt_text("id")?;
    har.comment = root.opt_text("comment")?.filter(|c| !c.is_empty());
    entry.error = error.map(|e| e.text("msg")).transpose()?;
    entry.websocket_messages = websocket_messages(&root)?;
    Ok(entry)
}

/// `websocket.messages` (`[opcode, from_client, content, timestamp, …]`)
/// as HAR's `_webSocketMessages`, as mitmproxy's HAR export writes them.
fn websocket_messages(root: &Obj) -> Result<Option<Vec<WebSocketMessage>>, FlowError> {
    let Some(ws) = root.opt_obj("websocket", "flow.websocket")? else {
        return Ok(None);
    };
    let bad = |i: usize| FlowError::Field {
        path: format!("flow.websocket.messages[{i}]"),
        why: "expected [opcode, from_client, content, timestamp, …]".into(),
    };
    let list = ws.list("messages")?;
    let mut messages = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let Some([opcode, from_client, content, time, ..]) = m.as_list() else {
            return Err(bad(i));
        };
        let (Some(opcode), Some(content), Some(time)) =
            (opcode.as_i64(), content.as_bytes(), time.as_f64())
        else {
            return Err(bad(i));
        };
        let text = (opcode == 1)
            .then(|| std::str::from_utf8(content).ok())
            .flatten();
        messages.push(WebSocketMessage {
            kind: if matches!(from_client, Value::Bool(true)) {
                "send"
            } else {
                "receive"
            }
            .into(),
            time,
            opcode,
            data: text.map_or_else(|| crate::base64::encode(content), str::to_owned),
        });
    }
    Ok(Some(messages))
}

/// An HTTP flow of a version this reads.
fn check_kind(root: &Obj) -> Result<(), FlowError> {
    let kind = root.text("type")?;
    if kind != "http" {
        return Err(FlowError::NotHttp(kind));
    }
    // Older versions were brought up by `migrate.rs` (tuples included).
    match root.int("version") {
        Ok(v) if v > FLOW_FORMAT_VERSION => Err(FlowError::Version(v.to_string())),
        _ => Ok(()),
    }
}

/// `startedDateTime` with microseconds, so the flow's moment survives the
/// round trip (mitmproxy's own HAR export writes microseconds too).
pub(crate) fn started(epoch: f64) -> String {
    // Round to whole microseconds first: f64 has ~256 ns steps at today's
    // epochs, and the format below truncates to microseconds. A corrupt
    // flow's moment can be any float: out of range falls back to the epoch.
    let nanos = ((epoch * 1e6).round() as i128).saturating_mul(1000);
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    const FMT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6][offset_hour sign:mandatory]:[offset_minute]"
    );
    t.format(FMT).unwrap_or_default()
}

fn request(req: &Obj) -> Result<Request, FlowError> {
    let scheme = req.text("scheme")?;
    let host = req.text("host")?;
    let port = req.int("port")?;
    let port = u16::try_from(port).map_err(|_| FlowError::Field {
        path: "flow.request.port".into(),
        why: format!("{port} is not a port"),
    })?;
    let path = req.text("path")?;
    let method = req.text("method")?;
    let http_version = req.text("http_version")?;
    let fields = req.headers("headers")?;
    let authority = req.opt_text("authority")?;
    let (host, port) = addressed_to(authority.as_deref(), &fields, &scheme).unwrap_or((host, port));
    let headers = wire::headers(fields);
    let start_line = method.len() + path.len() + http_version.len() + 4;
    let head = wire::RequestHead {
        size: head_size(&http_version, start_line, &headers),
        url: url::join(&scheme, &host, port, &path),
        method,
        http_version,
        headers,
    };
    let body = req.opt_bytes("content")?.unwrap_or_default();
    Ok(wire::request(head, body.to_vec()))
}

/// The host and port the client addressed, as mitmproxy's `pretty_url`
/// takes them: HTTP/2's `:authority`, else the `Host` header. The flow's
/// `host` field is where the request went, which in transparent mode is
/// the server's IP address.
fn addressed_to(
    authority: Option<&str>,
    headers: &[(String, String)],
    scheme: &str,
) -> Option<(String, u16)> {
    let host_header = || {
        headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("host"))
            .map(|(_, value)| value.as_str())
    };
    let named = authority.filter(|a| !a.is_empty()).or_else(host_header)?;
    let parts = url::split(&format!("{scheme}://{}/", named.trim()))?;
    Some((parts.host, parts.port))
}

fn response(resp: &Obj) -> Result<Response, FlowError> {
    let status = resp.int("status_code")?;
    let reason = resp.text("reason")?;
    let http_version = resp.text("http_version")?;
    let headers = wire::headers(resp.headers("headers")?);
    let start_line = http_version.len() + status.to_string().len() + reason.len() + 4;
    let head = wire::ResponseHead {
        size: head_size(&http_version, start_line, &headers),
        status,
        reason,
        http_version,
        headers,
    };
    let body = resp.opt_bytes("content")?.unwrap_or_default();
    Ok(wire::response(head, body.to_vec()))
}

/// An HTTP/1 head's size (start line, headers, blank line); unknown for
/// HTTP/2 and 3, whose heads are compressed frames.
fn head_size(version: &str, start_line: usize, headers: &[Header]) -> Option<usize> {
    if !version.starts_with("HTTP/1") {
        return None;
    }
    let fields: usize = headers
        .iter()
        .map(|h| h.name.len() + h.value.len() + 4)
        .sum();
    Some(start_line + fields + 2)
}

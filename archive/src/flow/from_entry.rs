//! One archive entry → one mitmproxy HTTP flow state, with exactly the keys
//! mitmproxy 11's `get_state` writes (its `set_state` refuses missing or
//! extra keys).
//!
//! What HAR does not know is filled as mitmproxy's own HAR import fills it:
//! the client is `127.0.0.1:0`, the proxy mode `regular`, no TLS details
//! beyond the scheme (and ALPN from the HTTP version). Ids are derived from
//! the entry, so one entry always gives the same flow, and entries that
//! share a `connection` share a server connection id.
use super::body;
use super::timing::{self, FlowTimes};
use super::tnetstring::Value;
use super::{url, FlowError, FLOW_FORMAT_VERSION};
use crate::model::{parse_started, Entry, Header};
use sha2::{Digest, Sha256};

/// The flow for `entry`; `index` (its place in the file) varies the id.
pub(crate) fn convert(entry: &Entry, index: usize) -> Result<Value, FlowError> {
    let request = entry.har.request.post_data.as_ref().and_then(|p| {
        let base64 = p.comment.as_deref() == Some("base64");
        Some(body::decoded_bytes(p.text.as_deref()?, base64))
    });
    let content = &entry.har.response.content;
    let response = content.text.as_deref().map(|text| {
        let base64 = content.encoding.as_deref() == Some("base64");
        body::decoded_bytes(text, base64)
    });
    convert_with(entry, index, [request, response])
}

/// [`convert`] for an entry not needed afterwards: its bodies are moved
/// into the flow (base64 decoded in their own buffer), not copied, so a
/// 200 MB body is held once.
pub(crate) fn convert_owned(mut entry: Entry, index: usize) -> Result<Value, FlowError> {
    let request = entry.har.request.post_data.as_mut().and_then(|p| {
        let base64 = p.comment.as_deref() == Some("base64");
        Some(body::decoded_owned(p.text.take()?, base64))
    });
    let content = &mut entry.har.response.content;
    let base64 = content.encoding.as_deref() == Some("base64");
    let response = content
        .text
        .take()
        .map(|text| body::decoded_owned(text, base64));
    convert_with(&entry, index, [request, response])
}

/// The flow, with the request's and the response's body bytes given.
fn convert_with(
    entry: &Entry,
    index: usize,
    [request_body, response_body]: [Option<Vec<u8>>; 2],
) -> Result<Value, FlowError> {
    let har = &entry.har;
    let url =
        url::split(&har.request.url).ok_or_else(|| FlowError::Url(har.request.url.clone()))?;
    let start = parse_started(&har.started_date_time)
        .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
        .ok_or_else(|| FlowError::Field {
            path: "startedDateTime".into(),
            why: format!("{:?} is not an RFC 3339 date", har.started_date_time),
        })?;
    let has_response = har.response.status > 0;
    let times = timing::from_har(start, har.time, &har.timings, has_response);
    let tls = url.scheme.eq_ignore_ascii_case("https");
    let http_version = flow_version(&har.request.http_version);

    let error = entry.error.as_ref().map(|msg| {
        Value::dict(vec![
            ("msg", Value::str(msg.as_str())),
            ("timestamp", Value::opt(times.error_at)),
        ])
    });
    let server_id = match &har.connection {
        // HAR's `connection` is only unique per server.
        Some(c) => uuid(&[
            "connection",
            c,
            &url.scheme,
            &url.host,
            &url.port.to_string(),
        ]),
        None => uuid(&["server", &har.started_date_time, &index.to_string()]),
    };
    Ok(Value::dict(vec![
        ("version", Value::Int(FLOW_FORMAT_VERSION)),
        ("type", Value::str("http")),
        (
            "id",
            Value::Str(uuid(&[
                "flow",
                &har.started_date_time,
                &har.request.url,
                &index.to_string(),
            ])),
        ),
        ("error", error.unwrap_or(Value::Null)),
        ("client_conn", client(entry, start, index)),
        (
            "server_conn",
            server(entry, &url, &times, tls, &http_version, server_id),
        ),
        ("intercepted", Value::Bool(false)),
        ("is_replay", Value::Null),
        ("marked", Value::str("")),
        ("metadata", Value::Dict(Vec::new())),
        (
            "comment",
            Value::str(har.comment.clone().unwrap_or_default()),
        ),
        ("timestamp_created", Value::Float(start)),
        ("backup", Value::Null),
        (
            "request",
            request(entry, &url, &times, &http_version, request_body),
        ),
        (
            "response",
            if has_response {
                response(entry, &times, response_body)
            } else {
                Value::Null
            },
        ),
        ("websocket", websocket(entry)),
    ]))
}

/// HAR's `_webSocketMessages` as mitmproxy 11's `WebSocketData` state:
/// each message `[opcode, from_client, content, timestamp, dropped,
/// injected]`; how the connection closed HAR does not say (null).
fn websocket(entry: &Entry) -> Value {
    let Some(messages) = &entry.websocket_messages else {
        return Value::Null;
    };
    let messages = messages
        .iter()
        .map(|m| {
            let content = match m.opcode {
                1 => m.data.as_bytes().to_vec(),
                _ => crate::base64::decode(&m.data).unwrap_or_else(|| m.data.as_bytes().to_vec()),
            };
            Value::List(vec![
                Value::Int(m.opcode),
                Value::Bool(m.is_sent()),
                Value::bytes(content),
                Value::Float(m.time),
                Value::Bool(false),
                Value::Bool(false),
            ])
        })
        .collect();
    Value::dict(vec![
        ("messages", Value::List(messages)),
        ("closed_by_client", Value::Null),
        ("close_code", Value::Null),
        ("close_reason", Value::Null),
        ("timestamp_end", Value::Null),
    ])
}

/// mitmproxy names HTTP/2 `HTTP/2.0` in flows, as HAR does; others as is.
fn flow_version(version: &str) -> String {
    match version {
        "" => "HTTP/1.1".to_owned(),
        "h2" | "HTTP/2" => "HTTP/2.0".to_owned(),
        v => v.to_owned(),
    }
}

/// A version-4-shaped UUID from a hash of `parts` (deterministic).
fn uuid(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for p in parts {
        hash.update(p.as_bytes());
        hash.update([0]);
    }
    let mut b: [u8; 16] = hash.finalize()[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn address(host: &str, port: u16) -> Value {
    Value::List(vec![Value::str(host), Value::Int(i64::from(port))])
}

/// The fields `Client` and `Server` share (mitmproxy's `Connection`).
fn connection_fields(
    id: String,
    tls: bool,
    alpn: Option<&str>,
    sni: Option<String>,
    tls_setup: Option<f64>,
) -> Vec<(&'static str, Value)> {
    vec![
        ("id", Value::Str(id)),
        ("error", Value::Null),
        ("tls", Value::Bool(tls)),
        ("certificate_list", Value::List(Vec::new())),
        (
            "alpn",
            Value::opt(alpn.map(|a| a.as_bytes().to_vec()).map(Value::Bytes)),
        ),
        ("alpn_offers", Value::List(Vec::new())),
        ("cipher", Value::Null),
        ("cipher_list", Value::List(Vec::new())),
        ("tls_version", Value::Null),
        ("sni", Value::opt(sni)),
        ("timestamp_end", Value::Null),
        ("timestamp_tls_setup", Value::opt(tls_setup)),
        ("transport_protocol", Value::str("tcp")),
    ]
}

/// HAR knows nothing of the client: `127.0.0.1:0`, as mitmproxy's HAR
/// import writes it.
fn client(entry: &Entry, start: f64, index: usize) -> Value {
    let id = uuid(&["client", &entry.har.started_date_time, &index.to_string()]);
    let mut fields = connection_fields(id, false, None, None, None);
    fields.extend([
        ("peername", address("127.0.0.1", 0)),
        ("sockname", address("127.0.0.1", 0)),
        ("timestamp_start", Value::Float(start)),
        ("mitmcert", Value::Null),
        ("proxy_mode", Value::str("regular")),
    ]);
    Value::dict(fields)
}

fn server(
    entry: &Entry,
    url: &url::Url,
    t: &FlowTimes,
    tls: bool,
    version: &str,
    id: String,
) -> Value {
    let alpn = tls.then_some(if version.starts_with("HTTP/2") {
        "h2"
    } else {
        "http/1.1"
    });
    let is_name = url.host.parse::<std::net::IpAddr>().is_err();
    let sni = (tls && is_name).then(|| url.host.clone());
    let mut fields = connection_fields(id, tls, alpn, sni, t.tls_setup);
    let peer = entry
        .har
        .server_ip_address
        .as_deref()
        .filter(|ip| !ip.is_empty())
        .map(|ip| address(ip.trim_matches(['[', ']']), url.port));
    fields.extend([
        ("address", address(&url.host, url.port)),
        ("peername", peer.unwrap_or(Value::Null)),
        ("sockname", Value::Null),
        ("timestamp_start", Value::opt(t.conn_start)),
        ("timestamp_tcp_setup", Value::opt(t.tcp_setup)),
        ("via", Value::Null),
    ]);
    Value::dict(fields)
}

fn headers(list: &[Header]) -> Value {
    Value::List(
        list.iter()
            .map(|h| {
                Value::List(vec![
                    Value::bytes(h.name.as_bytes()),
                    Value::bytes(h.value.as_bytes()),
                ])
            })
            .collect(),
    )
}

fn request(
    entry: &Entry,
    url: &url::Url,
    t: &FlowTimes,
    version: &str,
    decoded: Option<Vec<u8>>,
) -> Value {
    let req = &entry.har.request;
    let (content, headers_kept) = body::to_wire(&req.headers, decoded.unwrap_or_default());
    // HTTP/1 requests carry no authority (origin form); HTTP/2 has :authority.
    let authority = if version.starts_with("HTTP/2") {
        url::authority(&url.scheme, &url.host, url.port)
    } else {
        String::new()
    };
    Value::dict(vec![
        ("http_version", Value::bytes(version.as_bytes())),
        ("headers", headers(&headers_kept)),
        ("content", Value::Bytes(content)),
        ("trailers", Value::Null),
        ("timestamp_start", Value::Float(t.request_start)),
        ("timestamp_end", Value::opt(t.request_end)),
        ("host", Value::str(url.host.as_str())),
        ("port", Value::Int(i64::from(url.port))),
        ("method", Value::bytes(req.method.as_bytes())),
        (
            "scheme",
            Value::bytes(url.scheme.to_ascii_lowercase().into_bytes()),
        ),
        ("authority", Value::bytes(authority.into_bytes())),
        ("path", Value::bytes(url.path.as_bytes())),
    ])
}

fn response(entry: &Entry, t: &FlowTimes, decoded: Option<Vec<u8>>) -> Value {
    let resp = &entry.har.response;
    let (content, headers_kept) = body::to_wire(&resp.headers, decoded.unwrap_or_default());
    let version = flow_version(&resp.http_version);
    Value::dict(vec![
        ("http_version", Value::bytes(version.into_bytes())),
        ("headers", headers(&headers_kept)),
        ("content", Value::Bytes(content)),
        ("trailers", Value::Null),
        ("timestamp_start", Value::opt(t.response_start)),
        ("timestamp_end", Value::opt(t.response_end)),
        ("status_code", Value::Int(resp.status)),
        ("reason", Value::bytes(resp.status_text.as_bytes())),
    ])
}

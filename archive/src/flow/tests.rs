//! Tests of the flow module; shared builders here: a flow as mitmdump
//! writes it, field access, and the writer and reader over memory.
//! `mapping`: flow ↔ entry; `files`: the reader and writer on whole files.

use super::tnetstring::{self, Value};
use super::*;
use crate::model::Header;
use crate::testing::{sample_entry, SharedSink};
use std::io::Write;

const T0: f64 = 1_795_612_388.749_449_3;

fn pair(name: &str, value: &[u8]) -> Value {
    Value::List(vec![Value::bytes(name.as_bytes()), Value::bytes(value)])
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

const SSE: &str = "event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

/// A flow shaped as mitmdump 11.0.2 wrote it in reverse mode (keys as in
/// a real capture); `gzip_json` switches the response to gzip'd JSON.
fn mitm_flow(server_id: &str, gzip_json: bool) -> Value {
    let conn = |extra: Vec<(&'static str, Value)>| {
        let mut fields = vec![
            ("id", Value::str(server_id)),
            ("error", Value::Null),
            ("tls", Value::Bool(false)),
            ("certificate_list", Value::List(vec![])),
            ("alpn", Value::Null),
            ("alpn_offers", Value::List(vec![])),
            ("cipher", Value::Null),
            ("cipher_list", Value::List(vec![])),
            ("tls_version", Value::Null),
            ("sni", Value::Null),
            ("timestamp_end", Value::Null),
            ("timestamp_tls_setup", Value::Null),
            ("transport_protocol", Value::str("tcp")),
        ];
        fields.extend(extra);
        Value::dict(fields)
    };
    let addr = |h: &str, p: i64| Value::List(vec![Value::str(h), Value::Int(p)]);
    let (ctype, body, encoding) = if gzip_json {
        (
            "application/json",
            gzip(b"{\"type\":\"message\",\"text\":\"caf\xc3\xa9\"}"),
            Some("gzip"),
        )
    } else {
        (
            "text/event-stream; charset=utf-8",
            SSE.as_bytes().to_vec(),
            None,
        )
    };
    let mut resp_headers = vec![
        pair("request-id", b"req_fake_000001"),
        pair("Content-Type", ctype.as_bytes()),
    ];
    if let Some(e) = encoding {
        resp_headers.push(pair("Content-Encoding", e.as_bytes()));
    }
    Value::dict(vec![
        ("version", Value::Int(21)),
        ("type", Value::str("http")),
        ("id", Value::str("bd7d8dc4-f9ca-49d6-bcef-cf49ae4821c3")),
        ("error", Value::Null),
        (
            "client_conn",
            conn(vec![
                ("peername", addr("127.0.0.1", 38922)),
                ("sockname", addr("127.0.0.1", 18089)),
                ("timestamp_start", Value::Float(T0 - 0.002)),
                ("mitmcert", Value::Null),
                ("proxy_mode", Value::str("reverse:http://127.0.0.1:37399")),
            ]),
        ),
        (
            "server_conn",
            conn(vec![
                ("address", addr("127.0.0.1", 37399)),
                ("peername", addr("127.0.0.1", 37399)),
                ("sockname", addr("127.0.0.1", 46370)),
                ("timestamp_start", Value::Float(T0 - 0.001)),
                ("timestamp_tcp_setup", Value::Float(T0 - 0.0008)),
                ("via", Value::Null),
            ]),
        ),
        ("intercepted", Value::Bool(false)),
        ("is_replay", Value::Null),
        ("marked", Value::str("")),
        ("metadata", Value::Dict(vec![])),
        ("comment", Value::str("")),
        ("timestamp_created", Value::Float(T0)),
        ("backup", Value::Null),
        (
            "request",
            Value::dict(vec![
                ("http_version", Value::bytes("HTTP/1.1")),
                (
                    "headers",
                    Value::List(vec![
                        pair("Host", b"127.0.0.1:37399"),
                        pair("x-api-key", b"sk-ant-api03-FAKEFAKE"),
                        pair("Content-Type", b"application/json"),
                        pair("X-Mixed-Case", b"v\xc3\xa4lue"),
                    ]),
                ),
                (
                    "content",
                    Value::bytes(&b"{\"model\":\"claude-sonnet-4-5\",\"stream\":true}"[..]),
                ),
                ("trailers", Value::Null),
                ("timestamp_start", Value::Float(T0)),
                ("timestamp_end", Value::Float(T0 + 0.000_517_3)),
                ("host", Value::str("127.0.0.1")),
                ("port", Value::Int(37399)),
                ("method", Value::bytes("POST")),
                ("scheme", Value::bytes("http")),
                ("authority", Value::bytes("")),
                ("path", Value::bytes("/v1/messages?beta=true")),
            ]),
        ),
        (
            "response",
            Value::dict(vec![
                ("http_version", Value::bytes("HTTP/1.1")),
                ("headers", Value::List(resp_headers)),
                ("content", Value::Bytes(body)),
                ("trailers", Value::Null),
                ("timestamp_start", Value::Float(T0 + 0.001_3)),
                ("timestamp_end", Value::Float(T0 + 0.812_123_4)),
                ("status_code", Value::Int(200)),
                ("reason", Value::bytes("OK")),
            ]),
        ),
        ("websocket", Value::Null),
    ])
}

fn field<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(v, |v, k| v.get(k).unwrap_or_else(|| panic!("no {path}")))
}

fn decoded_content(msg: &Value) -> Vec<u8> {
    let content = field(msg, "content").as_bytes().unwrap();
    let headers = field(msg, "headers").as_list().unwrap();
    let coding = headers.iter().find_map(|h| {
        let h = h.as_list().unwrap();
        h[0].as_str()
            .unwrap()
            .eq_ignore_ascii_case("content-encoding")
            .then(|| h[1].as_str().unwrap().to_owned())
    });
    match coding {
        Some(c) => crate::decode::decode_body(&c, content).unwrap(),
        None => content.to_vec(),
    }
}

fn write_all(entries: &[crate::Entry]) -> Vec<u8> {
    let sink = SharedSink::default();
    let mut w = FlowWriter::new("test", Box::new(sink.clone()));
    for e in entries {
        w.append(e).unwrap();
        assert!(sink.bytes().ends_with(b"}"), "flushed per flow");
    }
    w.finish().unwrap();
    sink.bytes()
}

fn read_all(bytes: Vec<u8>) -> (Vec<crate::Entry>, FlowReader) {
    let mut r = FlowReader::from_reader("test", Box::new(std::io::Cursor::new(bytes))).unwrap();
    let entries = r.by_ref().map(|e| e.unwrap()).collect();
    (entries, r)
}

#[test]
fn an_owned_entry_writes_the_same_flow_without_copying_its_bodies() {
    let mut entries: Vec<crate::Entry> = (0..3).map(sample_entry).collect();
    // Bytes as base64, text that says base64 but is not, a body over the
    // size written through the sink's buffer (4 MiB), a gzip'd body.
    entries[0].har.response.content.text = Some(crate::base64::encode(&[0, 159, 146, 150]));
    entries[0].har.response.content.encoding = Some("base64".into());
    entries[1].har.response.content.text = Some("not base64!".into());
    entries[1].har.response.content.encoding = Some("base64".into());
    let big = "say \"hi\" café 😀\n".repeat(300_000);
    entries[2].har.request.post_data.as_mut().unwrap().text = Some(big);
    let mut zipped = sample_entry(4);
    zipped.har.response.headers.push(Header {
        name: "content-encoding".into(),
        value: "gzip".into(),
        comment: None,
    });
    entries.push(zipped);
    let owned = {
        let sink = SharedSink::default();
        let mut w = FlowWriter::new("test", Box::new(sink.clone()));
        for e in &entries {
            w.append_owned(e.clone()).unwrap();
        }
        w.finish().unwrap();
        sink.bytes()
    };
    assert_eq!(owned, write_all(&entries), "byte for byte");
    let (back, _) = read_all(owned);
    assert_eq!(back.len(), 4);
    let (req, resp) = (
        |e: &crate::Entry| e.request_text().map(str::to_owned),
        |e: &crate::Entry| e.response_text().map(str::to_owned),
    );
    assert_eq!(req(&back[2]), req(&entries[2]), "the big body whole");
    assert_eq!(resp(&back[0]), resp(&entries[0]), "bytes back as base64");
    assert_eq!(resp(&back[1]).as_deref(), Some("not base64!"));
    // The streamed encoding is the buffered one.
    let flow = from_entry::convert(&entries[2], 0).unwrap();
    let mut streamed = Vec::new();
    tnetstring::dump_to(&flow, &mut streamed).unwrap();
    assert_eq!(streamed, tnetstring::to_vec(&flow));
}

mod files;
mod mapping;

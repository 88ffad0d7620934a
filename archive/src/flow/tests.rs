//! Round trips between flows and entries, and the reader and writer on
//! whole files (cut at every byte, mixed flow types, bad flows).
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

#[test]
fn flow_entry_flow_keeps_request_response_bodies_and_moments() {
    for gzip_json in [false, true] {
        let flow = mitm_flow("8c7db48a-1cda-4805-afe0-93ee5c58ee47", gzip_json);
        let entry = flow_to_entry(&flow).unwrap();
        assert_eq!(
            entry.har.request.url,
            "http://127.0.0.1:37399/v1/messages?beta=true"
        );
        assert_eq!(
            entry.request_header("x-mixed-case"),
            Some("väue".replace("äu", "älu")).as_deref()
        );
        assert_eq!(entry.sse_events, None, "mitmproxy keeps no event times");
        let back = entry_to_flow(&entry).unwrap();
        for path in [
            "request.method",
            "request.scheme",
            "request.host",
            "request.port",
            "request.path",
            "request.headers",
            "request.content",
            "request.http_version",
            "response.status_code",
            "response.reason",
            "response.headers",
            "response.http_version",
            "type",
            "version",
        ] {
            assert_eq!(field(&back, path), field(&flow, path), "{path}");
        }
        assert_eq!(
            decoded_content(field(&back, "response")),
            decoded_content(field(&flow, "response"))
        );
        for path in [
            "request.timestamp_start",
            "request.timestamp_end",
            "response.timestamp_start",
            "response.timestamp_end",
        ] {
            let (a, b) = (
                field(&back, path).as_f64().unwrap(),
                field(&flow, path).as_f64().unwrap(),
            );
            assert!((a - b).abs() < 1e-6, "{path}: {a} vs {b}");
        }
    }
}

#[test]
fn gzip_json_becomes_decoded_text_with_wire_size() {
    let entry = flow_to_entry(&mitm_flow("s", true)).unwrap();
    let content = &entry.har.response.content;
    assert_eq!(
        content.text.as_deref(),
        Some("{\"type\":\"message\",\"text\":\"café\"}")
    );
    assert_eq!(content.encoding, None);
    let decoded = "{\"type\":\"message\",\"text\":\"café\"}".len() as i64;
    assert_eq!(content.size, decoded);
    assert!(entry.har.response.body_size > 0 && entry.har.response.body_size != decoded);
    assert_eq!(entry.response_header("content-encoding"), Some("gzip"));
}

#[test]
fn entry_flow_entry_keeps_what_har_holds() {
    for i in 0..4 {
        let entry = sample_entry(i);
        let back = flow_to_entry(&entry_to_flow(&entry).unwrap()).unwrap();
        let (a, b) = (&entry.har, &back.har);
        assert_eq!(a.request.method, b.request.method);
        assert_eq!(a.request.url, b.request.url);
        assert_eq!(a.request.headers, b.request.headers);
        assert_eq!(
            a.request.post_data.as_ref().unwrap().text,
            b.request.post_data.as_ref().unwrap().text
        );
        assert_eq!(
            (a.response.status, &a.response.status_text),
            (b.response.status, &b.response.status_text)
        );
        assert_eq!(a.response.headers, b.response.headers);
        assert_eq!(a.response.content.text, b.response.content.text);
        assert_eq!(a.server_ip_address, b.server_ip_address);
        assert_eq!(entry.error, back.error);
        let (ta, tb) = (
            parse_started(&a.started_date_time),
            parse_started(&b.started_date_time),
        );
        assert_eq!(ta, tb, "start");
        // `time` is the sum of the timings (HAR 1.2), read back as such.
        let t = &a.timings;
        let sum: f64 = [
            t.blocked,
            t.dns,
            t.connect,
            t.ssl,
            Some(t.send),
            Some(t.wait),
            Some(t.receive),
        ]
        .into_iter()
        .flatten()
        .filter(|v| *v > 0.0)
        .sum();
        assert!((sum - b.time).abs() < 1e-3, "{sum} vs {}", b.time);
        assert!((a.timings.wait - b.timings.wait).abs() < 1e-3);
        assert!((a.timings.receive - b.timings.receive).abs() < 1e-3);
        assert_eq!(
            a.timings.connect.map(|c| c >= 0.0),
            b.timings.connect.map(|c| c >= 0.0)
        );
    }
}

use crate::model::parse_started;

fn entry_with_body(text: &str, encoding: Option<&str>, base64: bool) -> crate::Entry {
    let mut e = sample_entry(0);
    let resp = &mut e.har.response;
    resp.headers = vec![Header {
        name: "Content-Type".into(),
        value: "application/octet-stream".into(),
        comment: None,
    }];
    if let Some(enc) = encoding {
        resp.headers.push(Header {
            name: "Content-Encoding".into(),
            value: enc.into(),
            comment: None,
        });
    }
    resp.content.text = Some(text.into());
    resp.content.encoding = base64.then(|| "base64".into());
    e.sse_events = None;
    e
}

#[test]
fn bodies_are_encoded_for_their_content_encoding() {
    // Decoded br JSON in the entry → br bytes in the flow, header kept.
    let e = entry_with_body("{\"a\":1}", Some("br"), false);
    let flow = entry_to_flow(&e).unwrap();
    assert_eq!(decoded_content(field(&flow, "response")), b"{\"a\":1}");
    assert_ne!(
        field(&flow, "response.content").as_bytes().unwrap(),
        b"{\"a\":1}"
    );
    // Base64 binary → raw bytes.
    let e = entry_with_body("AP+AgQ==", None, true);
    let flow = entry_to_flow(&e).unwrap();
    assert_eq!(
        field(&flow, "response.content").as_bytes().unwrap(),
        [0x00, 0xff, 0x80, 0x81]
    );
    let back = flow_to_entry(&flow).unwrap();
    assert_eq!(
        back.har.response.content.encoding.as_deref(),
        Some("base64")
    );
    assert_eq!(back.response_text(), Some("AP+AgQ=="));
    // An unknown coding: decoded bytes, header dropped.
    let flow = entry_to_flow(&entry_with_body("x", Some("snappy"), false)).unwrap();
    assert_eq!(field(&flow, "response.content").as_bytes().unwrap(), b"x");
    let kept = field(&flow, "response.headers").as_list().unwrap();
    assert_eq!(kept.len(), 1);
}

#[test]
fn errors_and_missing_responses_map_both_ways() {
    let mut e = sample_entry(1);
    e.har.response = Default::default();
    e.error = Some("cannot connect to upstream: refused".into());
    let flow = entry_to_flow(&e).unwrap();
    assert!(field(&flow, "response").is_null());
    assert_eq!(
        field(&flow, "error.msg").as_str(),
        Some("cannot connect to upstream: refused")
    );
    let back = flow_to_entry(&flow).unwrap();
    assert_eq!(back.har.response.status, 0);
    assert_eq!(back.error, e.error);
}

#[test]
fn written_flows_have_exactly_mitmproxys_keys() {
    let flow = entry_to_flow(&sample_entry(0)).unwrap();
    let keys = |v: &Value| -> Vec<String> {
        let Value::Dict(pairs) = v else {
            panic!("not a dict")
        };
        let mut k: Vec<String> = pairs
            .iter()
            .map(|(k, _)| k.as_str().unwrap().to_owned())
            .collect();
        k.sort();
        k
    };
    let real = mitm_flow("s", false);
    for path in ["", "request", "response", "server_conn"] {
        let (ours, theirs) = if path.is_empty() {
            (&flow, &real)
        } else {
            (field(&flow, path), field(&real, path))
        };
        assert_eq!(keys(ours), keys(theirs), "{path}");
    }
    assert_eq!(
        keys(field(&flow, "client_conn")),
        keys(field(&real, "client_conn"))
    );
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
fn writer_then_reader_and_reuse_of_a_connection() {
    let entries: Vec<_> = (0..4).map(sample_entry).collect();
    let bytes = write_all(&entries);
    assert!(sniff(&bytes));
    let (back, r) = read_all(bytes);
    assert_eq!(back.len(), 4);
    assert!(r.cut_off().is_none());
    for (a, b) in entries.iter().zip(&back) {
        assert_eq!(a.har.request.url, b.har.request.url);
        assert_eq!(a.har.response.content.text, b.har.response.content.text);
    }
    // Entries 0 and 1 share connection "0": only the first pays for it.
    assert!(back[0].har.timings.connect.unwrap() >= 0.0);
    assert_eq!(back[1].har.timings.connect, Some(-1.0));
    assert_eq!(back[0].har.connection, back[1].har.connection);
}

#[test]
fn a_file_cut_anywhere_keeps_every_whole_flow() {
    let entries: Vec<_> = (0..3).map(sample_entry).collect();
    let bytes = write_all(&entries);
    let ends: Vec<usize> = {
        let mut at = 0;
        let mut v = Vec::new();
        while at < bytes.len() {
            at += tnetstring::parse(&bytes[at..]).unwrap().1;
            v.push(at);
        }
        v
    };
    for cut in 1..bytes.len() {
        let whole = ends.iter().filter(|e| **e <= cut).count();
        let (back, r) = read_all(bytes[..cut].to_vec());
        assert_eq!(back.len(), whole, "cut at {cut}");
        assert_eq!(r.cut_off().is_some(), !ends.contains(&cut), "cut at {cut}");
    }
}

#[test]
fn other_flow_types_are_skipped_and_bad_flows_reported() {
    let mut bytes = Vec::new();
    tnetstring::dump(
        &Value::dict(vec![
            ("version", Value::Int(21)),
            ("type", Value::str("tcp")),
        ]),
        &mut bytes,
    );
    let mut future = mitm_flow("a", false);
    if let Value::Dict(pairs) = &mut future {
        pairs[0].1 = Value::Int(99);
    }
    tnetstring::dump(&future, &mut bytes);
    tnetstring::dump(&mitm_flow("b", false), &mut bytes);
    let mut r = FlowReader::from_reader("f", Box::new(std::io::Cursor::new(bytes))).unwrap();
    let results: Vec<_> = r.by_ref().collect();
    assert_eq!(results.len(), 2);
    let err = results[0].as_ref().unwrap_err().to_string();
    assert!(
        err.contains("version 99") && err.contains("flow 1"),
        "{err}"
    );
    assert!(results[1].is_ok());
    assert_eq!(r.skipped(), 1);
}

#[test]
fn non_flow_input_is_refused_clearly() {
    let open = |b: &[u8]| FlowReader::from_reader("x", Box::new(std::io::Cursor::new(b.to_vec())));
    let err = open(b"{\"log\":{}}").err().unwrap().to_string();
    assert!(err.contains("not a mitmproxy flow file"), "{err}");
    let mut r = open(b"5:hello,").unwrap();
    let err = r.next().unwrap().unwrap_err().to_string();
    assert!(err.contains("not a dict"), "{err}");
    assert!(r.next().is_none());
    assert_eq!(open(b"").unwrap().count(), 0);
    assert!(open(b"12x").is_err());
    let mut r = open(b"123").unwrap();
    assert!(r.next().is_none());
    assert_eq!(r.cut_off().map(|c| c.entries), Some(0));
    let mut r = open(b"3:abc,99:").unwrap();
    assert!(
        r.next().unwrap().is_err(),
        "a first value that is not a dict"
    );
    assert!(!sniff(b"{\"log\""));
    assert!(!sniff(&[0x28, 0xB5, 0x2F, 0xFD]));
    assert!(sniff(b"3599:9:websocket"));
}

/// What mitmdump 11.0.2 wrote in reverse mode (fixtures/mitmproxy/regen.sh).
const MITMDUMP_FLOWS: &[u8] = include_bytes!("../../../fixtures/mitmproxy/messages.flows");

#[test]
fn real_mitmdump_flows_round_trip_through_entries() {
    let mut at = 0;
    let mut originals = Vec::new();
    while at < MITMDUMP_FLOWS.len() {
        let (flow, used) = tnetstring::parse(&MITMDUMP_FLOWS[at..]).unwrap();
        originals.push(flow);
        at += used;
    }
    let (entries, r) = read_all(MITMDUMP_FLOWS.to_vec());
    assert!(r.cut_off().is_none());
    assert_eq!(entries.len(), originals.len());
    assert!(
        entries.len() >= 3,
        "streaming, gzip'd JSON and count_tokens calls"
    );
    let mut saw_gzip = false;
    for (flow, entry) in originals.iter().zip(&entries) {
        let back = entry_to_flow(entry).unwrap();
        for path in [
            "request.method",
            "request.scheme",
            "request.host",
            "request.port",
            "request.path",
            "request.headers",
            "request.content",
            "request.http_version",
            "response.status_code",
            "response.reason",
            "response.headers",
            "response.http_version",
        ] {
            assert_eq!(field(&back, path), field(flow, path), "{path}");
        }
        assert_eq!(
            decoded_content(field(&back, "response")),
            decoded_content(field(flow, "response"))
        );
        for path in [
            "request.timestamp_start",
            "request.timestamp_end",
            "response.timestamp_start",
            "response.timestamp_end",
        ] {
            let (a, b) = (
                field(&back, path).as_f64().unwrap(),
                field(flow, path).as_f64().unwrap(),
            );
            assert!((a - b).abs() < 2e-6, "{path}: {a} vs {b}");
        }
        saw_gzip |= entry.response_header("content-encoding") == Some("gzip");
        assert!(entry.har.request.url.starts_with("http://127.0.0.1:"));
        assert_eq!(entry.har.server_ip_address.as_deref(), Some("127.0.0.1"));
    }
    assert!(saw_gzip, "the fixture holds a gzip'd response");
    let stream = entries[0].response_text().unwrap();
    assert!(stream.contains("event: message_stop"), "{stream}");
}

//! Flow ↔ entry round trips: synthetic flows, sample entries, bodies in
//! every encoding, errors, the key set, and the real mitmdump fixture.
use super::*;
use crate::model::parse_started;

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

/// What mitmdump 11.0.2 wrote in reverse mode (fixtures/mitmproxy/regen.sh).
const MITMDUMP_FLOWS: &[u8] = include_bytes!("../../../../fixtures/mitmproxy/messages.flows");

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

#[test]
fn a_moment_out_of_any_calendar_falls_back_to_the_epoch() {
    // Found by `fuzz_flow`: a corrupt flow's timestamp overflowed the
    // nanoseconds (a panic in debug builds).
    for epoch in [1e300, -1e300, f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        assert_eq!(
            crate::flow::to_entry::started(epoch),
            "1970-01-01T00:00:00.000000+00:00",
            "{epoch}"
        );
    }
    assert_eq!(
        crate::flow::to_entry::started(1_764_849_600.25),
        "2025-12-04T12:00:00.250000+00:00"
    );
}

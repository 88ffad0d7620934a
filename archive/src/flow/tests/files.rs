//! The reader and writer on whole files: reuse of a connection, cuts at
//! every byte, other flow types, bad flows and non-flow input.
use super::*;

#[test]
fn writer_then_reader_and_reuse_of_a_connection() {
    let mut entries: Vec<_> = (0..4).map(sample_entry).collect();
    // Another path on the same connection is still the same connection.
    entries[1].har.request.url = "https://api.anthropic.com/v1/messages/count_tokens".into();
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
    assert_eq!(
        r.not_http(),
        &[("tcp".to_owned(), 1)],
        "named, not lost silently"
    );
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

/// xorshift64*: deterministic pseudo-random numbers without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn corrupted_files_never_panic_the_reader() {
    let bytes = write_all(&(0..2).map(sample_entry).collect::<Vec<_>>());
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..3_000 {
        let mut changed = bytes.clone();
        for _ in 0..1 + next(&mut rng) % 4 {
            let at = (next(&mut rng) % changed.len() as u64) as usize;
            changed[at] = b"0123456789:,;#^!~]}x\xff"[(next(&mut rng) % 21) as usize];
        }
        if let Ok(reader) = FlowReader::from_reader("fuzz", Box::new(std::io::Cursor::new(changed)))
        {
            for _ in reader.take(10) {}
        }
    }
}

#[test]
fn non_finite_timestamps_are_refused() {
    let mut flow = mitm_flow("s", false);
    if let Value::Dict(pairs) = &mut flow {
        for (k, v) in pairs.iter_mut() {
            if k.as_str() == Some("request") {
                if let Value::Dict(req) = v {
                    for (rk, rv) in req.iter_mut() {
                        if rk.as_str() == Some("timestamp_start") {
                            *rv = Value::Float(f64::NAN);
                        }
                    }
                }
            }
        }
    }
    let err = flow_to_entry(&flow).unwrap_err().to_string();
    assert!(
        err.contains("request.timestamp_start") && err.contains("finite"),
        "{err}"
    );
}

/// Replaces (or adds) a field of the flow's request.
fn set_request(flow: &mut Value, key: &str, value: Value) {
    let Value::Dict(pairs) = flow else {
        panic!("a flow is a dict")
    };
    let (_, Value::Dict(req)) = pairs
        .iter_mut()
        .find(|(k, _)| k.as_str() == Some("request"))
        .expect("request")
    else {
        panic!("request is a dict")
    };
    match req.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        Some((_, v)) => *v = value,
        None => req.push((Value::str(key), value)),
    }
}

#[test]
fn a_transparent_flow_is_named_by_the_host_it_was_sent_to_not_the_server_ip() {
    let url = |flow: &Value| flow_to_entry(flow).unwrap().har.request.url;
    let mut flow = mitm_flow("s", false);
    // Transparent mode: `host` is the server's address.
    set_request(&mut flow, "host", Value::str("10.0.0.7"));
    assert_eq!(url(&flow), "http://127.0.0.1:37399/v1/messages?beta=true");
    set_request(
        &mut flow,
        "headers",
        Value::List(vec![pair("host", b"api.example.com")]),
    );
    assert_eq!(url(&flow), "http://api.example.com/v1/messages?beta=true");
    // HTTP/2 names it in `:authority` (mitmproxy's `authority` field).
    set_request(&mut flow, "http_version", Value::bytes("HTTP/2.0"));
    set_request(&mut flow, "headers", Value::List(vec![]));
    set_request(&mut flow, "authority", Value::bytes("h2.example.com:8443"));
    assert_eq!(
        url(&flow),
        "http://h2.example.com:8443/v1/messages?beta=true"
    );
    // Nothing names it: the address is all there is.
    set_request(&mut flow, "authority", Value::bytes(""));
    assert_eq!(url(&flow), "http://10.0.0.7:37399/v1/messages?beta=true");
}

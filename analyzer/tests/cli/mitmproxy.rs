//! mitmproxy's own files in every command: `fixtures/mitmproxy/` holds a
//! HAR export (`--set hardump=`) and a native flow file (`-w`) that real
//! mitmdump 11.0.2 wrote in front of the fake upstream (a streaming call, a
//! gzip'd JSON call, `count_tokens`; a fake key left in place).
//!
//! Expected numbers come from the fake upstream's formula
//! (`tests/support/upstream/messages.rs`, `Usage::for_request`) applied to
//! the fixture's request bodies and reply texts, not from `analyze` itself.

use crate::{analyze, analyze_json, fixture};
use cctap_archive::{AnyReader, Entry};
use serde_json::{json, Value};
use std::path::Path;

fn har() -> String {
    fixture("mitmproxy/messages.har").display().to_string()
}

fn flows() -> String {
    fixture("mitmproxy/messages.flows").display().to_string()
}

fn entries(path: &str) -> Vec<Entry> {
    let reader = AnyReader::open(Path::new(path)).unwrap();
    reader.map(|e| e.unwrap()).collect()
}

/// The reply text as the fake upstream generated it: the text deltas of an
/// SSE body, or the JSON reply's text blocks.
fn reply_text(body: &str) -> String {
    let datas: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    if datas.is_empty() {
        let reply: Value = serde_json::from_str(body).unwrap();
        return reply["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect();
    }
    datas
        .iter()
        .filter_map(|d| d["delta"]["text"].as_str())
        .collect()
}

/// `(model, [input, output, cache write, cache read])` per Messages call,
/// by `Usage::for_request(body, reply)`.
fn formula(path: &str) -> Vec<(String, [u64; 4])> {
    entries(path)
        .iter()
        .filter(|e| e.har.request.url.contains("/v1/messages?"))
        .map(|e| {
            let body = e.request_text().unwrap();
            let n = body.len() as u64;
            let model = serde_json::from_str::<Value>(body).unwrap()["model"]
                .as_str()
                .unwrap()
                .to_owned();
            let reply = reply_text(e.response_text().unwrap()).len() as u64;
            (model, [n / 4 + 1, reply / 4 + 1, n % 1000, (n / 8) % 5000])
        })
        .collect()
}

#[test]
fn usage_recovers_the_fake_upstreams_numbers_from_both_files() {
    let expected = formula(&har());
    assert_eq!(expected.len(), 2, "a streaming and a JSON call");
    assert_eq!(
        expected,
        formula(&flows()),
        "both files hold the same calls"
    );
    for file in [har(), flows()] {
        let u = analyze_json(&["usage", &file], 0);
        for (model, [input, output, write, read]) in &expected {
            let g = u["groups"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["key"] == model.as_str())
                .unwrap_or_else(|| panic!("{file}: no group {model}: {u}"));
            assert_eq!(
                [
                    &g["input_tokens"],
                    &g["output_tokens"],
                    &g["cache_creation_input_tokens"],
                    &g["cache_read_input_tokens"]
                ],
                [input, output, write, read].map(|v| json!(v)).each_ref(),
                "{file}: {model}"
            );
        }
        assert_eq!(u["count_tokens"]["requests"], 1, "{file}");
        assert_eq!(u["failed"]["requests"], 0, "{file}");
    }
}

#[test]
fn the_stream_is_reassembled_from_the_body_text() {
    for file in [har(), flows()] {
        let shown = analyze_json(&["show", &file, "0"], 0);
        assert_eq!(shown["reply"]["source"], "sse_text", "{file}");
        assert_eq!(
            shown["reply"]["text"], "Hello from the cctap fake upstream.",
            "{file}"
        );
        assert_eq!(shown["reply"]["first_token_ms"], Value::Null, "{file}");
        // The gzip'd JSON reply (raw gzip bytes in the flow file).
        let shown = analyze_json(&["show", &file, "1"], 0);
        assert_eq!(shown["reply"]["stop_reason"], "end_turn", "{file}");
    }
}

#[test]
fn leaks_finds_the_key_mitmproxy_left_in_place() {
    let key = entries(&har())[0]
        .har
        .request
        .headers
        .iter()
        .find(|h| h.name == "x-api-key")
        .map(|h| h.value.clone())
        .unwrap();
    assert!(key.starts_with("sk-ant-api03-FAKE"), "a fake key: {key}");
    for file in [har(), flows()] {
        let v = analyze_json(&["leaks", &file], 1);
        assert_eq!(v["leaks"], 3, "{file}: {v}");
        for (i, f) in v["findings"].as_array().unwrap().iter().enumerate() {
            assert_eq!(f["entry"], i, "{file}");
            assert_eq!(f["place"], "request.headers.x-api-key", "{file}");
            assert_eq!(f["kind"], "sk-ant-api03", "{file}");
            assert_eq!(f["severity"], "leak", "{file}");
            assert_eq!(
                f["fingerprint"],
                cctap_archive::redact::fingerprint(&key),
                "{file}"
            );
            assert!(!f.to_string().contains(&key), "the secret is never shown");
        }
    }
}

#[test]
fn diff_across_a_flow_file_and_a_har() {
    for n in ["0", "1", "2"] {
        let r = analyze(&["diff", &flows(), &har(), "--entry", n]);
        assert_eq!(r.code, 0, "entry {n}: same call\n{}{}", r.stdout, r.stderr);
    }
    // Two different calls: another model and prompt.
    let r = analyze(&["diff", &flows(), &har(), "--entry", "0:1", "--stat"]);
    assert_eq!(r.code, 1, "{}{}", r.stderr, r.stdout);
    assert!(r.stdout.contains("params"), "{}", r.stdout);
    // Against a real Claude Code session recorded by cctap.
    let cc = fixture("claude-code/2.1.332-reverse.har")
        .display()
        .to_string();
    let v = analyze_json(
        &["diff", &flows(), &cc, "--entry", "0", "--format", "json"],
        1,
    );
    assert!(v.is_object(), "{v}");
    let same = analyze(&["diff", &cc, &cc]);
    assert_eq!(same.code, 0, "{}", same.stderr);
    // A file with no main-loop call says how to pick one.
    let r = analyze(&["diff", &flows(), &cc]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--entry"), "{}", r.stderr);
}

#[test]
fn ls_reads_the_flow_file_as_the_har() {
    let a = analyze_json(&["ls", &flows()], 0);
    let b = analyze_json(&["ls", &har()], 0);
    let pick = |rows: &Value| -> Vec<Value> {
        let keys = ["method", "status", "path", "role", "model", "input_tokens"];
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| keys.iter().map(|k| r[*k].clone()).collect())
            .collect()
    };
    assert_eq!(pick(&a).len(), 3);
    assert_eq!(pick(&a), pick(&b));
}

/// The request's start in microseconds since the epoch.
fn started_us(e: &Entry) -> i128 {
    cctap_archive::model::parse_started(&e.har.started_date_time)
        .map_or(0, |t| t.unix_timestamp_nanos() / 1000)
}

/// What a round trip must keep (MITMPROXY.md): method, URL, headers in
/// order and case, bodies (the start is compared apart).
fn kept(e: &Entry) -> Value {
    let headers = |hs: &[cctap_archive::model::Header]| -> Vec<(String, String)> {
        hs.iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect()
    };
    json!({
        "method": e.har.request.method,
        "url": e.har.request.url,
        "request_headers": headers(&e.har.request.headers),
        "request_body": e.request_text(),
        "status": e.har.response.status,
        "response_headers": headers(&e.har.response.headers),
        "response_body": e.response_text(),
    })
}

#[test]
fn export_round_trips_flow_to_har_to_flow() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let mut from = flows();
    for to in ["a.har.zst", "b.flows", "c.har.gz", "d.mitm", "e.har"] {
        let r = analyze(&["export", &from, "-o", &path(to)]);
        assert_eq!(r.code, 0, "{from} -> {to}: {}", r.stderr);
        assert!(r.stderr.contains("wrote 3 entries"), "{}", r.stderr);
        from = path(to);
    }
    let flow_bytes = std::fs::read(path("b.flows")).unwrap();
    let digits = flow_bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    assert!(digits > 0 && flow_bytes[digits] == b':', "a tnetstring");
    let original: Vec<Value> = entries(&flows()).iter().map(kept).collect();
    assert_eq!(original.len(), 3);
    let starts: Vec<i128> = entries(&flows()).iter().map(started_us).collect();
    for file in ["a.har.zst", "b.flows", "d.mitm", "e.har"] {
        let got = entries(&path(file));
        assert_eq!(got.iter().map(kept).collect::<Vec<_>>(), original, "{file}");
        // Within a microsecond: the flow reader's `started` rounds the
        // float to nanoseconds and then truncates, which can lose 1 µs.
        for (e, want) in got.iter().zip(&starts) {
            let off = started_us(e) - want;
            assert!(off.abs() <= 1, "{file}: start moved by {off} µs");
        }
    }
    let u = analyze_json(&["usage", &path("d.mitm")], 0);
    assert_eq!(
        u["total"]["output_tokens"],
        formula(&flows()).iter().map(|c| c.1[1]).sum::<u64>()
    );
}

#[test]
fn a_cctap_archive_exports_to_flows_and_redact_writes_flows() {
    let dir = tempfile::tempdir().unwrap();
    let cc = fixture("claude-code/2.1.332-reverse.har")
        .display()
        .to_string();
    let out = dir.path().join("cc.flows").display().to_string();
    let done = analyze_json(&["export", &cc, "-o", &out], 0);
    assert_eq!(done["format"], "Flows");
    assert_eq!(done["skipped"], 0);
    let before = analyze_json(&["usage", &cc], 0);
    let after = analyze_json(&["usage", &out], 0);
    assert_eq!(before["total"], after["total"]);
    assert_eq!(done["entries"], before["files"][0]["entries"]);

    let clean = dir.path().join("clean.flows").display().to_string();
    let done = analyze_json(&["redact", &flows(), "-o", &clean], 0);
    assert_eq!(
        (done["entries"].as_u64(), done["redacted_entries"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(analyze_json(&["leaks", &clean], 0)["leaks"], 0);
    // A flow has no place for `_redacted`; the marker is in the header.
    let e = &entries(&clean)[0];
    let key = e.request_header("x-api-key").unwrap();
    assert!(key.starts_with("redacted:sk-ant-api03:"), "{key}");
}

#[test]
fn a_cut_off_flow_file_warns_with_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(flows()).unwrap();
    let cut = dir.path().join("cut.flows");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let cut = cut.display().to_string();
    let r = analyze(&["usage", "--json", &cut]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let warnings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("cut off")).collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(
        warnings[0].contains(&cut)
            && warnings[0].contains("mitmproxy flows")
            && warnings[0].contains("recovered 2 entries"),
        "{}",
        warnings[0]
    );
    assert_eq!(r.json()["files"][0]["entries"], 2);
}

#[test]
fn a_failed_flow_in_mitmproxys_har_keeps_its_error() {
    // As savehar.py writes a flow whose upstream refused: the error inside
    // `response`, content without size or mimeType.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("failed.har");
    let doc = json!({"log": {"version": "1.2", "creator": {"name": "mitmproxy", "version": "11.0.2"},
        "entries": [{
            "startedDateTime": "2026-11-25T13:23:54.189882+00:00", "time": 1.5,
            "request": {"method": "POST", "url": "https://api.anthropic.com/v1/messages",
                "httpVersion": "HTTP/1.1", "headers": [], "cookies": [], "queryString": [],
                "headersSize": 0, "bodySize": 2, "postData": {"mimeType": "application/json", "text": "{}"}},
            "response": {"status": 0, "statusText": "", "httpVersion": "", "headers": [],
                "cookies": [], "content": {}, "redirectURL": "", "headersSize": -1, "bodySize": -1,
                "_error": "Connection refused"},
            "cache": {}, "timings": {"send": 0, "receive": 0, "wait": 0}}]}});
    std::fs::write(&path, doc.to_string()).unwrap();
    let path = path.display().to_string();
    let rows = analyze_json(&["ls", &path], 0);
    assert_eq!(rows[0]["error"], "Connection refused", "{rows}");
    let u = analyze_json(&["usage", &path], 0);
    assert_eq!(u["failed"]["requests"], 1, "{u}");
}

#[test]
fn an_entry_that_cannot_be_a_flow_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("mixed.har");
    let entry = |url: &str| {
        json!({"startedDateTime": "2026-11-25T13:23:54.189+00:00", "time": 1,
            "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "headers": [],
                "cookies": [], "queryString": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": 204, "statusText": "", "httpVersion": "HTTP/1.1", "headers": [],
                "cookies": [], "content": {"size": 0, "mimeType": ""}, "redirectURL": "",
                "headersSize": -1, "bodySize": 0},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}})
    };
    let doc = json!({"log": {"version": "1.2", "creator": {"name": "t", "version": "0"},
        "entries": [entry("/relative/only"), entry("https://api.anthropic.com/v1/models")]}});
    std::fs::write(&src, doc.to_string()).unwrap();
    let out = dir.path().join("x.flows").display().to_string();
    let r = crate::analyze(&["export", src.to_str().unwrap(), "-o", &out, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("entry 0") && r.stderr.contains("skipped"),
        "{}",
        r.stderr
    );
    assert_eq!(
        (r.json()["entries"].as_u64(), r.json()["skipped"].as_u64()),
        (Some(1), Some(1))
    );
    let back = entries(&out);
    assert_eq!(back.len(), 1);
    assert_eq!(
        back[0].har.request.url,
        "https://api.anthropic.com/v1/models"
    );
}

#[test]
fn a_flow_file_that_cannot_be_written_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/x.flows").display().to_string();
    let r = analyze(&["export", &flows(), "-o", &missing]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot create"), "{}", r.stderr);
    // A full disk: every write fails.
    let full = dir.path().join("full.flows");
    std::os::unix::fs::symlink("/dev/full", &full).unwrap();
    let r = analyze(&["export", &flows(), "-o", full.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("full.flows"), "{}", r.stderr);
}

#[test]
fn a_flow_file_reads_from_stdin() {
    let bytes = std::fs::read(flows()).unwrap();
    let r = crate::analyze_stdin(&["usage", "--json", "-"], &bytes);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["total"]["input_tokens"], 102);
}

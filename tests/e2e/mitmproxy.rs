//! cctap's files in the real mitmproxy (11.0.2) and mitmproxy's files in
//! cctap, both ways (issue 6): (a) our HAR loads in `mitmdump -nr`, (b) a
//! flow file from our `FlowWriter` loads in `mitmdump -nr`, (c) a flow file
//! mitmdump wrote reads in our `FlowReader`, (d) mitmdump's HAR export
//! reads in our `ArchiveReader`. What mitmproxy saw is dumped as JSON by
//! `fixtures/mitmproxy/dump_flows.py` and compared field by field.
//!
//! Needs `MITMDUMP` (`source .ci/mitmproxy.sh CACHE_DIR`); without it every
//! test prints a notice and passes without checking.

use crate::common::*;
use cctap_archive::model::{Content, Header, PostData};
use cctap_archive::{ArchiveWriter, Entry, Format, LogHead};
use cctap_tests::archive;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One mitmdump run (start-up is ~1 s; a hang fails the test instead).
const MITMDUMP_LIMIT: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The mitmdump to test against, or `None` with a printed notice.
fn mitmdump(test: &str) -> Option<PathBuf> {
    match std::env::var_os("MITMDUMP") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "NOTICE: {test} skipped: MITMDUMP is unset \
                 (run `source .ci/mitmproxy.sh target/mitmproxy` to test against mitmproxy 11.0.2)"
            );
            None
        }
    }
}

/// Runs mitmdump with `args` offline (`-n`, a private confdir), bounded in
/// time; panics with its output if it fails.
fn run_mitmdump(bin: &Path, scratch: &Path, args: &[&str]) {
    let confdir = format!("confdir={}", scratch.join("conf").display());
    let mut child = Command::new(bin)
        .args(["-q", "-n", "--set", &confdir])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mitmdump");
    let deadline = Instant::now() + MITMDUMP_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for mitmdump") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mitmdump {args:?}: no exit within {MITMDUMP_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().expect("mitmdump output");
    assert!(
        status.success(),
        "mitmdump {args:?} exited {status}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The flows mitmdump loads from `input`, as dump_flows.py writes them.
fn loaded_by_mitmproxy(bin: &Path, scratch: &Path, input: &Path) -> Vec<Value> {
    let out = scratch.join(format!("{}.dump.json", file_name(input)));
    let script = repo().join("fixtures/mitmproxy/dump_flows.py");
    let set = format!("dump_flows={}", out.display());
    run_mitmdump(
        bin,
        scratch,
        &[
            "-r",
            path_str(input),
            "-s",
            path_str(&script),
            "--set",
            &set,
        ],
    );
    let text = std::fs::read_to_string(&out).expect("dump_flows.py wrote its JSON");
    match serde_json::from_str(&text).expect("dump JSON") {
        Value::Array(flows) => flows,
        other => panic!("dump is not a list: {other}"),
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
        comment: None,
    }
}

/// Entries exercising what mitmproxy is picky about: an SSE stream without
/// a charset (non-ASCII inside), a gzip'd JSON archived decoded, a binary
/// base64 body, a non-UTF-8 request body, and a failed exchange.
fn synthetic_entries() -> Vec<Entry> {
    let sse = "event: message_start\ndata: {\"type\":\"message_start\",\"text\":\"café\"}\n\n\
               event: content_block_delta\ndata: {\"text\":\"✓ done\"}\n\n\
               event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let json = "{\"id\":\"msg_1\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\"}]}";
    let mut entries = Vec::new();
    for (i, (ctype, encoding, text, base64)) in [
        ("text/event-stream", None, sse.to_owned(), false),
        ("application/json", Some("gzip"), json.to_owned(), false),
        (
            "application/octet-stream",
            None,
            "AP+AgYKDhA==".to_owned(),
            true,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = Entry::default();
        let har = &mut e.har;
        har.started_date_time = format!("2026-11-25T12:00:0{i}.123+00:00");
        har.time = 42.5;
        har.timings.send = 0.5;
        har.timings.wait = 30.0;
        har.timings.receive = 12.0;
        (har.timings.blocked, har.timings.dns, har.timings.ssl) =
            (Some(-1.0), Some(-1.0), Some(-1.0));
        har.timings.connect = Some(if i == 0 { 1.25 } else { -1.0 });
        har.server_ip_address = Some("127.0.0.1".into());
        har.connection = Some("1".into());
        let req = &mut har.request;
        req.method = "POST".into();
        req.url = format!("https://api.anthropic.com/v1/messages?beta=true&n={i}");
        req.http_version = "HTTP/1.1".into();
        req.headers = vec![
            header("Host", "api.anthropic.com"),
            header("x-api-key", "redacted:sk-ant-api03:3f9a1c0b27de"),
            header("Content-Type", "application/json"),
            header("X-Mixed-CASE", "kept"),
        ];
        let body = messages_body(i == 0);
        req.body_size = body.len() as i64;
        req.post_data = Some(PostData {
            mime_type: "application/json".into(),
            text: Some(body),
            ..PostData::default()
        });
        let resp = &mut har.response;
        resp.status = 200;
        resp.status_text = "OK".into();
        resp.http_version = "HTTP/1.1".into();
        resp.headers = vec![
            header("request-id", &format!("req_{i}")),
            header("Content-Type", ctype),
        ];
        if let Some(enc) = encoding {
            resp.headers.push(header("Content-Encoding", enc));
        }
        resp.content = Content {
            size: text.len() as i64,
            mime_type: Some(ctype.into()),
            text: Some(text),
            encoding: base64.then(|| "base64".into()),
            ..Content::default()
        };
        resp.redirect_url = Some(String::new());
        entries.push(e);
    }
    // Only latin-1 letters: mitmproxy's HAR import stores these as latin-1.
    let mut latin = entries[0].clone();
    latin.har.started_date_time = "2026-11-25T12:00:08.000+00:00".into();
    latin.har.response.content.text = Some("event: ping\ndata: {\"text\":\"café\"}\n\n".into());
    entries.push(latin);
    let mut failed = entries[0].clone();
    failed.har.started_date_time = "2026-11-25T12:00:09.000+00:00".into();
    failed.har.response = Default::default();
    failed.error = Some("upstream refused the connection".into());
    entries.push(failed);
    entries
}

/// Every committed Claude Code archive's entries (the test engineer's
/// fixtures; none yet is fine).
fn claude_code_entries() -> Vec<(String, Vec<Entry>)> {
    let dir = repo().join("fixtures/claude-code");
    let mut out = Vec::new();
    let Ok(listing) = std::fs::read_dir(&dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = listing.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "har"))
    {
        let (entries, _) = archive::read_entries(&path).expect("fixture reads");
        out.push((file_name(&path), entries));
    }
    out
}

fn write_har(path: &Path, entries: &[Entry]) {
    let mut w = ArchiveWriter::named(
        path_str(path),
        Box::new(std::fs::File::create(path).expect("create HAR")),
        Format::Har,
        &LogHead::new("cctap-tests", "0"),
    )
    .expect("HAR writer");
    for e in entries {
        w.append(e).expect("append entry");
    }
    w.finish().expect("finish HAR");
}

fn write_flows(path: &Path, entries: &[Entry]) {
    let file = std::fs::File::create(path).expect("create flow file");
    let mut w = cctap_archive::FlowWriter::new(path_str(path), Box::new(file));
    for e in entries {
        w.append(e).expect("append flow");
    }
    w.finish().expect("finish flow file");
}

fn read_flows(path: &Path) -> Vec<Entry> {
    let mut r = cctap_archive::FlowReader::open(path).expect("open flow file");
    let entries: Vec<Entry> = r.by_ref().map(|e| e.expect("flow converts")).collect();
    assert!(r.cut_off().is_none(), "{}: not cut off", path.display());
    entries
}

fn headers_json(list: &[Header]) -> Value {
    list.iter()
        .map(|h| serde_json::json!([h.name, h.value]))
        .collect()
}

fn b64(v: &Value) -> Vec<u8> {
    base64_decode(v.as_str().unwrap_or(""))
}

/// How strictly a loaded flow must match the entry.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    /// mitmproxy's HAR import: it rebuilds request headers (may add
    /// `content-length`), takes the reason from the status code and knows
    /// only HTTP/1.1, 2 and 3 spellings.
    HarImport,
    /// A flow file: everything as written.
    FlowFile,
}

/// Field by field: what mitmproxy loaded equals the entry.
fn assert_same(entry: &Entry, flow: &Value, via: Via, what: &str) {
    let har = &entry.har;
    assert_eq!(flow["method"], har.request.method, "{what}: method");
    assert_eq!(flow["url"], har.request.url, "{what}: url");
    let req_headers = &flow["request"]["headers"];
    let ours = headers_json(&har.request.headers);
    if via == Via::FlowFile {
        assert_eq!(req_headers, &ours, "{what}: request headers");
    } else {
        let theirs = req_headers.as_array().expect("headers");
        let ours = ours.as_array().expect("headers");
        assert_eq!(
            &theirs[..ours.len()],
            &ours[..],
            "{what}: request headers (order and case)"
        );
        for extra in &theirs[ours.len()..] {
            assert_eq!(
                extra[0], "content-length",
                "{what}: mitmproxy may only add content-length"
            );
        }
    }
    let base64_request = har
        .request
        .post_data
        .as_ref()
        .and_then(|p| p.comment.as_deref())
        == Some("base64");
    assert_body(
        &b64(&flow["request"]["content_b64"]),
        &flow["request"]["text"],
        &request_bytes(entry),
        base64_request,
        entry.request_header("content-type").unwrap_or(""),
        via,
        &format!("{what}: request"),
    );
    if har.response.status == 0 {
        // mitmproxy's HAR import makes a status-0 response of an entry
        // without one, and drops `_error`; a flow file keeps both.
        let status = flow["status"].as_i64().unwrap_or(0);
        assert_eq!(status, 0, "{what}: no response");
        if flow["response"].is_null() {
            assert_eq!(
                flow["error"].as_str(),
                entry.error.as_deref(),
                "{what}: error"
            );
        }
        return;
    }
    assert_eq!(flow["status"], har.response.status, "{what}: status");
    let resp = &flow["response"];
    assert_eq!(
        resp["headers"],
        headers_json(&har.response.headers),
        "{what}: response headers"
    );
    assert_body(
        &b64(&resp["content_b64"]),
        &resp["text"],
        &response_bytes(entry),
        har.response.content.encoding.as_deref() == Some("base64"),
        entry.response_header("content-type").unwrap_or(""),
        via,
        &format!("{what}: response"),
    );
    if via == Via::FlowFile {
        assert_eq!(flow["reason"], har.response.status_text, "{what}: reason");
        assert_eq!(
            resp["http_version"], har.response.http_version,
            "{what}: http version"
        );
        let start = cctap_archive::model::parse_started(&har.started_date_time).expect("start");
        let theirs = flow["request"]["timestamp_start"]
            .as_f64()
            .expect("timestamp");
        let ours = start.unix_timestamp_nanos() as f64 / 1e9;
        assert!(
            (theirs - ours).abs() < 1e-5,
            "{what}: request start {theirs} vs {ours}"
        );
    }
}

/// Whether mitmproxy reads a body of this type as UTF-8
/// (`infer_content_encoding`): the content-type's charset, UTF-8 for JSON,
/// else latin-1 (even for `text/event-stream`, which is always UTF-8).
fn mitmproxy_reads_utf8(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    match ct
        .split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix("charset="))
    {
        Some(charset) => matches!(charset.trim_matches('"'), "utf-8" | "utf8"),
        None => ct.contains("json"),
    }
}

/// The text mitmproxy shows for these body bytes.
fn mitmproxy_text(bytes: &[u8], content_type: &str) -> String {
    if mitmproxy_reads_utf8(content_type) {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        bytes.iter().map(|b| char::from(*b)).collect()
    }
}

/// The bytes mitmproxy's HAR import makes of a text body: latin-1 where it
/// assumes latin-1 and the text fits, UTF-8 otherwise.
fn har_import_bytes(text: &[u8], content_type: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    if !mitmproxy_reads_utf8(content_type) && text.chars().all(|c| u32::from(c) < 256) {
        text.chars().map(|c| u32::from(c) as u8).collect()
    } else {
        text.into_owned().into_bytes()
    }
}

/// A body as mitmproxy loaded it (decoded bytes, and the text it shows)
/// against ours (decoded bytes).
fn assert_body(
    wire: &[u8],
    shown: &Value,
    ours: &[u8],
    base64: bool,
    ctype: &str,
    via: Via,
    what: &str,
) {
    let expected = if via == Via::HarImport && !base64 {
        har_import_bytes(ours, ctype)
    } else {
        ours.to_vec()
    };
    assert_eq!(wire, &expected[..], "{what} body bytes ({ctype})");
    if !base64 {
        let shown = shown.as_str().unwrap_or("");
        assert_eq!(
            shown,
            mitmproxy_text(&expected, ctype),
            "{what} body text ({ctype})"
        );
    }
}

fn all_cases() -> Vec<(String, Vec<Entry>)> {
    let mut cases = vec![("synthetic".to_owned(), synthetic_entries())];
    cases.extend(claude_code_entries());
    cases
}

#[test]
fn a_our_har_loads_in_mitmproxy() {
    let Some(bin) = mitmdump("a_our_har_loads_in_mitmproxy") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, entries) in all_cases() {
        let har = dir.path().join(format!("{name}.har"));
        write_har(&har, &entries);
        let flows = loaded_by_mitmproxy(&bin, dir.path(), &har);
        assert_eq!(flows.len(), entries.len(), "{name}: every entry is a flow");
        for (i, (e, f)) in entries.iter().zip(&flows).enumerate() {
            assert_same(
                e,
                f,
                Via::HarImport,
                &format!("{name} entry {i} via HAR import"),
            );
        }
    }
}

#[test]
fn b_our_flow_file_loads_in_mitmproxy() {
    let Some(bin) = mitmdump("b_our_flow_file_loads_in_mitmproxy") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, entries) in all_cases() {
        let flows_path = dir.path().join(format!("{name}.flows"));
        write_flows(&flows_path, &entries);
        let flows = loaded_by_mitmproxy(&bin, dir.path(), &flows_path);
        assert_eq!(flows.len(), entries.len(), "{name}: every entry is a flow");
        for (i, (e, f)) in entries.iter().zip(&flows).enumerate() {
            assert_same(
                e,
                f,
                Via::FlowFile,
                &format!("{name} entry {i} via flow file"),
            );
        }
    }
}

/// mitmdump's own flow files: converted from our HAR, and the committed
/// live capture (fixtures/mitmproxy/messages.flows).
#[test]
fn c_mitmdump_flow_files_read_in_flow_reader() {
    let Some(bin) = mitmdump("c_mitmdump_flow_files_read_in_flow_reader") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let har = dir.path().join("synthetic.har");
    write_har(&har, &synthetic_entries());
    let converted = dir.path().join("converted.flows");
    run_mitmdump(
        &bin,
        dir.path(),
        &["-r", path_str(&har), "-w", path_str(&converted)],
    );
    let live = repo().join("fixtures/mitmproxy/messages.flows");
    for path in [converted, live] {
        let entries = read_flows(&path);
        let flows = loaded_by_mitmproxy(&bin, dir.path(), &path);
        assert_eq!(entries.len(), flows.len(), "{}", path.display());
        for (i, (e, f)) in entries.iter().zip(&flows).enumerate() {
            assert_same(
                e,
                f,
                Via::FlowFile,
                &format!("{} flow {i}", file_name(&path)),
            );
        }
    }
}

/// mitmproxy's HAR export of a flow file reads in our archive reader and
/// holds what our flow reader finds in the same flows.
#[test]
fn d_mitmproxy_hardump_reads_in_archive_reader() {
    let Some(bin) = mitmdump("d_mitmproxy_hardump_reads_in_archive_reader") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let ours = dir.path().join("ours.flows");
    write_flows(&ours, &synthetic_entries());
    let live = repo().join("fixtures/mitmproxy/messages.flows");
    for flows_path in [ours, live] {
        let exported = dir.path().join(format!("{}.har", file_name(&flows_path)));
        let set = format!("hardump={}", exported.display());
        run_mitmdump(
            &bin,
            dir.path(),
            &["-r", path_str(&flows_path), "--set", &set],
        );
        let (from_har, cut) = archive::read_entries(&exported).expect("mitmproxy's HAR reads");
        assert_eq!(cut, None);
        let from_flows = read_flows(&flows_path);
        assert_eq!(from_har.len(), from_flows.len(), "{}", exported.display());
        for (h, f) in from_har.iter().zip(&from_flows) {
            let what = format!("{} {}", file_name(&exported), f.har.request.url);
            assert_eq!(h.har.request.method, f.har.request.method, "{what}");
            assert_eq!(h.har.request.url, f.har.request.url, "{what}");
            assert_eq!(h.har.request.headers, f.har.request.headers, "{what}");
            assert_eq!(h.request_text(), f.request_text(), "{what}");
            assert_eq!(h.har.response.status, f.har.response.status, "{what}");
            if f.har.response.status != 0 {
                assert_eq!(h.har.response.headers, f.har.response.headers, "{what}");
                let ctype = f.response_header("content-type").unwrap_or("");
                if h.har.response.content.encoding.as_deref() == Some("base64") {
                    assert_eq!(response_bytes(h), response_bytes(f), "{what}: body");
                } else {
                    // mitmproxy exports the text as it reads it (latin-1
                    // unless told otherwise): see MITMPROXY.md.
                    let shown = mitmproxy_text(&response_bytes(f), ctype);
                    assert_eq!(h.response_text().unwrap_or(""), shown, "{what}: body");
                }
            }
        }
    }
}

/// The committed mitmproxy HAR (its hardump of the live capture) reads in
/// the archive reader with the SSE stream whole; needs no mitmdump.
#[test]
fn committed_mitmproxy_har_reads_with_its_stream() {
    let path = repo().join("fixtures/mitmproxy/messages.har");
    let (entries, cut) =
        archive::read_entries(&path).expect("fixtures/mitmproxy/messages.har reads");
    assert_eq!(cut, None);
    let stream = entries
        .iter()
        .find(|e| {
            e.response_header("content-type")
                .is_some_and(|c| c.starts_with("text/event-stream"))
        })
        .expect("a streaming call");
    let text = stream.response_text().unwrap_or("");
    assert!(
        text.contains("event: message_start") && text.contains("event: message_stop"),
        "{text}"
    );
    assert_eq!(stream.sse_events, None, "mitmproxy keeps no event times");
    let key = stream.request_header("x-api-key").unwrap_or("");
    assert!(
        key.starts_with("sk-ant-api03-FAKE"),
        "mitmproxy leaves the (fake) key in place: {key}"
    );
    let flows = read_flows(&repo().join("fixtures/mitmproxy/messages.flows"));
    assert_eq!(flows.len(), entries.len());
    let _ = std::io::stderr().flush();
}

//! What the tests feed mitmproxy: synthetic entries for its quirks, the
//! committed Claude Code archives, and writing and reading them.
use super::run::{file_name, path_str, repo};
use crate::common::messages_body;
use cctap_archive::model::{Content, Header, PostData};
use cctap_archive::{ArchiveWriter, Entry, Format, LogHead};
use cctap_tests::archive;
use std::path::{Path, PathBuf};

pub fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
        comment: None,
    }
}

/// Entries exercising what mitmproxy is picky about: an SSE stream without
/// a charset (non-ASCII inside), a gzip'd JSON archived decoded, a binary
/// base64 body, a non-UTF-8 request body, and a failed exchange.
pub fn synthetic_entries() -> Vec<Entry> {
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
pub fn claude_code_entries() -> Vec<(String, Vec<Entry>)> {
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

pub fn write_har(path: &Path, entries: &[Entry]) {
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

pub fn write_flows(path: &Path, entries: &[Entry]) {
    let file = std::fs::File::create(path).expect("create flow file");
    let mut w = cctap_archive::FlowWriter::new(path_str(path), Box::new(file));
    for e in entries {
        w.append(e).expect("append flow");
    }
    w.finish().expect("finish flow file");
}

pub fn read_flows(path: &Path) -> Vec<Entry> {
    let mut r = cctap_archive::FlowReader::open(path).expect("open flow file");
    let entries: Vec<Entry> = r.by_ref().map(|e| e.expect("flow converts")).collect();
    assert!(r.cut_off().is_none(), "{}: not cut off", path.display());
    entries
}

/// Every set of entries the round trips run on: synthetic, the Claude Code
/// archives, and mitmproxy's own HAR export (what `analyze export` would
/// turn into a flow file).
pub fn all_cases() -> Vec<(String, Vec<Entry>)> {
    let mut cases = vec![("synthetic".to_owned(), synthetic_entries())];
    cases.extend(claude_code_entries());
    let hardump = repo().join("fixtures/mitmproxy/messages.har");
    let (entries, _) = archive::read_entries(&hardump).expect("mitmproxy's HAR reads");
    cases.push(("mitmproxy-hardump".to_owned(), entries));
    cases
}

use super::*;
use crate::any::AnyReader;
use crate::model::{Cookie, QueryString, WebSocketMessage};
use serde_json::json;
use std::path::{Path, PathBuf};

fn ours(entry: &Entry) -> Vec<u8> {
    let mut out = Vec::new();
    write_entry(&mut out, entry).unwrap();
    out
}

fn serdes(entry: &Entry) -> Vec<u8> {
    serde_json::to_vec(entry).unwrap()
}

fn assert_same(entry: &Entry, what: &str) {
    let (a, b) = (ours(entry), serdes(entry));
    assert!(
        a == b,
        "{what}: written\n{}\nserde\n{}",
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b)
    );
}

/// Every entry of every archive in `dir` (recursively) that reads.
fn entries_under(dir: &Path, seen: &mut usize) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            entries_under(&path, seen);
            continue;
        }
        let Ok(reader) = AnyReader::open(&path) else {
            continue;
        };
        for (i, entry) in reader.enumerate() {
            let Ok(entry) = entry else { break };
            assert_same(&entry, &format!("{}: entries[{i}]", path.display()));
            *seen += 1;
        }
    }
}

#[test]
fn every_fixture_entry_is_written_as_serde_writes_it() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut seen = 0;
    entries_under(&fixtures, &mut seen);
    assert!(seen > 50, "only {seen} entries in fixtures/");
}

/// Browsers', Charles', HAR libraries' and mitmproxy's archives: cookies,
/// cache entries, pages, comments, custom fields, odd numbers.
#[test]
fn every_peer_entry_is_written_as_serde_writes_it() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = [
        std::env::var_os("CCTAP_SHARED").map(PathBuf::from),
        Some(repo.join("../shared")),
        Some(PathBuf::from("/work/shared")),
    ]
    .into_iter()
    .flatten()
    .map(|shared| shared.join("peer-archives"))
    .find(|dir| dir.is_dir());
    let Some(dir) = dir else {
        eprintln!("NOTICE: skipped: no shared/peer-archives (set CCTAP_SHARED)");
        return;
    };
    let mut seen = 0;
    entries_under(&dir, &mut seen);
    assert!(seen > 1000, "only {seen} entries in {}", dir.display());
}

/// Every optional field set, escapes and non-finite numbers included.
#[test]
fn an_entry_with_every_field_is_written_as_serde_writes_it() {
    let mut e = Entry::default();
    let har = &mut e.har;
    har.pageref = Some("page_1".into());
    har.started_date_time = "2026-12-04T13:00:00.123456+00:00".into();
    har.time = 12.345;
    har.server_ip_address = Some("::1".into());
    har.connection = Some("7".into());
    har.comment = Some("a \"comment\"\n".into());
    har.timings = Timings {
        blocked: Some(f64::NAN),
        dns: None,
        connect: Some(-1.0),
        send: 0.1,
        wait: 1e21,
        receive: f64::INFINITY,
        ssl: Some(3.0),
        comment: Some("t".into()),
    };
    har.cache = serde_json::from_value(json!({
        "beforeRequest": {"lastAccess": "x", "eTag": "y", "hitCount": 2, "expires": "z"}
    }))
    .unwrap();
    let r = &mut har.request;
    r.method = "POST".into();
    r.url = "https://h/p?q=\u{7f}\u{2028}".into();
    r.http_version = "HTTP/2.0".into();
    r.cookies = vec![Cookie {
        name: "c".into(),
        value: "v".into(),
        http_only: Some(true),
        ..Cookie::default()
    }];
    r.headers = vec![Header {
        name: "x\u{1}".into(),
        value: "é\t".into(),
        comment: Some("h".into()),
    }];
    r.query_string = vec![QueryString {
        name: "q".into(),
        value: "\\".into(),
        comment: None,
    }];
    r.post_data = Some(PostData {
        mime_type: "multipart/form-data".into(),
        text: Some("{\"a\":1}".into()),
        params: Some(vec![serde_json::from_value(
            json!({"name": "f", "fileName": "a.txt"}),
        )
        .unwrap()]),
        comment: Some("base64".into()),
    });
    r.headers_size = -1;
    r.body_size = i64::MIN;
    r.comment = Some("r".into());
    let s = &mut har.response;
    s.status = 200;
    s.status_text = "OK".into();
    s.redirect_url = Some(String::new());
    s.content = Content {
        size: 9,
        compression: Some(-3),
        mime_type: Some("text/event-stream".into()),
        text: Some("data: {}\n\n".into()),
        encoding: Some("base64".into()),
        comment: Some("c".into()),
    };
    s.headers_size = i64::MAX;
    s.comment = Some("s".into());
    e.sse_events = Some(vec![
        SseEvent {
            time: 0.5,
            event: "message_start".into(),
            data: "{\"x\":\"\\u0000\"}".into(),
            id: Some("1".into()),
            retry: Some(u64::MAX),
        },
        SseEvent::default(),
    ]);
    e.error = Some("upstream reset".into());
    e.redacted = vec!["request.headers.x-api-key".into(), "b".into()];
    e.websocket_messages = Some(vec![WebSocketMessage {
        kind: "send".into(),
        time: 1.25,
        opcode: 1,
        data: "hi".into(),
    }]);
    e.extra.insert("_resourceType".into(), "fetch".into());
    e.extra
        .insert("_priority".into(), json!({"a": [1, 2.5, null]}));
    assert_same(&e, "every field");
    assert_same(&Entry::default(), "default entry");
    e.sse_events = Some(Vec::new());
    e.websocket_messages = Some(Vec::new());
    assert_same(&e, "empty lists");
}

//! What the end-to-end tests share: time limits, clients, a Claude-Code-like
//! request body, and a [`Session`] (fake upstream + `record` + archive path).

use bytes::Bytes;
use cctap_archive::{CutOff, Entry};
use cctap_tests::archive::{self, ArchiveCheckError};
use cctap_tests::upstream::{self, Builder, FakeUpstream};
use cctap_tests::Recorder;
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most any single test may take.
pub const LIMIT: Duration = Duration::from_secs(90);

/// How long to wait for one step that should be quick.
pub const STEP: Duration = Duration::from_secs(20);

/// Obviously fake credentials, shaped like real ones so redaction applies.
pub const FAKE_API_KEY: &str =
    "sk-ant-api03-FAKEFAKEFAKE0123456789abcdefghijklmnopqrstuvwxyzFAKEFAKEFAKE-AAAAAAAAAA-FAKEAA";
pub const FAKE_OAUTH_TOKEN: &str =
    "sk-ant-oat01-FAKEFAKEFAKE9876543210zyxwvutsrqponmlkjihgfedcbaFAKEFAKEFAKE-BBBBBBBBBB-FAKEBB";

/// Runs a test step with a time limit; a hang fails the test instead.
pub async fn bounded<F: Future>(what: &str, limit: Duration, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: no result within {limit:?}"),
    }
}

/// A reqwest client for loopback: no proxy from the environment, no
/// automatic decompression (the tests look at wire bytes).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .build()
        .expect("build reqwest client")
}

/// A request body shaped like Claude Code's main loop (smaller).
pub fn messages_body(stream: bool) -> String {
    json!({
        "model": "claude-sonnet-4-5-20250929",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "say hi",
                      "cache_control": {"type": "ephemeral"}}]}],
        "system": [{"type": "text", "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK."},
                   {"type": "text", "text": "You are an interactive CLI tool. ünïcödé ✓"}],
        "tools": [{"name": "Bash", "description": "Run a command", "input_schema": {"type": "object"}}],
        "metadata": {"user_id": "user_fake_account__session_00000000-0000-0000-0000-000000000000"},
        "max_tokens": 32000,
        "stream": stream,
    })
    .to_string()
}

/// The exact bytes the fake streams for this body (default behaviour).
pub fn expected_stream(body: &str, number: u64) -> String {
    let usage = upstream::Usage::for_request(body.as_bytes(), upstream::DEFAULT_REPLY);
    let model = upstream::messages::model_of(body.as_bytes());
    let id = format!("msg_fake_{number:06}");
    upstream::messages::stream_events(&id, &model, upstream::DEFAULT_REPLY, None, usage)
        .iter()
        .map(|e| e.to_wire())
        .collect()
}

/// The names of the events the fake streams by default.
pub fn expected_event_names() -> Vec<String> {
    let usage = upstream::Usage::default();
    upstream::messages::stream_events("m", "m", upstream::DEFAULT_REPLY, None, usage)
        .iter()
        .map(|e| e.name.to_owned())
        .collect()
}

/// A fake upstream, `record` in front of it, and the archive it writes.
pub struct Session {
    pub dir: tempfile::TempDir,
    pub upstream: FakeUpstream,
    pub recorder: Recorder,
    pub archive: PathBuf,
}

impl Session {
    /// Default fake upstream, `.har.zst` archive.
    pub async fn start() -> Session {
        Session::with(FakeUpstream::builder(), "har.zst", &[]).await
    }

    /// A session with this upstream, archive extension and extra flags.
    pub async fn with(builder: Builder, extension: &str, extra: &[&str]) -> Session {
        let upstream = builder.start().await.expect("start fake upstream");
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = dir.path().join(format!("session.{extension}"));
        let recorder = Recorder::reverse(&upstream.url(), &archive, extra).expect("start record");
        Session {
            dir,
            upstream,
            recorder,
            archive,
        }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        self.recorder.url()
    }

    /// Kills `record` with SIGKILL (no chance to write the archive's tail)
    /// and reads back what the archive kept, and where it was cut off.
    pub fn kill9_and_read(self) -> Result<(Vec<Entry>, Option<CutOff>), ArchiveCheckError> {
        self.recorder.kill9().expect("kill -9 record");
        archive::read_entries(&self.archive)
    }

    /// Stops `record` with SIGINT (must exit 0) and returns the archive's
    /// entries in start order, after checking the document's HAR shape.
    pub async fn finish(self) -> (Vec<Entry>, Value, tempfile::TempDir) {
        let stderr = self.recorder.stderr();
        let status = bounded("record exit after SIGINT", STEP, self.recorder.stop())
            .await
            .expect("stop record");
        assert!(
            status.success(),
            "record exited {status} after SIGINT; stderr:\n{stderr}"
        );
        let doc = archive::document(&self.archive).expect("archive is one complete JSON document");
        let problems = archive::har_problems(&doc);
        assert!(
            problems.is_empty(),
            "archive is not sound HAR 1.2: {problems:#?}"
        );
        har_validator(&doc, self.dir.path());
        let (mut entries, cut) =
            archive::read_entries(&self.archive).expect("reader reads the archive");
        assert_eq!(
            cut, None,
            "a cleanly stopped archive must not be reported cut off"
        );
        let raw = doc["log"]["entries"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(
            entries.len(),
            raw,
            "reader and plain JSON disagree on the entry count"
        );
        entries.sort_by(|a, b| a.har.started_date_time.cmp(&b.har.started_date_time));
        (entries, doc, self.dir)
    }
}

/// With `CCTAP_HAR_VALIDATOR=NODE_PREFIX` (an npm prefix holding the
/// `har-validator` package; `.ci/claude-code.sh` installs one and sets it),
/// the document must also pass that independent HAR 1.2 schema check.
pub fn har_validator(doc: &Value, scratch: &std::path::Path) {
    let Some(prefix) = std::env::var_os("CCTAP_HAR_VALIDATOR") else {
        assert!(
            std::env::var_os("CCTAP_REQUIRE_PEERS").is_none(),
            "CCTAP_HAR_VALIDATOR is unset but CCTAP_REQUIRE_PEERS asks for har-validator"
        );
        return;
    };
    let file = scratch.join("for-har-validator.har");
    std::fs::write(&file, doc.to_string()).expect("write document for har-validator");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/claude-code/validate_har.cjs");
    let out = std::process::Command::new("node")
        .arg(script)
        .arg(prefix)
        .arg(&file)
        .output()
        .expect("run node for har-validator");
    assert!(
        out.status.success(),
        "har-validator rejects the archive: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Writes raw bytes to `addr` and reads until the server closes or `limit`.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> Vec<u8> {
    bounded("raw TCP exchange", limit, async {
        let mut stream = TcpStream::connect(addr).await.expect("connect to record");
        stream.write_all(request).await.expect("write request");
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out).await;
        out
    })
    .await
}

/// The header value of an archived request, case-insensitively.
pub fn req_header<'a>(entry: &'a Entry, name: &str) -> Option<&'a str> {
    entry.request_header(name)
}

/// Decodes standard base64 (the archive's encoding for binary bodies).
pub fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .expect("base64 character") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The archived response body as bytes (text, or base64-decoded).
pub fn response_bytes(entry: &Entry) -> Vec<u8> {
    let content = &entry.har.response.content;
    let text = content.text.clone().unwrap_or_default();
    match content.encoding.as_deref() {
        Some("base64") => base64_decode(&text),
        _ => text.into_bytes(),
    }
}

/// The archived request body as bytes (base64 when the comment says so).
pub fn request_bytes(entry: &Entry) -> Vec<u8> {
    let Some(post) = &entry.har.request.post_data else {
        return Vec::new();
    };
    let text = post.text.clone().unwrap_or_default();
    if post.comment.as_deref() == Some("base64") {
        base64_decode(&text)
    } else {
        text.into_bytes()
    }
}

/// Reads a reqwest response chunk by chunk until `needle` has arrived.
pub async fn read_until(response: &mut reqwest::Response, seen: &mut Vec<u8>, needle: &str) {
    while !String::from_utf8_lossy(seen).contains(needle) {
        match response.chunk().await {
            Ok(Some(chunk)) => seen.extend_from_slice(&chunk),
            Ok(None) => panic!(
                "stream ended before {needle:?}; got {:?}",
                String::from_utf8_lossy(seen)
            ),
            Err(e) => panic!("stream failed before {needle:?}: {e}"),
        }
    }
}

/// Bytes of a body: a convenience for comparisons.
pub fn bytes_of(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// A response body parsed as JSON.
pub async fn json_of(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.expect("read body");
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// A TLS fake upstream and its CA written to `dir/upstream-ca.pem`: the file
/// that `record --upstream-ca` (or a client) trusts it by.
pub async fn tls_upstream(dir: &std::path::Path) -> (FakeUpstream, PathBuf) {
    let upstream = FakeUpstream::builder()
        .tls()
        .start()
        .await
        .expect("TLS fake upstream");
    let ca = dir.join("upstream-ca.pem");
    upstream.write_ca(&ca).expect("write the upstream's CA");
    (upstream, ca)
}

//! `analyze export` and `analyze redact` copy a body longer than the
//! reader's 64 MiB string cap whole (issue 14): through a temporary file,
//! never cut, never refused. Bodies of ~72 MiB (a text one full of
//! escapes, a base64 one) are copied `.har`/`.har.zst` → `.har`,
//! `.har.zst` and `.flows`, and read back independently (serde_json, our
//! flow reader, which has no cap, and mitmdump) to compare hashes; a fake
//! key near the end of each is gone after `redact`.
use crate::mitmproxy::run::{mitmdump, path_str, per_response};
use crate::peers::analyze;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

const KEY: &str = "sk-ant-api03-FAKEbigbodyFAKEbigbodyFAKEbigbodyFAKEbigbodyFAKEbigbodyFAKEbigbodyFAKEbigbodyFAKEbigbodyFAKE-FAKEAA";

/// Pieces of the text body: escapes of every kind, UTF-8 of 2–4 bytes.
const LINE: &str = "line \"quoted\" \\ tab\t é € 😀 </script>\n";

/// What the input's two bodies are, as decoded text / bytes.
struct Made {
    text_len: u64,
    text_sha: String,
    bytes_len: u64,
    bytes_sha: String,
}

/// Writes a HAR (zstd-compressed when `zst`) of two entries: a ~72 MiB
/// text response and a ~72 MiB (as base64) binary one, each with `KEY`
/// near its end. The bodies are written piece by piece, not held.
fn make(path: &Path, zst: bool) -> Made {
    let file = std::fs::File::create(path).unwrap();
    let mut out: Box<dyn Write> = match zst {
        true => Box::new(
            zstd::stream::write::Encoder::new(file, 1)
                .unwrap()
                .auto_finish(),
        ),
        false => Box::new(std::io::BufWriter::new(file)),
    };
    let entry_head = |mime: &str, base64: bool| {
        format!(
            r#"{{"startedDateTime":"2026-12-04T08:00:00.000Z","time":1,"request":{{"method":"GET","url":"https://api.example.test/big","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"queryString":[],"headersSize":-1,"bodySize":0}},"response":{{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[{{"name":"content-type","value":"{mime}"}}],"content":{{"size":0,"mimeType":"{mime}",{}"text":""#,
            if base64 {
                r#""encoding":"base64","#
            } else {
                ""
            }
        )
    };
    let entry_tail = r#""},"redirectURL":"","headersSize":-1,"bodySize":-1},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}"#;
    out.write_all(
        br#"{"log":{"version":"1.2","creator":{"name":"test","version":"0"},"entries":["#,
    )
    .unwrap();
    // The text body, JSON-escaped as it is written.
    out.write_all(entry_head("text/plain", false).as_bytes())
        .unwrap();
    let escaped = serde_json::to_string(LINE).unwrap();
    let escaped = &escaped[1..escaped.len() - 1];
    let (mut sha, mut len) = (Sha256::new(), 0u64);
    let lines = (72 << 20) / LINE.len();
    let block = LINE.repeat(1000);
    let block_escaped = escaped.repeat(1000);
    for _ in 0..lines / 1000 {
        out.write_all(block_escaped.as_bytes()).unwrap();
        sha.update(block.as_bytes());
        len += block.len() as u64;
    }
    let end = format!(" {KEY} the end\n");
    out.write_all(end.as_bytes()).unwrap();
    sha.update(end.as_bytes());
    len += end.len() as u64;
    let text_sha = hex(sha);
    out.write_all(entry_tail.as_bytes()).unwrap();
    // The binary body as base64, groups of 3 bytes at a time.
    out.write_all(b",").unwrap();
    out.write_all(entry_head("application/octet-stream", true).as_bytes())
        .unwrap();
    let (mut sha, mut bytes_len) = (Sha256::new(), 0u64);
    let block: Vec<u8> = (0..3 * 100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    for _ in 0..(54 << 20) / block.len() {
        out.write_all(cctap_archive::base64::encode(&block).as_bytes())
            .unwrap();
        sha.update(&block);
        bytes_len += block.len() as u64;
    }
    let mut end = format!("\0\u{1} {KEY} ").into_bytes();
    while end.len() % 3 != 0 {
        end.push(0xff);
    }
    out.write_all(cctap_archive::base64::encode(&end).as_bytes())
        .unwrap();
    sha.update(&end);
    bytes_len += end.len() as u64;
    out.write_all(entry_tail.as_bytes()).unwrap();
    out.write_all(b"]}}").unwrap();
    out.flush().unwrap();
    Made {
        text_len: len,
        text_sha,
        bytes_len,
        bytes_sha: hex(sha),
    }
}

fn hex(sha: Sha256) -> String {
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn sha(bytes: &[u8]) -> String {
    hex(Sha256::new_with_prefix(bytes))
}

/// The two bodies of a HAR or flow file we wrote, as bytes (text as
/// UTF-8, base64 decoded), read without our HAR reader (it cuts).
fn bodies(path: &Path) -> [Vec<u8>; 2] {
    let name = path.to_string_lossy();
    if name.ends_with(".flows") {
        let reader = cctap_archive::AnyReader::open(path).unwrap();
        let entries: Vec<_> = reader.map(|e| e.unwrap()).collect();
        assert_eq!(entries.len(), 2);
        return [0, 1].map(|i| {
            let c = &entries[i].har.response.content;
            let text = c.text.as_deref().unwrap();
            match c.encoding.as_deref() {
                Some("base64") => cctap_archive::base64::decode(text).unwrap(),
                _ => text.as_bytes().to_vec(),
            }
        });
    }
    let file = std::fs::File::open(path).unwrap();
    let source: Box<dyn Read> = match name.ends_with(".zst") {
        true => Box::new(zstd::stream::read::Decoder::new(file).unwrap()),
        false => Box::new(std::io::BufReader::new(file)),
    };
    let mut doc: serde_json::Value = serde_json::from_reader(source).unwrap();
    let entries = doc["log"]["entries"].as_array_mut().unwrap();
    assert_eq!(entries.len(), 2);
    let text = entries[0]["response"]["content"]["text"].take();
    let text = text.as_str().unwrap().as_bytes().to_vec();
    let content = &entries[1]["response"]["content"];
    assert_eq!(content["encoding"], "base64");
    let bytes = cctap_archive::base64::decode(content["text"].as_str().unwrap()).unwrap();
    [text, bytes]
}

fn run_ok(args: &[&str]) {
    let r = analyze(args);
    assert_eq!(r.code, 0, "analyze {args:?}: {}", r.stderr);
    assert!(!r.stderr.contains("cut"), "analyze {args:?}: {}", r.stderr);
}

#[test]
fn export_copies_a_body_past_the_string_cap_whole() {
    let dir = tempfile::tempdir().unwrap();
    let zst = dir.path().join("big.har.zst");
    let made = make(&zst, true);
    let plain = dir.path().join("big.har");
    make(&plain, false);
    let mut outputs = Vec::new();
    for (input, out) in [
        (&zst, "from-zst.har"),
        (&zst, "from-zst.har.zst"),
        (&zst, "from-zst.flows"),
        (&plain, "from-har.har.zst"),
    ] {
        let out = dir.path().join(out);
        run_ok(&["export", path_str(input), "-o", path_str(&out)]);
        let [text, bytes] = bodies(&out);
        assert_eq!(
            (text.len() as u64, sha(&text)),
            (made.text_len, made.text_sha.clone()),
            "{}: the text body differs",
            out.display()
        );
        drop(text);
        assert_eq!(
            (bytes.len() as u64, sha(&bytes)),
            (made.bytes_len, made.bytes_sha.clone()),
            "{}: the base64 body differs",
            out.display()
        );
        outputs.push(out);
    }
    // The flow file loads in mitmproxy with the same bodies.
    let Some(bin) = mitmdump("export_copies_a_body_past_the_string_cap_whole") else {
        return;
    };
    let body = "flow.response.raw_content";
    let hash = format!("f'{{len({body})}} {{hashlib.sha256({body}).hexdigest()}}'");
    let (got, printed) = per_response(&bin, dir.path(), &outputs[2], &hash, "\n");
    let want = format!(
        "{} {}\n{} {}",
        made.text_len, made.text_sha, made.bytes_len, made.bytes_sha
    );
    assert_eq!(got, want, "{printed}");
}

#[test]
fn redact_removes_a_key_at_the_end_of_a_body_past_the_string_cap() {
    let dir = tempfile::tempdir().unwrap();
    let zst = dir.path().join("big.har.zst");
    let made = make(&zst, true);
    for out in ["redacted.har", "redacted.flows"] {
        let out = dir.path().join(out);
        run_ok(&["redact", path_str(&zst), "-o", path_str(&out)]);
        let [text, bytes] = bodies(&out);
        let marker = "redacted:sk-ant-api03:";
        let text = String::from_utf8(text).unwrap();
        assert!(
            !text.contains(KEY),
            "{}: the key is still there",
            out.display()
        );
        let tail = &text[text.len() - 200..];
        assert!(tail.contains(marker), "{}: {tail}", out.display());
        // Only the key changed: the same length give or take the marker.
        let want = made.text_len - KEY.len() as u64 + marker.len() as u64 + 12;
        assert_eq!(text.len() as u64, want, "{}", out.display());
        assert!(text.starts_with(LINE));
        drop(text);
        let key = KEY.as_bytes();
        assert!(
            !bytes.windows(key.len()).any(|w| w == key),
            "{}: the key is still in the base64 body",
            out.display()
        );
        assert!(bytes.len() as u64 > made.bytes_len - 200);
        let r = analyze(&["leaks", path_str(&out)]);
        assert_eq!(r.code, 0, "leaks on {}: {}", out.display(), r.stdout);
    }
}

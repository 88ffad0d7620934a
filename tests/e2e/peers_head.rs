//! HAR → HAR (`export`, `redact`) keeps the `log` object's
//! `pages`, `comment` and custom `_fields`, whether the input has them
//! before or after its entries (key order is free in the copy).
use super::peers::{analyze, peer_archives};
use serde_json::{Map, Value};
use std::path::Path;

/// `log`'s keys other than `entries` (and `version`/`creator`, which a
/// copy keeps as it always did), as plain JSON parsing sees them.
fn log_head(path: &Path) -> Map<String, Value> {
    let bytes = std::fs::read(path).expect("read HAR");
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let doc: Value = serde_json::from_slice(bytes).expect("HAR is JSON");
    let mut log = doc["log"].as_object().expect("log object").clone();
    for key in ["entries", "version", "creator", "browser"] {
        log.remove(key);
    }
    log
}

#[test]
fn pages_comment_and_custom_log_fields_survive_export_and_redact() {
    let test = "pages_comment_and_custom_log_fields_survive_export_and_redact";
    let Some(dir) = peer_archives(test) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("temp dir");
    for (rel, what) in [
        // Chrome: pages before entries.
        ("pagexray/http_http2-chrome.har", &["pages"][..]),
        // Three pages and a log comment.
        (
            "pagexray/redirect_frontendredirect.har",
            &["pages", "comment"],
        ),
        // Polly.js: pages after entries, and a log-level `_recordingName`.
        (
            "pollyjs/puppeteer_recordings_puppeteer_2155046665_recording.har",
            &["pages", "_recordingName"],
        ),
    ] {
        let input = dir.join(rel);
        let want = log_head(&input);
        for key in what {
            assert!(
                want.contains_key(*key),
                "{rel} has no {key}: corpus changed?"
            );
        }
        for (command, out) in [("export", "copy.har"), ("redact", "redacted.har.zst")] {
            let out = scratch.path().join(out);
            let ran = analyze(&[
                command,
                input.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ]);
            assert_eq!(ran.code, 0, "{command} {rel}: {}", ran.stderr);
            let plain = scratch.path().join("plain.har");
            let back = analyze(&[
                "export",
                out.to_str().unwrap(),
                "-o",
                plain.to_str().unwrap(),
            ]);
            assert_eq!(back.code, 0, "{command} {rel} back: {}", back.stderr);
            assert_eq!(log_head(&plain), want, "{command} {rel}");
        }
    }
}

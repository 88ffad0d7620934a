//! OpenAI-style calls in the peer corpus: none of its 158 archives holds
//! one today (no `…/chat/completions` or `…/responses` anywhere in their
//! bytes), and `analyze usage` must agree: no such call counted, none
//! "usage not reported", every entry other traffic or a Messages call.
//! Should an archive with one join the corpus, this test names it, so
//! that its reading gets asserted (as `analyzer/tests/cli/openai.rs` does
//! for `fixtures/handmade/openai.har`).
use super::peers::{analyze, peer_archives};
use serde_json::Value;

/// Whether the file's bytes (zlib-compressed `.zhar` inflated) name an
/// OpenAI-style endpoint.
fn mentions_openai(path: &std::path::Path) -> bool {
    let mut bytes = std::fs::read(path).expect("read peer archive");
    if path.extension().is_some_and(|e| e == "zhar") {
        let mut out = Vec::new();
        use std::io::Read;
        if flate2::read::ZlibDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .is_ok()
        {
            bytes = out;
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    text.contains("/chat/completions") || text.contains("/responses")
}

#[test]
fn no_peer_archive_is_read_as_holding_openai_style_calls() {
    let test = "no_peer_archive_is_read_as_holding_openai_style_calls";
    let Some(dir) = peer_archives(test) else {
        return;
    };
    let mut mentioned = Vec::new();
    let mut folders = Vec::new();
    for sub in std::fs::read_dir(&dir)
        .expect("list peer-archives")
        .flatten()
    {
        let path = sub.path();
        if !path.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&path).expect("list folder").flatten() {
            if f.path().is_file() && mentions_openai(&f.path()) {
                mentioned.push(f.path().display().to_string());
            }
        }
        folders.push(path);
    }
    assert!(
        mentioned.is_empty(),
        "peer archives now hold OpenAI-style calls: assert their reading here: {mentioned:?}"
    );
    assert!(folders.len() >= 5, "{folders:?}");
    for folder in folders {
        let f = folder.display().to_string();
        // Exit 2 where a folder holds files no reader takes (peers.rs
        // lists them); the JSON is printed all the same.
        let r = analyze(&["usage", "--json", "--by", "api", &f]);
        assert!(r.code == 0 || r.code == 2, "{f}: {}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).expect("usage --json");
        let apis: Vec<&str> = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["key"].as_str().unwrap())
            .collect();
        assert!(apis.iter().all(|a| *a == "messages"), "{f}: {apis:?}");
        assert_eq!(v["usage_not_reported"]["requests"], 0, "{f}");
        assert_eq!(v["failed"]["requests"], 0, "{f}: no model call failed");
    }
}

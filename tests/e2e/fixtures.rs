//! The committed real-client fixtures (fixtures/claude-code/, written by
//! `.ci/claude-code.sh --regen`) read back through the archive reader and
//! still hold what the analyzer's tests rely on.

use cctap_archive::Entry;
use cctap_tests::archive;
use serde_json::Value;
use std::path::PathBuf;

const NAMES: &[&str] = &[
    "2.0.14-reverse",
    "2.0.14-offline",
    "2.0.50-reverse",
    "2.0.50-offline",
    "2.1.332-reverse",
    "2.1.332-offline",
    "2.1.332-reverse-rerun",
    "2.1.332-overloaded",
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/claude-code")
        .join(format!("{name}.har"))
}

/// The main loop: a /v1/messages POST with non-empty tools, largest body.
/// (A failed attempt before a retry has the same body: the answered one wins.)
fn main_loop(entries: &[Entry]) -> Option<(&Entry, Value)> {
    entries
        .iter()
        .filter(|e| e.har.request.method == "POST")
        .filter(|e| {
            e.har
                .request
                .url
                .split('?')
                .next()
                .is_some_and(|u| u.ends_with("/v1/messages"))
        })
        .filter_map(|e| Some((e, serde_json::from_str::<Value>(e.request_text()?).ok()?)))
        .filter(|(_, body)| body["tools"].as_array().is_some_and(|t| !t.is_empty()))
        .max_by_key(|(e, _)| (e.har.response.status == 200, e.request_text().map(str::len)))
}

#[test]
fn real_client_fixtures_read_back_whole() {
    for name in NAMES {
        let path = fixture(name);
        let doc = archive::document(&path)
            .unwrap_or_else(|e| panic!("{name}: {e} (regenerate with .ci/claude-code.sh --regen)"));
        assert_eq!(archive::har_problems(&doc), Vec::<String>::new(), "{name}");
        let (entries, cut) = archive::read_entries(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(cut, None, "{name}");
        let (main, body) =
            main_loop(&entries).unwrap_or_else(|| panic!("{name}: no main loop call"));
        assert!(
            body["system"].as_array().is_some_and(|s| !s.is_empty()),
            "{name}: system prompt"
        );
        let version = name.split('-').next().unwrap_or("");
        let agent = main.request_header("user-agent").unwrap_or("");
        assert!(
            agent.contains(&format!("claude-cli/{version}")),
            "{name}: User-Agent {agent}"
        );
        let events = main.sse_events.as_deref().unwrap_or_default();
        assert_eq!(
            events.first().map(|e| e.event.as_str()),
            Some("message_start"),
            "{name}"
        );
        assert_eq!(
            events.last().map(|e| e.event.as_str()),
            Some("message_stop"),
            "{name}"
        );
        let key = main.request_header("x-api-key").unwrap_or("");
        assert!(
            key.starts_with("redacted:sk-ant-api03:"),
            "{name}: x-api-key {key}"
        );
        let bytes = archive::decompressed(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("FAKEcctapCI"),
            "{name}: the fake key is in the fixture"
        );
    }
}

//! fixtures/claude-code-forward read back through `cctap_archive`'s reader:
//! the real Claude Code's main call came through the intercepted tunnel
//! with its SSE events and its key redacted, and 2.0.50's call to
//! api.anthropic.com (which ignores the base URL) is there too.

use cctap_tests::archive::{read_entries, sse_text};
use cctap_tests::upstream::DEFAULT_REPLY;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/claude-code-forward")
        .join(name)
}

#[test]
fn forward_fixtures_hold_the_main_call_and_the_calls_reverse_mode_misses() {
    for version in ["2.0.50", "2.1.332"] {
        let (entries, cut) =
            read_entries(&fixture(&format!("{version}-forward.har"))).expect("read fixture");
        assert_eq!(cut, None);
        let main = entries
            .iter()
            .filter(|e| e.har.request.url.starts_with("https://localhost:"))
            .max_by_key(|e| e.request_text().map_or(0, str::len))
            .expect("a call to the base URL");
        assert_eq!(
            main.har.request.http_version, "HTTP/1.1",
            "Claude Code offers http/1.1 only"
        );
        assert_eq!(sse_text(main), DEFAULT_REPLY, "{version}");
        let key = main.request_header("x-api-key").expect("x-api-key");
        assert!(
            key.starts_with("redacted:sk-ant-api03:"),
            "{version}: {key}"
        );
        let user_agent = main.request_header("user-agent").unwrap_or_default();
        assert!(
            user_agent.contains(&format!("claude-cli/{version}")),
            "{user_agent}"
        );
    }
    let (entries, _) = read_entries(&fixture("2.0.50-forward.har")).expect("read fixture");
    let elsewhere = entries
        .iter()
        .find(|e| e.har.request.url.starts_with("https://api.anthropic.com/"))
        .expect("2.0.50 calls api.anthropic.com despite ANTHROPIC_BASE_URL");
    assert!(
        elsewhere.error.is_some(),
        "no network where the fixture was made"
    );
}

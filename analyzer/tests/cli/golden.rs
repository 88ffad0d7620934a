//! Golden numbers per archive: `usage` totals, failed calls, leak count,
//! entries. To check a real recording, add a row naming it (relative to
//! `fixtures/`) with the usage its fake upstream sent.

use crate::{analyze, analyze_json, fixture};

pub struct Golden {
    pub file: &'static str,
    pub entries: usize,
    pub requests: u64,
    pub input: u64,
    pub output: u64,
    pub cache_write: u64,
    pub cache_read: u64,
    pub failed: u64,
    pub leaks: usize,
}

#[rustfmt::skip]
pub const GOLDEN: &[Golden] = &[
    // git-history 250/30, warmups 4/9 (+1800 write) and 4/15 (+2900), main 3/42 (+12000).
    Golden { file: "handmade/cc-2.0.50-a.har", entries: 4, requests: 4, input: 261, output: 96, cache_write: 16700, cache_read: 0, failed: 0, leaks: 0 },
    Golden { file: "handmade/cc-2.0.50-b.har", entries: 4, requests: 4, input: 271, output: 107, cache_write: 40, cache_read: 16700, failed: 0, leaks: 0 },
    Golden { file: "handmade/cc-2.0.14.har", entries: 2, requests: 2, input: 243, output: 65, cache_write: 11000, cache_read: 0, failed: 0, leaks: 0 },
    // Tool round trip: turn 1 5/60 (+9000 write), turn 2 20/25 (+150 write, 9000 read).
    Golden { file: "handmade/cc-2.1.332.har", entries: 2, requests: 2, input: 25, output: 85, cache_write: 9150, cache_read: 9000, failed: 0, leaks: 0 },
    // 529 (not counted), then the non-streaming retry 3/11 with 12000 read.
    Golden { file: "handmade/retry-529.har", entries: 2, requests: 1, input: 3, output: 11, cache_write: 0, cache_read: 12000, failed: 1, leaks: 0 },
    Golden { file: "handmade/gzip-body.har", entries: 1, requests: 1, input: 7, output: 5, cache_write: 0, cache_read: 0, failed: 0, leaks: 0 },
    Golden { file: "handmade/bearer-token.har", entries: 1, requests: 1, input: 3, output: 42, cache_write: 12000, cache_read: 0, failed: 0, leaks: 1 },
    Golden { file: "handmade/key-in-prompt.har", entries: 1, requests: 1, input: 3, output: 20, cache_write: 12000, cache_read: 0, failed: 0, leaks: 1 },
    Golden { file: "handmade/third-party-base.har", entries: 2, requests: 1, input: 3, output: 42, cache_write: 12000, cache_read: 0, failed: 0, leaks: 0 },
    Golden { file: "handmade/browser.har", entries: 2, requests: 1, input: 8, output: 4, cache_write: 0, cache_read: 0, failed: 0, leaks: 2 },
    // mitmproxy: the stream only as raw text (no _sseEvents); count_tokens apart.
    Golden { file: "handmade/mitmproxy-export.har", entries: 2, requests: 1, input: 3, output: 42, cache_write: 12000, cache_read: 0, failed: 0, leaks: 0 },
    // A stream reset after message_start (counted, flagged) and a refused exchange (failed).
    Golden { file: "handmade/failures.har", entries: 2, requests: 1, input: 3, output: 1, cache_write: 0, cache_read: 12000, failed: 1, leaks: 0 },
    // Real mitmdump 11.0.2 (fixtures/mitmproxy/): HAR export and flow file of one session, key left in place.
    // Fake upstream's formula on the bodies (279 B stream, 127 B JSON): 70/9 (+279 write, 34 read), 32/9 (+127, 15).
    Golden { file: "mitmproxy/messages.har", entries: 3, requests: 2, input: 102, output: 18, cache_write: 406, cache_read: 49, failed: 0, leaks: 3 },
    Golden { file: "mitmproxy/messages.flows", entries: 3, requests: 2, input: 102, output: 18, cache_write: 406, cache_read: 49, failed: 0, leaks: 3 },
    // OpenAI-style calls beside one Messages call (see cli/openai.rs): prompt minus cached as input;
    // the chat stream without include_usage is neither counted nor failed; the 429 is failed.
    Golden { file: "handmade/openai.har", entries: 8, requests: 5, input: 1763, output: 1626, cache_write: 0, cache_read: 4992, failed: 1, leaks: 0 },
    // Cut off inside the main loop: git-history and both warmups survive.
    Golden { file: "handmade/cut-off.har", entries: 3, requests: 3, input: 258, output: 54, cache_write: 4700, cache_read: 0, failed: 0, leaks: 0 },
];

#[test]
fn every_golden_archive_gives_its_numbers() {
    for g in GOLDEN {
        let path = fixture(g.file).display().to_string();
        let u = analyze_json(&["usage", &path], 0);
        let t = &u["total"];
        let got = [
            &t["requests"],
            &t["input_tokens"],
            &t["output_tokens"],
            &t["cache_creation_input_tokens"],
            &t["cache_read_input_tokens"],
            &u["failed"]["requests"],
        ]
        .map(|v| v.as_u64().unwrap_or(u64::MAX));
        assert_eq!(
            got,
            [
                g.requests,
                g.input,
                g.output,
                g.cache_write,
                g.cache_read,
                g.failed
            ],
            "usage of {}",
            g.file
        );
        assert_eq!(u["files"][0]["entries"], g.entries, "entries of {}", g.file);

        let ls = analyze_json(&["ls", &path], 0);
        assert_eq!(
            ls.as_array().map(Vec::len),
            Some(g.entries),
            "ls rows of {}",
            g.file
        );

        let leaks = analyze(&["leaks", "--json", &path]);
        assert_eq!(
            leaks.code,
            if g.leaks > 0 { 1 } else { 0 },
            "leaks exit of {}: {}",
            g.file,
            leaks.stdout
        );
        assert_eq!(leaks.json()["leaks"], g.leaks, "leak count of {}", g.file);
    }
}

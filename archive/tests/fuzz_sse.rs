//! Property tests of the incremental SSE parser: arbitrary bytes split at
//! arbitrary points never panic and give the same events as one whole chunk,
//! and well-formed streams come back event for event whatever the line
//! endings and splits.
//!
//! Bounded for `cargo test` (proptest's default 256 cases per property, well
//! under a second each). A longer run:
//!
//!     PROPTEST_CASES=100000 cargo test -p cctap-archive --release --test fuzz_sse

use cctap_archive::sse::SseParser;
use cctap_archive::SseEvent;
use proptest::prelude::*;

/// An event without its arrival time: what splitting must not change.
type Plain = (String, String, Option<String>, Option<u64>);

fn plain(events: Vec<SseEvent>) -> Vec<Plain> {
    events
        .into_iter()
        .map(|e| (e.event, e.data, e.id, e.retry))
        .collect()
}

/// Feeds `bytes` cut at `cuts` (positions, any order, any repeats), then
/// finishes the stream.
fn parse_split(bytes: &[u8], cuts: &[usize]) -> Vec<Plain> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    let mut from = 0;
    for (n, to) in points.into_iter().chain([bytes.len()]).enumerate() {
        parser.feed(&bytes[from..to], n as f64, &mut out);
        from = to;
    }
    parser.finish(0.0, &mut out);
    plain(out)
}

/// Bytes biased towards what the parser branches on: field names, colons,
/// CR, LF, a BOM, invalid UTF-8.
fn sse_noise() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"data:".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"event:".to_vec()),
        Just(b"id:".to_vec()),
        Just(b"retry:".to_vec()),
        Just(b":".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xE2\x82".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"12".to_vec()),
        prop::collection::vec(any::<u8>(), 0..6),
    ];
    prop::collection::vec(piece, 0..60).prop_map(|p| p.concat())
}

/// One well-formed event: a name, data lines, maybe an id.
fn event() -> impl Strategy<Value = (String, Vec<String>, Option<String>)> {
    (
        "[a-z_]{1,12}",
        prop::collection::vec("[ -~é✓]{0,20}", 1..4),
        prop::option::of("[a-zA-Z0-9_]{1,8}"),
    )
}

/// Writes events with the given line ending (`\n`, `\r\n` or `\r`).
fn serialise(events: &[(String, Vec<String>, Option<String>)], eol: &str) -> Vec<u8> {
    let mut text = String::new();
    for (name, lines, id) in events {
        text.push_str(&format!("event: {name}{eol}"));
        if let Some(id) = id {
            text.push_str(&format!("id: {id}{eol}"));
        }
        for line in lines {
            text.push_str(&format!("data: {line}{eol}"));
        }
        text.push_str(eol);
    }
    text.into_bytes()
}

proptest! {
    // Failures are kept as plain regression tests below, not in a file.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn noise_never_panics_and_splitting_changes_nothing(
        bytes in sse_noise(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let whole = parse_split(&bytes, &[]);
        let split = parse_split(&bytes, &cuts);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn byte_at_a_time_equals_whole(bytes in sse_noise()) {
        let every: Vec<usize> = (0..=bytes.len()).collect();
        prop_assert_eq!(parse_split(&bytes, &[]), parse_split(&bytes, &every));
    }

    #[test]
    fn well_formed_streams_come_back_whatever_the_splits(
        events in prop::collection::vec(event(), 0..8),
        eol in prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        cuts in prop::collection::vec(any::<usize>(), 0..16),
    ) {
        let bytes = serialise(&events, eol);
        let want: Vec<Plain> = events
            .iter()
            .map(|(name, lines, id)| (name.clone(), lines.join("\n"), id.clone(), None))
            .collect();
        prop_assert_eq!(parse_split(&bytes, &cuts), want);
    }
}

/// Regression shapes kept as plain tests: a CRLF split across chunks, a BOM
/// split across chunks, a stream cut inside its last event.
#[test]
fn edge_splits_found_while_writing_the_properties() {
    let crlf = b"data: a\r\n\r\ndata: b\r\n\r\n";
    for cut in 0..=crlf.len() {
        assert_eq!(
            parse_split(crlf, &[cut]),
            parse_split(crlf, &[]),
            "cut {cut}"
        );
    }
    let bom = b"\xEF\xBB\xBFdata: x\n\n";
    assert_eq!(parse_split(bom, &[1, 2]), parse_split(bom, &[]));
    assert_eq!(parse_split(bom, &[])[0].1, "x");
    let cut_off = parse_split(b"event: e\ndata: half", &[]);
    assert_eq!(cut_off, [("e".into(), "half".into(), None, None)]);
}

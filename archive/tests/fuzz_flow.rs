//! Property tests of the mitmproxy flow-file reader and its tnetstring
//! parser over fixtures/mitmproxy/messages.flows (written by the real
//! mitmdump), truncated and corrupted.
//!
//! What must hold: no panic, iteration ends, entries from a truncated file
//! are the originals in order, and a file cut inside a flow is reported (a
//! flow file has no tail, so a cut exactly between flows is a smaller whole
//! file, which is the format's limit, not a reader bug).
//!
//! Bounded for `cargo test` (256 cases per property). A longer run:
//!
//!     PROPTEST_CASES=20000 cargo test -p cctap-archive --release --test fuzz_flow

use cctap_archive::flow::tnetstring;
use cctap_archive::{Entry, FlowReader};
use proptest::prelude::*;
use std::io::Cursor;
use std::sync::OnceLock;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/mitmproxy/messages.flows"
);

/// The fixture's bytes, its entries, and the offsets where each flow ends.
struct Corpus {
    file: Vec<u8>,
    entries: Vec<Entry>,
    boundaries: Vec<usize>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let file = std::fs::read(FIXTURE).expect("read the flow fixture");
        let outcome = read(file.clone(), 100);
        assert!(
            outcome.errors.is_empty() && !outcome.cut,
            "the fixture reads clean"
        );
        assert!(outcome.entries.len() >= 2, "the fixture has several flows");
        let mut boundaries = vec![0];
        let mut at = 0;
        while at < file.len() {
            let (_, used) = tnetstring::parse(&file[at..]).expect("fixture tnetstring");
            at += used;
            boundaries.push(at);
        }
        Corpus {
            file,
            entries: outcome.entries,
            boundaries,
        }
    })
}

/// What reading some bytes gave.
struct Outcome {
    opened: bool,
    entries: Vec<Entry>,
    errors: Vec<String>,
    cut: bool,
}

/// Reads everything, failing (not hanging) past `bound` items.
fn read(bytes: Vec<u8>, bound: usize) -> Outcome {
    let mut reader = match FlowReader::from_reader("fuzzed.flows", Box::new(Cursor::new(bytes))) {
        Ok(r) => r,
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains("fuzzed.flows"),
                "error names the file: {message}"
            );
            return Outcome {
                opened: false,
                entries: vec![],
                errors: vec![message],
                cut: false,
            };
        }
    };
    let (mut entries, mut errors) = (Vec::new(), Vec::new());
    for (n, item) in reader.by_ref().enumerate() {
        assert!(
            n < bound,
            "reader yielded more than {bound} items: it does not end"
        );
        match item {
            Ok(e) => entries.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    for message in &errors {
        assert!(
            message.contains("fuzzed.flows"),
            "error names the file: {message}"
        );
    }
    Outcome {
        opened: true,
        entries,
        errors,
        cut: reader.cut_off().is_some(),
    }
}

fn check_truncated(keep: usize) -> Result<(), TestCaseError> {
    let corpus = corpus();
    let keep = keep % (corpus.file.len() + 1);
    let outcome = read(corpus.file[..keep].to_vec(), corpus.entries.len() + 2);
    for (i, got) in outcome.entries.iter().enumerate() {
        prop_assert!(
            corpus.entries.get(i) == Some(got),
            "cut at {keep}: entry {i} is not the original"
        );
    }
    let between_flows = corpus.boundaries.contains(&keep);
    let clean = outcome.opened && outcome.errors.is_empty() && !outcome.cut;
    if !between_flows {
        prop_assert!(
            !clean,
            "cut at {} (inside a flow) read as a clean file",
            keep
        );
    } else {
        let whole = corpus
            .boundaries
            .iter()
            .position(|b| *b == keep)
            .unwrap_or(0);
        prop_assert_eq!(
            outcome.entries.len(),
            whole,
            "cut between flows at {}",
            keep
        );
    }
    Ok(())
}

/// The most items a reader can honestly yield from `file`: each consumes
/// at least one 3-byte tnetstring (`0:~`). Past that it is looping.
fn no_hang_bound(file: &[u8]) -> usize {
    file.len() / 3 + 2
}

/// `PROPTEST_CASES` when set (a longer run), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn truncated_flow_files_keep_a_prefix_and_say_so(keep in any::<usize>()) {
        check_truncated(keep)?;
    }

    #[test]
    fn corrupted_flow_files_never_panic_or_hang(
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        keep in any::<usize>(),
    ) {
        let corpus = corpus();
        let mut file = corpus.file.clone();
        for (at, byte) in edits {
            let at = at % file.len();
            file[at] = byte;
        }
        let keep = if keep % 2 == 0 { file.len() } else { keep % (file.len() + 1) };
        file.truncate(keep);
        let bound = no_hang_bound(&file);
        read(file, bound);
    }

    #[test]
    fn length_and_type_bytes_corrupted(digit in 0usize..64, byte in prop_oneof![
        Just(b'9'), Just(b':'), Just(b'0'), Just(b'}'), Just(b']'), Just(b'~'), Just(b'#'), Just(b'^'),
        Just(b'!'), Just(b','), Just(b';'), any::<u8>()]) {
        // Aim at the framing: the first bytes of a flow and of its inner values.
        let corpus = corpus();
        let mut file = corpus.file.clone();
        let start = corpus.boundaries[digit % (corpus.boundaries.len() - 1)];
        let at = (start + digit).min(file.len() - 1);
        file[at] = byte;
        let bound = no_hang_bound(&file);
        read(file, bound);
    }

    #[test]
    fn tnetstring_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok((_, used)) = tnetstring::parse(&bytes) {
            prop_assert!(used <= bytes.len());
        }
    }
}

/// Found by `length_and_type_bytes_corrupted` (digit = 1, byte = b':'):
/// the second flow's length `NNNN:` gets a `:` after its first digit. That
/// "flow" is a short bad value; the reader then walks the rest of the second
/// flow's bytes as if they were flows, one error each (more than 16 items
/// from a 3-flow file). It ends (no hang, no panic) and yields no entry made
/// of the debris.
#[test]
fn a_corrupted_flow_length_ends_with_errors_only() {
    let mut file = corpus().file.clone();
    file[corpus().boundaries[1] + 1] = b':';
    let bound = no_hang_bound(&file);
    let outcome = read(file, bound);
    assert!(!outcome.errors.is_empty(), "the damage is reported");
    eprintln!(
        "corrupted second length: {} errors, {} entries (of {})",
        outcome.errors.len(),
        outcome.entries.len(),
        corpus().entries.len()
    );
    for e in &outcome.entries {
        assert!(corpus().entries.contains(e), "an entry made of debris");
    }
}

/// Every cut point in the first flow's head and across each boundary.
#[test]
fn every_cut_near_flow_boundaries() {
    let corpus = corpus();
    for b in &corpus.boundaries {
        for keep in b.saturating_sub(16)..(b + 16).min(corpus.file.len() + 1) {
            check_truncated(keep).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Deeply nested lists must be refused, not overflow the stack.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 50_000;
    // Lengths from the inside out: each list holds the one inside it.
    let mut lengths = vec![3usize]; // "0:]"
    for _ in 0..depth {
        let inner = *lengths.last().unwrap_or(&0);
        lengths.push(inner.to_string().len() + 1 + inner + 1);
    }
    let mut text = Vec::new();
    for inner in lengths[..depth].iter().rev() {
        text.extend_from_slice(format!("{inner}:").as_bytes());
    }
    text.extend_from_slice(b"0:]");
    text.extend(std::iter::repeat_n(b']', depth));
    assert_eq!(text.len(), lengths[depth]);
    let _ = tnetstring::parse(&text);
    let _ = read(text, 4);
}

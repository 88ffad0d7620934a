//! Property tests of the recovering archive reader over a real archive
//! (fixtures/claude-code/2.0.50-reverse.har) written again by the archive
//! writer as `.har`, `.har.zst` and `.har.gz`, then truncated or corrupted.
//!
//! What must hold: no panic, iteration ends, every entry yielded from a
//! truncated file is the original entry at that place (nothing invented),
//! and a file that lost entries never reads as a clean, complete archive
//! (no silent loss: an error or a cut-off is reported). Errors say which
//! file and what is wrong.
//!
//! Bounded for `cargo test` (256 cases per property). A longer run:
//!
//!     PROPTEST_CASES=20000 cargo test -p cctap-archive --release --test fuzz_reader

use cctap_archive::{ArchiveReader, ArchiveWriter, Entry, Format, LogHead};
use proptest::prelude::*;
use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex, OnceLock};

/// A sink whose bytes the test keeps after the writer is done with it.
#[derive(Clone, Default)]
struct Kept(Arc<Mutex<Vec<u8>>>);

impl Write for Kept {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("sink lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The fixture's entries, and the archive written in each format.
struct Corpus {
    entries: Vec<Entry>,
    files: Vec<(Format, Vec<u8>)>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/claude-code/2.0.50-reverse.har"
        );
        let mut reader = ArchiveReader::open(path.as_ref()).expect("fixture opens");
        let entries: Vec<Entry> = reader.by_ref().map(|e| e.expect("fixture entry")).collect();
        assert!(entries.len() >= 2, "the fixture has several entries");
        let files = [Format::Har, Format::HarZst, Format::HarGz]
            .into_iter()
            .map(|format| (format, write(&entries, format)))
            .collect();
        Corpus { entries, files }
    })
}

fn write(entries: &[Entry], format: Format) -> Vec<u8> {
    let kept = Kept::default();
    let head = LogHead::default();
    let mut writer = ArchiveWriter::new(Box::new(kept.clone()), format, &head).expect("writer");
    for e in entries {
        writer.append(e).expect("append");
    }
    writer.finish().expect("finish");
    let bytes = kept.0.lock().expect("sink lock").clone();
    bytes
}

/// What reading some bytes gave.
struct Outcome {
    opened: bool,
    entries: Vec<Entry>,
    errors: Vec<String>,
    cut: bool,
}

impl Outcome {
    /// Read with no error and no cut-off: the reader says "this is whole".
    fn clean(&self) -> bool {
        self.opened && self.errors.is_empty() && !self.cut
    }
}

/// Reads everything, with a bound on the number of items so that a reader
/// that never ends fails the test instead of hanging it.
fn read(bytes: Vec<u8>, bound: usize) -> Outcome {
    let mut reader = match ArchiveReader::from_reader("fuzzed.har", Box::new(Cursor::new(bytes))) {
        Ok(r) => r,
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains("fuzzed.har"),
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
    let mut items = 0;
    for item in reader.by_ref() {
        items += 1;
        assert!(
            items <= bound,
            "reader yielded more than {bound} items: it does not end"
        );
        match item {
            Ok(e) => entries.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    for message in &errors {
        assert!(
            message.contains("fuzzed.har"),
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

fn check_truncated(format_index: usize, keep: usize) -> Result<(), TestCaseError> {
    let corpus = corpus();
    let (format, file) = &corpus.files[format_index];
    let keep = keep % (file.len() + 1);
    let outcome = read(file[..keep].to_vec(), corpus.entries.len() + 2);
    for (i, got) in outcome.entries.iter().enumerate() {
        prop_assert!(
            corpus.entries.get(i) == Some(got),
            "{format:?} cut at {keep}: entry {i} is not the original"
        );
    }
    if outcome.clean() {
        prop_assert_eq!(
            outcome.entries.len(),
            corpus.entries.len(),
            "{:?} cut at {} of {}: entries lost without an error or a cut-off",
            format,
            keep,
            file.len()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn truncated_archives_keep_a_prefix_and_say_so(format in 0usize..3, keep in any::<usize>()) {
        check_truncated(format, keep)?;
    }

    #[test]
    fn corrupted_archives_never_panic_or_hang(
        format in 0usize..3,
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        keep in any::<usize>(),
    ) {
        let corpus = corpus();
        let mut file = corpus.files[format].1.clone();
        for (at, byte) in edits {
            let at = at % file.len();
            file[at] = byte;
        }
        // Sometimes also cut it: corruption and truncation together.
        let keep = if keep % 2 == 0 { file.len() } else { keep % (file.len() + 1) };
        file.truncate(keep);
        read(file, NO_HANG_BOUND);
    }

    #[test]
    fn arbitrary_bytes_are_refused_or_read_without_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        prefix in prop_oneof![Just(&b""[..]), Just(&b"{\"log\":{\"entries\":["[..]),
                              Just(&b"\x28\xb5\x2f\xfd"[..]), Just(&b"\x1f\x8b"[..])],
    ) {
        let mut file = prefix.to_vec();
        file.extend_from_slice(&bytes);
        let outcome = read(file, NO_HANG_BOUND);
        prop_assert!(outcome.entries.len() <= bytes.len(), "entries out of nothing");
    }
}

/// The most items a damaged archive may yield. Not the entry count: the
/// reader consumes a bad element whole and carries on, so a corrupted
/// deflate or zstd block (garbage from there on) honestly gives one error
/// per garbage element (seen: more than 16 from a 3-entry `.har.gz`). Each
/// item consumes input, so a reader past this bound is looping.
const NO_HANG_BOUND: usize = 50_000;

/// `PROPTEST_CASES` when set (a longer run), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every cut point of the plain file near the entries' boundaries and the
/// tail, exhaustively: the places where a reader is most likely to be wrong.
#[test]
fn every_cut_in_the_tail_region_is_reported() {
    let file = &corpus().files[0].1;
    for keep in file.len().saturating_sub(64)..file.len() {
        check_truncated(0, keep).unwrap_or_else(|e| panic!("{e}"));
    }
    for keep in 0..256 {
        check_truncated(0, keep).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The untouched files read back whole and clean in every format.
#[test]
fn untouched_files_read_whole() {
    let corpus = corpus();
    for (format, file) in &corpus.files {
        let outcome = read(file.clone(), corpus.entries.len() + 1);
        assert!(outcome.clean(), "{format:?}: {:?}", outcome.errors);
        assert_eq!(outcome.entries, corpus.entries, "{format:?}");
    }
}

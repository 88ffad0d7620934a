//! Writer tests: round trips through the reader, flush-per-entry cuts, and
//! the real `zstd` CLI where it is installed.
use super::*;
use crate::reader::{ArchiveReader, Compression};
use crate::testing::{sample_entry, SharedSink};
use std::io::Cursor;

fn head() -> LogHead {
    LogHead::new("cctap-test", "0.1.0")
}

fn read_all(bytes: Vec<u8>) -> (ArchiveReader, Vec<Entry>) {
    let mut reader = ArchiveReader::from_reader("mem", Box::new(Cursor::new(bytes))).unwrap();
    let entries = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    (reader, entries)
}

#[test]
fn format_from_file_name() {
    for (name, format) in [
        ("out.har", Format::Har),
        ("-", Format::Har),
        ("dir.har.zst/out.har", Format::Har),
        ("out.har.zst", Format::HarZst),
        ("OUT.HAR.ZST", Format::HarZst),
        ("out.har.gz", Format::HarGz),
        ("out.json", Format::Har),
    ] {
        assert_eq!(Format::from_path(Path::new(name)), format, "{name}");
    }
}

#[test]
fn round_trip_through_files_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let entries: Vec<Entry> = (0..4).map(sample_entry).collect();
    for (name, compression) in [
        ("a.har", Compression::Plain),
        ("a.har.zst", Compression::Zstd),
        ("a.har.gz", Compression::Gzip),
    ] {
        let path = dir.path().join(name);
        let mut head = head();
        head.comment = Some("round trip".into());
        let mut w = ArchiveWriter::create(&path, &head).unwrap();
        for e in &entries {
            w.append(e).unwrap();
        }
        assert_eq!(w.entries(), 4);
        w.finish().unwrap();

        let mut r = ArchiveReader::open(&path).unwrap();
        assert_eq!(r.compression(), compression, "{name}");
        assert_eq!(r.head(), &head);
        let back = r.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
        assert_eq!(back, entries, "{name}");
        assert_eq!(r.cut_off(), None, "{name}");
    }
}

#[test]
fn plain_output_is_one_json_document() {
    let sink = SharedSink::default();
    let mut w = ArchiveWriter::new(Box::new(sink.clone()), Format::Har, &head()).unwrap();
    let head_len = sink.bytes().len();
    assert!(sink
        .bytes()
        .starts_with(br#"{"log":{"version":"1.2","creator":{"name":"cctap-test""#));
    assert!(sink.bytes().ends_with(br#""entries":["#));
    w.append(&sample_entry(0)).unwrap();
    assert!(sink.bytes().len() > head_len, "flushed at once");
    w.finish().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&sink.bytes()).unwrap();
    assert_eq!(doc["log"]["entries"].as_array().unwrap().len(), 1);
    assert!(doc["log"].get("browser").is_none());
}

#[test]
fn a_file_cut_after_n_flushed_entries_reads_back_n() {
    for format in [Format::Har, Format::HarZst, Format::HarGz] {
        let sink = SharedSink::default();
        let mut w = ArchiveWriter::new(Box::new(sink.clone()), format, &head()).unwrap();
        let mut snapshots = vec![sink.bytes()];
        for i in 0..5 {
            w.append(&sample_entry(i)).unwrap();
            snapshots.push(sink.bytes());
        }
        for (n, bytes) in snapshots.into_iter().enumerate() {
            let (reader, entries) = read_all(bytes);
            assert_eq!(entries.len(), n, "{format:?}");
            assert_eq!(entries.last(), n.checked_sub(1).map(sample_entry).as_ref());
            let cut = reader.cut_off().expect("reported as cut off");
            assert_eq!(cut.entries, n, "{format:?}");
        }
    }
}

#[test]
fn zstd_cli_decodes_without_flags() {
    if std::process::Command::new("zstd")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("zstd CLI not on PATH: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cli.har.zst");
    let mut w = ArchiveWriter::create(&path, &head()).unwrap();
    for i in 0..3 {
        w.append(&sample_entry(i)).unwrap();
    }
    w.finish().unwrap();
    let out = std::process::Command::new("zstd")
        .arg("-dc")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["log"]["version"], "1.2");
    assert_eq!(doc["log"]["entries"].as_array().unwrap().len(), 3);
}

#[test]
fn repeated_conversation_compresses_against_earlier_entries() {
    // Each entry repeats a 200 KB conversation: with the window carried
    // over, the second copy costs almost nothing.
    let big: String = (0..4000)
        .map(|i| format!("line {i} of the conversation;"))
        .collect();
    let mut e = sample_entry(0);
    e.har.request.post_data.as_mut().unwrap().text = Some(big.clone());
    let sink = SharedSink::default();
    let mut w = ArchiveWriter::new(Box::new(sink.clone()), Format::HarZst, &head()).unwrap();
    w.append(&e).unwrap();
    let one = sink.bytes().len();
    w.append(&e).unwrap();
    let second = sink.bytes().len() - one;
    assert!(
        second * 20 < one,
        "second entry took {second} bytes, first {one}"
    );
}

#[test]
fn write_errors_name_the_path() {
    let err = ArchiveWriter::create(Path::new("/nonexistent-dir/x.har.zst"), &head())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("/nonexistent-dir/x.har.zst"),
        "{err}"
    );

    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left on device",
            ))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let err = ArchiveWriter::named("disk.har", Box::new(Full), Format::Har, &head())
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "cannot write archive disk.har: no space left on device"
    );
}

#[test]
fn writer_and_reader_can_move_to_other_threads() {
    fn is_send<T: Send>() {}
    is_send::<ArchiveWriter>();
    is_send::<ArchiveReader>();
}

#[test]
fn zstd_frame_declares_an_8_to_128_mib_window() {
    let sink = SharedSink::default();
    let w = ArchiveWriter::new(Box::new(sink.clone()), Format::HarZst, &head()).unwrap();
    w.finish().unwrap();
    let bytes = sink.bytes();
    assert_eq!(bytes[..4], [0x28, 0xB5, 0x2F, 0xFD]);
    // RFC 8878 3.1.1.1: no single-segment flag, so a window descriptor follows.
    let descriptor = bytes[4];
    assert_eq!(
        descriptor & 0x20,
        0,
        "streamed frames are not single-segment"
    );
    let window = bytes[5];
    let log = 10 + u64::from(window >> 3);
    let size = (1u64 << log) + (1u64 << log) / 8 * u64::from(window & 7);
    assert!((8 << 20..=128 << 20).contains(&size), "window {size} bytes");
}

#[test]
fn an_entry_holding_megabytes_is_streamed_with_the_same_bytes() {
    // `analyze export` of a 200 MB body: not serialised whole into the
    // entry buffer beside the entry, but the same bytes as that would be.
    let mut big = sample_entry(1);
    let piece = "say \"hi\"\n\t\\ café € 😀 \u{1} ";
    let body = piece.repeat(5 * 1024 * 1024 / piece.len());
    big.har.response.content.text = Some(body);
    let entries = vec![sample_entry(0), big.clone(), sample_entry(2)];
    for format in [Format::Har, Format::HarZst] {
        let sink = SharedSink::default();
        let mut w = ArchiveWriter::new(Box::new(sink.clone()), format, &head()).unwrap();
        for e in &entries {
            w.append_batched(e).unwrap();
            assert!(w.stream.json.capacity() <= KEEP_JSON_BUFFER, "{format:?}");
        }
        w.finish().unwrap();
        let (_, back) = read_all(sink.bytes());
        assert!(back == entries, "{format:?}: read back equal");
        if format == Format::Har {
            let mut words = Vec::new();
            json::write_json(&mut words, &big).unwrap();
            let doc = sink.bytes();
            assert!(
                memchr::memmem::find(&doc, &words).is_some(),
                "byte for byte"
            );
        }
    }
}

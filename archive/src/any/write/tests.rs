use super::*;
use crate::any::AnyReader;
use crate::testing::{sample_entry, SharedSink};

fn head() -> LogHead {
    LogHead::new("t", "0")
}

/// Every file in `dir`, by name.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn read_back(path: &Path) -> Vec<Entry> {
    AnyReader::open(path).unwrap().map(|e| e.unwrap()).collect()
}

#[test]
fn the_kind_follows_the_name() {
    let kind = |name: &str| Kind::from_path(Path::new(name));
    assert_eq!(kind("a.har"), Kind::Har(Format::Har));
    assert_eq!(kind("dir/a.HAR.ZST"), Kind::Har(Format::HarZst));
    assert_eq!(kind("a.har.gz"), Kind::Har(Format::HarGz));
    assert_eq!(kind("-"), Kind::Har(Format::Har));
    for flows in ["s.flows", "s.FLOW", "s.mitm"] {
        assert_eq!(kind(flows), Kind::Flows, "{flows}");
    }
    assert_eq!(kind("s.flows").label(), "Flows");
    assert_eq!(kind("a.har.zst").label(), "HarZst");
}

#[test]
fn every_kind_reads_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.har", "a.har.zst", "a.har.gz", "a.flows"] {
        let path = dir.path().join(name);
        let mut w = AnyWriter::create(&path, &head()).unwrap();
        for i in 0..3 {
            w.append(&sample_entry(i)).unwrap();
        }
        assert_eq!(w.written(), 3);
        w.finish().unwrap();
        let got = read_back(&path);
        assert_eq!(got.len(), 3, "{name}");
        assert_eq!(got[2].har.request.url, sample_entry(2).har.request.url);
    }
}

#[test]
fn atomic_output_appears_only_when_finished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.har.zst");
    let mut w = AnyWriter::create_atomic(&path, &head()).unwrap();
    w.append(&sample_entry(0)).unwrap();
    assert!(!path.exists(), "the target appeared before the end");
    let temp = names(dir.path());
    assert_eq!(temp.len(), 1);
    assert!(
        temp[0].starts_with(".out.har.zst.") && temp[0].ends_with(".partial"),
        "{temp:?}"
    );
    w.append(&sample_entry(1)).unwrap();
    w.finish().unwrap();
    assert_eq!(names(dir.path()), ["out.har.zst"]);
    assert_eq!(read_back(&path).len(), 2);
}

#[test]
fn atomic_output_dropped_unfinished_leaves_the_target_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.flows");
    std::fs::write(&path, b"the old file").unwrap();
    let mut w = AnyWriter::create_atomic(&path, &head()).unwrap();
    w.append(&sample_entry(0)).unwrap();
    drop(w);
    assert_eq!(names(dir.path()), ["out.flows"]);
    assert_eq!(std::fs::read(&path).unwrap(), b"the old file");

    // Finished, it replaces the old file.
    let mut w = AnyWriter::create_atomic(&path, &head()).unwrap();
    w.append(&sample_entry(0)).unwrap();
    w.finish().unwrap();
    assert_eq!(read_back(&path).len(), 1);
    assert_eq!(names(dir.path()), ["out.flows"]);
}

#[cfg(unix)]
#[test]
fn atomic_output_through_a_symlink_replaces_the_file_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.har");
    std::fs::write(&real, b"old").unwrap();
    let link = dir.path().join("link.har");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut w = AnyWriter::create_atomic(&link, &head()).unwrap();
    w.append(&sample_entry(0)).unwrap();
    w.finish().unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(read_back(&real).len(), 1);
    assert_eq!(names(dir.path()), ["link.har", "real.har"]);
}

#[cfg(unix)]
#[test]
fn atomic_output_to_a_device_writes_in_place() {
    // Nothing can be renamed over /dev/null; it is written like a pipe.
    let mut w = AnyWriter::create_atomic(Path::new("/dev/null"), &head()).unwrap();
    w.append(&sample_entry(0)).unwrap();
    w.finish().unwrap();
    // /dev/full: the head (written and flushed on open) or the entry fails,
    // and the error names the target.
    let failed = AnyWriter::create_atomic(Path::new("/dev/full"), &head()).and_then(|mut w| {
        w.append(&sample_entry(0))?;
        w.finish()
    });
    let err = failed.expect_err("/dev/full accepted a whole archive");
    assert!(err.to_string().contains("/dev/full"), "{err}");
}

#[cfg(unix)]
#[test]
fn atomic_output_gets_the_mode_a_created_file_would() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.har");
    File::create(&plain).unwrap();
    let path = dir.path().join("atomic.har");
    AnyWriter::create_atomic(&path, &head())
        .unwrap()
        .finish()
        .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), mode(&plain));
}

#[test]
fn a_missing_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/out.har");
    for placement in [Placement::Live, Placement::Atomic] {
        let err = AnyWriter::open(&path, Kind::from_path(&path), placement, &head())
            .err()
            .unwrap();
        let msg = err.to_string();
        assert!(msg.contains("no/such/dir/out.har"), "{msg}");
        assert!(err.io_error().is_some());
    }
}

#[test]
fn flows_append_to_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.flows");
    for (first, n) in [(0, 2), (2, 1)] {
        let mut w = AnyWriter::open(&path, Kind::Flows, Placement::Append, &head()).unwrap();
        for i in first..first + n {
            w.append(&sample_entry(i)).unwrap();
        }
        w.finish().unwrap();
    }
    assert_eq!(read_back(&path).len(), 3);
}

#[test]
fn an_entry_that_cannot_be_a_flow_is_skipped_and_the_next_written() {
    let sink = SharedSink::default();
    let mut w = AnyWriter::from_sink("s", Box::new(sink.clone()), Kind::Flows, &head()).unwrap();
    let mut bad = sample_entry(0);
    bad.har.request.url = "/relative".into();
    let err = w.append(&bad).unwrap_err();
    assert!(err.is_entry_skipped(), "{err}");
    assert!(!err.is_broken_pipe());
    w.append(&sample_entry(1)).unwrap();
    assert_eq!(w.written(), 1);
    w.finish().unwrap();
    let r = AnyReader::from_reader("s", Box::new(io::Cursor::new(sink.bytes()))).unwrap();
    assert_eq!(r.count(), 1);
}

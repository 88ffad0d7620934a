//! Opening archives: expands directories, reads one entry at a time through
//! the archive crate's [`AnyReader`] (a HAR — `.har`, `.har.zst`, `.har.gz`,
//! anyone's — or a mitmproxy flow file, told apart by content), and warns
//! once per cut-off file.
//!
//! Nothing here keeps entries: each is handed to the caller and dropped, so
//! memory does not grow with the archive. [`read_entries`] reads on a
//! thread of its own, a few entries ahead of the caller: decompressing and
//! parsing overlap with what the caller does with each entry (two cores:
//! `analyze usage` over 1 GB of `.har.zst` goes from ~1.75 s to ~1.0 s).

use anyhow::{bail, Context};
use cctap_archive::{AnyReader, Entry};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One archive to read: a file, or `-` for standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub path: PathBuf,
}

impl Source {
    /// How the file is named in messages and reports.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }

    pub fn is_stdin(&self) -> bool {
        self.path == Path::new("-")
    }
}

/// What a full read found besides the entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadSummary {
    pub entries: usize,
    /// Set when the archive ended before its tail (it was cut off).
    pub cut_off: bool,
    /// Set when the file could not be read at all and was skipped.
    pub skipped: bool,
    /// Bytes of the document read, after decompression.
    pub bytes: u64,
    /// The `log` object's other fields (pages, comment, custom `_fields`),
    /// wherever the file had them; `None` for flow files.
    pub head: Option<Box<cctap_archive::LogHead>>,
}

/// Whether a file name looks like an archive (used inside directories).
pub fn is_archive_name(name: &str) -> bool {
    name.ends_with(".har")
        || name.ends_with(".har.zst")
        || name.ends_with(".har.gz")
        || name.ends_with(".zhar")
        || is_flow_name(name)
}

/// Whether a file name says mitmproxy flow file (the names `export`'s
/// [`cctap_archive::AnyWriter`] writes flows to).
pub fn is_flow_name(name: &str) -> bool {
    cctap_archive::Kind::from_path(Path::new(name)) == cctap_archive::Kind::Flows
}

/// Turns the command line's paths into archives: files as given, `-` as
/// stdin, directories as their archives sorted by name (not recursive).
pub fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<Source>> {
    let mut out = Vec::new();
    for path in paths {
        if path == Path::new("-") || !path.is_dir() {
            out.push(Source { path: path.clone() });
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| {
                format!(
                    "cannot list directory {}: check its permissions",
                    path.display()
                )
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(is_archive_name)
            })
            .collect();
        if found.is_empty() {
            bail!("{} holds no .har, .har.zst, .har.gz or mitmproxy flow (.flows, .flow, .mitm) files: pass an archive or a directory of archives", path.display());
        }
        found.sort();
        out.extend(found.into_iter().map(|path| Source { path }));
    }
    if out.iter().filter(|s| s.is_stdin()).count() > 1 {
        bail!("`-` (standard input) can be given only once");
    }
    FILES.fetch_add(out.len(), Ordering::Relaxed);
    EXPANDED.store(out.len(), Ordering::Relaxed);
    Ok(out)
}

/// How many entries the reading thread may hold ready for the caller.
const READ_AHEAD: usize = 8;

/// Bytes of entries read and not yet handled by the caller past which the
/// reading thread waits before reading another: small entries still
/// overlap the command, but two 50 MB bodies are never held at once (the
/// memory target is twice the largest body, not the read-ahead's sum).
const READ_AHEAD_BYTES: u64 = 16 << 20;

/// Entries' bytes handed to the caller and not yet done with.
#[derive(Default)]
struct InFlight {
    state: std::sync::Mutex<(u64, bool)>,
    changed: std::sync::Condvar,
}

impl InFlight {
    /// Waits until less than [`READ_AHEAD_BYTES`] are in flight (or the
    /// caller has stopped).
    fn wait_for_room(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        while state.0 >= READ_AHEAD_BYTES && !state.1 {
            match self.changed.wait(state) {
                Ok(s) => state = s,
                Err(_) => return,
            }
        }
    }

    fn add(&self, bytes: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.0 += bytes;
        }
    }

    fn done(&self, bytes: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.0 = state.0.saturating_sub(bytes);
        }
        self.changed.notify_all();
    }

    /// The caller stopped: the reading thread waits no more.
    fn stop(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.1 = true;
        }
        self.changed.notify_all();
    }
}

/// Stops the reading thread's waiting however the caller's loop ends.
struct StopOnDrop(std::sync::Arc<InFlight>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// What a run had to leave out, for the exit status: files that could not
/// be read at all (in a run over several) and entries that could not be
/// read (in any file).
static FILES: AtomicUsize = AtomicUsize::new(0);
/// How many files the last [`expand`] gave: one is read strictly.
static EXPANDED: AtomicUsize = AtomicUsize::new(0);
static SKIPPED_FILES: AtomicUsize = AtomicUsize::new(0);
static SKIPPED_ENTRIES: AtomicUsize = AtomicUsize::new(0);

/// After a run: what was skipped, said as the reason for exit status 2
/// (`1 of 40 files skipped`), or `None` when nothing was.
pub fn skipped() -> Option<String> {
    let files = SKIPPED_FILES.load(Ordering::Relaxed);
    let entries = SKIPPED_ENTRIES.load(Ordering::Relaxed);
    let mut parts = Vec::new();
    if files > 0 {
        let of = FILES.load(Ordering::Relaxed);
        parts.push(format!("{files} of {of} files skipped"));
    }
    if entries > 0 {
        let s = if entries == 1 { "y" } else { "ies" };
        parts.push(format!("{entries} unreadable entr{s} skipped"));
    }
    (!parts.is_empty()).then(|| format!("{} (see the warnings above)", parts.join(", ")))
}

/// Reads every entry of one archive, in file order, handing each to `each`
/// with its index. Warns on stderr when the archive was cut off, once per
/// kind of field that had to be read leniently, and for each entry that
/// could not be read at all (skipped; the rest is read).
///
/// A file that cannot be read at all is an error when it is the run's only
/// one; in a run over several it is named with the reason and skipped
/// (`summary.skipped`), and [`skipped`] makes the run exit 2 at the end.
pub fn read_entries(
    source: &Source,
    each: impl FnMut(usize, Entry) -> anyhow::Result<()>,
) -> anyhow::Result<ReadSummary> {
    match read_all(source, each) {
        Ok(summary) => Ok(summary),
        Err(Failure::Caller(e)) => Err(e),
        Err(Failure::Reading(e)) if EXPANDED.load(Ordering::Relaxed) <= 1 => Err(e),
        Err(Failure::Reading(e)) => {
            crate::report::warn(&format!(
                "skipped {}: {}",
                source.name(),
                crate::report::one_line(&e)
            ));
            SKIPPED_FILES.fetch_add(1, Ordering::Relaxed);
            Ok(ReadSummary {
                skipped: true,
                ..ReadSummary::default()
            })
        }
    }
}

/// Why [`read_all`] stopped: the file, or the caller's own error (a closed
/// pipe, a full disk), which ends the run.
enum Failure {
    Reading(anyhow::Error),
    Caller(anyhow::Error),
}

fn read_all(
    source: &Source,
    mut each: impl FnMut(usize, Entry) -> anyhow::Result<()>,
) -> Result<ReadSummary, Failure> {
    let reader = open(source).map_err(Failure::Reading)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(READ_AHEAD);
    let in_flight = std::sync::Arc::new(InFlight::default());
    let stop = StopOnDrop(in_flight.clone());
    let reading = std::thread::spawn(move || {
        let mut reader = reader;
        loop {
            in_flight.wait_for_room();
            let before = reader.bytes_read();
            let Some(item) = reader.next() else {
                break;
            };
            let size = reader.bytes_read().saturating_sub(before);
            in_flight.add(size);
            // The caller stopped (its error): leave the rest.
            if tx.send((item, size)).is_err() {
                break;
            }
        }
        reader
    });
    let name = source.name();
    let mut entries = 0;
    for (item, size) in rx {
        // On an error the reading thread is left behind (it stops at its
        // next entry): waiting for it could mean waiting on a pipe.
        let Some(entry) = readable(&name, entries, item) else {
            stop.0.done(size);
            entries += 1;
            continue;
        };
        each(entries, entry)
            .with_context(|| name.clone())
            .map_err(Failure::Caller)?;
        stop.0.done(size);
        entries += 1;
    }
    drop(stop);
    crate::report::repeated_warnings(&name);
    let reader = reading.join().map_err(|_| {
        Failure::Reading(anyhow::anyhow!(
            "reading {name} failed: its thread panicked"
        ))
    })?;
    let cut_off = warn_if_cut_off(source, &reader, "");
    warn_not_http(source, &reader);
    Ok(ReadSummary {
        entries,
        cut_off,
        skipped: false,
        bytes: reader.bytes_read(),
        head: reader.head().cloned().map(Box::new),
    })
}

/// The entry, with its lenient-reading warnings given (once per kind per
/// file); `None` for an entry that could not be read at all, warned about
/// and counted as skipped.
pub fn readable(
    file: &str,
    index: usize,
    item: Result<Entry, cctap_archive::AnyReadError>,
) -> Option<Entry> {
    match item {
        Ok(entry) => {
            for w in &entry.warnings {
                crate::report::warn_once(file, &w.kind(), &w.message(index));
            }
            Some(entry)
        }
        Err(e) => {
            crate::report::warn(&format!("{e}; skipped it, reading on"));
            SKIPPED_ENTRIES.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Opens the archive, also for the writer-side commands (export, redact).
pub fn open(source: &Source) -> anyhow::Result<AnyReader> {
    AnyReader::open(&source.path).with_context(|| hint(source))
}

/// After a read: warns on stderr, naming the file, its kind and the
/// entries recovered, when it was cut off; `then` ends the sentence.
pub fn warn_if_cut_off(source: &Source, reader: &AnyReader, then: &str) -> bool {
    let Some(cut) = reader.cut_off() else {
        return false;
    };
    crate::report::warn(&format!(
        "{} ({}) was cut off (at byte {}); recovered {} entries{then}",
        source.name(),
        reader.kind(),
        cut.offset,
        cut.entries
    ));
    true
}

/// Names the flows of kinds an archive entry cannot hold (TCP, UDP, DNS),
/// which were not read: never dropped without a word.
pub fn warn_not_http(source: &Source, reader: &AnyReader) {
    let kinds = reader.not_http();
    if kinds.is_empty() {
        return;
    }
    let list: Vec<String> = kinds
        .iter()
        .map(|(kind, n)| format!("{n} {kind} flow{}", if *n == 1 { "" } else { "s" }))
        .collect();
    crate::report::warn(&format!(
        "{}: {} not read: cctap reads HTTP exchanges (and their WebSocket messages) only",
        source.name(),
        list.join(", ")
    ));
}

fn hint(source: &Source) -> String {
    format!(
        "reading {} (expected a HAR 1.2 archive — .har, .har.zst, .har.gz — or a mitmproxy flow file)",
        source.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_to_their_archives_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.har.zst",
            "a.har",
            "notes.txt",
            "c.har.gz",
            "d.flows",
            "e.mitm",
        ] {
            std::fs::write(dir.path().join(name), "{}").unwrap();
        }
        let got = expand(&[dir.path().to_path_buf(), PathBuf::from("-")]).unwrap();
        let names: Vec<String> = got
            .iter()
            .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["a.har", "b.har.zst", "c.har.gz", "d.flows", "e.mitm", "-"]
        );
        assert!(got[5].is_stdin());
    }

    #[test]
    fn the_reading_thread_waits_while_a_big_entry_is_in_flight() {
        use std::sync::{mpsc, Arc};
        use std::time::Duration;
        let f = Arc::new(InFlight::default());
        f.add(READ_AHEAD_BYTES); // one big entry handed to the caller
        let (g, (tx, rx)) = (f.clone(), mpsc::channel());
        let t = std::thread::spawn(move || {
            g.wait_for_room();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "does not read on while it is in flight"
        );
        f.done(READ_AHEAD_BYTES);
        rx.recv_timeout(Duration::from_secs(30))
            .expect("reads on once the caller is done with it");
        t.join().unwrap();
        // A caller that stopped never leaves it waiting.
        f.add(2 * READ_AHEAD_BYTES);
        let g = f.clone();
        let t = std::thread::spawn(move || g.wait_for_room());
        f.stop();
        t.join().unwrap();
    }

    #[test]
    fn an_empty_directory_is_an_error_that_says_what_to_pass() {
        let dir = tempfile::tempdir().unwrap();
        let err = expand(&[dir.path().to_path_buf()]).unwrap_err().to_string();
        assert!(err.contains("holds no .har"), "{err}");
    }
}

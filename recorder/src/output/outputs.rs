//! What the writer thread writes to: the HAR archive (`-o`) and the
//! mitmproxy flow file (`-w`), either or both.
//!
//! Both get every entry, in the same order, from the one writer thread, so
//! there is no second queue. Each output fails on its own: a full disk
//! under one closes that one, loudly and once, and the other goes on. An
//! entry that cannot be a flow (`FlowWriteError::Entry`) is warned about
//! and skipped in the flow file only.
//!
//! Entries are written unflushed and flushed together ([`Outputs::flush`],
//! group commit). When an output fails, the entries it had taken since its
//! last flush are lost with it (some of their bytes may have reached the
//! file; readers recover whole entries only): each entry an output misses is
//! counted once as not archived, however many outputs miss it.

use crate::status::Stats;
use cctap_archive::{AnyWriteError, AnyWriter, Entry, Format, Kind, LogHead, Placement};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;

/// Where the run's entries go (`-o`, `-w`); at least one is set.
#[derive(Clone, Debug, PartialEq)]
pub struct Targets {
    /// The HAR archive; its format follows the name, `-` is stdout.
    pub har: Option<PathBuf>,
    /// The mitmproxy flow file; `-` is stdout.
    pub flows: Option<FlowTarget>,
}

/// `-w FILE`, or `-w +FILE` to append (as mitmdump): a flow file has no
/// head and no tail, so flows appended to an older file load with it.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowTarget {
    pub path: PathBuf,
    pub append: bool,
}

impl Targets {
    /// Whether an output is standard output.
    pub fn to_stdout(&self) -> bool {
        let dash = |p: &Path| p == Path::new("-");
        self.har.as_deref().is_some_and(dash) || self.flows.as_ref().is_some_and(|f| dash(&f.path))
    }

    /// `a.har.zst`, `s.flows (mitmproxy flows)` or both, for messages.
    pub fn describe(&self) -> String {
        let har = self.har.as_ref().map(|p| p.display().to_string());
        let flows =
            (self.flows.as_ref()).map(|f| format!("{} (mitmproxy flows)", f.path.display()));
        har.into_iter().chain(flows).collect::<Vec<_>>().join(" + ")
    }
}

/// Why an output could not be created or written, and which flag named it.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct OutputError {
    /// `-o` (the HAR) or `-w` (the flow file).
    pub flag: &'static str,
    pub source: AnyWriteError,
}

impl OutputError {
    /// The reader of `-o -`/`-w -` went away: not a failure of `record`.
    pub fn is_broken_pipe(&self) -> bool {
        self.source.is_broken_pipe()
    }

    /// What the user can do about it.
    fn remedy(&self) -> &'static str {
        match &self.source {
            _ if self.is_broken_pipe() => "its reader went away",
            e if e.io_error().is_some() => "free some space or fix the file, then restart record",
            _ => "this is a bug in record; please report it",
        }
    }
}

/// One output and how it is faring.
struct Output {
    name: String,
    /// What one entry is called there, for the summary.
    what: &'static str,
    flag: &'static str,
    /// `None` once a write failed: nothing more goes there.
    writer: Option<AnyWriter>,
    /// Entries flushed, plus those of the batch not flushed yet.
    written: usize,
    /// Of `written`, the entries not flushed yet.
    unflushed: usize,
    failed: Option<OutputError>,
}

/// What became of an entry handed to one output.
#[derive(Debug, PartialEq)]
enum Appended {
    Written,
    /// Not written there: the output had failed before, or cannot hold it.
    Missed,
    /// The output failed on it: it and the output's unflushed entries are lost.
    Failed,
}

/// How an output ended, for the summary and the exit status.
#[derive(Debug)]
pub struct Closed {
    pub name: String,
    /// "exchanges" (HAR) or "flows".
    pub what: &'static str,
    pub written: usize,
    pub error: Option<OutputError>,
}

/// The run's outputs, in the writer thread's hands.
#[derive(Default)]
pub struct Outputs {
    list: Vec<Output>,
    /// The entries written since the last flush, in order: whether each is
    /// already counted as not archived.
    batch: Vec<bool>,
}

impl Outputs {
    /// Creates the files: the flow file first (it has no head, so a HAR
    /// that cannot be created leaves at most an empty flow file behind).
    /// Both are written live: a recording cut off keeps what it wrote.
    pub fn create(targets: &Targets, head: &LogHead) -> Result<Outputs, OutputError> {
        let mut outputs = Outputs::default();
        if let Some(flows) = &targets.flows {
            let placement = match flows.append {
                true => Placement::Append,
                false => Placement::Live,
            };
            let writer = AnyWriter::open(&flows.path, Kind::Flows, placement, head);
            outputs = outputs.with("-w", &flows.path, writer)?;
        }
        if let Some(har) = &targets.har {
            let kind = Kind::Har(Format::from_path(har));
            let writer = AnyWriter::open(har, kind, har_placement(har), head);
            outputs = outputs.with("-o", har, writer)?;
        }
        Ok(outputs)
    }

    /// Adds an output, or says why it could not be opened.
    pub fn with(
        mut self,
        flag: &'static str,
        name: &Path,
        writer: Result<AnyWriter, AnyWriteError>,
    ) -> Result<Outputs, OutputError> {
        let writer = writer.map_err(|source| OutputError { flag, source })?;
        let what = match writer.kind() {
            Kind::Flows => "flows",
            Kind::Har(_) => "exchanges",
        };
        self.list.push(Output {
            name: name.display().to_string(),
            what,
            flag,
            writer: Some(writer),
            written: 0,
            unflushed: 0,
            failed: None,
        });
        Ok(self)
    }

    /// Writes the entry to every output, unflushed until [`Outputs::flush`];
    /// counts what any output loses, once per entry.
    pub fn append(&mut self, entry: &Entry, stats: &Stats) {
        self.batch.push(false);
        let this = self.batch.len() - 1;
        for output in &mut self.list {
            match output.append(entry, stats) {
                Appended::Written => {}
                Appended::Missed => lose(&mut self.batch[this..], stats),
                Appended::Failed => lose(&mut self.batch, stats),
            }
        }
    }

    /// Pushes what was written since the last flush to every output's
    /// file; an output that fails now loses the batch, counted.
    pub fn flush(&mut self, stats: &Stats) {
        for output in &mut self.list {
            if !output.flush(stats) {
                lose(&mut self.batch, stats);
            }
        }
        self.batch.clear();
    }

    /// Whether every output has failed: nothing is written any more.
    pub fn all_failed(&self) -> bool {
        self.list.iter().all(|o| o.writer.is_none())
    }

    /// Closes every output (the HAR's tail); says how each ended. Flush
    /// first: entries lost here would not be counted.
    pub fn finish(self) -> Vec<Closed> {
        self.list.into_iter().map(Output::finish).collect()
    }
}

/// Counts the entries of `batch` not counted yet as not archived.
fn lose(batch: &mut [bool], stats: &Stats) {
    for counted in batch.iter_mut().filter(|c| !**c) {
        *counted = true;
        stats.not_archived.fetch_add(1, Relaxed);
    }
}

impl Output {
    fn append(&mut self, entry: &Entry, stats: &Stats) -> Appended {
        let Some(writer) = self.writer.as_mut() else {
            return Appended::Missed;
        };
        let _span = tracing::trace_span!("append", output = %self.name).entered();
        let error = match writer.append_batched(entry) {
            Ok(()) => {
                self.written += 1;
                self.unflushed += 1;
                return Appended::Written;
            }
            Err(source) => OutputError {
                flag: self.flag,
                source,
            },
        };
        if error.source.is_entry_skipped() {
            stats.say(&format!(
                "record: warning: {error}; that exchange is missing from {} (and only there)",
                self.name
            ));
            return Appended::Missed;
        }
        self.fail(error, stats);
        Appended::Failed
    }

    /// Flushes; false if the output failed now (its batch is lost).
    fn flush(&mut self, stats: &Stats) -> bool {
        let Some(writer) = self.writer.as_mut() else {
            return true;
        };
        match writer.flush() {
            Ok(()) => {
                self.unflushed = 0;
                true
            }
            Err(source) => {
                let flag = self.flag;
                self.fail(OutputError { flag, source }, stats);
                false
            }
        }
    }

    /// Says so, loudly and once; nothing more goes to this output, and
    /// what it had not flushed is not counted as written.
    fn fail(&mut self, e: OutputError, stats: &Stats) {
        stats.say(&format!(
            "record: ERROR: {e}\nrecord: traffic keeps flowing, but nothing more is written to {} ({})",
            self.name,
            e.remedy()
        ));
        self.writer = None;
        self.written -= std::mem::take(&mut self.unflushed);
        self.failed = Some(e);
    }

    fn finish(self) -> Closed {
        let flag = self.flag;
        let error = match self.writer {
            Some(w) => w.finish().err().map(|source| OutputError { flag, source }),
            None => self.failed,
        };
        Closed {
            name: self.name,
            what: self.what,
            written: self.written,
            error,
        }
    }
}

/// The default archive name (`cctap-<UTC timestamp>.har.zst`) is
/// guessable, so it is only ever a new file (`O_EXCL`): nothing planted
/// there beforehand gets the session. A name the user gave is emptied.
fn har_placement(path: &Path) -> Placement {
    match crate::cli::is_default_output(path) {
        true => Placement::New,
        false => Placement::Live,
    }
}

//! [`AnyWriter`]: a HAR archive or a mitmproxy flow file, written entry by
//! entry, in one of three placements:
//!
//! - [`Placement::Live`]: the file itself is written as entries come, each
//!   flushed, so a cut-off run keeps what it wrote (`record`).
//! - [`Placement::New`]: the same, for a file that must not exist yet
//!   (`O_EXCL`: `record`'s default name, which can be guessed).
//! - [`Placement::Append`]: the same, appending to an existing flow file
//!   (`record -w +FILE`, as in mitmdump; a flow file has no head or tail).
//! - [`Placement::Atomic`]: a temporary file beside the target, renamed into
//!   place by [`AnyWriter::finish`] only; dropped unfinished (an error, a
//!   panic, Ctrl-C unwinding), it is removed and the target is untouched.
//!   What `analyze` writes (FORMAT.md, "Reading anyone's archive"). A
//!   symlinked target is replaced where the link points; a target that is
//!   no regular file (`/dev/stdout`, a FIFO) is written in place.
//!
//! `-` is standard output in every placement (nothing to rename there).
//! Live, new and appended files are `record`'s: created `0600`, never
//! through a symbolic link ([`crate::private_file`]).
use crate::flow::{FlowWriteError, FlowWriter};
use crate::model::{Entry, LogHead};
use crate::private_file::{open_private, Open};
use crate::writer::stream::{has_notes, inline_spilled};
use crate::writer::{ArchiveWriter, Format, WriteError};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Names of mitmproxy flow files (`mitmdump -w` has no fixed suffix;
/// these are the usual ones).
pub const FLOW_SUFFIXES: [&str; 3] = [".flows", ".flow", ".mitm"];

/// What an output holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A HAR document, plain or compressed.
    Har(Format),
    /// A mitmproxy flow file.
    Flows,
}

impl Kind {
    /// By the name: a flow suffix ([`FLOW_SUFFIXES`], any case) is a flow
    /// file, anything else a HAR whose compression follows
    /// [`Format::from_path`] (`-` is plain `.har`).
    pub fn from_path(path: &Path) -> Kind {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if FLOW_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            Kind::Flows
        } else {
            Kind::Har(Format::from_path(path))
        }
    }

    /// `Har`, `HarZst`, `HarGz` or `Flows`, for machine-readable output.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Har(Format::Har) => "Har",
            Kind::Har(Format::HarZst) => "HarZst",
            Kind::Har(Format::HarGz) => "HarGz",
            Kind::Flows => "Flows",
        }
    }
}

/// How the output file is placed (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Create (truncate) the file and write it as entries come.
    Live,
    /// Like `Live`, but only if nothing is at the path yet (`O_EXCL`).
    New,
    /// Append to the file (flow files only; a HAR is created as `Live`).
    Append,
    /// Write a temporary file beside it, rename it into place at the end.
    Atomic,
}

/// A failure of whichever writer the output needed, or of placing the file.
#[derive(Debug, thiserror::Error)]
pub enum AnyWriteError {
    #[error(transparent)]
    Har(#[from] WriteError),
    #[error(transparent)]
    Flows(#[from] FlowWriteError),
    #[error("cannot {action} {path}: {source}")]
    Place {
        action: &'static str,
        path: String,
        source: io::Error,
    },
}

impl AnyWriteError {
    /// The entry cannot be a flow (no absolute URL, …): nothing was written
    /// for it, and the writer goes on with the next one.
    pub fn is_entry_skipped(&self) -> bool {
        matches!(self, AnyWriteError::Flows(FlowWriteError::Entry { .. }))
    }

    /// The reader of `-` (or a pipe) went away.
    pub fn is_broken_pipe(&self) -> bool {
        self.io_error()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The I/O error underneath, if there is one.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            AnyWriteError::Har(WriteError::Io { source, .. })
            | AnyWriteError::Flows(FlowWriteError::Io { source, .. })
            | AnyWriteError::Place { source, .. } => Some(source),
            _ => None,
        }
    }
}

enum Inner {
    Har(ArchiveWriter),
    Flows(FlowWriter),
}

/// The temporary file of [`Placement::Atomic`] and where it goes.
struct Pending {
    /// Removes the file when dropped, unless it was persisted.
    temp: tempfile::TempPath,
    /// A second handle on the file, to sync it before the rename.
    file: File,
    target: PathBuf,
}

/// Entries to a HAR archive or a flow file; see the module doc.
pub struct AnyWriter {
    inner: Inner,
    kind: Kind,
    pending: Option<Pending>,
    written: usize,
}

impl AnyWriter {
    /// Creates `path` (`-`: stdout) live, the kind from its name.
    pub fn create(path: &Path, head: &LogHead) -> Result<AnyWriter, AnyWriteError> {
        AnyWriter::open(path, Kind::from_path(path), Placement::Live, head)
    }

    /// Like [`AnyWriter::create`], placed atomically: `path` appears (or is
    /// replaced) only when [`AnyWriter::finish`] succeeds.
    pub fn create_atomic(path: &Path, head: &LogHead) -> Result<AnyWriter, AnyWriteError> {
        AnyWriter::open(path, Kind::from_path(path), Placement::Atomic, head)
    }

    /// Opens `path` as `kind` in `placement`. A HAR's head is written (and
    /// flushed) here; `head` is unused for flow files.
    pub fn open(
        path: &Path,
        kind: Kind,
        placement: Placement,
        head: &LogHead,
    ) -> Result<AnyWriter, AnyWriteError> {
        let name = path.display().to_string();
        let place_error = |action| {
            let path = name.clone();
            move |source| AnyWriteError::Place {
                action,
                path,
                source,
            }
        };
        let (sink, pending): (Box<dyn Write + Send>, _) = if path == Path::new("-") {
            (Box::new(io::stdout()), None)
        } else {
            match placement {
                Placement::Append if kind == Kind::Flows => {
                    let file = open_private(path, Open::Append);
                    (Box::new(file.map_err(place_error("open"))?), None)
                }
                Placement::Live | Placement::Append | Placement::New => {
                    let how = match placement {
                        Placement::New => Open::New,
                        _ => Open::Truncate,
                    };
                    let file = open_private(path, how).map_err(place_error("create"))?;
                    (Box::new(file), None)
                }
                Placement::Atomic => match atomic_target(path) {
                    Some(target) => {
                        let (file, temp) = temp_beside(&target)
                            .map_err(place_error("create a temporary file for"))?;
                        let sync = file.try_clone().map_err(place_error("create"))?;
                        let pending = Pending {
                            temp,
                            file: sync,
                            target,
                        };
                        (Box::new(file), Some(pending))
                    }
                    None => {
                        let file = File::create(path).map_err(place_error("create"))?;
                        (Box::new(file), None)
                    }
                },
            }
        };
        let mut writer = AnyWriter::from_sink(&name, sink, kind, head)?;
        writer.pending = pending;
        Ok(writer)
    }

    /// Writes to any sink as `kind`; `name` is used in messages.
    pub fn from_sink(
        name: &str,
        sink: Box<dyn Write + Send>,
        kind: Kind,
        head: &LogHead,
    ) -> Result<AnyWriter, AnyWriteError> {
        let inner = match kind {
            Kind::Har(format) => Inner::Har(ArchiveWriter::named(name, sink, format, head)?),
            Kind::Flows => Inner::Flows(FlowWriter::new(name, sink)),
        };
        Ok(AnyWriter {
            inner,
            kind,
            pending: None,
            written: 0,
        })
    }

    /// Writes one entry and flushes it. An error for which
    /// [`AnyWriteError::is_entry_skipped`] holds left the output intact;
    /// after any other, nothing more should be appended.
    pub fn append(&mut self, entry: &Entry) -> Result<(), AnyWriteError> {
        self.append_batched(entry)?;
        self.flush()
    }

    /// Like [`AnyWriter::append`] without the flush: entries that finished
    /// together share one [`AnyWriter::flush`] (group commit).
    pub fn append_batched(&mut self, entry: &Entry) -> Result<(), AnyWriteError> {
        match &mut self.inner {
            Inner::Har(w) => w.append_batched(entry)?,
            // A flow holds its bodies whole: a spilled one is read back,
            // once (the copy's bodies move into the flow).
            Inner::Flows(w) if has_notes(entry) => w.append_owned(inline_spilled(entry))?,
            Inner::Flows(w) => w.append_batched(entry)?,
        }
        self.written += 1;
        Ok(())
    }

    /// [`AnyWriter::append`] of an entry the caller is done with: written
    /// as a flow, its bodies move into it rather than being copied.
    pub fn append_owned(&mut self, entry: Entry) -> Result<(), AnyWriteError> {
        match &mut self.inner {
            Inner::Flows(w) if !has_notes(&entry) => w.append_owned(entry)?,
            _ => return self.append(&entry),
        }
        self.written += 1;
        self.flush()
    }

    /// Pushes every entry appended so far to the file.
    pub fn flush(&mut self) -> Result<(), AnyWriteError> {
        match &mut self.inner {
            Inner::Har(w) => w.flush()?,
            Inner::Flows(w) => w.flush()?,
        }
        Ok(())
    }

    /// Entries written so far.
    pub fn written(&self) -> usize {
        self.written
    }

    /// What is being written.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Ends the output (a HAR's tail, the compressed stream's end); in
    /// [`Placement::Atomic`], syncs the file and renames it into place.
    pub fn finish(self) -> Result<(), AnyWriteError> {
        self.finish_with(&LogHead::default())
    }

    /// Like [`AnyWriter::finish`]; a HAR also gets the keys of `head` its
    /// head did not carry ([`ArchiveWriter::finish_with`]): a copy passes
    /// its reader's head as it stands after the last entry.
    pub fn finish_with(self, head: &LogHead) -> Result<(), AnyWriteError> {
        match self.inner {
            Inner::Har(w) => w.finish_with(head)?,
            Inner::Flows(w) => w.finish()?,
        }
        let Some(pending) = self.pending else {
            return Ok(());
        };
        let path = pending.target.display().to_string();
        let place_error = |action| {
            let path = path.clone();
            move |source| AnyWriteError::Place {
                action,
                path,
                source,
            }
        };
        pending.file.sync_all().map_err(place_error("write"))?;
        drop(pending.file);
        pending
            .temp
            .persist(&pending.target)
            .map_err(|e| e.error)
            .map_err(place_error("rename the finished output into"))
    }
}

/// Where an atomic output is renamed to: the file a symlink points at (the
/// link stays a link), or `None` when the target exists but is no regular
/// file (`/dev/stdout`, a FIFO, a device), which is written in place since
/// nothing can be renamed over it.
fn atomic_target(path: &Path) -> Option<PathBuf> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => None,
        Ok(_) => Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())),
        Err(_) => Some(path.to_owned()),
    }
}

/// A new file in `target`'s directory (so the rename stays on one file
/// system), hidden, named after it, with the mode `File::create` gives.
fn temp_beside(target: &Path) -> io::Result<(File, tempfile::TempPath)> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    Ok(builder.tempfile_in(dir)?.into_parts())
}

#[cfg(test)]
mod tests;

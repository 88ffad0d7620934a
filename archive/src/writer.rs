//! Streaming archive writer. (API fixed; bodies to be implemented.)
use crate::model::{Entry, LogHead};
use std::io::Write;
use std::path::Path;

/// The archive's on-disk format, chosen by the output file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Plain `.har` JSON.
    Har,
    /// `.har.zst`: one zstd stream, flushed after every entry.
    HarZst,
    /// `.har.gz`: gzip, flushed after every entry.
    HarGz,
}

impl Format {
    /// `.har.zst` → HarZst, `.har.gz` → HarGz, anything else (and `-`) → Har.
    pub fn from_path(path: &Path) -> Format {
        todo!("{path:?}")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write archive {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("cannot encode entry as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes head at creation, one entry per `append` (flushed), tail at `finish`.
pub struct ArchiveWriter {
    _todo: (),
}

impl ArchiveWriter {
    /// Creates (truncates) the file, or standard output for `-`; the format
    /// comes from the name. Writes and flushes the head.
    pub fn create(path: &Path, head: &LogHead) -> Result<ArchiveWriter, WriteError> {
        todo!("{path:?} {head:?}")
    }

    /// Writes to any sink in the given format.
    pub fn new(sink: Box<dyn Write + Send>, format: Format, head: &LogHead) -> Result<ArchiveWriter, WriteError> {
        let _ = (sink, format, head);
        todo!()
    }

    /// Serialises the entry, writes it and flushes (a zstd block boundary).
    pub fn append(&mut self, entry: &Entry) -> Result<(), WriteError> {
        let _ = entry;
        todo!()
    }

    /// Writes the tail and closes the stream.
    pub fn finish(self) -> Result<(), WriteError> {
        todo!()
    }
}

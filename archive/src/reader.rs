//! Streaming, recovering archive reader. (API fixed; bodies to be implemented.)
use crate::model::{Entry, LogHead};
use std::io::Read;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot open {path}: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("{path}: not a HAR archive ({why})")]
    NotHar { path: String, why: String },
    #[error("{path}: entry {index}: {why}")]
    BadEntry { path: String, index: usize, why: String },
    #[error("{path}: read error: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Where a cut-off archive ended.
#[derive(Clone, Debug, PartialEq)]
pub struct CutOff {
    /// Complete entries read before the cut.
    pub entries: usize,
    /// Offset in the decompressed document where the cut was found.
    pub offset: u64,
}

/// Yields entries one at a time; memory does not grow with the archive.
pub struct ArchiveReader {
    _todo: (),
}

impl ArchiveReader {
    /// Opens a file (or stdin for `-`), sniffing zstd/gzip/plain by content.
    pub fn open(path: &Path) -> Result<ArchiveReader, ReadError> {
        todo!("{path:?}")
    }

    /// Reads from any source; `name` is used in messages.
    pub fn from_reader(name: &str, source: Box<dyn Read + Send>) -> Result<ArchiveReader, ReadError> {
        let _ = (name, source);
        todo!()
    }

    /// The `log` object's fields other than `entries`, as far as read.
    pub fn head(&self) -> &LogHead {
        todo!()
    }

    /// After iteration ended: where the archive was cut off, if it was.
    pub fn cut_off(&self) -> Option<&CutOff> {
        todo!()
    }
}

impl Iterator for ArchiveReader {
    type Item = Result<Entry, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        todo!()
    }
}

//! Streaming archive writer (ARCHIVE.md, "Written as it happens").
//!
//! The head `{"log":{…,"entries":[` goes out at creation, each entry as it is
//! appended, the tail `]}}` at [`ArchiveWriter::finish`]. Every write is
//! flushed through the compressor (a zstd block boundary or a gzip sync
//! flush, never a new frame), so a file cut off at any moment still holds
//! every entry appended before the cut, and the reader recovers them.
use crate::model::{Entry, LogHead};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// zstd window: 64 MiB. Long enough to reach back over the previous request
/// (each Claude Code request repeats the conversation), small enough that a
/// stock `zstd -d` (128 MiB limit) decodes it without `--long`.
const ZSTD_WINDOW_LOG: u32 = 26;
const ZSTD_LEVEL: i32 = 3;

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
    /// Any name ending in `.zst` or `.gz` (any case) counts: `x.json.zst` is
    /// zstd too.
    pub fn from_path(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".zst") {
            Format::HarZst
        } else if name.ends_with(".gz") {
            Format::HarGz
        } else {
            Format::Har
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write archive {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot encode entry as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

type Sink = BufWriter<Box<dyn Write + Send>>;

/// The byte stream, through its compressor.
enum Stream {
    Plain(Sink),
    Zstd(zstd::stream::write::Encoder<'static, Sink>),
    Gzip(flate2::write::GzEncoder<Sink>),
}

impl Stream {
    fn open(sink: Box<dyn Write + Send>, format: Format) -> io::Result<Stream> {
        let sink = BufWriter::with_capacity(64 * 1024, sink);
        Ok(match format {
            Format::Har => Stream::Plain(sink),
            Format::HarZst => {
                let mut encoder = zstd::stream::write::Encoder::new(sink, ZSTD_LEVEL)?;
                encoder.long_distance_matching(true)?;
                encoder.window_log(ZSTD_WINDOW_LOG)?;
                Stream::Zstd(encoder)
            }
            Format::HarGz => Stream::Gzip(flate2::write::GzEncoder::new(
                sink,
                flate2::Compression::default(),
            )),
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Stream::Plain(w) => w,
            Stream::Zstd(w) => w,
            Stream::Gzip(w) => w,
        }
    }

    /// Writes the bytes and pushes them all the way to the sink.
    fn write_flushed(&mut self, bytes: &[u8]) -> io::Result<()> {
        let w = self.writer();
        w.write_all(bytes)?;
        w.flush()
    }

    /// Ends the compressed stream (zstd frame end, gzip trailer).
    fn close(self) -> io::Result<()> {
        let mut sink = match self {
            Stream::Plain(w) => w,
            Stream::Zstd(w) => w.finish()?,
            Stream::Gzip(w) => w.finish()?,
        };
        sink.flush()
    }
}

/// Writes head at creation, one entry per `append` (flushed), tail at `finish`.
pub struct ArchiveWriter {
    stream: Stream,
    /// Where the archive goes, for error messages.
    path: String,
    format: Format,
    entries: usize,
}

impl ArchiveWriter {
    /// Creates (truncates) the file, or standard output for `-`; the format
    /// comes from the name. Writes and flushes the head.
    pub fn create(path: &Path, head: &LogHead) -> Result<ArchiveWriter, WriteError> {
        let name = path.display().to_string();
        let sink: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(io::stdout())
        } else {
            Box::new(File::create(path).map_err(|source| WriteError::Io {
                path: name.clone(),
                source,
            })?)
        };
        ArchiveWriter::named(&name, sink, Format::from_path(path), head)
    }

    /// Writes to any sink in the given format.
    pub fn new(
        sink: Box<dyn Write + Send>,
        format: Format,
        head: &LogHead,
    ) -> Result<ArchiveWriter, WriteError> {
        ArchiveWriter::named("<stream>", sink, format, head)
    }

    /// Like [`ArchiveWriter::new`], naming the sink in error messages.
    pub fn named(
        name: &str,
        sink: Box<dyn Write + Send>,
        format: Format,
        head: &LogHead,
    ) -> Result<ArchiveWriter, WriteError> {
        let io_err = |source| WriteError::Io {
            path: name.to_owned(),
            source,
        };
        let stream = Stream::open(sink, format).map_err(io_err)?;
        let mut writer = ArchiveWriter {
            stream,
            path: name.to_owned(),
            format,
            entries: 0,
        };
        let head = head_bytes(head)?;
        writer.write(&head)?;
        Ok(writer)
    }

    /// Serialises the entry, writes it and flushes (a zstd block boundary).
    pub fn append(&mut self, entry: &Entry) -> Result<(), WriteError> {
        let separator: &[u8] = if self.entries == 0 { b"\n" } else { b",\n" };
        let mut bytes = separator.to_vec();
        serde_json::to_writer(&mut bytes, entry)?;
        self.write(&bytes)?;
        self.entries += 1;
        Ok(())
    }

    /// Writes the tail and closes the stream.
    pub fn finish(mut self) -> Result<(), WriteError> {
        self.write(b"\n]}}\n")?;
        let path = self.path;
        self.stream
            .close()
            .map_err(|source| WriteError::Io { path, source })
    }

    /// Entries appended so far.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.stream
            .write_flushed(bytes)
            .map_err(|source| WriteError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// `{"log":{"version":…,"creator":…,"entries":[`: the head object with its
/// closing brace replaced by the opening of the entries array.
fn head_bytes(head: &LogHead) -> Result<Vec<u8>, WriteError> {
    let mut bytes = b"{\"log\":".to_vec();
    serde_json::to_writer(&mut bytes, head)?;
    // A serialised struct always ends in `}`.
    bytes.pop();
    bytes.extend_from_slice(b",\"entries\":[");
    Ok(bytes)
}

#[cfg(test)]
mod tests;

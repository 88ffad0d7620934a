//! Streaming archive writer (FORMAT.md, "Written as it happens").
//!
//! The head `{"log":{…,"entries":[` goes out at creation, each entry as it is
//! appended, the tail `]}}` at [`ArchiveWriter::finish`]. A flush goes
//! through the compressor (a zstd block boundary or a gzip sync flush, never
//! a new frame), so a file cut off at any moment still holds every entry
//! flushed before the cut, and the reader recovers them.
//! [`ArchiveWriter::append`] flushes each entry; `record` uses
//! [`ArchiveWriter::append_batched`] and [`ArchiveWriter::flush`] to let the
//! entries that finished together share one flush (group commit).
//!
//! An entry is written field by field by [`entry`] (serde_json's bytes,
//! with the string escaping of `writer/escape.rs`, 16 bytes at a time) into
//! one buffer kept across entries, then handed to the compressor in one
//! write.
use crate::model::{Entry, LogHead};
use crate::private_file::{open_private, Open};
use serde_json::{Map, Value};
use std::io::{self, BufWriter, Write};
use std::path::Path;

mod entry;
mod escape;
pub mod json;
pub mod stream;

/// zstd window: 8 MiB, the least FORMAT.md allows: long enough to reach
/// back over the previous request of a 1M-token conversation (4–5 MB of
/// JSON; each Claude Code request repeats the conversation), and the
/// encoder's window buffer is most of `record`'s memory (64 MiB at 2^26).
/// Measured (`writer_probe`, bench/README.md "Contract v2"): the 100-turn
/// session compresses to 0.613% of the JSON at 8 MiB without long-distance
/// matching, 0.627% with it, 0.604% at 64 MiB with it (target ≤ 3%).
const ZSTD_WINDOW_LOG: u32 = 23;
/// Level 1 and 2 were no faster here once LDM was cheap (within noise) and
/// compress worse (session 0.63% vs 0.60%, 300 KiB bodies 0.018% vs 0.014%).
const ZSTD_LEVEL: i32 = 3;
/// Long-distance matching is off: within an 8 MiB window level 3's own
/// match finder already finds the previous request (a 4.5 MB conversation
/// sent twice: 1.267 MB compressed without LDM, 1.371 MB with, 1.263 MB for
/// one copy alone), and without LDM every workload came out smaller and
/// 1.2–2.1× faster to write (session 0.613% vs 0.627%, 1 KiB entries
/// 14.8 vs 31.7 µs each). `Tuning::ldm_bucket_size_log` can still turn it
/// on for `writer_probe`.
const ZSTD_LDM_BUCKET_SIZE_LOG: Option<u32> = None;
/// The head, the tail and (with [`Escaping::SerdeJson`]) serde_json's many
/// small pieces go through this buffer: each `write` into the zstd encoder
/// costs a `ZSTD_compressStream2` call (1 KiB entries: 38 µs/entry
/// unbuffered vs 13 buffered).
const ENCODE_BUFFER: usize = 128 * 1024;

/// The archive's on-disk format, chosen by the output file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Plain `.har` JSON.
    Har,
    /// `.har.zst`: one zstd stream, a block boundary at every flush.
    HarZst,
    /// `.har.gz`: gzip, a sync flush at every flush.
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

/// The compressor over the sink.
enum Compressor {
    Plain(Sink),
    Zstd(zstd::stream::write::Encoder<'static, Sink>),
    Gzip(flate2::write::GzEncoder<Sink>),
}

impl Write for Compressor {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Plain(w) => w.write(buf),
            Compressor::Zstd(w) => w.write(buf),
            Compressor::Gzip(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Plain(w) => w.flush(),
            Compressor::Zstd(w) => w.flush(),
            Compressor::Gzip(w) => w.flush(),
        }
    }
}

/// How the writer encodes. [`Tuning::default`] is what `record` uses and
/// what FORMAT.md asks for; the other values exist so that
/// `bench/writer_probe` can time this very code under other settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    pub zstd_level: i32,
    pub zstd_window_log: u32,
    /// `LdmBucketSizeLog`; `None` turns long-distance matching off.
    pub ldm_bucket_size_log: Option<u32>,
    /// `LdmHashRateLog`; `None` leaves zstd's choice.
    pub ldm_hash_rate_log: Option<u32>,
    pub escaping: Escaping,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            zstd_level: ZSTD_LEVEL,
            zstd_window_log: ZSTD_WINDOW_LOG,
            ldm_bucket_size_log: ZSTD_LDM_BUCKET_SIZE_LOG,
            ldm_hash_rate_log: None,
            escaping: Escaping::Words,
        }
    }
}

/// Who escapes strings. Both write the same bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escaping {
    /// [`entry::write_entry`] into one buffer kept across entries, handed
    /// to the compressor in one write.
    Words,
    /// `serde_json::to_writer` into a 128 KiB buffer in front of the
    /// compressor: the writer before `json` existed, kept as the baseline.
    SerdeJson,
}

/// An entry's buffer is kept for the next one up to this size; a rare huge
/// entry does not pin its memory for the rest of the recording, and one
/// whose strings hold more is not serialised into it at all.
const KEEP_JSON_BUFFER: usize = 4 * 1024 * 1024;

/// Roughly what an entry's strings hold: its bodies, events and messages.
fn held_bytes(entry: &Entry) -> usize {
    let text = |t: Option<&str>| t.map_or(0, str::len);
    let events = entry.sse_events.iter().flatten().map(|e| e.data.len());
    let messages = entry
        .websocket_messages
        .iter()
        .flatten()
        .map(|m| m.data.len());
    text(entry.request_text())
        + text(entry.response_text())
        + events.sum::<usize>()
        + messages.sum::<usize>()
}

/// The byte stream: each entry serialised into `json`, then through the
/// compressor; [`Stream::flush`] pushes it all the way to the sink.
struct Stream {
    /// With [`Escaping::Words`] only the head, the tail and entries with
    /// noted bodies ([`Stream::write_noted`]) go through it, each flushed,
    /// so it is empty between entries and writing an entry past it to the
    /// compressor keeps the order.
    buffered: BufWriter<Compressor>,
    json: Vec<u8>,
    escaping: Escaping,
}

impl Stream {
    fn open(sink: Box<dyn Write + Send>, format: Format, tuning: &Tuning) -> io::Result<Stream> {
        let sink = BufWriter::with_capacity(64 * 1024, sink);
        let compressor = match format {
            Format::Har => Compressor::Plain(sink),
            Format::HarZst => Compressor::Zstd(zstd_encoder(sink, tuning)?),
            Format::HarGz => Compressor::Gzip(flate2::write::GzEncoder::new(
                sink,
                flate2::Compression::default(),
            )),
        };
        Ok(Stream {
            buffered: BufWriter::with_capacity(ENCODE_BUFFER, compressor),
            json: Vec::new(),
            escaping: tuning.escaping,
        })
    }

    /// Serialises `entry` after `prefix` into the compressor; [`Stream::flush`]
    /// pushes it to the sink.
    fn write_entry(&mut self, prefix: &[u8], entry: &Entry) -> Result<(), Failed> {
        match self.escaping {
            Escaping::Words => {
                self.json.clear();
                self.json.extend_from_slice(prefix);
                entry::write_entry(&mut self.json, entry).map_err(Failed::Json)?;
                let written = self.buffered.get_mut().write_all(&self.json);
                if self.json.capacity() > KEEP_JSON_BUFFER {
                    self.json = Vec::new();
                }
                written.map_err(Failed::Io)?;
            }
            Escaping::SerdeJson => {
                self.buffered.write_all(prefix).map_err(Failed::Io)?;
                serde_json::to_writer(&mut self.buffered, entry).map_err(|e| match e.is_io() {
                    true => Failed::Io(e.into()),
                    false => Failed::Json(e),
                })?;
            }
        }
        Ok(())
    }

    /// Like [`Stream::write_entry`] for an entry that holds megabytes
    /// (`analyze export` of a 200 MB body): serialised through the 128 KiB
    /// buffer in front of the compressor, never whole in `json` beside the
    /// entry (the same bytes: see [`Escaping`]). Flushed at once so that
    /// `buffered` is empty again for [`Stream::write_entry`].
    fn write_streamed(&mut self, prefix: &[u8], entry: &Entry) -> Result<(), Failed> {
        self.buffered.write_all(prefix).map_err(Failed::Io)?;
        serde_json::to_writer(&mut self.buffered, entry).map_err(|e| match e.is_io() {
            true => Failed::Io(e.into()),
            false => Failed::Json(e),
        })?;
        self.buffered.flush().map_err(Failed::Io)
    }

    /// Ends the compressor's block (never the frame) and pushes everything
    /// written so far to the sink.
    fn flush(&mut self) -> io::Result<()> {
        self.buffered.flush()
    }

    /// Like [`Stream::write_entry`] for an entry with noted bodies
    /// ([`stream`]): written piece by piece, bodies streamed. Flushed at
    /// once, whatever the batch (such an entry holds a body of megabytes,
    /// so the flush costs little next to it), so that `buffered` is empty
    /// again for [`Stream::write_entry`].
    fn write_noted(&mut self, prefix: &[u8], entry: &Entry) -> Result<(), Failed> {
        stream::write_noted(&mut self.buffered, &mut self.json, prefix, entry)?;
        if self.json.capacity() > KEEP_JSON_BUFFER {
            self.json = Vec::new();
        }
        self.buffered.flush().map_err(Failed::Io)
    }

    /// Writes the bytes and pushes them all the way to the sink.
    fn write_flushed(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buffered.write_all(bytes)?;
        self.buffered.flush()
    }

    /// Ends the compressed stream (zstd frame end, gzip trailer).
    fn close(self) -> io::Result<()> {
        let compressor = self.buffered.into_inner().map_err(|e| e.into_error())?;
        let mut sink = match compressor {
            Compressor::Plain(w) => w,
            Compressor::Zstd(w) => w.finish()?,
            Compressor::Gzip(w) => w.finish()?,
        };
        sink.flush()
    }
}

fn zstd_encoder(
    sink: Sink,
    tuning: &Tuning,
) -> io::Result<zstd::stream::write::Encoder<'static, Sink>> {
    use zstd::stream::raw::CParameter;
    let mut encoder = zstd::stream::write::Encoder::new(sink, tuning.zstd_level)?;
    if let Some(log) = tuning.ldm_bucket_size_log {
        encoder.long_distance_matching(true)?;
        encoder.set_parameter(CParameter::LdmBucketSizeLog(log))?;
    }
    if let Some(log) = tuning.ldm_hash_rate_log {
        encoder.set_parameter(CParameter::LdmHashRateLog(log))?;
    }
    encoder.window_log(tuning.zstd_window_log)?;
    Ok(encoder)
}

/// Writes head at creation, one entry per `append` (flushed) or
/// `append_batched` (flushed by `flush`), tail at `finish`.
pub struct ArchiveWriter {
    stream: Stream,
    /// Where the archive goes, for error messages.
    path: String,
    format: Format,
    entries: usize,
    /// The `log` keys the head carried; [`ArchiveWriter::finish_with`]
    /// writes the others in the tail.
    head_keys: Box<[String]>,
}

impl ArchiveWriter {
    /// Creates (truncates) the file, or standard output for `-`; the format
    /// comes from the name. Writes and flushes the head.
    pub fn create(path: &Path, head: &LogHead) -> Result<ArchiveWriter, WriteError> {
        ArchiveWriter::create_as(path, head, Open::Truncate)
    }

    /// Like [`ArchiveWriter::create`], opening the file as `how` says
    /// (`0600`, never through a symlink: [`open_private`]).
    pub fn create_as(path: &Path, head: &LogHead, how: Open) -> Result<ArchiveWriter, WriteError> {
        let name = path.display().to_string();
        let sink: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(io::stdout())
        } else {
            let file = open_private(path, how).map_err(|source| WriteError::Io {
                path: name.clone(),
                source,
            })?;
            Box::new(file)
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
        ArchiveWriter::tuned(name, sink, format, head, &Tuning::default())
    }

    /// Like [`ArchiveWriter::named`], with other encoder settings: for
    /// benchmarks (`bench/writer_probe`); `record` uses the defaults.
    pub fn tuned(
        name: &str,
        sink: Box<dyn Write + Send>,
        format: Format,
        head: &LogHead,
        tuning: &Tuning,
    ) -> Result<ArchiveWriter, WriteError> {
        let io_err = |source| WriteError::Io {
            path: name.to_owned(),
            source,
        };
        let stream = Stream::open(sink, format, tuning).map_err(io_err)?;
        let mut writer = ArchiveWriter {
            stream,
            path: name.to_owned(),
            format,
            entries: 0,
            head_keys: log_keys(head)?.into_iter().map(|(k, _)| k).collect(),
        };
        let head = head_bytes(head)?;
        writer.write(&head)?;
        Ok(writer)
    }

    /// Serialises the entry, writes it and flushes (a zstd block boundary).
    /// The entry is serialised straight into the stream, so an error leaves
    /// part of it written: the archive is then cut off there (readers
    /// recover the entries before it), and nothing more should be appended.
    pub fn append(&mut self, entry: &Entry) -> Result<(), WriteError> {
        self.append_batched(entry)?;
        self.flush()
    }

    /// Like [`ArchiveWriter::append`] without the flush: the entry waits in
    /// the compressor until [`ArchiveWriter::flush`], so entries that
    /// finished together share one flush (group commit).
    pub fn append_batched(&mut self, entry: &Entry) -> Result<(), WriteError> {
        let separator: &[u8] = if self.entries == 0 { b"\n" } else { b",\n" };
        let written = if stream::has_notes(entry) {
            self.stream.write_noted(separator, entry)
        } else if held_bytes(entry) > KEEP_JSON_BUFFER {
            self.stream.write_streamed(separator, entry)
        } else {
            self.stream.write_entry(separator, entry)
        };
        match written {
            Ok(()) => {}
            Err(Failed::Io(source)) => return Err(self.io_error(source)),
            Err(Failed::Json(e)) => return Err(WriteError::Json(e)),
        }
        self.entries += 1;
        Ok(())
    }

    /// Pushes every entry appended so far to the sink (a zstd block
    /// boundary; the window carries over).
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.stream.flush().map_err(|source| self.io_error(source))
    }

    /// Writes the tail and closes the stream.
    pub fn finish(self) -> Result<(), WriteError> {
        self.finish_with(&LogHead::default())
    }

    /// Like [`ArchiveWriter::finish`], adding the keys of `head` the head
    /// did not carry (a copy's `pages` or `comment` found after the
    /// input's entries) to `log` after `entries`.
    pub fn finish_with(mut self, head: &LogHead) -> Result<(), WriteError> {
        let mut tail = b"\n]".to_vec();
        for (key, value) in log_keys(head)? {
            if !self.head_keys.contains(&key) {
                tail.push(b',');
                serde_json::to_writer(&mut tail, &key)?;
                tail.push(b':');
                serde_json::to_writer(&mut tail, &value)?;
            }
        }
        tail.extend_from_slice(b"}}\n");
        self.write(&tail)?;
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
            .map_err(|source| self.io_error(source))
    }

    fn io_error(&self, source: io::Error) -> WriteError {
        WriteError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// Why a write to the stream failed: the sink, or (not expected for an
/// [`Entry`]) serialisation.
pub(crate) enum Failed {
    Io(io::Error),
    Json(serde_json::Error),
}

/// The keys and values of the `log` object `head` makes (`version` and
/// `creator` always, so the tail never repeats them).
fn log_keys(head: &LogHead) -> Result<Map<String, Value>, WriteError> {
    Ok(match serde_json::to_value(head)? {
        Value::Object(map) => map,
        _ => Map::new(),
    })
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

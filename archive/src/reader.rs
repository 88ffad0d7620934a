//! Streaming, recovering archive reader (FORMAT.md, "Files" and "Written
//! as it happens").
//!
//! The format is sniffed by content (zstd and gzip magic, else plain JSON;
//! a UTF-8 BOM is skipped), never by name, so any HAR opens: ours, a
//! browser's, mitmproxy's. The document is walked by a byte scanner
//! ([`scan`]): the `log` object's other keys fill a [`LogHead`] (those
//! after `entries` too, once they are read), and the
//! `entries` array is yielded one element at a time, so memory does not grow
//! with the archive. An input that ends inside the array (a killed
//! recorder, a cut zstd frame) ends iteration cleanly, with [`CutOff`]
//! saying where.
use crate::model::{Entry, LogHead};
use crate::spill::BodyNote;
use cap::{Cuts, Off, StringCap};
use scan::{ScanError, Scanner};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

mod cap;
mod hoist;
mod lenient;
mod scan;
mod surrogates;
mod whole;

pub use cap::MAX_STRING;
pub use lenient::FieldWarning;
#[cfg(test)]
mod tests;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a HAR archive ({why})")]
    NotHar { path: String, why: String },
    #[error("{path}: entry {index}: {why} (the entry starts at byte {offset})")]
    BadEntry {
        path: String,
        index: usize,
        /// Where the element starts in the decompressed document.
        offset: u64,
        why: String,
    },
    #[error("{path}: read error: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Where a cut-off archive ended.
#[derive(Clone, Debug, PartialEq)]
pub struct CutOff {
    /// Complete entries read before the cut.
    pub entries: usize,
    /// Offset in the decompressed document where the cut was found.
    pub offset: u64,
}

/// How the file's bytes are compressed, as sniffed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Plain,
    Zstd,
    Gzip,
    /// zlib (mitmproxy's `.zhar`).
    Zlib,
}

/// Read ahead for the next entry: half as much again as the last one
/// (requests repeat a growing conversation) plus this, so that it is
/// usually whole in the buffer; one that is not is framed instead.
const SLACK: usize = 64 * 1024;
/// Read-ahead cap: past this an entry is framed across refills instead,
/// where its long strings are lifted out rather than parsed in place
/// (parsing in place holds an entry's bytes about four times over).
const MAX_READ_AHEAD: usize = 4 * 1024 * 1024;

/// Where the walk through the document stands.
#[derive(Debug, PartialEq)]
enum Stage {
    /// Inside the `entries` array.
    Entries,
    /// Past it, or stopped.
    Done,
}

/// What the walk over `log`'s keys ended on.
enum LogStep {
    Entries,
    End,
}

/// Yields entries one at a time; memory does not grow with the archive.
pub struct ArchiveReader {
    name: String,
    scan: Scanner,
    compression: Compression,
    head: Box<LogHead>,
    stage: Stage,
    /// Elements of `entries` consumed so far.
    index: usize,
    cut: Option<CutOff>,
    cut_reason: Option<String>,
    /// Strings past [`MAX_STRING`] cut while reading, not yet warned on.
    cuts: Cuts,
    /// Turns the cap off once the entries begin (they are cut as lifted).
    cap_off: Off,
    /// The longest string kept whole in an entry ([`MAX_STRING`]).
    max_string: u64,
    /// The last entry's size: how far to read ahead so that the next one
    /// is likely whole in the buffer and parsed there in one pass.
    entry_size: usize,
    /// Where the element being read starts, for error messages.
    entry_start: u64,
}

impl ArchiveReader {
    /// Opens a file (or stdin for `-`), sniffing zstd/gzip/plain by content.
    pub fn open(path: &Path) -> Result<ArchiveReader, ReadError> {
        let source = open_input(path).map_err(open_error(path))?;
        ArchiveReader::from_reader(&path.display().to_string(), source)
    }

    /// Reads from any source; `name` is used in messages.
    pub fn from_reader(
        name: &str,
        source: Box<dyn Read + Send>,
    ) -> Result<ArchiveReader, ReadError> {
        ArchiveReader::capped(name, source, MAX_STRING)
    }

    /// [`ArchiveReader::from_reader`] keeping strings of entries up to
    /// `limit` bytes (tests use a small one).
    fn capped(
        name: &str,
        source: Box<dyn Read + Send>,
        limit: u64,
    ) -> Result<ArchiveReader, ReadError> {
        let (compression, decoded) = sniff(source).map_err(|source| ReadError::Io {
            path: name.to_owned(),
            source,
        })?;
        let cuts = Cuts::default();
        let cap_off = Off::default();
        let capped = Box::new(StringCap::new(
            decoded,
            MAX_STRING,
            cuts.clone(),
            cap_off.clone(),
        ));
        let mut reader = ArchiveReader {
            name: name.to_owned(),
            scan: Scanner::new(capped),
            compression,
            head: Box::default(),
            stage: Stage::Done,
            index: 0,
            cut: None,
            cut_reason: None,
            cuts,
            cap_off,
            max_string: limit,
            entry_size: 0,
            entry_start: 0,
        };
        reader.read_head().map_err(|e| reader.not_har(e))?;
        Ok(reader)
    }

    /// Keeps a string longer than [`MAX_STRING`] whole in a temporary file
    /// rather than cutting it, when it is a body's `text` (its entry's
    /// [`BodyNote`] points at the file, and the writers copy it from
    /// there): for a copy, which must not lose a byte. Any other string
    /// that long is still cut, with the warning read-only commands get.
    pub fn spill_long_strings(&mut self) {
        self.scan.spill_long_strings();
    }

    /// The `log` object's fields other than `entries`, as far as read.
    pub fn head(&self) -> &LogHead {
        &self.head
    }

    /// Bytes of the HAR document read so far, after decompression.
    pub fn bytes_read(&self) -> u64 {
        self.scan.offset()
    }

    /// After iteration ended: where the archive was cut off, if it was.
    pub fn cut_off(&self) -> Option<&CutOff> {
        self.cut.as_ref()
    }

    /// Why the archive is cut off (end of input, or the decoder's error).
    pub fn cut_reason(&self) -> Option<&str> {
        self.cut_reason.as_deref()
    }

    /// The compression sniffed from the content.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Walks from the document's start into the `entries` array (or to the
    /// end of `log` if it has none), filling the head on the way.
    fn read_head(&mut self) -> Result<(), ScanError> {
        self.scan.skip_bom()?;
        self.scan.skip_jsonp()?;
        self.scan
            .expect(b'{', "at the start (a HAR is a JSON object)")?;
        let mut first = true;
        loop {
            if self.scan.peek()? == b'}' {
                return Err(ScanError::Syntax("it has no \"log\" object".into()));
            }
            if !first {
                self.scan.expect(b',', "between keys")?;
            }
            first = false;
            let key = self.scan.string()?;
            self.scan.expect(b':', "after a key")?;
            if key == "log" {
                break;
            }
            self.scan.value(None)?;
        }
        self.scan
            .expect(b'{', "to open \"log\" (it must be an object)")?;
        if let LogStep::Entries = self.log_keys(true)? {
            self.stage = Stage::Entries;
            // From here long strings are cut by the scanner: an entry
            // that fits the read-ahead (4 MiB) holds none, one that does
            // not is framed, and framing lifts and cuts them.
            self.cap_off
                .store(true, std::sync::atomic::Ordering::Relaxed);
            self.scan.cut_long_values(self.max_string);
        }
        Ok(())
    }

    /// Reads `log`'s keys until `entries` opens or `log` closes.
    fn log_keys(&mut self, mut first: bool) -> Result<LogStep, ScanError> {
        loop {
            if self.scan.peek()? == b'}' {
                return Ok(LogStep::End);
            }
            if !first {
                self.scan.expect(b',', "between keys of \"log\"")?;
                if self.scan.peek()? == b'}' {
                    return Ok(LogStep::End); // a trailing comma
                }
            }
            first = false;
            let key = self.scan.string()?;
            self.scan.expect(b':', "after a key")?;
            match key.as_str() {
                "entries" => {
                    self.scan
                        .expect(b'[', "to open \"entries\" (it must be an array)")?;
                    return Ok(LogStep::Entries);
                }
                "version" | "creator" | "browser" | "comment" => self.head_field(&key)?,
                "pages" => {
                    let pages = serde_json::from_slice(self.scan.value_bytes()?);
                    self.head.pages = pages.ok();
                }
                _ if key.starts_with('_') => {
                    if let Ok(value) = serde_json::from_slice(self.scan.value_bytes()?) {
                        self.head.extra.insert(key, value);
                    }
                }
                _ => self.scan.value(None)?, // keys HAR does not have
            }
        }
    }

    /// Parses one of `log`'s own fields into the head.
    fn head_field(&mut self, key: &str) -> Result<(), ScanError> {
        let bytes = self.scan.value_bytes()?;
        let bad = |e: serde_json::Error| ScanError::Syntax(format!("log.{key}: {e}"));
        match key {
            "version" => self.head.version = serde_json::from_slice(bytes).map_err(bad)?,
            "creator" => self.head.creator = serde_json::from_slice(bytes).map_err(bad)?,
            "browser" => self.head.browser = serde_json::from_slice(bytes).map_err(bad)?,
            _ => self.head.comment = serde_json::from_slice(bytes).map_err(bad)?,
        }
        Ok(())
    }

    fn not_har(&self, e: ScanError) -> ReadError {
        let why = match e {
            ScanError::End(None) if self.scan.offset() == 0 => "the file is empty".to_owned(),
            ScanError::End(None) => format!(
                "it ends at byte {} before its entries begin; the file is cut off",
                self.scan.offset()
            ),
            ScanError::End(Some(e)) => {
                format!("cannot decode its start ({e}); the file is cut off or corrupt")
            }
            ScanError::Syntax(why) => why,
        };
        ReadError::NotHar {
            path: self.name.clone(),
            why,
        }
    }

    /// The next element of `entries`, `None` at its end or a cut.
    fn next_entry(&mut self) -> Result<Option<Entry>, ScanError> {
        let index = self.index;
        self.entry_start = self.scan.offset();
        let mut b = self.scan.peek()?;
        if index > 0 && b != b']' {
            self.scan.expect(b',', "between entries")?;
            b = self.scan.peek()?;
        }
        if b == b']' {
            self.scan.expect(b']', "")?;
            self.stage = Stage::Done;
            match self.after_entries() {
                // Keys after the entries only complete the head: a flaw
                // there loses nothing, but a cut is still reported.
                Err(ScanError::Syntax(_)) | Ok(()) => return Ok(None),
                Err(end) => return Err(end),
            }
        }
        self.element(b).map(Some)
    }

    /// The element that starts with `b`, consumed whole even when it is
    /// bad. Parsed where it lies in the read buffer when it is whole there
    /// (one pass, no copy); else framed across refills, then parsed.
    fn element(&mut self, b: u8) -> Result<Entry, ScanError> {
        self.entry_start = self.scan.offset();
        let start = self.scan.offset();
        let read = self.element_bytes(b);
        let end = self.scan.offset();
        let mut cut = Vec::new();
        if let Ok(mut cuts) = self.cuts.lock() {
            cuts.retain(|c| {
                let here = c.at >= start && c.at < end;
                if here {
                    cut.push(*c);
                }
                c.at >= end
            });
        }
        let mut entry = read?;
        for c in cut {
            entry.warnings.push(cap::cut_warning(c.len, MAX_STRING));
        }
        Ok(entry)
    }

    /// [`ArchiveReader::element`] without the cut strings' warnings.
    fn element_bytes(&mut self, b: u8) -> Result<Entry, ScanError> {
        if b == b'{' {
            let want = (self.entry_size / 2 * 3 + SLACK).min(MAX_READ_AHEAD);
            if let Some((entry, bytes)) = self.scan.parse_ahead::<Entry>(want)? {
                self.entry_size = bytes.len();
                self.index += 1;
                if needs_lenient(bytes) {
                    return parse_lenient(bytes).map_err(ScanError::Syntax);
                }
                return Ok(tidy(entry));
            }
        }
        let bytes = self.scan.entry_bytes()?;
        self.entry_size = bytes.len();
        let entry = match b {
            b'{' => parse_entry(bytes),
            _ => Err("it is not a JSON object".into()),
        };
        self.index += 1;
        let hoisted = self.scan.take_hoisted();
        let mut entry = entry.map_err(ScanError::Syntax)?;
        if !hoisted.is_empty() {
            hoisted.warn(&mut entry.warnings);
            let spills = hoisted.spills;
            hoist::put_back(&mut entry, hoisted.strings).map_err(ScanError::Syntax)?;
            if !spills.is_empty() {
                // Not a body's text: cut to nothing, which `export` refuses.
                for (_, spill) in whole::claim(&mut entry, spills) {
                    let mut w = cap::cut_warning(spill.len(), self.max_string);
                    w.found = "(not a body's text: only bodies are copied whole)".into();
                    entry.warnings.push(w);
                }
            }
        }
        Ok(entry)
    }

    /// Reads the keys of `log` after `entries` into the head.
    fn after_entries(&mut self) -> Result<(), ScanError> {
        while let LogStep::Entries = self.log_keys(false)? {
            // A second `entries` array: skip it rather than mix them.
            self.scan.value(None).ok();
        }
        Ok(())
    }

    fn cut_here(&mut self, error: Option<io::Error>) {
        self.stage = Stage::Done;
        self.cut = Some(CutOff {
            entries: self.index,
            offset: self.scan.offset(),
        });
        self.cut_reason = Some(match error {
            None => "the input ends inside the archive".to_owned(),
            Some(e) => format!("the input ends with an error: {e}"),
        });
    }
}

impl Iterator for ArchiveReader {
    type Item = Result<Entry, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.stage != Stage::Entries {
            return None;
        }
        let index = self.index;
        match self.next_entry() {
            Ok(entry) => entry.map(Ok),
            Err(ScanError::End(error)) => {
                self.cut_here(error);
                None
            }
            Err(ScanError::Syntax(why)) => {
                // A bad element was consumed whole: carry on after it.
                // A break in the array itself cannot be resynchronised.
                if self.index == index {
                    self.stage = Stage::Done;
                }
                Some(Err(ReadError::BadEntry {
                    path: self.name.clone(),
                    index,
                    offset: self.entry_start,
                    why,
                }))
            }
        }
    }
}

/// Opens a file, or standard input for `-`: where every reader's `open`
/// starts ([`ArchiveReader::open`], [`crate::AnyReader::open`],
/// [`crate::FlowReader::open`]), each wrapping the error in its own type.
pub(crate) fn open_input(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(io::stdin()));
    }
    Ok(Box::new(File::open(path)?))
}

/// [`ReadError::Open`] for `path`.
pub(crate) fn open_error(path: &Path) -> impl FnOnce(io::Error) -> ReadError + '_ {
    |source| ReadError::Open {
        path: path.display().to_string(),
        source,
    }
}

/// One entry's JSON, with browser-HAR gaps filled.
///
/// Deserialised straight into [`Entry`] first: ours and most exports are
/// complete, and going through a `serde_json::Value` costs a second pass.
/// Only when that fails (a field missing or null, `12.0` for an integer)
/// is the entry patched by [`lenient`]. An `"_error"` key takes the
/// lenient path always, since mitmproxy's `response._error` would be
/// dropped silently by the strict one.
fn parse_entry(bytes: &[u8]) -> Result<Entry, String> {
    if !needs_lenient(bytes) {
        if let Ok(entry) = serde_json::from_slice::<Entry>(bytes) {
            return Ok(tidy(entry));
        }
    }
    parse_lenient(bytes)
}

/// What every entry gets, however it was read: `httpVersion` spelled one
/// way (`HTTP/2.0` for `h2`, `http/2.0`, `HTTP/2`).
fn tidy(mut entry: Entry) -> Entry {
    for version in [
        &mut entry.har.request.http_version,
        &mut entry.har.response.http_version,
    ] {
        if let Some(normal) = crate::fields::normal_http_version(version) {
            *version = normal.to_owned();
        }
    }
    entry
}

/// An `"_error"` key may sit in `response`, where only the lenient path
/// looks (mitmproxy); escaped inside a body it reads `\"_error\"`. A body's
/// `_undecoded` / `_truncated` are read there too (rare: bombs and cuts).
fn needs_lenient(bytes: &[u8]) -> bool {
    [&b"\"_error\""[..], b"\"_undecoded\"", b"\"_truncated\""]
        .iter()
        .any(|key| memchr::memmem::find(bytes, key).is_some())
}

/// The patching path: to a `Value`, every field brought to its type (each
/// change noted in [`Entry::warnings`]), then to [`Entry`].
fn parse_lenient(bytes: &[u8]) -> Result<Entry, String> {
    let (mut value, mut warnings) = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => (value, Vec::new()),
        Err(e) => surrogates::parse_replacing(bytes).ok_or(format!("invalid JSON: {e}"))?,
    };
    let map = value
        .as_object_mut()
        .ok_or_else(|| "it is not a JSON object".to_owned())?;
    warnings.extend(lenient::fill_gaps(map));
    let request_note = body_note(map, "request", "postData");
    let response_note = body_note(map, "response", "content");
    let mut entry = Entry::deserialize(value).map_err(|e| e.to_string())?;
    entry.warnings = warnings;
    entry.request_note = request_note;
    entry.response_note = response_note;
    Ok(tidy(entry))
}

/// A body object's `_undecoded` and `_truncated` (FORMAT.md, "Bodies"),
/// taken out so the entry carries them to whatever writes it next.
fn body_note(entry: &mut Map<String, Value>, side: &str, body: &str) -> Option<BodyNote> {
    let object = entry.get_mut(side)?.get_mut(body)?.as_object_mut()?;
    let note = BodyNote {
        spilled: None,
        undecoded: match object.remove("_undecoded") {
            Some(Value::String(why)) => Some(why),
            _ => None,
        },
        truncated: object.remove("_truncated") == Some(Value::Bool(true)),
    };
    (!note.is_empty()).then_some(note)
}

/// A zlib stream's two header bytes (RFC 1950): deflate, a window of at
/// most 32 KiB, and a check that makes the pair a multiple of 31. No HAR
/// starts so (`x` then a byte that passes the check is not JSON).
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0F == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

/// Looks at the first bytes and puts the matching decoder in front.
fn sniff(mut source: Box<dyn Read + Send>) -> io::Result<(Compression, Box<dyn Read + Send>)> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match source.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let prefix = magic[..got].to_vec();
    let whole: Box<dyn Read + Send> = Box::new(io::Cursor::new(prefix).chain(source));
    if magic[..got] == [0x28, 0xB5, 0x2F, 0xFD] {
        let mut decoder = zstd::stream::read::Decoder::new(whole)?;
        // Accept any window a writer chose (ours is 64 MiB).
        decoder.window_log_max(31)?;
        Ok((Compression::Zstd, Box::new(decoder)))
    } else if magic[..got.min(2)] == [0x1F, 0x8B] {
        Ok((
            Compression::Gzip,
            Box::new(flate2::read::MultiGzDecoder::new(whole)),
        ))
    } else if got >= 2 && is_zlib_header(magic[0], magic[1]) {
        // mitmproxy's `.zhar`: a HAR through zlib.
        Ok((
            Compression::Zlib,
            Box::new(flate2::read::ZlibDecoder::new(whole)),
        ))
    } else {
        Ok((Compression::Plain, whole))
    }
}

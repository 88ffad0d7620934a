//! A body as it crossed the wire, kept for the archive without memory in
//! proportion to its size (FORMAT.md, "Bodies"): chunks are copied into one
//! buffer (with each chunk's end and arrival time) up to [`SPILL_AT`], then
//! everything goes to a spill file in a private temporary directory.
//! Copying, rather than holding the chunks' `Bytes`, lets hyper reuse its
//! read buffer at once (a held chunk kept a whole read buffer alive) and
//! leaves no join to do when the entry is built. `--max-body-size` stops
//! keeping bytes past its limit (`_truncated`). Turning what was kept into the entry's
//! body (decoding bounded, text or base64) is [`archive_body`].
use bytes::Bytes;
use cctap_archive::decode::{decode_bounded, decoded_limit, decoder};
use cctap_archive::spill::{BodyNote, Spill, SpilledBody};
use cctap_archive::wire::{self, is_identity};
use cctap_archive::writer::stream::{placeholder, Which};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

/// Bodies past this many bytes leave memory for a spill file.
pub const SPILL_AT: usize = 4 << 20;
/// The most reserved ahead for a body on the word of its `Content-Length`
/// (a client may announce more than it sends).
const RESERVE_AT_MOST: usize = 1 << 20;
/// A body held in memory decodes in memory up to this size; past it (and
/// within [`decoded_limit`]) it is decoded again while being written.
const DECODE_IN_MEMORY: u64 = 4 * SPILL_AT as u64;

/// What one direction's body left behind.
#[derive(Debug, Default)]
pub struct Captured {
    /// The bytes kept, while the body is in memory.
    held: Vec<u8>,
    /// Where each chunk ends in `held`, and when it arrived.
    marks: Vec<(Instant, usize)>,
    spill: Option<Spill>,
    /// Wire bytes seen (kept or not).
    seen: u64,
    /// `--max-body-size`: keep at most this many wire bytes.
    keep: Option<u64>,
    /// Bytes were not kept: past `--max-body-size`, or the spill failed.
    pub truncated: bool,
    last_at: Option<Instant>,
    /// The announced length ([`Captured::expect`]), 0 if none.
    expected: usize,
}

impl Captured {
    /// A body that keeps at most `keep` wire bytes.
    pub fn new(keep: Option<u64>) -> Captured {
        Captured {
            keep,
            ..Captured::default()
        }
    }

    /// One chunk, as it went through.
    pub fn push(&mut self, at: Instant, chunk: &Bytes) {
        let kept = self.seen;
        self.seen += chunk.len() as u64;
        self.last_at = Some(at);
        let room = self.keep.map_or(u64::MAX, |k| k.saturating_sub(kept));
        // Copied from a slice: a `Bytes` clone would touch the count that
        // hyper's read buffer shares.
        let chunk = match usize::try_from(room) {
            Ok(room) if room < chunk.len() => {
                self.truncated = true;
                &chunk[..room]
            }
            _ => &chunk[..],
        };
        if chunk.is_empty() {
            return;
        }
        if let Some(spill) = &mut self.spill {
            if let Err(e) = spill.append(chunk) {
                spill_failed(&e);
                self.truncated = true;
                self.keep = Some(spill.len());
            }
            return;
        }
        if self.held.is_empty() {
            // Exact for a body with a (believable) length; grows by
            // doubling past that.
            let want = self.expected.min(RESERVE_AT_MOST).max(chunk.len());
            self.held.reserve_exact(want);
        }
        self.held.extend_from_slice(chunk);
        self.marks.push((at, self.held.len()));
        if self.held.len() > SPILL_AT {
            self.spill_now();
        }
    }

    /// The body's length as announced (`Content-Length`), so that its
    /// buffer is allocated once.
    pub fn expect(&mut self, len: u64) {
        self.expected = usize::try_from(len).unwrap_or(usize::MAX);
    }

    /// Moves the held chunks to a spill file (or keeps them, if none can
    /// be made: memory then, rather than losing the body).
    fn spill_now(&mut self) {
        let spilled = Spill::create().and_then(|mut spill| {
            spill.append(&self.held)?;
            Ok(spill)
        });
        match spilled {
            Ok(spill) => {
                self.spill = Some(spill);
                self.held = Vec::new();
                self.marks = Vec::new();
            }
            Err(e) => spill_failed(&e),
        }
    }

    /// The bytes held in memory (spilled ones are not).
    pub fn held_bytes(&self) -> usize {
        self.held.len() + self.marks.len() * std::mem::size_of::<(Instant, usize)>()
    }

    /// Wire bytes that went through.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    pub fn is_empty(&self) -> bool {
        self.seen == 0
    }

    /// When the last chunk went through.
    pub fn last_at(&self) -> Option<Instant> {
        self.last_at
    }

    /// The chunks and their arrival times, unless the body was spilled.
    pub fn timed_chunks(&self) -> Option<impl Iterator<Item = (Instant, &[u8])>> {
        let mut start = 0;
        self.spill.is_none().then(|| {
            self.marks.iter().map(move |&(at, end)| {
                let chunk = &self.held[start..end];
                start = end;
                (at, chunk)
            })
        })
    }
}

/// Says once per run that spilling failed.
fn spill_failed(e: &std::io::Error) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Relaxed) {
        tracing::warn!(
            "cannot write a large body to a spill file ({e}); such bodies are held in memory or cut (set TMPDIR to a place with room)"
        );
    }
}

/// A body ready for the entry: its `text` (or the placeholder the writer
/// fills), and what the note tells the writer.
pub struct ArchivedBody {
    pub text: String,
    pub base64: bool,
    pub decoded_len: u64,
    pub note: BodyNote,
}

impl ArchivedBody {
    /// The body for the wire builder, and the note if it says anything
    /// (its `_undecoded` replaces the builder's `comment`).
    pub fn split(self) -> (wire::Body, Option<BodyNote>) {
        let body = wire::Body {
            text: self.text,
            base64: self.base64,
            decoded_len: self.decoded_len,
            problem: None,
        };
        (body, Some(self.note).filter(|n| !n.is_empty()))
    }
}

/// Decodes what was kept (bounded) into what the entry holds.
pub fn archive_body(
    captured: Captured,
    encoding: Option<&str>,
    which: Which,
    redact: bool,
) -> ArchivedBody {
    let truncated = captured.truncated;
    let encoding = encoding.filter(|e| !is_identity(Some(e)));
    let mut body = match captured.spill {
        Some(spill) => from_spill(spill, encoding, which, redact, truncated),
        None => from_memory(captured.held, encoding, which, redact, truncated),
    };
    body.note.truncated = truncated;
    body
}

fn from_memory(
    wire: Vec<u8>,
    encoding: Option<&str>,
    which: Which,
    redact: bool,
    truncated: bool,
) -> ArchivedBody {
    let Some(encoding) = encoding else {
        return text_or_base64(wire, None);
    };
    if truncated {
        return text_or_base64(wire, Some(cut_reason()));
    }
    let limit = decoded_limit(wire.len() as u64);
    match decode_bounded(encoding, &wire, limit.min(DECODE_IN_MEMORY)) {
        Ok(decoded) => text_or_base64(decoded, None),
        Err(e) if e.over_limit && limit > DECODE_IN_MEMORY => {
            // Too big to decode in memory, not too big to keep decoded.
            match Spill::create().and_then(|mut s| s.append(&wire).map(|()| s)) {
                Ok(spill) => from_spill(spill, Some(encoding), which, redact, false),
                Err(err) => {
                    spill_failed(&err);
                    text_or_base64(wire, Some(format!("{e}; kept as sent")))
                }
            }
        }
        Err(e) => text_or_base64(wire, Some(format!("{e}; kept as sent"))),
    }
}

fn cut_reason() -> String {
    "cut at --max-body-size, so it cannot be decoded; kept as sent".to_owned()
}

/// Text if UTF-8, else base64; `undecoded` says why these are wire bytes.
fn text_or_base64(bytes: Vec<u8>, undecoded: Option<String>) -> ArchivedBody {
    let decoded_len = bytes.len() as u64;
    let note = BodyNote {
        undecoded,
        ..BodyNote::default()
    };
    match String::from_utf8(bytes) {
        Ok(text) => ArchivedBody {
            text,
            base64: false,
            decoded_len,
            note,
        },
        Err(e) => ArchivedBody {
            text: cctap_archive::base64::encode(e.as_bytes()),
            base64: true,
            decoded_len,
            note,
        },
    }
}

/// A spilled body: one pass to learn its decoded size and whether it is
/// UTF-8 (bounded like any decoding); the writer decodes it again as it
/// writes. Runs off the forwarding path, once per body.
fn from_spill(
    spill: Spill,
    encoding: Option<&str>,
    which: Which,
    redact: bool,
    truncated: bool,
) -> ArchivedBody {
    let wire_len = spill.len();
    let mut undecoded = None;
    let mut decode = None;
    let scanned = match encoding {
        Some(_) if truncated => {
            undecoded = Some(cut_reason());
            None
        }
        Some(encoding) => match decoder(encoding, spill.reader(), decoded_limit(wire_len)) {
            Ok(mut reader) => match scan(&mut reader) {
                Ok(found) => {
                    decode = Some(encoding.to_owned());
                    Some(found)
                }
                Err(e) => {
                    undecoded = Some(format!("{}; kept as sent", reader.error(e)));
                    None
                }
            },
            Err(e) => {
                undecoded = Some(format!("{e}; kept as sent"));
                None
            }
        },
        None => scan(&mut spill.reader()).ok(),
    };
    let (decoded_len, utf8) = scanned.unwrap_or((wire_len, false));
    let base64 = !utf8;
    ArchivedBody {
        text: placeholder(which).to_owned(),
        base64,
        decoded_len,
        note: BodyNote {
            spilled: Some(SpilledBody {
                wire: Arc::new(spill),
                decode,
                base64,
                keep: None,
                redact,
            }),
            undecoded,
            truncated,
        },
    }
}

/// Reads a stream to its end: its length and whether it is all UTF-8.
fn scan(reader: &mut dyn Read) -> std::io::Result<(u64, bool)> {
    let mut buf = vec![0u8; 256 * 1024];
    let (mut len, mut utf8) = (0u64, true);
    // Bytes of a character cut by the end of the last read.
    let mut pending = 0usize;
    loop {
        let n = reader.read(&mut buf[pending..])?;
        if n == 0 {
            return Ok((len, utf8 && pending == 0));
        }
        len += n as u64;
        let filled = pending + n;
        pending = 0;
        if utf8 {
            match std::str::from_utf8(&buf[..filled]) {
                Ok(_) => {}
                Err(e) if e.error_len().is_none() => {
                    let valid = e.valid_up_to();
                    buf.copy_within(valid..filled, 0);
                    pending = filled - valid;
                }
                Err(_) => utf8 = false,
            }
        }
    }
}

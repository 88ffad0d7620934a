//! Entries whose bodies carry a [`BodyNote`]: the entry is serialised with
//! a placeholder for each such body's `text`, and the writer puts the body
//! there as it writes: escaped or base64'd on the fly from a spill file
//! (decoding and redacting on the way), followed by `_undecoded` /
//! `_truncated`. Memory stays at a few buffers whatever the body's size.
use super::{escape, json, Failed};
use crate::decode::{decoded_limit, decoder};
use crate::model::Entry;
use crate::redact::StreamRedactor;
use crate::spill::{BodyNote, SpilledBody};
use std::io::{self, Read, Write};

/// Bytes read from a spill file at a time (a multiple of 3, for base64).
const PIECE: usize = 255 * 1024;

/// Which body a placeholder stands for.
#[derive(Clone, Copy)]
pub enum Which {
    Request,
    Response,
}

impl Which {
    pub const BOTH: [Which; 2] = [Which::Request, Which::Response];

    /// This body's stored `text` (none for a request without `postData`)
    /// and its note, borrowed together.
    pub fn body_of(self, entry: &mut Entry) -> (Option<&mut String>, &mut Option<BodyNote>) {
        match self {
            Which::Request => (
                entry
                    .har
                    .request
                    .post_data
                    .as_mut()
                    .and_then(|p| p.text.as_mut()),
                &mut entry.request_note,
            ),
            Which::Response => (
                entry.har.response.content.text.as_mut(),
                &mut entry.response_note,
            ),
        }
    }
}

/// The `text` a body written from a spill file has in the entry until the
/// writer replaces it: unique to this process (a random nonce), so no body
/// can contain it by chance or on purpose.
pub fn placeholder(which: Which) -> &'static str {
    use std::sync::OnceLock;
    static NONCE: OnceLock<[String; 2]> = OnceLock::new();
    let [request, response] = NONCE.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let nonce = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        ["request", "response"].map(|w| format!("\u{1}cctap-body:{w}:{nonce:016x}\u{1}"))
    });
    match which {
        Which::Request => request,
        Which::Response => response,
    }
}

/// Whether the entry needs this path.
pub fn has_notes(entry: &Entry) -> bool {
    [&entry.request_note, &entry.response_note]
        .into_iter()
        .any(|n| n.as_ref().is_some_and(|n| !n.is_empty()))
}

/// Serialises `entry` after `prefix` into `out`, streaming its noted bodies.
/// `json_buf` is scratch space for the entry's own JSON.
pub(crate) fn write_noted(
    out: &mut dyn Write,
    json_buf: &mut Vec<u8>,
    prefix: &[u8],
    entry: &Entry,
) -> Result<(), Failed> {
    // Bodies held in memory move to their note's place too, so that the
    // extra fields can follow their text.
    let mut entry = entry.clone();
    let mut bodies: Vec<(Which, Body)> = Vec::new();
    for which in Which::BOTH {
        let (text, note) = which.body_of(&mut entry);
        if let Some(note) = note.take().filter(|n| !n.is_empty()) {
            bodies.push((which, Body::take(note, text, which)));
        }
    }
    json_buf.clear();
    json_buf.extend_from_slice(prefix);
    json::write_json(json_buf, &entry).map_err(Failed::Json)?;
    let mut rest = &json_buf[..];
    let mut piece = Vec::with_capacity(PIECE * 2);
    for (which, body) in bodies {
        let mut quoted = Vec::new();
        escape::write_str(&mut quoted, placeholder(which));
        let Some(at) = memchr::memmem::find(rest, &quoted) else {
            continue; // The body's object is absent (no response): nothing to write.
        };
        out.write_all(&rest[..at]).map_err(Failed::Io)?;
        rest = &rest[at + quoted.len()..];
        body.write(out, &mut piece).map_err(Failed::Io)?;
    }
    out.write_all(rest).map_err(Failed::Io)
}

/// One noted body: where its text comes from, and its extra fields.
struct Body {
    text: Option<String>,
    note: BodyNote,
}

impl Body {
    /// Takes the text out of the entry (leaving the placeholder) unless it
    /// is already the placeholder of a spilled body.
    fn take(note: BodyNote, text: Option<&mut String>, which: Which) -> Body {
        let text = text.map(|t| std::mem::replace(t, placeholder(which).to_owned()));
        let text = text.filter(|_| note.spilled.is_none());
        Body { text, note }
    }

    /// `"<text>"` then `,"_undecoded":…` and `,"_truncated":true`.
    fn write(&self, out: &mut dyn Write, piece: &mut Vec<u8>) -> io::Result<()> {
        piece.clear();
        let mut cut = false;
        match (&self.note.spilled, &self.text) {
            (Some(spilled), _) => cut = stream_spilled(spilled, out, piece)?,
            (None, Some(text)) => {
                escape::write_str(piece, text);
                out.write_all(piece)?;
            }
            (None, None) => out.write_all(b"\"\"")?,
        }
        piece.clear();
        if let Some(reason) = &self.note.undecoded {
            piece.extend_from_slice(b",\"_undecoded\":");
            escape::write_str(piece, reason);
        }
        if self.note.truncated || cut {
            piece.extend_from_slice(b",\"_truncated\":true");
        }
        out.write_all(piece)
    }
}

/// Writes a spilled body as one JSON string; see the module doc. A body
/// that cannot be read to its end (the spill file failed, or decoding
/// failed after all) ends where it failed: `true`, so it is marked
/// `_truncated` rather than failing the whole archive.
fn stream_spilled(
    body: &SpilledBody,
    out: &mut dyn Write,
    piece: &mut Vec<u8>,
) -> io::Result<bool> {
    let mut encoder = Encoder::new(body.base64);
    out.write_all(b"\"")?;
    let cut = pump(body, |clean, last| {
        piece.clear();
        encoder.encode(clean, last, piece);
        out.write_all(piece)
    })?;
    out.write_all(b"\"")?;
    Ok(cut)
}

/// A spilled body's bytes as the archive holds them (decoded, cut,
/// redacted), whole in memory: for outputs that cannot stream a body (the
/// flow file).
pub fn read_spilled(body: &SpilledBody) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = pump(body, |clean, _| {
        all.extend_from_slice(clean);
        Ok(())
    });
    all
}

/// The entry with every spilled body's text in place (see [`read_spilled`]).
pub fn inline_spilled(entry: &Entry) -> Entry {
    let mut entry = entry.clone();
    let text_of = |note: &Option<BodyNote>| {
        let body = note.as_ref()?.spilled.as_ref()?;
        if !body.base64 {
            let bytes = read_spilled(body);
            // Moved, not copied, when valid (a 200 MB body is held once).
            return Some(
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            );
        }
        // Base64'd piece by piece: the bytes are never held beside it.
        let mut encoder = Encoder::new(true);
        let mut text = Vec::new();
        let _ = pump(body, |clean, last| {
            encoder.encode(clean, last, &mut text);
            Ok(())
        });
        Some(String::from_utf8(text).unwrap_or_default())
    };
    if let Some(text) = text_of(&entry.request_note) {
        if let Some(post) = entry.har.request.post_data.as_mut() {
            post.text = Some(text);
        }
    }
    if let Some(text) = text_of(&entry.response_note) {
        entry.har.response.content.text = Some(text);
    }
    entry
}

/// Reads the spilled body through its decoder, cut and redactor, handing
/// each clean piece on (`true` with the last, possibly empty, piece).
/// `Ok(true)`: the source failed part-way and the body ends there.
fn pump(
    body: &SpilledBody,
    mut each: impl FnMut(&[u8], bool) -> io::Result<()>,
) -> io::Result<bool> {
    let wire = body.wire.reader();
    let mut source: Box<dyn Read + '_> = match &body.decode {
        Some(encoding) => match decoder(encoding, wire, decoded_limit(body.wire.len())) {
            Ok(decoded) => Box::new(decoded),
            Err(_) => {
                each(&[], true)?;
                return Ok(true);
            }
        },
        None => Box::new(wire),
    };
    if let Some(keep) = body.keep {
        source = Box::new(source.take(keep));
    }
    let mut redactor = body.redact.then(StreamRedactor::default);
    let mut read = vec![0u8; PIECE];
    let mut clean = Vec::with_capacity(PIECE * 2);
    let mut cut = false;
    loop {
        let n = read_full(&mut source, &mut read).unwrap_or_else(|_| {
            cut = true;
            0
        });
        clean.clear();
        match redactor.as_mut() {
            Some(r) if n == 0 => r.finish(&mut clean),
            Some(r) => r.push(&read[..n], &mut clean),
            None => clean.extend_from_slice(&read[..n]),
        }
        each(&clean, n == 0)?;
        if n == 0 {
            return Ok(cut);
        }
    }
}

/// Fills `buf` unless the source ends first; the count read.
fn read_full(source: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// JSON-escapes text, or base64-encodes bytes carrying the 0–2 bytes that
/// do not fill a group of 3 to the next piece.
struct Encoder {
    base64: bool,
    carry: Vec<u8>,
}

impl Encoder {
    fn new(base64: bool) -> Encoder {
        Encoder {
            base64,
            carry: Vec::new(),
        }
    }

    fn encode(&mut self, bytes: &[u8], last: bool, out: &mut Vec<u8>) {
        if !self.base64 {
            escape::write_inner(out, bytes);
            return;
        }
        self.carry.extend_from_slice(bytes);
        let whole = if last {
            self.carry.len()
        } else {
            self.carry.len() / 3 * 3
        };
        out.extend_from_slice(crate::base64::encode(&self.carry[..whole]).as_bytes());
        self.carry.drain(..whole);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entry;
    use crate::spill::{BodyNote, Spill, SpilledBody};
    use crate::testing::{sample_entry, SharedSink};
    use crate::writer::{ArchiveWriter, Format};
    use crate::{ArchiveReader, LogHead};
    use std::sync::Arc;

    /// Writes the entries to a plain `.har` in memory and reads them back,
    /// also as raw JSON.
    fn round_trip(entries: &[Entry]) -> (Vec<Entry>, serde_json::Value) {
        let sink = SharedSink::default();
        let head = LogHead::new("test", "0");
        let mut w = ArchiveWriter::new(Box::new(sink.clone()), Format::Har, &head).unwrap();
        for e in entries {
            w.append(e).unwrap();
        }
        w.finish().unwrap();
        let bytes = sink.bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        let reader =
            ArchiveReader::from_reader("t", Box::new(std::io::Cursor::new(bytes))).unwrap();
        (reader.map(|e| e.unwrap()).collect(), json)
    }

    fn spilled(bytes: &[u8], note: impl FnOnce(&mut SpilledBody)) -> BodyNote {
        let mut spill = Spill::create_in(&std::env::temp_dir()).unwrap();
        for piece in bytes.chunks(100_000) {
            spill.append(piece).unwrap();
        }
        let mut body = SpilledBody {
            wire: Arc::new(spill),
            decode: None,
            base64: false,
            keep: None,
            redact: false,
        };
        note(&mut body);
        BodyNote {
            spilled: Some(body),
            ..BodyNote::default()
        }
    }

    fn entry_with(response: Option<BodyNote>, request: Option<BodyNote>) -> Entry {
        let mut e = sample_entry(0);
        e.har.response.content.text = Some(placeholder(Which::Response).to_owned());
        if request.as_ref().is_some_and(|n| n.spilled.is_some()) {
            e.har.request.post_data.as_mut().unwrap().text =
                Some(placeholder(Which::Request).to_owned());
        }
        e.response_note = response;
        e.request_note = request;
        e
    }

    #[test]
    fn a_spilled_text_body_is_escaped_and_a_binary_one_base64d() {
        let text: Vec<u8> = "line \"one\"\n\tü€ ".repeat(40_000).into_bytes();
        let binary: Vec<u8> = (0..700_001u32).map(|i| (i * 7 % 251) as u8).collect();
        let entries = [
            entry_with(Some(spilled(&text, |_| {})), None),
            entry_with(
                Some(spilled(&binary, |b| b.base64 = true)),
                Some(spilled(&text, |_| {})),
            ),
        ];
        let (read, _) = round_trip(&entries);
        assert_eq!(read[0].response_text().unwrap().as_bytes(), &text[..]);
        assert_eq!(
            crate::base64::decode(read[1].response_text().unwrap()).unwrap(),
            binary
        );
        assert_eq!(read[1].request_text().unwrap().as_bytes(), &text[..]);
    }

    #[test]
    fn a_spilled_body_is_decoded_redacted_and_cut_on_the_way() {
        let key = "sk-ant-api03-FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE-FAKEAA";
        // Text that compresses less than 100:1, so it is decoded.
        let filler: String = (0..400_000u32)
            .map(|i| format!("{} ", i.wrapping_mul(2_654_435_761)))
            .collect();
        let body = format!("{{\"a\":\"{filler}{key}\"}}");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(body.as_bytes()).unwrap();
        let wire = gz.finish().unwrap();
        let note = spilled(&wire, |b| {
            b.decode = Some("gzip".into());
            b.redact = true;
        });
        let (read, _) = round_trip(&[entry_with(Some(note), None)]);
        let text = read[0].response_text().unwrap();
        assert_eq!(
            text.len(),
            body.len() - key.len() + "redacted:sk-ant-api03:".len() + 12
        );
        assert!(!text.contains(key) && text.contains("redacted:sk-ant-api03:"));

        let cut = spilled(body.as_bytes(), |b| b.keep = Some(1000));
        let mut cut = cut;
        cut.truncated = true;
        let (read, json) = round_trip(&[entry_with(Some(cut), None)]);
        assert_eq!(read[0].response_text().unwrap(), &body[..1000]);
        assert_eq!(
            json["log"]["entries"][0]["response"]["content"]["_truncated"],
            true
        );
    }

    #[test]
    fn notes_on_bodies_in_memory_add_their_fields() {
        let mut e = sample_entry(0);
        let text = e.response_text().unwrap().to_owned();
        e.response_note = Some(BodyNote {
            undecoded: Some("it decodes to more than 10 bytes".into()),
            ..BodyNote::default()
        });
        e.request_note = Some(BodyNote {
            truncated: true,
            ..BodyNote::default()
        });
        let plain = sample_entry(0);
        let (read, json) = round_trip(&[plain.clone(), e]);
        assert_eq!(read[1].response_text(), Some(text.as_str()));
        assert_eq!(read[1].request_text(), plain.request_text());
        let content = &json["log"]["entries"][1]["response"]["content"];
        assert_eq!(content["_undecoded"], "it decodes to more than 10 bytes");
        assert_eq!(
            json["log"]["entries"][1]["request"]["postData"]["_truncated"],
            true
        );
        assert!(json["log"]["entries"][0]["response"]["content"]
            .get("_undecoded")
            .is_none());
    }
}

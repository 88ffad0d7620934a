//! Strings past the cap kept whole, for a copy (`analyze export`,
//! `analyze redact`; [`super::ArchiveReader::spill_long_strings`]).
//!
//! Read-only commands cut a string longer than [`super::MAX_STRING`] to
//! its head ([`super::cap`]); a copy must not lose its end, nor hold it.
//! So when asked, the scanner hands such a string, as it streams past,
//! to a [`LongString`]: its escapes are undone a piece at a time and the
//! text goes to a [`Spill`] file. The entry gets a marker in its place;
//! when that lands in a body's `text`, the body's [`BodyNote`] points at
//! the file and the writer copies it from there (`writer/stream.rs`).
//! Anywhere else (a header value, a comment) it stays a cut string,
//! which `export` refuses.
use super::hoist::{unescape_bytes, whole_len};
use crate::model::Entry;
use crate::spill::{BodyNote, Spill, SpilledBody};
use crate::writer::stream::{placeholder, Which};
use std::io;
use std::sync::Arc;

/// Escaped bytes gathered before a piece is decoded and written.
const PIECE: usize = 1 << 20;

/// A string being spilled: see the module doc.
pub(super) struct LongString {
    spill: Spill,
    /// Escaped bytes not yet decoded: less than a piece, or an escape or
    /// character cut by a piece's end.
    carry: Vec<u8>,
    pub lone_surrogates: usize,
    pub not_utf8: bool,
}

impl LongString {
    pub fn new() -> io::Result<LongString> {
        Ok(LongString {
            spill: Spill::create()?,
            carry: Vec::with_capacity(PIECE + 64 * 1024),
            lone_surrogates: 0,
            not_utf8: false,
        })
    }

    /// Takes the next escaped bytes of the string.
    pub fn push(&mut self, raw: &[u8]) -> io::Result<()> {
        for part in raw.chunks(PIECE) {
            self.carry.extend_from_slice(part);
            if self.carry.len() >= PIECE {
                let whole = whole_len(&self.carry);
                self.write(whole)?;
            }
        }
        Ok(())
    }

    /// The string ended: the file holding its text.
    pub fn finish(mut self) -> io::Result<(Spill, usize, bool)> {
        self.write(self.carry.len())?;
        Ok((self.spill, self.lone_surrogates, self.not_utf8))
    }

    /// Decodes `carry[..n]` into the file.
    fn write(&mut self, n: usize) -> io::Result<()> {
        let mut piece = self.carry[..n].to_vec();
        self.carry.drain(..n);
        self.lone_surrogates += unescape_bytes(&mut piece);
        match std::str::from_utf8(&piece) {
            Ok(_) => self.spill.append(&piece),
            Err(_) => {
                self.not_utf8 = true;
                self.spill
                    .append(String::from_utf8_lossy(&piece).as_bytes())
            }
        }
    }
}

/// What a spilled string's marker says once parsed (a NUL first, as the
/// hoisting placeholders).
pub(super) fn marker(n: usize) -> String {
    format!("\u{0}cctap-spilled-{n}")
}

/// Points the bodies whose `text` is the marker of one of `spills` at its
/// file; the spills that landed elsewhere are returned.
pub(super) fn claim(entry: &mut Entry, spills: Vec<(usize, Spill)>) -> Vec<(usize, Spill)> {
    let mut left = Vec::new();
    for (n, spill) in spills {
        let mark = marker(n);
        let found = Which::BOTH.into_iter().find(|which| {
            let (text, _) = which.body_of(entry);
            text.is_some_and(|t| *t == mark)
        });
        let Some(which) = found else {
            left.push((n, spill));
            continue;
        };
        let (text, note) = which.body_of(entry);
        if let Some(text) = text {
            *text = placeholder(which).to_owned();
        }
        note.get_or_insert_with(BodyNote::default).spilled = Some(SpilledBody {
            wire: Arc::new(spill),
            decode: None,
            base64: false,
            keep: None,
            redact: false,
        });
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Escapes of every kind cut at every distance from a piece's end
    /// decode as serde_json decodes the whole string.
    #[test]
    fn a_string_spilled_in_pieces_decodes_whole() {
        let unit = "a\"b\\c\n\u{1}é€😀/\u{7f}";
        let cuts: Vec<usize> = unit.char_indices().map(|(i, _)| i).skip(1).collect();
        let text: String = (0..200_000)
            .map(|i| &unit[..cuts[i % cuts.len()]])
            .collect();
        let text = format!("{text}\u{1F600}");
        let escaped = serde_json::to_string(&text).unwrap();
        // `\ud83d\ude00` as serde_json never writes it: a surrogate pair.
        let raw = format!("{}\\ud83d\\ude00", &escaped[1..escaped.len() - 1]);
        let want = format!("{text}\u{1F600}");
        assert!(raw.len() > 2 * PIECE);
        for step in [7, 4099, PIECE - 1, usize::MAX] {
            let mut long = LongString::new().unwrap();
            for part in raw.as_bytes().chunks(step.min(raw.len())) {
                long.push(part).unwrap();
            }
            let (spill, lone, not_utf8) = long.finish().unwrap();
            let mut got = String::new();
            spill.reader().read_to_string(&mut got).unwrap();
            assert_eq!((lone, not_utf8), (0, false), "step {step}");
            assert!(
                got == want,
                "step {step}: {} vs {} bytes",
                got.len(),
                want.len()
            );
        }
    }
}

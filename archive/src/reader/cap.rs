//! A cap on the length of one JSON string while reading (FORMAT.md,
//! "Bodies": no memory in proportion to a body). A string longer than
//! [`MAX_STRING`] bytes (as stored: escapes count as written) keeps its
//! first [`MAX_STRING`] bytes; the rest is dropped as it streams past,
//! before the scanner buffers it, and the cut is noted with where it ended
//! so the reader can warn on the entry that held it.
//!
//! The cap sits between the decompressor and the scanner and follows only
//! what JSON strings need: quotes, backslash escapes (`\uXXXX` whole), and
//! UTF-8 character starts, so the kept part is still a valid string.
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The longest string kept whole: 64 MiB (a Claude Code request is a few
/// MiB; a 2 GiB download's base64 is not something to hold to list it).
pub const MAX_STRING: u64 = 64 << 20;

/// One string that was cut.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cut {
    /// Offset of its closing quote in the capped stream.
    pub at: u64,
    /// Its length as stored, in bytes.
    pub len: u64,
}

/// Cuts made so far, taken by the reader entry by entry.
pub(crate) type Cuts = Arc<Mutex<Vec<Cut>>>;

/// Set by the reader once the `entries` array opens: from there the cap
/// passes bytes through untouched, and the scanner cuts long strings
/// itself as it lifts them out of entries ([`super::hoist`]), so the
/// common path does not pay a third pass over every byte (a quarter of
/// `analyze usage`'s reading, most of it per-escape bookkeeping).
pub(crate) type Off = Arc<AtomicBool>;

/// How [`cut_warning`]'s problem begins ([`super::FieldWarning::is_cut_string`]).
pub(crate) const CUT_PROBLEM: &str = "a string of ";

/// The warning for a string of `len` bytes (as stored) that was cut to
/// its first `limit`.
pub(crate) fn cut_warning(len: u64, limit: u64) -> super::FieldWarning {
    super::FieldWarning {
        path: String::new(),
        problem: format!(
            "{CUT_PROBLEM}{:.1} MiB was cut to its first {} MiB while reading \
             (no string is held whole past that)",
            len as f64 / f64::from(1 << 20),
            limit >> 20
        ),
        found: String::new(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Outside,
    /// In a string of `len` bytes so far; `escape` bytes of an escape
    /// sequence are still to come.
    Inside {
        len: u64,
        escape: u8,
    },
    /// Past the cap: dropping bytes up to the closing quote.
    Dropping {
        len: u64,
        escape: u8,
    },
}

/// See the module doc.
pub(crate) struct StringCap<R> {
    inner: R,
    limit: u64,
    state: State,
    /// Bytes handed out so far.
    out: u64,
    cuts: Cuts,
    off: Off,
}

impl<R: Read> StringCap<R> {
    pub(crate) fn new(inner: R, limit: u64, cuts: Cuts, off: Off) -> StringCap<R> {
        StringCap {
            inner,
            limit,
            state: State::Outside,
            out: 0,
            cuts,
            off,
        }
    }

    /// Filters `buf[..n]` in place; the bytes kept.
    fn filter(&mut self, buf: &mut [u8], n: usize) -> usize {
        let mut w = 0;
        let mut i = 0;
        while i < n {
            match self.state {
                State::Outside => match memchr::memchr(b'"', &buf[i..n]) {
                    Some(q) => {
                        shift(buf, i..i + q + 1, w);
                        (i, w) = (i + q + 1, w + q + 1);
                        self.state = State::Inside { len: 0, escape: 0 };
                    }
                    None => {
                        shift(buf, i..n, w);
                        (i, w) = (n, w + n - i);
                    }
                },
                State::Inside { len, escape } if escape > 0 => {
                    let b = buf[i];
                    let left = match (escape, b) {
                        // `\` then `u`: four hex digits follow.
                        (5, b'u') => 4,
                        (5, _) => 0,
                        (e, _) => e - 1,
                    };
                    self.state = State::Inside {
                        len: len + 1,
                        escape: left,
                    };
                    buf[w] = b;
                    (i, w) = (i + 1, w + 1);
                }
                State::Inside { len, .. }
                    if len >= self.limit && buf[i] != b'"' && !is_continuation(buf[i]) =>
                {
                    self.state = State::Dropping { len, escape: 0 };
                }
                State::Inside { len, .. } => {
                    // Plain bytes up to the next quote or backslash, or to
                    // the cap (then byte by byte to a character's start).
                    let room =
                        usize::try_from(self.limit.saturating_sub(len)).unwrap_or(usize::MAX);
                    let end = n.min(i.saturating_add(room.max(1)));
                    let found = memchr::memchr2(b'"', b'\\', &buf[i..end]);
                    let run = found.unwrap_or(end - i);
                    shift(buf, i..i + run, w);
                    (i, w) = (i + run, w + run);
                    let len = len + run as u64;
                    self.state = State::Inside { len, escape: 0 };
                    if found.is_some() {
                        let b = buf[i];
                        buf[w] = b;
                        (i, w) = (i + 1, w + 1);
                        self.state = match b {
                            b'"' => State::Outside,
                            _ => State::Inside {
                                len: len + 1,
                                escape: 5,
                            },
                        };
                    }
                }
                State::Dropping { len, escape: 1 } => {
                    // The byte after a backslash: never the string's end.
                    i += 1;
                    self.state = State::Dropping {
                        len: len + 1,
                        escape: 0,
                    };
                }
                State::Dropping { len, .. } => match memchr::memchr2(b'"', b'\\', &buf[i..n]) {
                    None => {
                        self.state = State::Dropping {
                            len: len + (n - i) as u64,
                            escape: 0,
                        };
                        i = n;
                    }
                    Some(j) => {
                        let len = len + j as u64 + 1;
                        i += j + 1;
                        self.state = if buf[i - 1] == b'"' {
                            self.note(len - 1, w);
                            buf[w] = b'"';
                            w += 1;
                            State::Outside
                        } else {
                            State::Dropping { len, escape: 1 }
                        };
                    }
                },
            }
        }
        w
    }

    /// Notes a cut string of `len` bytes whose closing quote is at `w` of
    /// this read's output.
    fn note(&self, len: u64, w: usize) {
        if let Ok(mut cuts) = self.cuts.lock() {
            cuts.push(Cut {
                at: self.out + w as u64,
                len,
            });
        }
    }
}

/// Moves kept bytes down to `to`; nothing to do until something was
/// dropped (the common case: no string reaches the cap), and a memmove
/// of every byte onto itself cost a third of reading.
fn shift(buf: &mut [u8], from: std::ops::Range<usize>, to: usize) {
    if from.start != to {
        buf.copy_within(from, to);
    }
}

/// A UTF-8 continuation byte: not where a character starts.
fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

impl<R: Read> Read for StringCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.off.load(Ordering::Relaxed) {
            return self.inner.read(buf);
        }
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            let kept = self.filter(buf, n);
            self.out += kept as u64;
            // A read that was all dropped is not the end: read on.
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` through the cap in reads of `step` bytes.
    fn capped(text: &[u8], limit: u64, step: usize) -> (Vec<u8>, Vec<Cut>) {
        struct Steps<'a>(&'a [u8], usize);
        impl Read for Steps<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let cuts = Cuts::default();
        let mut r = StringCap::new(Steps(text, step), limit, cuts.clone(), Off::default());
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        let cuts = cuts.lock().unwrap().clone();
        (out, cuts)
    }

    #[test]
    fn short_strings_pass_unchanged() {
        let text = br#"{"a":"x\"y\\","b":["\u00e9t\u00e9", 1, "z"]}"#;
        for step in [1, 3, 1000] {
            assert_eq!(capped(text, 64, step), (text.to_vec(), vec![]));
        }
    }

    #[test]
    fn a_long_string_keeps_its_head_and_stays_valid_json() {
        let long = format!(
            "{}\\u00e9{}é{}",
            "a".repeat(9),
            "\\\"".repeat(3),
            "b".repeat(50)
        );
        let text = format!(r#"{{"k":"{long}","next":"ok"}}"#);
        let whole: String = serde_json::from_str(&format!("\"{long}\"")).unwrap();
        for step in [1, 2, 5, 7, 4096] {
            for limit in 8..20 {
                let (out, cuts) = capped(text.as_bytes(), limit, step);
                let v: serde_json::Value = serde_json::from_slice(&out)
                    .unwrap_or_else(|e| panic!("limit {limit} step {step}: {e}: {out:?}"));
                assert_eq!(v["next"], "ok");
                let kept = v["k"].as_str().unwrap();
                assert!(kept.len() >= 8 && whole.starts_with(kept), "{kept}");
                assert_eq!(cuts.len(), 1);
                assert_eq!(cuts[0].len, long.len() as u64);
                assert_eq!(out[cuts[0].at as usize], b'"');
            }
        }
    }
}

//! The text a reader recovers from what is stored, with a map back to the
//! stored bytes each piece came from.
//!
//! A view is built from one or more stored strings (sources): runs copied
//! as they are map byte for byte; a decoded escape (`%2D`, `\u002d`, `\/`)
//! maps to its whole escape. A secret found in the view is thereby replaced
//! in exactly the stored bytes that spell it, in every source that carries
//! a piece of it.
use std::ops::Range;

/// One piece of a view.
#[derive(Clone, Copy, Debug)]
struct Seg {
    /// Where the piece starts in the view, and its length there.
    at: usize,
    len: usize,
    /// The stored source and range it came from (`usize::MAX`: a gap the
    /// view inserted, from nowhere).
    src: usize,
    from: usize,
    to: usize,
    /// Byte-for-byte copy (else a decoded escape, mapped whole).
    exact: bool,
}

/// Recovered text and where each of its bytes was stored.
#[derive(Debug, Default)]
pub(crate) struct View {
    pub text: String,
    segs: Vec<Seg>,
}

/// A source index for pieces that come from nowhere.
const GAP: usize = usize::MAX;

impl View {
    /// Appends `stored[range]` as it is.
    pub fn copy(&mut self, src: usize, stored: &str, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        if let Some(last) = self.segs.last_mut() {
            if last.exact && last.src == src && last.to == range.start {
                last.len += range.len();
                last.to = range.end;
                self.text.push_str(&stored[range]);
                return;
            }
        }
        self.push(src, range.clone(), range.len(), true);
        self.text.push_str(&stored[range]);
    }

    /// Appends `decoded`, which is what the stored bytes `range` spell.
    pub fn decoded(&mut self, src: usize, decoded: char, range: Range<usize>) {
        self.push(src, range, decoded.len_utf8(), false);
        self.text.push(decoded);
    }

    /// Appends a separator that no stored byte spells (between SSE blocks).
    pub fn gap(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.push(GAP, 0..0, 1, false);
            self.text.push('\n');
        }
    }

    fn push(&mut self, src: usize, range: Range<usize>, len: usize, exact: bool) {
        self.segs.push(Seg {
            at: self.text.len(),
            len,
            src,
            from: range.start,
            to: range.end,
            exact,
        });
    }

    /// The stored ranges that spell `range` of the view, per source,
    /// adjacent ranges joined.
    pub fn origins(&self, range: Range<usize>) -> Vec<(usize, Range<usize>)> {
        let first = self.segs.partition_point(|s| s.at + s.len <= range.start);
        let mut out: Vec<(usize, Range<usize>)> = Vec::new();
        for s in self.segs[first..].iter().take_while(|s| s.at < range.end) {
            if s.src == GAP {
                continue;
            }
            let stored = if s.exact {
                let a = range.start.max(s.at) - s.at;
                let b = range.end.min(s.at + s.len) - s.at;
                s.from + a..s.from + b
            } else {
                s.from..s.to
            };
            match out.last_mut() {
                Some((src, r)) if *src == s.src && r.end == stored.start => r.end = stored.end,
                _ => out.push((s.src, stored)),
            }
        }
        out
    }
}

/// Whether `text` has a `%XX` escape.
pub(crate) fn has_percent(text: &str) -> bool {
    memchr::memchr_iter(b'%', text.as_bytes()).any(|i| hex_at(text.as_bytes(), i + 1).is_some())
}

/// Whether `text` has a JSON escape that can spell a credential's byte
/// (`\uXXXX`, `\/`); `\n`, `\"` and the like cannot.
pub(crate) fn has_json_escape(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr_iter(b'\\', b).any(|i| matches!(b.get(i + 1), Some(b'u' | b'/')))
}

/// Appends `stored[range]` with `%XX` escapes of ASCII text decoded (and
/// `+` as a space if `plus`, as in forms).
pub(crate) fn percent_decoded(
    view: &mut View,
    src: usize,
    stored: &str,
    range: Range<usize>,
    plus: bool,
) {
    let b = stored.as_bytes();
    let (mut run, mut i) = (range.start, range.start);
    while i < range.end {
        let decoded = if plus && b[i] == b'+' {
            Some((b' ', 1))
        } else if b[i] == b'%' && i + 3 <= range.end {
            hex_at(b, i + 1)
                .filter(|c| c.is_ascii_graphic() || c.is_ascii_whitespace())
                .map(|c| (c, 3))
        } else {
            None
        };
        match decoded {
            Some((c, n)) => {
                view.copy(src, stored, run..i);
                view.decoded(src, char::from(c), i..i + n);
                i += n;
                run = i;
            }
            None => i += 1,
        }
    }
    view.copy(src, stored, run..range.end);
}

/// Appends `stored[range]` with the JSON escapes that can spell a
/// credential decoded (`\uXXXX` of printable ASCII, `\/`); the others
/// (`\n`, `\"`, `\\`) are kept, so a PEM block keeps its `\n`s.
pub(crate) fn json_decoded(view: &mut View, src: usize, stored: &str, range: Range<usize>) {
    let b = stored.as_bytes();
    let (mut run, mut i) = (range.start, range.start);
    while i < range.end {
        if b[i] != b'\\' || i + 1 >= range.end {
            i += 1;
            continue;
        }
        let escape = match b[i + 1] {
            b'/' => Some(('/', 2)),
            b'u' if i + 6 <= range.end => match (hex_at(b, i + 2), hex_at(b, i + 4)) {
                (Some(0), Some(c)) if c.is_ascii_graphic() => Some((char::from(c), 6)),
                _ => None,
            },
            _ => None,
        };
        match escape {
            Some((c, n)) => {
                view.copy(src, stored, run..i);
                view.decoded(src, c, i..i + n);
                i += n;
                run = i;
            }
            // `\\`, `\n`, …: both bytes stay, so `\\u002d` is not a dash.
            None => i += 2,
        }
    }
    view.copy(src, stored, run..range.end.min(b.len()));
}

/// The byte two hex digits at `at` spell.
fn hex_at(b: &[u8], at: usize) -> Option<u8> {
    let digit = |c: u8| (c as char).to_digit(16);
    let hi = digit(*b.get(at)?)?;
    let lo = digit(*b.get(at + 1)?)?;
    Some((hi * 16 + lo) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_and_map_back_whole() {
        let stored = r#"a\u002db\/c%2Fd\\u002de"#;
        let mut v = View::default();
        json_decoded(&mut v, 0, stored, 0..stored.len());
        assert_eq!(v.text, r#"a-b/c%2Fd\\u002de"#);
        let dash = v.text.find('-').unwrap();
        assert_eq!(v.origins(dash..dash + 1), [(0, 1..7)]);
        assert_eq!(v.origins(0..3), [(0, 0..8)]);
        let mut p = View::default();
        percent_decoded(&mut p, 3, stored, 0..stored.len(), false);
        assert!(p.text.contains("c/d"), "{}", p.text);
        let slash = p.text.find("c/d").unwrap() + 1;
        let at = stored.find("%2F").unwrap();
        assert_eq!(p.origins(slash..slash + 2), [(3, at..at + 4)]);
    }

    #[test]
    fn pieces_of_several_sources_map_to_each() {
        let (a, b) = ("xxsk-a", "nt-yy");
        let mut v = View::default();
        v.copy(0, a, 2..a.len());
        v.copy(1, b, 0..3);
        v.gap();
        v.copy(1, b, 3..5);
        assert_eq!(v.text, "sk-ant-\nyy");
        assert_eq!(v.origins(0..7), [(0, 2..6), (1, 0..3)]);
        assert_eq!(v.origins(6..10), [(1, 2..5)]);
        assert!(!has_percent("100% sure") && has_percent("a%2d"));
        assert!(!has_json_escape(r#"a\nb\"c"#) && has_json_escape(r#"a\/b"#));
    }
}

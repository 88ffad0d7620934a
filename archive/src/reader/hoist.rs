//! Big strings lifted out of an entry before it is parsed, so that a
//! 200 MB body is held once, not four times.
//!
//! Parsing an entry's bytes with serde_json holds the raw bytes, serde's
//! scratch copy of an escaped string, the `Content` buffer `#[serde(flatten)]`
//! keeps and the final `String`, all at once. Instead, while the scanner
//! frames an entry ([`super::scan::Scanner::value_bytes`]), a string longer
//! than [`BIG_STRING`] is moved out of the read buffer as it arrives, its
//! escapes are undone in place ([`unescape_in_place`]), and a short
//! placeholder takes its place in the entry's bytes. The small rest is
//! parsed as before, then [`put_back`] moves each string into the field
//! its placeholder landed in.
use super::FieldWarning;
use crate::model::Entry;
use serde::Deserialize;
use serde_json::Value;

/// A string longer than this (raw bytes) is lifted out.
pub(super) const BIG_STRING: usize = 1 << 20;

/// What a placeholder string starts with, once parsed: a NUL, which no
/// HAR field of this length begins with.
const MARK: &str = "\u{0}cctap-hoisted-";

/// The placeholder for the `n`th lifted string, as JSON text.
pub(super) fn placeholder(n: usize) -> Vec<u8> {
    format!("\"\\u0000cctap-hoisted-{n}\"").into_bytes()
}

/// The strings lifted out of one entry, in the order of their
/// placeholders, and what their decoding replaced (warned on like the
/// rest of the entry).
#[derive(Debug, Default)]
pub(super) struct Hoisted {
    pub strings: Vec<String>,
    lone_surrogates: usize,
    not_utf8: usize,
    /// Strings cut to their head: (stored length, bytes kept, why they
    /// could not be kept whole when that was asked).
    cuts: Vec<(u64, u64, Option<String>)>,
    /// Strings past the cap kept whole in a file ([`super::whole`]), by
    /// their index in `strings` (which holds their marker).
    pub spills: Vec<(usize, crate::spill::Spill)>,
}

impl Hoisted {
    pub fn push(&mut self, u: Unescaped) {
        self.strings.push(u.text);
        self.lone_surrogates += u.lone_surrogates;
        self.not_utf8 += usize::from(u.not_utf8);
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    /// A string kept whole in a file ([`super::whole::LongString`]).
    pub fn push_spilled(&mut self, whole: super::whole::LongString) -> std::io::Result<()> {
        let n = self.strings.len();
        let (spill, lone_surrogates, not_utf8) = whole.finish()?;
        self.strings.push(super::whole::marker(n));
        self.spills.push((n, spill));
        self.lone_surrogates += lone_surrogates;
        self.not_utf8 += usize::from(not_utf8);
        Ok(())
    }

    /// Notes that the string being lifted was `len` bytes as stored, and
    /// only its first `limit` were kept.
    pub fn cut(&mut self, len: u64, limit: u64, failed: Option<String>) {
        self.cuts.push((len, limit, failed));
    }

    /// Adds what was replaced to the entry's warnings: lone surrogates
    /// into the same warning the small strings get.
    pub fn warn(&self, warnings: &mut Vec<FieldWarning>) {
        let cuts = self.cuts.iter();
        warnings.extend(cuts.map(|(len, limit, failed)| {
            let mut w = super::cap::cut_warning(*len, *limit);
            if let Some(why) = failed {
                w.found = format!("(it could not be kept whole in a temporary file: {why})");
            }
            w
        }));
        super::surrogates::note_replaced(warnings, self.lone_surrogates);
        if self.not_utf8 > 0 {
            warnings.push(FieldWarning {
                path: String::new(),
                problem: "bytes that are not UTF-8 were replaced by U+FFFD".into(),
                found: format!("(in {} long string(s) of this entry)", self.not_utf8),
            });
        }
    }
}

/// A lifted string, decoded, and what had to be replaced in it.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Unescaped {
    pub text: String,
    /// Lone surrogate escapes (`\ud800`) made U+FFFD.
    pub lone_surrogates: usize,
    /// Whether bytes that are not UTF-8 were made U+FFFD.
    pub not_utf8: bool,
}

/// A JSON string's contents (between its quotes) decoded in the same
/// allocation: every escape is at least as long as what it stands for.
/// A lone surrogate becomes U+FFFD (as the lenient reader does), and so
/// do bytes that are not UTF-8, each counted for a warning; a `\u`
/// without four hex digits is kept.
pub(super) fn unescape_in_place(mut b: Vec<u8>) -> Unescaped {
    let lone_surrogates = unescape_bytes(&mut b);
    b.shrink_to_fit();
    let (text, not_utf8) = match String::from_utf8(b) {
        Ok(s) => (s, false),
        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
    };
    Unescaped {
        text,
        lone_surrogates,
        not_utf8,
    }
}

/// [`unescape_in_place`]'s decoding, leaving bytes (a piece of a string
/// being spilled, [`super::whole`]); the lone surrogates replaced.
pub(super) fn unescape_bytes(b: &mut Vec<u8>) -> usize {
    let mut lone_surrogates = 0;
    let n = b.len();
    let (mut r, mut w) = (0, 0);
    while r < n {
        let Some(k) = memchr::memchr(b'\\', &b[r..]) else {
            b.copy_within(r..n, w);
            w += n - r;
            break;
        };
        b.copy_within(r..r + k, w);
        w += k;
        r += k + 1;
        let Some(&c) = b.get(r) else { break };
        r += 1;
        let simple = match c {
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => 0,
            other => other, // `"`, `\`, `/` (and anything else as itself)
        };
        if c != b'u' {
            b[w] = simple;
            w += 1;
            continue;
        }
        let Some((ch, used, lone)) = unicode_escape(&b[r..]) else {
            // Not an escape after all: kept as written.
            b[w..w + 2].copy_from_slice(b"\\u");
            w += 2;
            continue;
        };
        r += used;
        lone_surrogates += usize::from(lone);
        // `\u` and 4 or 10 more bytes were read: room for 3 or 4.
        w += ch.encode_utf8(&mut b[w..r]).len();
    }
    b.truncate(w);
    lone_surrogates
}

/// Shortens the head of a cut string (its raw, escaped bytes) to where a
/// whole escape and a whole UTF-8 character end, as the stream cap does:
/// no `\` or `\u12` at its end, no half of a surrogate pair, no part of
/// a character.
pub(super) fn cut_whole(raw: &mut Vec<u8>) {
    raw.truncate(whole_len(raw));
}

/// How much of `raw` (escaped bytes of a string's head) [`cut_whole`] keeps.
pub(super) fn whole_len(raw: &[u8]) -> usize {
    // A high surrogate left alone by trimming its low half goes too.
    let mut n = raw.len();
    while let Some(k) = trim_escape(&raw[..n]) {
        n = k;
    }
    // A character cut short.
    if let Some(start) = (n.saturating_sub(4)..n)
        .rev()
        .find(|&i| raw[i] & 0xC0 != 0x80)
    {
        let len = match raw[start] {
            b if b >= 0xF0 => 4,
            b if b >= 0xE0 => 3,
            b if b >= 0xC0 => 2,
            _ => 1,
        };
        if n - start < len {
            n = start;
        }
    }
    n
}

/// Where an escape cut short at the end of `raw` starts, if one is.
fn trim_escape(raw: &[u8]) -> Option<usize> {
    let n = raw.len();
    let k = (n.saturating_sub(12)..n).rev().find(|&i| raw[i] == b'\\')?;
    let run = raw[..=k].iter().rev().take_while(|&&b| b == b'\\').count();
    if run % 2 == 0 {
        return None; // `\\`: an escaped backslash, complete
    }
    let need = match raw.get(k + 1) {
        Some(b'u') => 6,
        _ => 2,
    };
    let high = need == 6
        && n - k >= 6
        && hex4(&raw[k + 2..k + 6]).is_some_and(|u| (0xD800..0xDC00).contains(&u));
    (n - k < need || high && n - k < 12).then_some(k)
}

/// The character of a `\u` escape whose hex digits start `rest`, how
/// many bytes of `rest` it used (a surrogate pair takes its second
/// `\uXXXX`), and whether it was a lone surrogate (made U+FFFD); `None`
/// when no four hex digits follow.
fn unicode_escape(rest: &[u8]) -> Option<(char, usize, bool)> {
    let unit = hex4(rest)?;
    if (0xD800..0xDC00).contains(&unit) && rest.get(4..6) == Some(b"\\u") {
        if let Some(low) = hex4(&rest[6..]).filter(|u| (0xDC00..0xE000).contains(u)) {
            let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            return Some((char::from_u32(c)?, 10, false));
        }
    }
    Some(match char::from_u32(unit) {
        Some(c) => (c, 4, false),
        None => (char::REPLACEMENT_CHARACTER, 4, true),
    })
}

fn hex4(b: &[u8]) -> Option<u32> {
    let digits = std::str::from_utf8(b.get(..4)?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

/// Moves the lifted strings back into the fields their placeholders
/// landed in. Bodies, SSE and WebSocket data and custom fields are looked
/// at directly; a placeholder anywhere else (a 1 MB header value) is found
/// by a round trip through a `Value`, which costs a copy but misses none.
pub(super) fn put_back(entry: &mut Entry, hoisted: Vec<String>) -> Result<(), String> {
    let mut left: Vec<Option<String>> = hoisted.into_iter().map(Some).collect();
    let e = &mut *entry;
    let request = &mut e.har.request;
    take(&mut request.url, &mut left);
    if let Some(post) = &mut request.post_data {
        take_opt(&mut post.text, &mut left);
        for param in post.params.iter_mut().flatten() {
            take_opt(&mut param.value, &mut left);
        }
    }
    take_opt(&mut e.har.response.content.text, &mut left);
    for event in e.sse_events.iter_mut().flatten() {
        take(&mut event.data, &mut left);
    }
    for message in e.websocket_messages.iter_mut().flatten() {
        take(&mut message.data, &mut left);
    }
    take_opt(&mut e.error, &mut left);
    for value in e.extra.values_mut() {
        take_value(value, &mut left);
    }
    if left.iter().all(Option::is_none) {
        return Ok(());
    }
    let warnings = std::mem::take(&mut entry.warnings);
    let mut value = serde_json::to_value(&*entry).map_err(|e| e.to_string())?;
    take_value(&mut value, &mut left);
    *entry = Entry::deserialize(value).map_err(|e| e.to_string())?;
    entry.warnings = warnings;
    match left.iter().position(Option::is_some) {
        None => Ok(()),
        Some(n) => Err(format!(
            "a long string (#{n}) is in a field of the wrong type"
        )),
    }
}

/// The lifted string `s` stands for, if it is a placeholder.
fn placeholder_index(s: &str) -> Option<usize> {
    if s.len() > 40 || !s.starts_with('\u{0}') {
        return None;
    }
    s.strip_prefix(MARK)?.parse().ok()
}

fn take(s: &mut String, left: &mut [Option<String>]) {
    if let Some(big) = placeholder_index(s).and_then(|n| left.get_mut(n)?.take()) {
        *s = big;
    }
}

fn take_opt(s: &mut Option<String>, left: &mut [Option<String>]) {
    if let Some(s) = s {
        take(s, left);
    }
}

fn take_value(value: &mut Value, left: &mut [Option<String>]) {
    match value {
        Value::String(s) => take(s, left),
        Value::Array(items) => items.iter_mut().for_each(|v| take_value(v, left)),
        Value::Object(map) => map.values_mut().for_each(|v| take_value(v, left)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescaping_in_place_agrees_with_serde_json() {
        for json in [
            r#""plain""#,
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u00e9\u20ac\ud83d\ude00 and \u0000""#,
            r#""\\u0041 is not an escape""#,
            r#""ends with an escape\n""#,
        ] {
            let want: String = serde_json::from_str(json).unwrap();
            let inner = json.as_bytes()[1..json.len() - 1].to_vec();
            let got = unescape_in_place(inner);
            assert_eq!(got.text, want, "{json}");
            assert_eq!((got.lone_surrogates, got.not_utf8), (0, false), "{json}");
        }
    }

    #[test]
    fn lone_surrogates_and_bad_escapes_become_replacement_characters() {
        let replaced = |s: &[u8]| {
            let u = unescape_in_place(s.to_vec());
            (u.text, u.lone_surrogates, u.not_utf8)
        };
        assert_eq!(replaced(br"a\ud800b"), ("a\u{FFFD}b".into(), 1, false));
        assert_eq!(
            replaced(br"a\udc00\ud800"),
            ("a\u{FFFD}\u{FFFD}".into(), 2, false)
        );
        assert_eq!(replaced(br"\ud83d\ude00"), ("😀".into(), 0, false));
        assert_eq!(replaced(br"a\uzz"), ("a\\uzz".into(), 0, false));
        assert_eq!(replaced(b"a\xffb"), ("a\u{FFFD}b".into(), 0, true));
    }

    #[test]
    fn a_cut_head_ends_on_a_whole_escape_and_character() {
        for (raw, want) in [
            (&br"abc"[..], &br"abc"[..]),
            (br"ab\\", br"ab\\"),
            (br"ab\", br"ab"),
            (br"ab\\\", br"ab\\"),
            (br"ab\u00", br"ab"),
            (br"ab\u00e9", br"ab\u00e9"),
            (br"ab\ud83d", br"ab"),
            (br"ab\ud83d\ude", br"ab"),
            (br"ab\ud83d\ude00", br"ab\ud83d\ude00"),
            ("ab\u{e9}".as_bytes(), "ab\u{e9}".as_bytes()),
            (&"ab\u{1F600}".as_bytes()[..5], b"ab"),
            (&"ab\u{20ac}".as_bytes()[..4], b"ab"),
        ] {
            let mut got = raw.to_vec();
            cut_whole(&mut got);
            assert_eq!(got, want, "{}", String::from_utf8_lossy(raw));
            let u = unescape_in_place(got);
            assert_eq!((u.lone_surrogates, u.not_utf8), (0, false));
        }
    }

    #[test]
    fn placeholders_round_trip_through_json() {
        let text: String = serde_json::from_slice(&placeholder(17)).unwrap();
        assert_eq!(placeholder_index(&text), Some(17));
        assert_eq!(placeholder_index("cctap-hoisted-17"), None);
    }
}

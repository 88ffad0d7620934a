//! JSON string escaping, 8 bytes at a time.
//!
//! serde_json looks up every byte of a string in a table and writes each
//! clean run as its own fragment; entries are mostly one long string (the
//! request body, itself JSON full of `"`), so that loop was a quarter of
//! `record`'s CPU. Here a word of 8 bytes is tested at once for the bytes
//! JSON must escape (`"`, `\`, below 0x20) and each clean run is copied in
//! one piece. The bytes written are exactly serde_json's: the same short
//! escapes (`\"` `\\` `\b` `\t` `\n` `\f` `\r`), `\u00xx` with lowercase hex
//! for the other control bytes, and everything else (DEL, non-ASCII,
//! U+2028/U+2029) as is.

/// Appends `s` as a JSON string, quotes included.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    write_inner(out, s.as_bytes());
    out.push(b'"');
}

/// Appends the inside of a JSON string (no quotes) for UTF-8 `bytes`,
/// which may be any piece of a longer text: only ASCII bytes are escaped,
/// so a character cut between two pieces passes through intact.
pub(crate) fn write_inner(out: &mut Vec<u8>, bytes: &[u8]) {
    // Start of the clean run not yet copied.
    let mut run = 0;
    while let Some(at) = find_escape(bytes, run) {
        out.extend_from_slice(&bytes[run..at]);
        push_escape(out, bytes[at]);
        run = at + 1;
    }
    out.extend_from_slice(&bytes[run..]);
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Index of the first byte at or after `from` that JSON must escape.
#[inline]
fn find_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(word) = bytes.get(i..i + 8) {
        // Little-endian load: byte k of the slice is byte k of the word,
        // so the lowest flagged byte is the first one in the text.
        let word = u64::from_le_bytes(word.try_into().ok()?);
        let flagged = special_bytes(word);
        if flagged != 0 {
            return Some(i + (flagged.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..]
        .iter()
        .position(|&b| needs_escape(b))
        .map(|at| i + at)
}

/// High bit set in each byte of `word` that may need escaping. The lowest
/// set bit is exact (a borrow only runs upwards from a flagged byte), which
/// is all [`find_escape`] uses.
#[inline]
fn special_bytes(word: u64) -> u64 {
    let quote = zero_bytes(word ^ (ONES * b'"' as u64));
    let backslash = zero_bytes(word ^ (ONES * b'\\' as u64));
    // Bytes below 0x20; `!word` leaves out bytes of 0x80 and above.
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quote | backslash | control
}

/// High bit set in each zero byte of `x` (and possibly above one).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Writes the escape for a byte that [`needs_escape`].
#[cold]
fn push_control(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        0x08 => b'b',
        b'\t' => b't',
        b'\n' => b'n',
        0x0c => b'f',
        b'\r' => b'r',
        _ => {
            let hex = [HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]];
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex[0], hex[1]]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

#[inline]
fn push_escape(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
        _ => push_control(out, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_byte_value_escapes_as_serde_json_does() {
        for b in 0u8..0x80 {
            let c = char::from(b);
            // At every offset within and across an 8-byte word.
            for pad in 0..17 {
                let s = format!("{}{c}{}", "a".repeat(pad), "b".repeat(17 - pad));
                assert_eq!(
                    ours(&s),
                    serde_json::to_string(&s).unwrap(),
                    "{b:#x} at {pad}"
                );
            }
        }
    }

    #[test]
    fn non_ascii_and_line_separators_pass_through() {
        for s in [
            "",
            "é",
            "\u{2028}\u{2029}",
            "日本語\"テキスト\\",
            "\u{7f}\u{80}\u{ffff}",
        ] {
            assert_eq!(ours(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn runs_of_escapes_and_long_clean_runs() {
        let s = format!("{}\"\"\\\n\r\t\u{0}{}", "x".repeat(1000), "y".repeat(9));
        assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
    }
}

//! JSON string escaping, 16 bytes at a time.
//!
//! serde_json looks up every byte of a string in a table and writes each
//! clean run as its own fragment; entries are mostly one long string (the
//! request body, itself JSON full of `"`), so that loop was a quarter of
//! `record`'s CPU. Here 16 bytes are tested at once (SSE2, which every
//! x86_64 CPU has; byte by byte elsewhere) for the bytes JSON must escape
//! (`"`, `\`, below 0x20) and each clean run is copied in one piece. The
//! bytes written are exactly serde_json's: the same short escapes (`\"`
//! `\\` `\b` `\t` `\n` `\f` `\r`), `\u00xx` with lowercase hex for the other
//! control bytes, and everything else (DEL, non-ASCII, U+2028/U+2029) as is.

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
    let mut at = 0;
    loop {
        // Room for the rest as it is, and for one block stored past it.
        out.reserve(bytes.len() - at + BLOCK);
        at = copy_clean(out, bytes, at);
        let Some(&b) = bytes.get(at) else { return };
        push_escape(out, b);
        at += 1;
    }
}

/// Copies `bytes` from `at` up to the first byte to escape (or the end)
/// into `out`, which has room for all of it and one block more; returns
/// where it stopped. Each block is stored whole past the end of `out`
/// before it is tested, and `out` then grows over its clean bytes: a
/// clean block costs one load and one store, and a `"` (JSON bodies hold
/// one every few words) no call to copy the run before it.
#[inline]
fn copy_clean(out: &mut Vec<u8>, bytes: &[u8], mut at: usize) -> usize {
    let base = out.as_mut_ptr();
    let mut len = out.len();
    while at + BLOCK <= bytes.len() {
        // SAFETY: `at + BLOCK` is within `bytes`, and `out` has room for
        // the rest of `bytes` plus a block past its length.
        let block = unsafe { &*bytes.as_ptr().add(at).cast::<[u8; BLOCK]>() };
        unsafe { std::ptr::copy_nonoverlapping(block.as_ptr(), base.add(len), BLOCK) };
        let flagged = special_bytes(block);
        if flagged != 0 {
            let clean = flagged.trailing_zeros() as usize;
            // SAFETY: the bytes up to `len + clean` were just written.
            unsafe { out.set_len(len + clean) };
            return at + clean;
        }
        len += BLOCK;
        at += BLOCK;
    }
    // The last few bytes, padded with clean ones to a block.
    let rest = &bytes[at..];
    let mut last = [b'a'; BLOCK];
    last[..rest.len()].copy_from_slice(rest);
    // SAFETY: as above.
    unsafe { std::ptr::copy_nonoverlapping(last.as_ptr(), base.add(len), BLOCK) };
    let flagged = special_bytes(&last);
    let clean = match flagged {
        0 => rest.len(),
        _ => flagged.trailing_zeros() as usize,
    };
    // SAFETY: as above.
    unsafe { out.set_len(len + clean) };
    at + clean
}

/// Bytes tested at once.
const BLOCK: usize = 16;

/// One bit per byte of `block` (bit k for byte k) that JSON must escape.
#[cfg(target_arch = "x86_64")]
#[inline]
fn special_bytes(block: &[u8; BLOCK]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of every x86_64 CPU; the load is unaligned and
    // reads exactly the 16 bytes of `block`.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Unsigned `v <= 0x1f`: the minimum of the two is `v` itself.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

/// One bit per byte of `block` (bit k for byte k) that JSON must escape.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn special_bytes(block: &[u8; BLOCK]) -> u32 {
    block
        .iter()
        .enumerate()
        .fold(0, |mask, (k, &b)| mask | (u32::from(needs_escape(b)) << k))
}

#[cfg(any(test, not(target_arch = "x86_64")))]
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
    fn a_block_flags_exactly_the_bytes_to_escape() {
        for b in 0..=255u8 {
            for at in 0..BLOCK {
                let mut block = [b'a'; BLOCK];
                block[at] = b;
                let want = if needs_escape(b) { 1 << at } else { 0 };
                assert_eq!(special_bytes(&block), want, "{b:#x} at {at}");
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

    proptest::proptest! {
        #[test]
        fn any_text_escapes_as_serde_json_does(s in r#"[\x00-\x22\\a-z\u{80}-\u{10ffff}]{0,80}"#) {
            proptest::prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn runs_of_escapes_and_long_clean_runs() {
        let s = format!("{}\"\"\\\n\r\t\u{0}{}", "x".repeat(1000), "y".repeat(9));
        assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
    }
}

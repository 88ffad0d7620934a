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
    while at < bytes.len() {
        // Room for the rest as it is, for one block's escapes, and for the
        // whole blocks stored past the end.
        out.reserve(bytes.len() - at + BLOCK_ESCAPES + 2 * BLOCK);
        at = copy_blocks(out, bytes, at);
    }
}

/// Copies `bytes` from `at` into `out` block by block, up to the end or
/// through the first block with bytes to escape (written escaped); returns
/// where it stopped. `out` has room for the rest of `bytes`, one block's
/// escapes and two blocks more. Each block is stored whole past the end of
/// `out` before it is tested, and `out` then grows over its clean bytes: a
/// clean block costs one load and one store; a block with escapes (JSON
/// bodies hold a `"` every few words) is rewritten once, whatever their
/// number.
#[inline]
fn copy_blocks(out: &mut Vec<u8>, bytes: &[u8], mut at: usize) -> usize {
    let base = out.as_mut_ptr();
    let mut len = out.len();
    while at + BLOCK <= bytes.len() {
        // SAFETY: `at + BLOCK` is within `bytes`, and `out` has room for
        // the rest of `bytes` plus a block past it.
        let block = unsafe { &*bytes.as_ptr().add(at).cast::<[u8; BLOCK]>() };
        unsafe { std::ptr::copy_nonoverlapping(block.as_ptr(), base.add(len), BLOCK) };
        let flagged = special_bytes(block);
        at += BLOCK;
        if flagged != 0 {
            // SAFETY: room for this block's escapes and a block past them.
            len = unsafe { escape_block(base, len, block, BLOCK, flagged) };
            // SAFETY: every byte up to `len` was written.
            unsafe { out.set_len(len) };
            return at;
        }
        len += BLOCK;
    }
    let rest = bytes.len() - at;
    if rest > 0 {
        // The last few bytes, padded with clean ones to a block.
        let mut last = [b'a'; BLOCK];
        last[..rest].copy_from_slice(&bytes[at..]);
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(last.as_ptr(), base.add(len), BLOCK) };
        len = match special_bytes(&last) {
            0 => len + rest,
            // SAFETY: as above.
            flagged => unsafe { escape_block(base, len, &last, rest, flagged) },
        };
        at += rest;
    }
    // SAFETY: every byte up to `len` was written above.
    unsafe { out.set_len(len) };
    at
}

/// Writes the first `n` bytes of `block` at `base + len`, where the block
/// was just stored whole, with the bytes `flagged` (bit k for byte k)
/// escaped; returns the new length.
///
/// # Safety
/// `base` must have room for `len + n + BLOCK_ESCAPES + BLOCK` bytes.
#[inline]
unsafe fn escape_block(
    base: *mut u8,
    mut len: usize,
    block: &[u8; BLOCK],
    n: usize,
    mut flagged: u32,
) -> usize {
    // The block and clean bytes after it: each clean run is stored as one
    // whole block, of which only the run is kept.
    let mut padded = [b'a'; 2 * BLOCK];
    padded[..BLOCK].copy_from_slice(block);
    let mut from = 0;
    while flagged != 0 {
        let k = flagged.trailing_zeros() as usize;
        let (escape, width) = escape(block[k]);
        // SAFETY (both): at most `n` bytes and `n` escapes of at most six
        // bytes are written before a store of one block or six bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(padded.as_ptr().add(from), base.add(len), BLOCK);
            len += k - from;
            std::ptr::copy_nonoverlapping(escape.as_ptr(), base.add(len), escape.len());
        }
        len += width;
        from = k + 1;
        flagged &= flagged - 1;
    }
    // SAFETY: as above.
    unsafe { std::ptr::copy_nonoverlapping(padded.as_ptr().add(from), base.add(len), BLOCK) };
    len + n - from
}

/// What one block's escapes can add to its length: every byte a `\u00xx`.
const BLOCK_ESCAPES: usize = 5 * BLOCK;

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

/// The escape of a byte that [`needs_escape`], and its width.
#[inline]
fn escape(b: u8) -> ([u8; 6], usize) {
    match b {
        b'"' | b'\\' => ([b'\\', b, 0, 0, 0, 0], 2),
        _ => control_escape(b),
    }
}

/// The escape of a control byte: serde_json's short ones, else `\u00xx`.
#[cold]
fn control_escape(b: u8) -> ([u8; 6], usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        0x08 => b'b',
        b'\t' => b't',
        b'\n' => b'n',
        0x0c => b'f',
        b'\r' => b'r',
        _ => {
            let hex = [HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]];
            return ([b'\\', b'u', b'0', b'0', hex[0], hex[1]], 6);
        }
    };
    ([b'\\', short, 0, 0, 0, 0], 2)
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
    fn blocks_made_only_of_escapes() {
        // Every byte of a block its longest escape, in whole blocks and in
        // a short last block, after clean runs of every length.
        for pad in 0..=BLOCK {
            for count in [1, BLOCK - 1, BLOCK, 3 * BLOCK + 5] {
                let s = format!("{}{}", "a".repeat(pad), "\u{1}".repeat(count));
                assert_eq!(
                    ours(&s),
                    serde_json::to_string(&s).unwrap(),
                    "{pad} {count}"
                );
                let mut piece = b"x".to_vec();
                write_inner(&mut piece, s.as_bytes());
                assert_eq!(piece.len(), 1 + pad + 6 * count);
            }
        }
    }

    #[test]
    fn runs_of_escapes_and_long_clean_runs() {
        let s = format!("{}\"\"\\\n\r\t\u{0}{}", "x".repeat(1000), "y".repeat(9));
        assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
    }
}

//! scan_probe: why `analyze usage` reads at ~300 MB/s, and what the fix is
//! worth. The archive reader cuts each entry out of the stream with a
//! byte-at-a-time JSON framing loop (`cctap_archive::reader::scan`), then
//! serde_json parses the entry. This probe times, over a decompressed
//! `.har`: (a) that byte loop (same logic, copied), (b) the same framing
//! that jumps over string contents eight bytes at a time to the next `"` or
//! `\` (what `memchr2` does, faster still), (c) `serde_json` parsing every
//! entry into `cctap_archive::Entry`. It checks that (a) and (b) cut the
//! same entries.

use anyhow::{bail, Context};
use cctap_archive::Entry;
use std::time::Instant;

/// Where the entries begin in a HAR document.
const NEEDLE: &[u8] = b"\"entries\":[";

/// A framing loop: the (start, end) of every entry it cuts.
type Framer = dyn Fn(&[u8]) -> Vec<(usize, usize)>;

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .context("usage: scan_probe FILE.har (decompressed)")?;
    let doc = std::fs::read(&path).with_context(|| format!("cannot read {path}"))?;
    let start = doc
        .windows(NEEDLE.len())
        .position(|w| w == NEEDLE)
        .context("no entries array")?
        + NEEDLE.len();
    let body = &doc[start..];
    let mb = body.len() as f64 / 1e6;
    let timed = |label: &str, f: &Framer| {
        let t = Instant::now();
        let cuts = f(body);
        let s = t.elapsed().as_secs_f64();
        println!("{label}: {} entries, {:.0} MB/s", cuts.len(), mb / s);
        cuts
    };
    let slow = timed("(a) byte-at-a-time framing (reader today)", &|b| {
        cut_all(b, frame_bytewise)
    });
    let fast = timed("(b) framing that skips string contents", &|b| {
        cut_all(b, frame_skipping)
    });
    if slow != fast {
        bail!("the two framings cut different entries");
    }
    let t = Instant::now();
    for &(from, to) in &fast {
        serde_json::from_slice::<Entry>(&body[from..to]).context("an entry does not parse")?;
    }
    println!(
        "(c) serde_json parse into Entry: {:.0} MB/s",
        mb / t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Cuts every top-level value of the entries array: (start, end) offsets.
fn cut_all(b: &[u8], frame: fn(&[u8]) -> usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                let len = frame(&b[i..]);
                out.push((i, i + len));
                i += len;
            }
            b']' => break,
            _ => i += 1,
        }
    }
    out
}

/// The reader's framing state machine, one byte per step.
fn frame_bytewise(b: &[u8]) -> usize {
    let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
    for (i, &c) in b.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    b.len()
}

/// The same, but inside a string it jumps to the next `"` or `\`.
fn frame_skipping(b: &[u8]) -> usize {
    let mut depth = 0u32;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                loop {
                    i += next_quote_or_backslash(&b[i..]);
                    if i >= b.len() {
                        return b.len();
                    }
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    break; // the closing quote
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Offset of the first `"` or `\`, eight bytes at a time (SWAR).
fn next_quote_or_backslash(b: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // A byte of x is zero: the lowest flagged byte is exact.
    let has = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut i = 0;
    while i + 8 <= b.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&b[i..i + 8]);
        let x = u64::from_le_bytes(word);
        let hit = has(x ^ (LO * u64::from(b'"'))) | has(x ^ (LO * u64::from(b'\\')));
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .unwrap_or(b.len() - i)
}

//! Standard base64 (RFC 4648, with padding), for HAR's
//! `content.encoding: "base64"` bodies. Small enough to keep here rather
//! than add a dependency.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes bytes as padded standard base64.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64, and the URL-safe alphabet (`-`, `_`) too;
/// padding is optional and ASCII whitespace is skipped (some tools wrap
/// lines). `None` if it is not base64.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut d = Decoder::default();
    (d.feed(text.as_bytes(), &mut out) && d.finish()).then_some(out)
}

/// The first `n` bytes or so that `text` decodes to (all of them when it
/// is shorter), reading only as much of it as that takes; `None` if that
/// much is not base64. For looking at a body's start without decoding it.
pub fn decode_prefix(text: &str, n: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(n + 3);
    let mut d = Decoder::default();
    for chunk in text.as_bytes().chunks(n.div_ceil(3) * 4 + 4) {
        if !d.feed(chunk, &mut out) {
            return None;
        }
        if out.len() >= n {
            return Some(out);
        }
    }
    d.finish().then_some(out)
}

/// Whether `text` is base64 that [`decode`] accepts, checked in pieces
/// (no buffer the size of what it decodes to).
pub fn is_valid(text: &str) -> bool {
    let mut out = Vec::with_capacity(48 * 1024);
    let mut d = Decoder::default();
    for chunk in text.as_bytes().chunks(64 * 1024) {
        out.clear();
        if !d.feed(chunk, &mut out) {
            return false;
        }
    }
    d.finish()
}

/// [`decode`] into the text's own buffer (what base64 decodes to is
/// shorter than it), for a body no longer needed as text; `None`, the
/// text lost, if it is not base64 (check with [`is_valid`] first).
pub fn decode_in_place(mut text: Vec<u8>) -> Option<Vec<u8>> {
    let mut d = Decoder::default();
    let mut w = 0;
    for r in 0..text.len() {
        // Each output byte takes at least 8 bits of input: it lands at or
        // before the byte being read.
        if let Some(b) = d.step(text[r]).ok()? {
            text[w] = b;
            w += 1;
        }
    }
    text.truncate(w);
    d.finish().then_some(text)
}

/// What `text` decodes to, as a stream decoded a piece at a time (a read
/// error where it is not base64): a 200 MB body searched without holding
/// its bytes.
pub fn reader(text: &str) -> impl std::io::Read + '_ {
    DecodeReader {
        text: text.as_bytes(),
        d: Decoder::default(),
        ready: Vec::new(),
        at: 0,
    }
}

struct DecodeReader<'a> {
    /// What is left to decode.
    text: &'a [u8],
    d: Decoder,
    /// Decoded and not yet read: `ready[at..]`.
    ready: Vec<u8>,
    at: usize,
}

impl std::io::Read for DecodeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.ready.len() {
            if self.text.is_empty() {
                return match self.d.finish() {
                    true => Ok(0),
                    false => Err(std::io::Error::other("not base64: cut inside a group")),
                };
            }
            let (piece, rest) = self.text.split_at(self.text.len().min(64 * 1024));
            self.text = rest;
            self.ready.clear();
            self.at = 0;
            if !self.d.feed(piece, &mut self.ready) {
                return Err(std::io::Error::other("not base64"));
            }
        }
        let n = buf.len().min(self.ready.len() - self.at);
        buf[..n].copy_from_slice(&self.ready[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A character that is not base64.
struct NotBase64;

/// Each byte's 6-bit value (both alphabets), or what else it is: one
/// table look-up a character instead of five ranges (`leaks` and
/// `export` run a 200 MB body through this twice).
const VALUE: [u8; 256] = {
    let mut t = [BAD; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t[b'-' as usize] = 62;
    t[b'_' as usize] = 63;
    t[b'=' as usize] = PAD;
    // ASCII whitespace, as `u8::is_ascii_whitespace` has it.
    t[b' ' as usize] = SKIP;
    t[b'\t' as usize] = SKIP;
    t[b'\n' as usize] = SKIP;
    t[0x0C] = SKIP;
    t[b'\r' as usize] = SKIP;
    t
};
const SKIP: u8 = 64;
const PAD: u8 = 65;
const BAD: u8 = 255;

/// Base64 decoding fed in pieces of any length.
#[derive(Default)]
struct Decoder {
    acc: u32,
    bits: u32,
    padding: bool,
}

impl Decoder {
    /// Appends what `text` decodes to; `false` if it is not base64.
    fn feed(&mut self, text: &[u8], out: &mut Vec<u8>) -> bool {
        for &c in text {
            match self.step(c) {
                Ok(Some(b)) => out.push(b),
                Ok(None) => {}
                Err(NotBase64) => return false,
            }
        }
        true
    }

    /// One character: the byte it completes, if any.
    #[inline]
    fn step(&mut self, c: u8) -> Result<Option<u8>, NotBase64> {
        let v = match VALUE[usize::from(c)] {
            SKIP => return Ok(None),
            PAD => {
                self.padding = true;
                return Ok(None);
            }
            BAD => return Err(NotBase64),
            v => v,
        };
        if self.padding {
            return Err(NotBase64); // data after padding
        }
        self.acc = (self.acc << 6) | u32::from(v);
        self.bits += 6;
        if self.bits < 8 {
            return Ok(None);
        }
        self.bits -= 8;
        let b = (self.acc >> self.bits) as u8;
        self.acc &= (1 << self.bits) - 1;
        Ok(Some(b))
    }

    /// Whether the input ended where base64 may end: leftover bits are
    /// only the zero fill of the last group.
    fn finish(&self) -> bool {
        self.bits < 6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
        }
        assert_eq!(decode("Zm9v\nYmE").unwrap(), b"fooba");
        assert_eq!(decode("-_8").unwrap(), decode("+/8").unwrap());
    }

    #[test]
    fn all_bytes_round_trip_and_garbage_is_refused() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        assert_eq!(decode(&encode(&data)).unwrap(), data);
        assert!(decode("not base64!").is_none());
        assert!(decode("Zg==Zg").is_none());
        assert!(decode("Z").is_none());
    }

    #[test]
    fn a_prefix_and_validity_agree_with_decoding_it_whole() {
        let data: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        let text = encode(&data);
        for n in [0, 1, 47, 48, 1000] {
            let got = decode_prefix(&text, n).unwrap();
            assert!(got.len() >= n && data.starts_with(&got), "{n}");
        }
        assert_eq!(decode_prefix("Zm9v\nYmE", 100).unwrap(), b"fooba");
        assert!(decode_prefix("Z", 100).is_none());
        assert!(
            decode_prefix("Zm9vYmFy!!", 1).is_some(),
            "only the start is read"
        );
        assert!(is_valid(&text));
        for bad in ["not base64!", "Zg==Zg", "Z"] {
            assert!(!is_valid(bad), "{bad}");
        }
        let mut late = text.clone();
        late.push('!');
        assert!(!is_valid(&late), "a bad byte past the first piece");
    }

    #[test]
    fn decoding_in_place_agrees_with_decoding() {
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        for text in [
            encode(&data),
            "Zm9v\nYmE".into(),
            "-_8".into(),
            String::new(),
        ] {
            let want = decode(&text);
            assert_eq!(
                decode_in_place(text.clone().into_bytes()),
                want,
                "{text:.20}"
            );
        }
        assert_eq!(decode_in_place(b"not base64!".to_vec()), None);
        assert_eq!(decode_in_place(b"Z".to_vec()), None);
    }

    #[test]
    fn reading_decodes_as_decoding_whole() {
        use std::io::Read;
        let data: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        let mut got = Vec::new();
        reader(&encode(&data)).read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
        let mut bad = Vec::new();
        assert!(reader("Zm9v!").read_to_end(&mut bad).is_err());
    }

    #[test]
    fn the_table_says_what_each_byte_is() {
        for c in 0..=255u8 {
            let want = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' | b'-' => 62,
                b'/' | b'_' => 63,
                b'=' => PAD,
                c if c.is_ascii_whitespace() => SKIP,
                _ => BAD,
            };
            assert_eq!(VALUE[usize::from(c)], want, "byte {c}");
        }
    }
}

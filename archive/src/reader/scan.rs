//! A small JSON byte scanner over a buffered stream: enough structure to
//! walk `{"log":{…,"entries":[…]}}` and cut out one value's bytes at a time
//! (tracking depth, strings and escapes), so whole documents are never held
//! in memory. Values themselves are parsed by serde_json.
use std::io::{self, BufRead, BufReader, Read};

/// Why scanning stopped.
#[derive(Debug)]
pub(super) enum ScanError {
    /// The input ended (or its decoder failed, as a cut-off frame does).
    End(Option<io::Error>),
    /// The bytes are not the JSON expected here.
    Syntax(String),
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::End(Some(e))
    }
}

pub(super) struct Scanner {
    src: BufReader<Box<dyn Read + Send>>,
    /// Bytes consumed so far (in the decompressed document).
    offset: u64,
}

impl Scanner {
    pub(super) fn new(src: Box<dyn Read + Send>) -> Scanner {
        Scanner {
            src: BufReader::with_capacity(256 * 1024, src),
            offset: 0,
        }
    }

    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    fn consume(&mut self, n: usize) {
        self.src.consume(n);
        self.offset += n as u64;
    }

    /// Skips a UTF-8 byte-order mark at the start.
    pub(super) fn skip_bom(&mut self) -> Result<(), ScanError> {
        if self.src.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
            self.consume(3);
        }
        Ok(())
    }

    /// Skips whitespace and returns the next byte without consuming it.
    pub(super) fn peek(&mut self) -> Result<u8, ScanError> {
        loop {
            let buf = self.src.fill_buf()?;
            if buf.is_empty() {
                return Err(ScanError::End(None));
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let b = buf[i];
                    self.consume(i);
                    return Ok(b);
                }
                None => {
                    let n = buf.len();
                    self.consume(n);
                }
            }
        }
    }

    /// Consumes `want` (after whitespace) or fails naming `context`.
    pub(super) fn expect(&mut self, want: u8, context: &str) -> Result<(), ScanError> {
        let got = self.peek()?;
        if got != want {
            return Err(ScanError::Syntax(format!(
                "expected '{}' {context}, found {} at byte {}",
                want as char,
                describe(got),
                self.offset
            )));
        }
        self.consume(1);
        Ok(())
    }

    /// One JSON string (an object key), decoded.
    pub(super) fn string(&mut self) -> Result<String, ScanError> {
        if self.peek()? != b'"' {
            let got = self.peek()?;
            return Err(ScanError::Syntax(format!(
                "expected a key, found {} at byte {}",
                describe(got),
                self.offset
            )));
        }
        let mut bytes = Vec::new();
        self.value(Some(&mut bytes))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ScanError::Syntax(format!("bad key at byte {}: {e}", self.offset)))
    }

    /// Consumes one JSON value, appending its bytes to `out` if given.
    /// Only framing is checked here; serde_json checks the rest.
    pub(super) fn value(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), ScanError> {
        let first = self.peek()?;
        let mut state = Framing::new(first);
        loop {
            let buf = self.src.fill_buf()?;
            if buf.is_empty() {
                return Err(ScanError::End(None));
            }
            let (used, done) = state.scan(buf);
            if let Some(out) = out.as_deref_mut() {
                out.extend_from_slice(&buf[..used]);
            }
            self.consume(used);
            if done {
                return Ok(());
            }
        }
    }
}

/// Where a value ends: depth of `{`/`[`, and whether inside a string.
struct Framing {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// A number, `true`, `false` or `null`: ends before a delimiter.
    scalar: bool,
}

impl Framing {
    fn new(first: u8) -> Framing {
        Framing {
            depth: 0,
            in_string: false,
            escaped: false,
            scalar: !matches!(first, b'{' | b'[' | b'"'),
        }
    }

    /// Scans a buffer: how many bytes belong to the value, and whether it
    /// ended within them.
    fn scan(&mut self, buf: &[u8]) -> (usize, bool) {
        for (i, &b) in buf.iter().enumerate() {
            if self.scalar {
                if matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace() {
                    return (i, true);
                }
                continue;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                _ => {}
            }
        }
        (buf.len(), false)
    }
}

/// A byte for an error message.
fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner(text: &str) -> Scanner {
        Scanner::new(Box::new(io::Cursor::new(text.as_bytes().to_vec())))
    }

    #[test]
    fn values_are_cut_at_their_end() {
        let mut s = scanner(r#" {"a":"}\"]","b":[1,{"c":2}]} , "str\\" ,12.5e3] true"#);
        let mut out = Vec::new();
        s.value(Some(&mut out)).unwrap();
        assert_eq!(out, br#"{"a":"}\"]","b":[1,{"c":2}]}"#);
        s.expect(b',', "here").unwrap();
        out.clear();
        s.value(Some(&mut out)).unwrap();
        assert_eq!(out, br#""str\\""#);
        s.expect(b',', "here").unwrap();
        out.clear();
        s.value(Some(&mut out)).unwrap();
        assert_eq!(out, b"12.5e3");
        s.expect(b']', "here").unwrap();
        s.value(None).unwrap_err(); // "true" then end: a scalar never closed
    }

    #[test]
    fn a_cut_value_is_end_of_input() {
        let mut s = scanner(r#"{"a":[1,2"#);
        assert!(matches!(s.value(None), Err(ScanError::End(None))));
        assert_eq!(s.offset(), 9);
    }
}

//! A small JSON byte scanner over a buffered stream: enough structure to
//! walk `{"log":{…,"entries":[…]}}` and cut out one value's bytes at a time
//! (tracking depth, strings and escapes), so whole documents are never held
//! in memory. Values themselves are parsed by serde_json: from the read
//! buffer directly when they are whole in it ([`Scanner::parse_ahead`]),
//! which skips the framing pass; framing is for the rest (values cut off,
//! straddling what was read, or not of the expected type), and there it
//! jumps over string contents with memchr.
use super::hoist::{placeholder, unescape_in_place, Hoisted, BIG_STRING};
use super::whole::LongString;
use serde::de::DeserializeOwned;
use std::io::{self, Read};

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

/// Room the read buffer starts with; it grows only for a value that does
/// not fit (one entry larger than this), so memory follows the largest
/// entry, never the archive.
const INITIAL_BUFFER: usize = 1024 * 1024;

pub(super) struct Scanner {
    src: Box<dyn Read + Send>,
    /// Decoded bytes; `buf[pos..end]` are read but not yet consumed. Our
    /// own buffer rather than a `BufReader`, so that a value cut across a
    /// refill stays contiguous and is handed out without a copy.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Bytes consumed so far (in the decompressed document).
    offset: u64,
    /// A read error met while reading ahead ([`Scanner::parse_ahead`]),
    /// handed out by the next refill so that a cut is reported where the
    /// framing meets it, as without reading ahead.
    deferred: Option<io::Error>,
    /// Long strings lifted out of the entry last framed by
    /// [`Scanner::entry_bytes`], in the order of their placeholders.
    hoisted: Hoisted,
    /// The longest value held, once the entries begin
    /// ([`Scanner::cut_long_values`]); `u64::MAX` before.
    bound: u64,
    /// A lifted string past `bound` goes whole to a file rather than
    /// being cut ([`super::whole`]).
    spill: bool,
}

impl Scanner {
    pub(super) fn new(src: Box<dyn Read + Send>) -> Scanner {
        Scanner {
            src,
            buf: vec![0; INITIAL_BUFFER],
            pos: 0,
            end: 0,
            offset: 0,
            deferred: None,
            hoisted: Hoisted::default(),
            bound: u64::MAX,
            spill: false,
        }
    }

    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
        self.offset += n as u64;
    }

    /// The unconsumed bytes, reading more if there are none; empty at the
    /// end of the input.
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.end {
            self.refill()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    /// Reads once more after `end`, keeping `buf[pos..end]`: moves it to
    /// the front when the room behind it runs low, and grows the buffer
    /// only when it is mostly that value. Returns the bytes read (0 at the
    /// end of the input).
    fn refill(&mut self) -> io::Result<usize> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        }
        let low = self.buf.len() / 4;
        if self.buf.len() - self.end < low {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
            if self.buf.len() - self.end < low {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Skips a UTF-8 byte-order mark at the start.
    pub(super) fn skip_bom(&mut self) -> Result<(), ScanError> {
        while self.end - self.pos < 3 && self.refill()? > 0 {}
        if self.buf[self.pos..self.end].starts_with(b"\xEF\xBB\xBF") {
            self.consume(3);
        }
        Ok(())
    }

    /// Skips a JSONP wrapper's opening (`onInputData(`, as harviewer's
    /// `.harp` files have): an identifier, then `(`. The closing `)` lies
    /// after the document, where nothing is read.
    pub(super) fn skip_jsonp(&mut self) -> Result<(), ScanError> {
        if !self.peek()?.is_ascii_alphabetic() {
            return Ok(());
        }
        while self.deferred.is_none() && self.end - self.pos < 256 {
            match self.refill() {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => self.deferred = Some(e),
            }
        }
        let buf = &self.buf[self.pos..self.end];
        let name = buf
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || b"_$.".contains(b))
            .count();
        let rest = &buf[name..];
        let gap = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if rest.get(gap) == Some(&b'(') {
            self.consume(name + gap + 1);
        }
        Ok(())
    }

    /// Skips whitespace and returns the next byte without consuming it.
    pub(super) fn peek(&mut self) -> Result<u8, ScanError> {
        loop {
            let buf = self.fill_buf()?;
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
        let got = self.peek()?;
        if got != b'"' {
            return Err(ScanError::Syntax(format!(
                "expected a key, found {} at byte {}",
                describe(got),
                self.offset
            )));
        }
        let bytes = self.value_bytes()?;
        serde_json::from_slice(bytes)
            .map_err(|e| ScanError::Syntax(format!("bad key at byte {}: {e}", self.offset)))
    }

    /// Consumes one JSON value, appending its bytes to `out` if given.
    /// Only framing is checked here; serde_json checks the rest.
    pub(super) fn value(&mut self, out: Option<&mut Vec<u8>>) -> Result<(), ScanError> {
        match out {
            Some(out) => out.extend_from_slice(self.value_bytes()?),
            None => self.skip_value()?,
        }
        Ok(())
    }

    /// Parses the next value as `T` straight from the buffer, without a
    /// framing pass, once `want` bytes are at hand (or the input ends).
    /// Returns the value and its bytes (consumed), or `None` having
    /// consumed nothing: the value is not a valid `T` or runs past what
    /// was read, and the caller frames it with [`Scanner::value_bytes`].
    pub(super) fn parse_ahead<T: DeserializeOwned>(
        &mut self,
        want: usize,
    ) -> Result<Option<(T, &[u8])>, ScanError> {
        self.peek()?;
        while self.deferred.is_none() && self.end - self.pos < want {
            match self.refill() {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => self.deferred = Some(e),
            }
        }
        let mut values =
            serde_json::Deserializer::from_slice(&self.buf[self.pos..self.end]).into_iter();
        let Some(Ok(value)) = values.next() else {
            return Ok(None);
        };
        let (start, len) = (self.pos, values.byte_offset());
        self.consume(len);
        Ok(Some((value, &self.buf[start..start + len])))
    }

    /// Consumes one JSON value and lends its bytes, valid until the next
    /// call. The value is kept whole in the buffer (which grows for it if
    /// need be), so an entry is parsed where it was read.
    pub(super) fn value_bytes(&mut self) -> Result<&[u8], ScanError> {
        self.frame(false)
    }

    /// As [`Scanner::value_bytes`], for an entry: a string inside it longer
    /// than [`BIG_STRING`] is lifted out as it is read (never held raw in
    /// the buffer) and replaced by a placeholder; [`Scanner::take_hoisted`]
    /// hands the strings out.
    pub(super) fn entry_bytes(&mut self) -> Result<&[u8], ScanError> {
        self.hoisted = Hoisted::default();
        self.frame(true)
    }

    /// From now on the scanner bounds what it holds itself (the stream's
    /// string cap is off): a string lifted out of an entry keeps its first
    /// `limit` bytes ([`super::MAX_STRING`]), and any other value framed
    /// whole past that size (a key of `log` after the entries) is refused.
    pub(super) fn cut_long_values(&mut self, limit: u64) {
        self.bound = limit;
    }

    /// From now on a lifted string past the bound is kept whole in a file
    /// ([`super::whole`]) instead of cut.
    pub(super) fn spill_long_strings(&mut self) {
        self.spill = true;
    }

    /// The strings the last [`Scanner::entry_bytes`] lifted out.
    pub(super) fn take_hoisted(&mut self) -> Hoisted {
        std::mem::take(&mut self.hoisted)
    }

    fn frame(&mut self, hoist: bool) -> Result<&[u8], ScanError> {
        let first = self.peek()?;
        let mut state = Framing::new(first);
        // `pos` stays at the value's start until it is complete, so a
        // refill keeps the value's bytes read so far.
        let mut scanned = 0;
        loop {
            let (used, done) = state.scan(&self.buf[self.pos + scanned..self.end]);
            scanned += used;
            if done {
                let start = self.pos;
                self.consume(scanned);
                return Ok(&self.buf[start..start + scanned]);
            }
            if !hoist && scanned as u64 > self.bound {
                return Err(ScanError::Syntax(format!(
                    "a value of more than {} MiB at byte {} is not read",
                    self.bound >> 20,
                    self.offset
                )));
            }
            let big = hoist
                && state.in_string
                && state.depth > 0
                && scanned - state.string_at > BIG_STRING;
            let more = if big {
                self.hoist_string(&mut state, &mut scanned)
            } else {
                self.refill()
            };
            match more {
                Ok(0) => {
                    self.consume(scanned);
                    return Err(ScanError::End(None));
                }
                Ok(_) => {}
                Err(e) => {
                    self.consume(scanned);
                    return Err(ScanError::End(Some(e)));
                }
            }
        }
    }

    /// Moves the string being framed (opened at `state.string_at`) out of
    /// the buffer, reading on until it closes, undoes its escapes and
    /// leaves a placeholder where it was. Returns the bytes that string
    /// took (0: the input ended inside it).
    fn hoist_string(&mut self, state: &mut Framing, scanned: &mut usize) -> io::Result<usize> {
        let quote = self.pos + state.string_at;
        let here = self.pos + *scanned;
        let raw = self.buf[quote + 1..here].to_vec();
        self.drop_bytes(quote, here - quote);
        *scanned = state.string_at;
        // Past the cap (when bounded) the rest is counted, not kept, or
        // (when asked) all of it goes to a file.
        let mut long = Long {
            cap: self.bound,
            spill: self.spill,
            stored: raw.len() as u64,
            raw,
            whole: None,
            failed: None,
        };
        loop {
            let at = self.pos + *scanned;
            match state.string_end(&self.buf[at..self.end]) {
                Some(used) => {
                    long.keep(&self.buf[at..at + used - 1]);
                    self.drop_bytes(at, used);
                    break;
                }
                None => {
                    long.keep(&self.buf[at..self.end]);
                    self.drop_bytes(at, self.end - at);
                    if self.refill()? == 0 {
                        return Ok(0);
                    }
                }
            }
        }
        let Long {
            cap,
            stored,
            mut raw,
            whole,
            mut failed,
            ..
        } = long;
        let mark = placeholder(self.hoisted.strings.len());
        let spilled = match whole.map(|w| self.hoisted.push_spilled(w)) {
            Some(Ok(())) => true,
            Some(Err(e)) => {
                failed = Some(e.to_string());
                false
            }
            None => false,
        };
        if !spilled {
            if stored > raw.len() as u64 {
                super::hoist::cut_whole(&mut raw);
                self.hoisted.cut(stored, cap, failed);
            }
            self.hoisted.push(unescape_in_place(raw));
        }
        let taken = usize::try_from(stored + 2).unwrap_or(usize::MAX);
        let at = self.pos + *scanned;
        if self.buf.len() - self.end < mark.len() {
            self.buf.resize(self.end + mark.len(), 0);
        }
        self.buf.copy_within(at..self.end, at + mark.len());
        self.buf[at..at + mark.len()].copy_from_slice(&mark);
        self.end += mark.len();
        // The placeholder is counted when the entry is consumed, but
        // it was never read.
        self.offset -= mark.len() as u64;
        *scanned += mark.len();
        state.seen = *scanned;
        Ok(taken)
    }

    /// Removes `n` read bytes at `at` (part of a lifted string), counting
    /// them as consumed.
    fn drop_bytes(&mut self, at: usize, n: usize) {
        self.buf.copy_within(at + n..self.end, at);
        self.end -= n;
        self.offset += n as u64;
    }

    /// Consumes one JSON value without keeping it (a key `cctap` does not
    /// read may be large: `pages`, a second `entries`).
    fn skip_value(&mut self) -> Result<(), ScanError> {
        let first = self.peek()?;
        let mut state = Framing::new(first);
        loop {
            let buf = self.fill_buf()?;
            if buf.is_empty() {
                return Err(ScanError::End(None));
            }
            let (used, done) = state.scan(buf);
            self.consume(used);
            if done {
                return Ok(());
            }
        }
    }
}

/// A string being lifted: its head (up to `cap` bytes as stored), or all
/// of it in a file once past `cap` when `spill` is set.
struct Long {
    cap: u64,
    spill: bool,
    /// Bytes of it seen, as stored.
    stored: u64,
    raw: Vec<u8>,
    whole: Option<LongString>,
    /// Why it could not be kept whole (the file failed): cut instead (to
    /// nothing, `cap` 0, when the file failed part-way).
    failed: Option<String>,
}

impl Long {
    fn keep(&mut self, bytes: &[u8]) {
        self.stored += bytes.len() as u64;
        if let Some(whole) = &mut self.whole {
            if let Err(e) = whole.push(bytes) {
                // Cut after all (to nothing: the head went to the file),
                // with the reason in the warning; `export` refuses it.
                self.failed = Some(e.to_string());
                self.whole = None;
                self.cap = 0;
            }
            return;
        }
        let past = self.raw.len() as u64 + bytes.len() as u64 > self.cap;
        if past && self.spill && self.failed.is_none() {
            let started = LongString::new().and_then(|mut w| {
                w.push(&self.raw)?;
                w.push(bytes)?;
                Ok(w)
            });
            match started {
                Ok(w) => {
                    self.raw = Vec::new();
                    self.whole = Some(w);
                    return;
                }
                Err(e) => self.failed = Some(e.to_string()),
            }
        }
        let room = self.cap.saturating_sub(self.raw.len() as u64);
        let n = usize::try_from(room).map_or(bytes.len(), |r| r.min(bytes.len()));
        self.raw.extend_from_slice(&bytes[..n]);
    }
}

/// Where a value ends: depth of `{`/`[`, and whether inside a string.
struct Framing {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Bytes of the value scanned so far, and where in them the string
    /// last opened (its quote): what [`Scanner::hoist_string`] lifts.
    seen: usize,
    string_at: usize,
    /// A number, `true`, `false` or `null`: ends before a delimiter.
    scalar: bool,
}

impl Framing {
    fn new(first: u8) -> Framing {
        Framing {
            depth: 0,
            in_string: false,
            escaped: false,
            seen: 0,
            string_at: 0,
            scalar: !matches!(first, b'{' | b'[' | b'"'),
        }
    }

    /// Scans a buffer: how many bytes belong to the value, and whether it
    /// ended within them.
    fn scan(&mut self, buf: &[u8]) -> (usize, bool) {
        let (used, done) = self.scan_inner(buf);
        self.seen += used;
        (used, done)
    }

    fn scan_inner(&mut self, buf: &[u8]) -> (usize, bool) {
        if self.scalar {
            return match buf
                .iter()
                .position(|&b| matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace())
            {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
        }
        let mut i = 0;
        while i < buf.len() {
            if self.in_string {
                match self.string_end(&buf[i..]) {
                    Some(used) => i += used,
                    None => return (buf.len(), false),
                }
                if !self.in_string && self.depth == 0 {
                    return (i, true);
                }
                continue;
            }
            match buf[i] {
                b'"' => {
                    self.in_string = true;
                    self.string_at = self.seen + i;
                }
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        (buf.len(), false)
    }

    /// Inside a string: the bytes up to and including its closing quote,
    /// or `None` if it runs past `buf`. Jumps to the next `"` or `\` with
    /// memchr rather than looking at every byte: entries are mostly one
    /// long string (the request body), so this is where framing spends.
    fn string_end(&mut self, buf: &[u8]) -> Option<usize> {
        let mut i = 0;
        loop {
            if self.escaped {
                if i >= buf.len() {
                    return None;
                }
                self.escaped = false;
                i += 1;
            }
            let j = i + memchr::memchr2(b'"', b'\\', buf.get(i..)?)?;
            if buf[j] == b'"' {
                self.in_string = false;
                return Some(j + 1);
            }
            self.escaped = true;
            i = j + 1;
        }
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

    /// Hands out at most `step` bytes a read, then `fail` (if any), as a
    /// decoder does; so values straddle refills at every position.
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
        step: usize,
        fail: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.bytes.len() - self.at);
            if n == 0 && self.fail {
                return Err(io::Error::other("cut frame"));
            }
            out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn trickle(bytes: Vec<u8>, step: usize, fail: bool) -> Scanner {
        let at = 0;
        Scanner::new(Box::new(Trickle {
            bytes,
            at,
            step,
            fail,
        }))
    }

    /// Elements of a JSON array, one per line, with escapes at every
    /// distance from a refill, and one larger than the initial buffer.
    fn elements() -> Vec<String> {
        let big = "ab\\\"c".repeat(INITIAL_BUFFER / 3);
        let mut all: Vec<String> = (0..40)
            .map(|i| format!(r#"{{"n":{i},"s":"{}\\","t":[{{}}]}}"#, "x\\\"".repeat(i)))
            .collect();
        all.insert(20, format!(r#"{{"n":-1,"s":"{big}"}}"#));
        all
    }

    /// Reads `elements()` back with `parse_ahead` where it can and
    /// `value_bytes` where it cannot, as the archive reader does.
    fn read_back(step: usize, want: usize) -> Vec<String> {
        let all = elements();
        let mut s = trickle(all.join(",").into_bytes(), step, false);
        let mut got = Vec::new();
        for i in 0..all.len() {
            if i > 0 {
                s.expect(b',', "between").unwrap();
            }
            let before = s.offset();
            let text = match s.parse_ahead::<serde_json::Value>(want).unwrap() {
                Some((value, bytes)) => {
                    assert_eq!(
                        serde_json::from_slice::<serde_json::Value>(bytes).unwrap(),
                        value
                    );
                    String::from_utf8(bytes.to_vec()).unwrap()
                }
                None => String::from_utf8(s.value_bytes().unwrap().to_vec()).unwrap(),
            };
            assert_eq!(s.offset() - before, text.len() as u64);
            got.push(text);
        }
        assert!(matches!(s.peek(), Err(ScanError::End(None))));
        got
    }

    #[test]
    fn values_straddling_refills_read_back_whole() {
        for step in [1, 7, 4096, 300_000, usize::MAX] {
            for want in [0, 100, 2 * INITIAL_BUFFER] {
                assert_eq!(read_back(step, want), elements(), "step {step} want {want}");
            }
        }
    }

    #[test]
    fn a_read_error_met_reading_ahead_is_reported_where_framing_meets_it() {
        let mut s = trickle(br#"{"a":1} , {"b":"#.to_vec(), 3, true);
        let (value, _) = s
            .parse_ahead::<serde_json::Value>(1 << 20)
            .unwrap()
            .unwrap();
        assert_eq!(value, serde_json::json!({"a": 1}));
        s.expect(b',', "between").unwrap();
        assert!(s
            .parse_ahead::<serde_json::Value>(1 << 20)
            .unwrap()
            .is_none());
        assert_eq!(s.offset(), 10, "nothing of the cut value is consumed yet");
        match s.value_bytes() {
            Err(ScanError::End(Some(e))) => assert_eq!(e.to_string(), "cut frame"),
            other => panic!(
                "expected the deferred error, got {:?}",
                other.map(<[u8]>::len)
            ),
        }
        assert_eq!(s.offset(), 15);
    }
}

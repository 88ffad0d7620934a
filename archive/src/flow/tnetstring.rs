//! The tnetstring codec mitmproxy frames its flow files with
//! (`mitmproxy/io/tnetstring.py`).
//!
//! A value is `LENGTH:PAYLOAD` followed by one type character: `,` bytes,
//! `;` UTF-8 text, `#` integer, `^` float, `!` boolean, `~` null, `]` list,
//! `}` dict (alternating keys and values). Parsing never panics: lengths
//! are bounded (12 digits, as mitmproxy's own reader, and never past the
//! input), nesting is limited to [`MAX_DEPTH`], and every failure is a
//! [`ParseError`] naming the byte where it was found.
use std::fmt;

/// Deepest nesting accepted. A flow state nests about six deep (flow →
/// request → headers → pair → bytes, twice that inside `backup`).
pub const MAX_DEPTH: usize = 64;

/// Most digits in a length field (mitmproxy refuses more than 12 too).
const MAX_LENGTH_DIGITS: usize = 12;

/// One tnetstring value. Dicts keep their keys' order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `,`: raw bytes (mitmproxy's `bytes`).
    Bytes(Vec<u8>),
    /// `;`: UTF-8 text (mitmproxy's `str`).
    Str(String),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

/// Why a tnetstring could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input ends before the value does.
    Truncated,
    /// The length field is missing, not digits, or too long.
    BadLength,
    UnknownType(u8),
    BadInt,
    BadFloat,
    BadBool,
    BadNull,
    BadUtf8,
    /// A dict with a key but no value.
    OddDict,
    TooDeep,
}

/// A parse failure and the byte offset where it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a valid tnetstring at byte {offset}: {kind}")]
pub struct ParseError {
    pub offset: usize,
    pub kind: ErrorKind,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Truncated => f.write_str("the input ends inside a value (cut off?)"),
            ErrorKind::BadLength => {
                f.write_str("expected a length (up to 12 digits) followed by ':'")
            }
            ErrorKind::UnknownType(b) => write!(f, "unknown type character {:?}", char::from(*b)),
            ErrorKind::BadInt => f.write_str("invalid or out-of-range integer"),
            ErrorKind::BadFloat => f.write_str("invalid float"),
            ErrorKind::BadBool => f.write_str("a boolean must be `true` or `false`"),
            ErrorKind::BadNull => f.write_str("a null must be empty"),
            ErrorKind::BadUtf8 => f.write_str("a `;` string is not valid UTF-8"),
            ErrorKind::OddDict => f.write_str("a dict ends with a key that has no value"),
            ErrorKind::TooDeep => write!(f, "nested deeper than {MAX_DEPTH} levels"),
        }
    }
}

impl Value {
    /// A `;` string.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// A `,` byte string.
    pub fn bytes(b: impl Into<Vec<u8>>) -> Value {
        Value::Bytes(b.into())
    }

    /// A dict with `;` string keys, in the given order.
    pub fn dict(pairs: Vec<(&str, Value)>) -> Value {
        Value::Dict(pairs.into_iter().map(|(k, v)| (Value::str(k), v)).collect())
    }

    /// `Some(v)` as the value, `None` as null.
    pub fn opt<T: Into<Value>>(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }

    /// The value under this key, if this is a dict. Keys match as `;`
    /// strings or as `,` bytes (older mitmproxy wrote byte keys).
    pub fn get(&self, key: &str) -> Option<&Value> {
        let Value::Dict(pairs) = self else {
            return None;
        };
        pairs
            .iter()
            .find(|(k, _)| k.as_bytes() == Some(key.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Text: a `;` string, or `,` bytes that are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// Bytes: `,` bytes, or a `;` string's UTF-8.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            Value::Str(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// A number (floats and integers both).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// Parses exactly one value from the start of `input`; returns it and the
/// number of bytes it took (the rest may hold further values).
pub fn parse(input: &[u8]) -> Result<(Value, usize), ParseError> {
    parse_at(input, 0, 0)
}

/// Parses the value at `input[0..]`, which sits at `base` in the whole
/// input (for error offsets), `depth` levels down.
fn parse_at(input: &[u8], base: usize, depth: usize) -> Result<(Value, usize), ParseError> {
    let err = |at: usize, kind| ParseError {
        offset: base + at,
        kind,
    };
    if depth >= MAX_DEPTH {
        return Err(err(0, ErrorKind::TooDeep));
    }
    let (length, colon) = length_field(input).map_err(|(at, kind)| err(at, kind))?;
    let start = colon + 1;
    // `length` was bounded by the available bytes below, so no overflow.
    if input.len() - start <= length {
        return Err(err(input.len(), ErrorKind::Truncated));
    }
    let payload = &input[start..start + length];
    let tag = input[start + length];
    let value = payload_value(tag, payload, base + start, depth)?;
    Ok((value, start + length + 1))
}

/// Reads `DIGITS:`; returns the length and the colon's index.
fn length_field(input: &[u8]) -> Result<(usize, usize), (usize, ErrorKind)> {
    let digits = input.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == input.len() {
        return Err((input.len(), ErrorKind::Truncated));
    }
    if digits == 0 || digits > MAX_LENGTH_DIGITS || input[digits] != b':' {
        return Err((digits.min(MAX_LENGTH_DIGITS), ErrorKind::BadLength));
    }
    let mut length: usize = 0;
    for &d in &input[..digits] {
        length = length
            .checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(d - b'0')))
            .ok_or((0, ErrorKind::BadLength))?;
    }
    Ok((length, digits))
}

/// Builds the value of one payload that starts at `base`; scalar errors
/// point at the type character after it.
fn payload_value(tag: u8, payload: &[u8], base: usize, depth: usize) -> Result<Value, ParseError> {
    let scalar = |kind| ParseError {
        offset: base + payload.len(),
        kind,
    };
    let text = || std::str::from_utf8(payload).ok();
    Ok(match tag {
        b',' => Value::Bytes(payload.to_vec()),
        b';' => Value::Str(text().ok_or(scalar(ErrorKind::BadUtf8))?.to_owned()),
        b'#' => Value::Int(
            text()
                .and_then(|t| t.parse().ok())
                .ok_or(scalar(ErrorKind::BadInt))?,
        ),
        b'^' => Value::Float(
            text()
                .and_then(|t| t.parse().ok())
                .ok_or(scalar(ErrorKind::BadFloat))?,
        ),
        b'!' => match payload {
            b"true" => Value::Bool(true),
            b"false" => Value::Bool(false),
            _ => return Err(scalar(ErrorKind::BadBool)),
        },
        b'~' if payload.is_empty() => Value::Null,
        b'~' => return Err(scalar(ErrorKind::BadNull)),
        b']' => Value::List(items(payload, base, depth)?),
        b'}' => {
            let mut flat = items(payload, base, depth)?.into_iter();
            let mut pairs = Vec::new();
            while let Some(key) = flat.next() {
                let value = flat.next().ok_or(ParseError {
                    offset: base + payload.len(),
                    kind: ErrorKind::OddDict,
                })?;
                pairs.push((key, value));
            }
            Value::Dict(pairs)
        }
        other => return Err(scalar(ErrorKind::UnknownType(other))),
    })
}

/// The values packed one after another in a container's payload.
fn items(payload: &[u8], base: usize, depth: usize) -> Result<Vec<Value>, ParseError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        let (value, used) = parse_at(&payload[at..], base + at, depth + 1)?;
        out.push(value);
        at += used;
    }
    Ok(out)
}

/// Appends the value's tnetstring encoding to `out`.
pub fn dump(value: &Value, out: &mut Vec<u8>) {
    let (tag, len) = (tag(value), payload_len(value));
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b':');
    match value {
        Value::Null => {}
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(float_text(*f).as_bytes()),
        Value::Bytes(b) => out.extend_from_slice(b),
        Value::Str(s) => out.extend_from_slice(s.as_bytes()),
        Value::List(items) => items.iter().for_each(|v| dump(v, out)),
        Value::Dict(pairs) => pairs.iter().for_each(|(k, v)| {
            dump(k, out);
            dump(v, out);
        }),
    }
    out.push(tag);
}

/// [`dump`] into any writer: a flow holding a 200 MB body is written
/// through the writer's buffer, never whole in a second one.
pub fn dump_to(value: &Value, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    write!(out, "{}:", payload_len(value))?;
    match value {
        Value::Null => {}
        Value::Bool(b) => out.write_all(if *b { b"true" } else { b"false" })?,
        Value::Int(i) => write!(out, "{i}")?,
        Value::Float(f) => out.write_all(float_text(*f).as_bytes())?,
        Value::Bytes(b) => out.write_all(b)?,
        Value::Str(s) => out.write_all(s.as_bytes())?,
        Value::List(items) => {
            for v in items {
                dump_to(v, out)?;
            }
        }
        Value::Dict(pairs) => {
            for (k, v) in pairs {
                dump_to(k, out)?;
                dump_to(v, out)?;
            }
        }
    }
    out.write_all(&[tag(value)])
}

/// The value's encoding as a new buffer.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(value));
    dump(value, &mut out);
    out
}

/// Bytes the whole encoding takes.
pub fn encoded_len(value: &Value) -> usize {
    let len = payload_len(value);
    decimal_len(len) + len + 2
}

fn payload_len(value: &Value) -> usize {
    match value {
        Value::Null => 0,
        Value::Bool(b) => {
            if *b {
                4
            } else {
                5
            }
        }
        Value::Int(i) => decimal_len_i64(*i),
        Value::Float(f) => float_text(*f).len(),
        Value::Bytes(b) => b.len(),
        Value::Str(s) => s.len(),
        Value::List(items) => items.iter().map(encoded_len).sum(),
        Value::Dict(pairs) => pairs
            .iter()
            .map(|(k, v)| encoded_len(k) + encoded_len(v))
            .sum(),
    }
}

fn tag(value: &Value) -> u8 {
    match value {
        Value::Null => b'~',
        Value::Bool(_) => b'!',
        Value::Int(_) => b'#',
        Value::Float(_) => b'^',
        Value::Bytes(_) => b',',
        Value::Str(_) => b';',
        Value::List(_) => b']',
        Value::Dict(_) => b'}',
    }
}

/// Shortest text that reads back as the same float; Python's `float()`
/// reads all of Rust's forms (`1e16`, `inf`, `NaN`).
fn float_text(f: f64) -> String {
    format!("{f:?}")
}

fn decimal_len(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn decimal_len_i64(i: i64) -> usize {
    decimal_len(i.unsigned_abs() as usize) + usize::from(i < 0)
}

#[cfg(test)]
#[path = "tnetstring_tests.rs"]
mod tests;

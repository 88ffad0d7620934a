//! Bodies between the two models: a flow holds the bytes as they crossed
//! the wire (still `content-encoding`d), an entry holds the decoded body as
//! text, or base64 when it is not UTF-8 (FORMAT.md, "Bodies").
//!
//! Writing a flow, the decoded body is encoded again with the message's own
//! `content-encoding`, so the headers stay as recorded and mitmproxy
//! decodes the body as it would a captured one (its HAR import does the
//! same). Where that cannot be done (an unknown coding), the decoded body
//! is written and the `content-encoding` header dropped, so mitmproxy does
//! not try to decode it again. See MITMPROXY.md.
use crate::base64;
use crate::decode::decode_body;
use crate::model::Header;
use std::io::{self, Write};

/// A body as an entry holds it.
pub(crate) struct EntryBody {
    pub text: String,
    pub base64: bool,
    /// Why the wire bytes could not be decoded, if they could not.
    pub problem: Option<String>,
    pub decoded_len: usize,
}

/// Wire bytes → entry body: undo `content-encoding`, then text or base64.
/// Undecodable bytes are kept as they are, with the reason.
pub(crate) fn from_wire(encoding: Option<&str>, wire: &[u8]) -> EntryBody {
    let (decoded, problem) = match encoding.filter(|e| !is_identity(e)) {
        None => (wire.to_vec(), None),
        Some(coding) => match decode_body(coding, wire) {
            Ok(d) => (d, None),
            Err(e) => (wire.to_vec(), Some(e.to_string())),
        },
    };
    let decoded_len = decoded.len();
    match String::from_utf8(decoded) {
        Ok(text) => EntryBody {
            text,
            base64: false,
            problem,
            decoded_len,
        },
        Err(e) => EntryBody {
            text: base64::encode(e.as_bytes()),
            base64: true,
            problem,
            decoded_len,
        },
    }
}

/// An entry body's decoded bytes: base64 undone where the entry says so.
pub(crate) fn decoded_bytes(text: &str, base64: bool) -> Vec<u8> {
    if base64 {
        if let Some(bytes) = base64::decode(text) {
            return bytes;
        }
    }
    text.as_bytes().to_vec()
}

/// Decoded bytes → wire bytes for the headers' `content-encoding`. When the
/// coding cannot be applied, returns the decoded bytes and the headers
/// without `content-encoding`.
pub(crate) fn to_wire(headers: &[Header], decoded: Vec<u8>) -> (Vec<u8>, Vec<Header>) {
    let coding = crate::model::find_header(headers, "content-encoding");
    match coding.filter(|c| !is_identity(c)) {
        None => (decoded, headers.to_vec()),
        Some(coding) => match encode_body(coding, &decoded) {
            Ok(wire) => (wire, headers.to_vec()),
            Err(_) => (
                decoded,
                headers
                    .iter()
                    .filter(|h| !h.name.eq_ignore_ascii_case("content-encoding"))
                    .cloned()
                    .collect(),
            ),
        },
    }
}

fn is_identity(coding: &str) -> bool {
    coding
        .split(',')
        .map(str::trim)
        .all(|c| c.is_empty() || c.eq_ignore_ascii_case("identity"))
}

/// Applies a `content-encoding` list left to right (the inverse of
/// [`decode_body`]). Fast settings: this runs once per recorded body.
pub(crate) fn encode_body(encoding: &str, body: &[u8]) -> io::Result<Vec<u8>> {
    let mut data = body.to_vec();
    for coding in encoding.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        data = encode_one(&coding.to_ascii_lowercase(), &data)?;
    }
    Ok(data)
}

fn encode_one(coding: &str, body: &[u8]) -> io::Result<Vec<u8>> {
    let fast = flate2::Compression::fast();
    match coding {
        "identity" => Ok(body.to_vec()),
        "gzip" | "x-gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), fast);
            e.write_all(body)?;
            e.finish()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), fast);
            e.write_all(body)?;
            e.finish()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut e = brotli::CompressorWriter::new(&mut out, 8192, 1, 22);
                e.write_all(body)?;
            }
            Ok(out)
        }
        "zstd" => zstd::stream::encode_all(body, 1),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot encode content-encoding {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
            comment: None,
        }
    }

    #[test]
    fn every_coding_round_trips_through_the_decoder() {
        let body = b"{\"type\":\"message\",\"text\":\"hello hello hello\"}".repeat(20);
        for coding in ["gzip", "deflate", "br", "zstd", "identity", "gzip, br"] {
            let wire = encode_body(coding, &body).unwrap();
            assert_eq!(decode_body(coding, &wire).unwrap(), body, "{coding}");
            let entry = from_wire(Some(coding), &wire);
            assert_eq!((entry.text.as_bytes(), entry.base64), (&body[..], false));
        }
    }

    #[test]
    fn unknown_coding_drops_the_header_and_keeps_the_body() {
        let headers = vec![header("Content-Encoding", "snappy"), header("X-A", "1")];
        let (wire, kept) = to_wire(&headers, b"plain".to_vec());
        assert_eq!(wire, b"plain");
        assert_eq!(kept, vec![header("X-A", "1")]);
        let (wire, kept) = to_wire(&[header("Content-Encoding", "gzip")], b"x".to_vec());
        assert_eq!(kept.len(), 1);
        assert_eq!(decode_body("gzip", &wire).unwrap(), b"x");
    }

    #[test]
    fn binary_is_base64_and_undecodable_is_kept_with_a_reason() {
        let entry = from_wire(None, &[0xff, 0x00, 0x80]);
        assert!(entry.base64);
        assert_eq!(decoded_bytes(&entry.text, true), vec![0xff, 0x00, 0x80]);
        let entry = from_wire(Some("gzip"), b"not gzip");
        assert_eq!(entry.text, "not gzip");
        assert!(entry.problem.unwrap().contains("gzip"));
    }
}

//! Bodies between the two models: a flow holds the bytes as they crossed
//! the wire (still `content-encoding`d), an entry holds the decoded body as
//! text, or base64 when it is not UTF-8 (FORMAT.md, "Bodies"). Wire →
//! entry is `crate::wire`'s; this is the way back.
//!
//! Writing a flow, the decoded body is encoded again with the message's own
//! `content-encoding`, so the headers stay as recorded and mitmproxy
//! decodes the body as it would a captured one (its HAR import does the
//! same). Where that cannot be done (an unknown coding), the decoded body
//! is written and the `content-encoding` header dropped, so mitmproxy does
//! not try to decode it again. See MITMPROXY.md.
use crate::base64;
use crate::model::Header;
use crate::wire::is_identity;
use std::io::{self, Write};

/// [`decoded_bytes`] of a body taken out of its entry: its own buffer,
/// base64 decoded in place.
pub(crate) fn decoded_owned(text: String, base64: bool) -> Vec<u8> {
    if base64 && base64::is_valid(&text) {
        // Valid, so it decodes (into what it was).
        return base64::decode_in_place(text.into_bytes()).unwrap_or_default();
    }
    text.into_bytes()
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
    match coding.filter(|_| !is_identity(coding)) {
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

/// Applies a `content-encoding` list left to right (the inverse of
/// [`crate::decode::decode_body`]). Fast settings: this runs once per recorded body.
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
    use crate::decode::decode_body;
    use crate::wire::Body;

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
            let entry = Body::decode(Some(coding), wire);
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
        let entry = Body::decode(None, vec![0xff, 0x00, 0x80]);
        assert!(entry.base64);
        assert_eq!(decoded_bytes(&entry.text, true), vec![0xff, 0x00, 0x80]);
        let entry = Body::decode(Some("gzip"), b"not gzip".to_vec());
        assert_eq!(entry.text, "not gzip");
        assert!(entry.problem.unwrap().contains("gzip"));
    }
}

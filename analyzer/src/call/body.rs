//! Getting a body's bytes back: HAR stores text, or base64 with
//! `encoding: "base64"`; a body may also still carry its
//! `content-encoding` (other tools' HARs), which is undone here. Base64 is
//! the archive crate's codec (standard or URL-safe, padding optional).

use cctap_archive::decode::decode_body;
use std::borrow::Cow;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("body is marked base64 but is not valid base64")]
    Base64,
    #[error("body is not text and cannot be decoded as {encoding}: {why}")]
    Undecodable { encoding: String, why: String },
}

/// The response body as bytes: base64 undone, then `content-encoding`
/// undone when the bytes are still encoded. FORMAT.md stores bodies
/// decoded, so bytes that are already text are taken as they are.
pub fn response_bytes<'a>(
    text: &'a str,
    base64: bool,
    content_encoding: Option<&str>,
) -> Result<Cow<'a, [u8]>, BodyError> {
    let raw = if base64 {
        cctap_archive::base64::decode(text).ok_or(BodyError::Base64)?
    } else {
        return Ok(Cow::Borrowed(text.as_bytes()));
    };
    let Some(encoding) = content_encoding_of(content_encoding) else {
        return Ok(Cow::Owned(raw));
    };
    if looks_like_text(&raw) && !has_compression_magic(&raw) {
        return Ok(Cow::Owned(raw));
    }
    decode_body(encoding, &raw)
        .map(Cow::Owned)
        .map_err(|e| BodyError::Undecodable {
            encoding: encoding.to_owned(),
            why: e.to_string(),
        })
}

/// Whether a base64 body may hold a reply (JSON, or an SSE stream), by
/// its first bytes; when not, it is only checked, never decoded whole:
/// a 200 MB download is not held twice to find it is not JSON. Still
/// `Err` for what [`response_bytes`] refuses as not base64. A body under
/// a `content-encoding`, or said to be a stream, is always worth decoding.
pub fn may_hold_reply(
    text: &str,
    content_encoding: Option<&str>,
    event_stream: bool,
) -> Result<bool, BodyError> {
    if event_stream || content_encoding_of(content_encoding).is_some() {
        return Ok(true);
    }
    let start = cctap_archive::base64::decode_prefix(text, 64).ok_or(BodyError::Base64)?;
    let first = start.iter().find(|b| !b.is_ascii_whitespace());
    // What a JSON value starts with, and `event:` / `data:` of a stream.
    let may = first.is_none_or(|b| b"{[\"-0123456789tfned".contains(b));
    if !may && !cctap_archive::base64::is_valid(text) {
        return Err(BodyError::Base64);
    }
    Ok(may)
}

/// A `content-encoding` that names a coding (not empty, not `identity`).
fn content_encoding_of(header: Option<&str>) -> Option<&str> {
    match header.map(str::trim) {
        None | Some("") => None,
        Some(e) if e.eq_ignore_ascii_case("identity") => None,
        Some(e) => Some(e),
    }
}

fn has_compression_magic(b: &[u8]) -> bool {
    b.starts_with(&[0x1f, 0x8b]) || b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
}

fn looks_like_text(b: &[u8]) -> bool {
    std::str::from_utf8(b).is_ok_and(|s| !s.contains('\0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_bodies_are_decoded_padded_or_not() {
        assert_eq!(*response_bytes("aGk=", true, None).unwrap(), *b"hi");
        let got = response_bytes("aGVsbG8gd29ybGQ", true, None).unwrap();
        assert_eq!(*got, *b"hello world");
        assert_eq!(*response_bytes("", true, None).unwrap(), *b"");
    }

    #[test]
    fn text_is_taken_as_is_even_when_the_header_says_gzip() {
        // FORMAT.md: content.text is stored decoded; the header stays.
        let got = response_bytes("{\"a\":1}", false, Some("gzip")).unwrap();
        assert_eq!(*got, *b"{\"a\":1}");
        assert!(matches!(got, Cow::Borrowed(_)), "text is not copied");
        let got = response_bytes("eyJhIjoxfQ==", true, None).unwrap();
        assert_eq!(*got, *b"{\"a\":1}");
    }

    #[test]
    fn bad_base64_is_an_error() {
        for bad in ["!!", "a*b"] {
            assert!(matches!(
                response_bytes(bad, true, None),
                Err(BodyError::Base64)
            ));
        }
    }

    #[test]
    fn binary_base64_is_not_decoded_to_look_for_a_reply() {
        let enc = cctap_archive::base64::encode;
        assert!(may_hold_reply(&enc(b" {\"a\":1}"), None, false).unwrap());
        assert!(may_hold_reply(&enc(b"event: x\ndata: {}\n\n"), None, false).unwrap());
        assert!(may_hold_reply("", None, false).unwrap());
        let png = enc(b"\x89PNG\r\n\x1a\n and the rest of an image");
        assert!(!may_hold_reply(&png, None, false).unwrap());
        assert!(may_hold_reply(&png, Some("gzip"), false).unwrap());
        assert!(may_hold_reply(&png, None, true).unwrap());
        assert!(may_hold_reply(&png, Some(" identity "), false).is_ok_and(|m| !m));
        // Not base64 is still an error, early or late in the body.
        for bad in ["!!", &format!("{png}!")] {
            assert!(matches!(
                may_hold_reply(bad, None, false),
                Err(BodyError::Base64)
            ));
        }
    }
}

//! Getting a body's bytes back: HAR stores text, or base64 with
//! `encoding: "base64"`; a body may also still carry its
//! `content-encoding` (other tools' HARs), which is undone here. Base64 is
//! the archive crate's codec (standard or URL-safe, padding optional).

use cctap_archive::decode::decode_body;

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
pub fn response_bytes(
    text: &str,
    base64: bool,
    content_encoding: Option<&str>,
) -> Result<Vec<u8>, BodyError> {
    let raw = if base64 {
        cctap_archive::base64::decode(text).ok_or(BodyError::Base64)?
    } else {
        text.as_bytes().to_vec()
    };
    let encoding = match content_encoding.map(str::trim) {
        None | Some("") => return Ok(raw),
        Some(e) if e.eq_ignore_ascii_case("identity") => return Ok(raw),
        Some(e) => e,
    };
    if !base64 || looks_like_text(&raw) && !has_compression_magic(&raw) {
        return Ok(raw);
    }
    decode_body(encoding, &raw).map_err(|e| BodyError::Undecodable {
        encoding: encoding.to_owned(),
        why: e.to_string(),
    })
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
        assert_eq!(response_bytes("aGk=", true, None).unwrap(), b"hi");
        let got = response_bytes("aGVsbG8gd29ybGQ", true, None).unwrap();
        assert_eq!(got, b"hello world");
        assert_eq!(response_bytes("", true, None).unwrap(), b"");
    }

    #[test]
    fn text_is_taken_as_is_even_when_the_header_says_gzip() {
        // FORMAT.md: content.text is stored decoded; the header stays.
        let got = response_bytes("{\"a\":1}", false, Some("gzip")).unwrap();
        assert_eq!(got, b"{\"a\":1}");
        let got = response_bytes("eyJhIjoxfQ==", true, None).unwrap();
        assert_eq!(got, b"{\"a\":1}");
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
}

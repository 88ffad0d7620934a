//! Bodies for the archive: `content-encoding` undone, UTF-8 as text,
//! anything else as base64. Runs once per exchange, off the forwarding path.

use cctap_archive::decode::decode_body;

/// Whether a `content-encoding` leaves the bytes as they are.
pub fn is_identity(encoding: Option<&str>) -> bool {
    encoding.is_none_or(|e| e.trim().is_empty() || e.trim().eq_ignore_ascii_case("identity"))
}

/// A body ready for the archive.
pub struct Body {
    pub text: String,
    pub base64: bool,
    pub decoded_len: usize,
    /// Why the body is kept as sent (it could not be decoded).
    pub problem: Option<String>,
}

impl Body {
    /// Decodes `wire` (joined once by the caller; no further copy unless
    /// it must be decoded or base64-encoded).
    pub fn decode(encoding: Option<&str>, wire: Vec<u8>) -> Body {
        let (bytes, problem) = if is_identity(encoding) {
            (wire, None)
        } else {
            match decode_body(encoding.unwrap_or(""), &wire) {
                Ok(decoded) => (decoded, None),
                Err(e) => (wire, Some(format!("{e}; body kept as sent"))),
            }
        };
        let decoded_len = bytes.len();
        match String::from_utf8(bytes) {
            Ok(text) => Body {
                text,
                base64: false,
                decoded_len,
                problem,
            },
            Err(e) => Body {
                text: cctap_archive::base64::encode(e.as_bytes()),
                base64: true,
                decoded_len,
                problem,
            },
        }
    }
}

//! Undoing `content-encoding`, so the archive holds bodies as the
//! application saw them (FORMAT.md, "Bodies").
//!
//! A list such as `gzip, br` was applied left to right, so it is undone right
//! to left. `deflate` is meant to be zlib-wrapped (RFC 9110) but some servers
//! send raw deflate; both are accepted.
use std::io::{self, Read};

#[derive(Debug, thiserror::Error)]
#[error("cannot decode {encoding} body: {source}")]
pub struct DecodeError {
    pub encoding: String,
    pub source: std::io::Error,
}

/// Decodes a body by its `content-encoding` (gzip, x-gzip, deflate, br,
/// zstd, identity; a comma list is undone right to left). Unknown encodings
/// are an error.
pub fn decode_body(encoding: &str, body: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut data = body.to_vec();
    for coding in encoding.split(',').map(str::trim).rev() {
        if coding.is_empty() {
            continue;
        }
        data = decode_one(coding, &data).map_err(|source| DecodeError {
            encoding: coding.to_owned(),
            source,
        })?;
    }
    Ok(data)
}

/// Undoes one coding.
fn decode_one(coding: &str, body: &[u8]) -> io::Result<Vec<u8>> {
    let coding = coding.to_ascii_lowercase();
    if body.is_empty() {
        // HEAD answers and 204s may name an encoding yet carry no bytes.
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(body.len() * 4);
    match coding.as_str() {
        "identity" => out.extend_from_slice(body),
        "gzip" | "x-gzip" => {
            flate2::read::MultiGzDecoder::new(body).read_to_end(&mut out)?;
        }
        "deflate" => {
            if flate2::read::ZlibDecoder::new(body)
                .read_to_end(&mut out)
                .is_err()
            {
                out.clear();
                flate2::read::DeflateDecoder::new(body).read_to_end(&mut out)?;
            }
        }
        "br" => {
            brotli::Decompressor::new(body, 8192).read_to_end(&mut out)?;
        }
        "zstd" => {
            let mut decoder = zstd::stream::read::Decoder::new(body)?;
            // HTTP zstd is limited to an 8 MiB window, but be generous.
            decoder.window_log_max(31)?;
            decoder.read_to_end(&mut out)?;
        }
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unknown content-encoding {other:?} (known: gzip, deflate, br, zstd, identity)"
                ),
            ))
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const BODY: &[u8] = b"{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"Hello, hello, hello!\"}]}";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        zstd::encode_all(data, 3).unwrap()
    }

    #[test]
    fn each_encoding_round_trips() {
        let cases: [(&str, Vec<u8>); 7] = [
            ("gzip", gzip(BODY)),
            ("x-gzip", gzip(BODY)),
            ("deflate", zlib(BODY)),
            ("deflate", raw_deflate(BODY)),
            ("br", brotli(BODY)),
            ("zstd", zstd(BODY)),
            ("identity", BODY.to_vec()),
        ];
        for (encoding, wire) in cases {
            assert_eq!(decode_body(encoding, &wire).unwrap(), BODY, "{encoding}");
        }
        assert_eq!(
            decode_body("GZIP", &gzip(BODY)).unwrap(),
            BODY,
            "case-insensitive"
        );
        assert_eq!(decode_body("", BODY).unwrap(), BODY);
    }

    #[test]
    fn a_list_is_undone_right_to_left() {
        let wire = zstd(&brotli(&gzip(BODY)));
        assert_eq!(decode_body("gzip, br,zstd", &wire).unwrap(), BODY);
        assert!(decode_body("zstd, br, gzip", &wire).is_err());
    }

    #[test]
    fn unknown_encoding_is_an_error_naming_it() {
        let err = decode_body("gzip, compress", &gzip(BODY)).unwrap_err();
        assert_eq!(err.encoding, "compress");
        assert!(err.to_string().contains("compress"), "{err}");
    }

    #[test]
    fn corrupt_body_is_an_error() {
        let mut wire = gzip(BODY);
        wire.truncate(wire.len() / 2);
        assert!(decode_body("gzip", &wire).is_err());
        assert!(decode_body("zstd", b"not zstd at all").is_err());
        assert!(decode_body("br", b"\xff\xff\xff not brotli").is_err());
    }

    #[test]
    fn empty_body_decodes_to_empty() {
        for encoding in ["gzip", "deflate", "br", "zstd", "identity"] {
            assert!(decode_body(encoding, b"").unwrap().is_empty(), "{encoding}");
        }
    }
}

//! Undoing `content-encoding`, so the archive holds bodies as the
//! application saw them (FORMAT.md, "Bodies").
//!
//! A list such as `gzip, br` was applied left to right, so it is undone right
//! to left. `deflate` is meant to be zlib-wrapped (RFC 9110) but some servers
//! send raw deflate; both are accepted.
//!
//! Decoding is bounded ([`decoded_limit`]): a decompression bomb stops at
//! the limit with [`DecodeError::over_limit`] set, and the caller keeps the
//! wire bytes instead. [`decoder`] decodes as a stream, so a body held in a
//! file is never held whole in memory.
use std::io::{self, BufRead, BufReader, Read};

/// Decoded bodies never pass this size (FORMAT.md, "Bodies").
pub const MAX_DECODED: u64 = 256 << 20;
/// Nor this many times their wire size…
pub const MAX_RATIO: u64 = 100;
/// …except that a small body may always decode to this much, so that a
/// few bytes of well-compressed JSON are never refused.
pub const MIN_LIMIT: u64 = 1 << 20;

/// The most a body of `wire_len` bytes may decode to:
/// `100 × wire_len`, at least 1 MiB, at most 256 MiB.
pub fn decoded_limit(wire_len: u64) -> u64 {
    wire_len
        .saturating_mul(MAX_RATIO)
        .clamp(MIN_LIMIT, MAX_DECODED)
}

#[derive(Debug, thiserror::Error)]
#[error("cannot decode {encoding} body: {source}")]
pub struct DecodeError {
    pub encoding: String,
    pub source: std::io::Error,
    /// The body decodes to more than the limit (a decompression bomb, or
    /// just a huge body): not corrupt, only not worth holding.
    pub over_limit: bool,
}

/// Decodes a body by its `content-encoding` (gzip, x-gzip, deflate, br,
/// zstd, identity; a comma list is undone right to left), bounded by
/// [`decoded_limit`] of its size. Unknown encodings are an error.
pub fn decode_body(encoding: &str, body: &[u8]) -> Result<Vec<u8>, DecodeError> {
    decode_bounded(encoding, body, decoded_limit(body.len() as u64))
}

/// [`decode_body`] with an explicit limit on the decoded size.
pub fn decode_bounded(encoding: &str, body: &[u8], limit: u64) -> Result<Vec<u8>, DecodeError> {
    if body.is_empty() {
        // HEAD answers and 204s may name an encoding yet carry no bytes.
        check_codings(encoding)?;
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut reader = decoder(encoding, body, limit)?;
    reader.read_to_end(&mut out).map_err(|e| reader.error(e))?;
    Ok(out)
}

/// A stream of the decoded body, bounded by `limit` bytes: reading past
/// the limit fails with an `over_limit` error (via [`Decoded::error`]).
pub fn decoder<'a, R: Read + 'a>(
    encoding: &str,
    wire: R,
    limit: u64,
) -> Result<Decoded<'a>, DecodeError> {
    let mut reader: Box<dyn Read + 'a> = Box::new(wire);
    let mut codings = Vec::new();
    for coding in encoding.split(',').map(str::trim).rev() {
        if coding.is_empty() {
            continue;
        }
        let coding = coding.to_ascii_lowercase();
        reader = decode_one(&coding, reader).map_err(|source| DecodeError {
            encoding: coding.clone(),
            source,
            over_limit: false,
        })?;
        codings.push(coding);
    }
    Ok(Decoded {
        inner: reader,
        codings: codings.join(", "),
        left: limit,
        limit,
        over: false,
    })
}

/// A decoding stream; see [`decoder`].
pub struct Decoded<'a> {
    inner: Box<dyn Read + 'a>,
    codings: String,
    left: u64,
    limit: u64,
    over: bool,
}

impl Decoded<'_> {
    /// Turns an error from [`Read::read`] into a [`DecodeError`] naming
    /// the encoding, and whether the limit was the reason.
    pub fn error(&self, source: io::Error) -> DecodeError {
        DecodeError {
            encoding: self.codings.clone(),
            source,
            over_limit: self.over,
        }
    }
}

impl Read for Decoded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // One byte more than the limit means too big; none means the end.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.over = true;
            return Err(io::Error::other(format!(
                "it decodes to more than {} bytes (the limit: {}× its wire size, at least {} MiB, at most {} MiB)",
                self.limit,
                MAX_RATIO,
                MIN_LIMIT >> 20,
                MAX_DECODED >> 20
            )));
        }
        let room = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Fails on an unknown coding in the list, as decoding would.
fn check_codings(encoding: &str) -> Result<(), DecodeError> {
    decoder(encoding, io::empty(), 0).map(drop)
}

/// Wraps `input` in the decoder of one coding (already lower case).
fn decode_one<'a>(coding: &str, input: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match coding {
        "identity" => input,
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(input)),
        "deflate" => {
            let mut input = BufReader::new(input);
            if is_zlib(input.fill_buf()?) {
                Box::new(flate2::bufread::ZlibDecoder::new(input))
            } else {
                Box::new(flate2::bufread::DeflateDecoder::new(input))
            }
        }
        "br" => Box::new(brotli::Decompressor::new(input, 8192)),
        "zstd" => {
            let mut decoder = zstd::stream::read::Decoder::new(input)?;
            // HTTP zstd is limited to an 8 MiB window; 2^27 (128 MiB) is
            // zstd's own default ceiling and bounds the decoder's memory.
            decoder.window_log_max(27)?;
            Box::new(decoder)
        }
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unknown content-encoding {other:?} (known: gzip, deflate, br, zstd, identity)"
                ),
            ))
        }
    })
}

/// A zlib header (RFC 1950): deflate method, and a check that makes the
/// first two bytes a multiple of 31. Raw deflate rarely looks like one.
fn is_zlib(head: &[u8]) -> bool {
    match head {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
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

    #[test]
    fn a_bomb_stops_at_the_limit_and_says_so() {
        let zeros = vec![0u8; 8 << 20];
        for (encoding, wire) in [
            ("gzip", gzip(&zeros)),
            ("zstd", zstd(&zeros)),
            ("br", brotli(&zeros)),
        ] {
            assert!(
                (wire.len() as u64) * MAX_RATIO < 8 << 20,
                "{encoding} is a bomb"
            );
            let err = decode_body(encoding, &wire).unwrap_err();
            assert!(err.over_limit, "{encoding}: {err}");
            assert!(err.to_string().contains("more than 1048576 bytes"), "{err}");
            // Given room, the same body decodes.
            assert_eq!(
                decode_bounded(encoding, &wire, 8 << 20).unwrap().len(),
                8 << 20
            );
        }
    }

    #[test]
    fn the_limit_is_exact() {
        let wire = gzip(&[7u8; 1000]);
        assert_eq!(decode_bounded("gzip", &wire, 1000).unwrap().len(), 1000);
        let err = decode_bounded("gzip", &wire, 999).unwrap_err();
        assert!(err.over_limit && err.encoding == "gzip", "{err}");
        assert!(!decode_body("gzip", &wire[..10]).unwrap_err().over_limit);
    }

    #[test]
    fn the_limit_follows_the_wire_size() {
        assert_eq!(decoded_limit(0), MIN_LIMIT);
        assert_eq!(decoded_limit(1 << 20), 100 << 20);
        assert_eq!(decoded_limit(10 << 20), MAX_DECODED);
        assert_eq!(decoded_limit(u64::MAX), MAX_DECODED);
    }

    #[test]
    fn a_stream_decodes_in_pieces_from_any_reader() {
        let wire = zstd(&gzip(BODY));
        let mut reader = decoder("gzip, zstd", std::io::Cursor::new(wire), 1 << 20).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, BODY);
    }
}

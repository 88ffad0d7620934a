//! The `content-encoding`s the fake can answer with: the four Claude Code
//! 2.1.x accepts (`gzip, deflate, br, zstd`). Encoding is deterministic, so
//! a test can encode the expected body itself and compare wire bytes.

use std::io::Write;

/// A `content-encoding` the fake applies to JSON answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    /// HTTP's `deflate`: zlib-wrapped (RFC 1950), as servers send it.
    Deflate,
    Br,
    Zstd,
}

impl Encoding {
    /// Every encoding, for tests that try them all.
    pub const ALL: [Encoding; 4] = [
        Encoding::Gzip,
        Encoding::Deflate,
        Encoding::Br,
        Encoding::Zstd,
    ];

    /// From its `content-encoding` token.
    pub fn parse(name: &str) -> Option<Encoding> {
        match name {
            "gzip" => Some(Encoding::Gzip),
            "deflate" => Some(Encoding::Deflate),
            "br" => Some(Encoding::Br),
            "zstd" => Some(Encoding::Zstd),
            _ => None,
        }
    }

    /// Its `content-encoding` token.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Br => "br",
            Encoding::Zstd => "zstd",
        }
    }

    /// The body encoded; writing to memory cannot fail, so errors give an
    /// empty body (which any test comparing bytes then reports).
    pub fn encode(self, body: &[u8]) -> Vec<u8> {
        let encoded = match self {
            Encoding::Gzip => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(body).and_then(|()| e.finish())
            }
            Encoding::Deflate => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(body).and_then(|()| e.finish())
            }
            Encoding::Br => {
                let mut out = Vec::new();
                let written = {
                    let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                    e.write_all(body).and_then(|()| e.flush())
                };
                written.map(|()| out)
            }
            Encoding::Zstd => zstd::encode_all(body, 3),
        };
        encoded.unwrap_or_default()
    }
}

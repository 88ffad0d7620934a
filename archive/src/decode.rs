//! Undoing `content-encoding`. (API fixed; bodies to be implemented.)

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
    todo!("{encoding}{}", body.len())
}

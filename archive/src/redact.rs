//! Credential patterns and redaction. (API fixed; bodies to be implemented.)
use crate::model::Entry;

/// One credential found in a text.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The family: `sk-ant-api03`, `sk-ant-oat01`, `aws-access-key`, …
    pub kind: &'static str,
    /// Byte range of the secret in the searched text.
    pub start: usize,
    pub end: usize,
}

/// First 12 hex digits of SHA-256 of the secret.
pub fn fingerprint(secret: &str) -> String {
    todo!("{secret}")
}

/// `redacted:<kind>:<fp>`.
pub fn marker(kind: &str, secret: &str) -> String {
    todo!("{kind}{secret}")
}

/// Whether a value is a redaction marker (optionally after an auth scheme).
pub fn is_marker(value: &str) -> bool {
    todo!("{value}")
}

/// Headers that are always redacted (ARCHIVE.md's list and suffixes).
pub fn is_sensitive_header(name: &str) -> bool {
    todo!("{name}")
}

/// Every credential-pattern match in a text.
pub fn find_secrets(text: &str) -> Vec<Found> {
    todo!("{text}")
}

/// A header value with its secret replaced by a marker, keeping the scheme;
/// `None` when nothing needed to change.
pub fn redact_header(name: &str, value: &str) -> Option<String> {
    todo!("{name}{value}")
}

/// A text with every credential-pattern match replaced; `None` if unchanged.
pub fn redact_text(text: &str) -> Option<String> {
    todo!("{text}")
}

/// Redacts a whole entry in place and records each changed place in
/// `entry.redacted`.
pub fn redact_entry(entry: &mut Entry) {
    let _ = entry;
    todo!()
}

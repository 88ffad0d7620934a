//! Credential redaction (FORMAT.md, "Redaction").
//!
//! A secret is replaced by `redacted:<kind>:<fp>`, where `<fp>` is the first
//! 12 hex digits of its SHA-256: two archives can be seen to share a key
//! without holding it. Sensitive headers are always redacted, keeping the
//! auth scheme and cookie names; so are credential-named query parameters
//! and form fields ([`params`]); everywhere else, values matching a
//! credential pattern ([`patterns`]) are, in the text a reader recovers
//! ([`view`]: percent- and JSON-decoded; [`body`]: base64 and compressed
//! bodies, multipart; [`stream`]: SSE pieces joined, and bodies redacted
//! piece by piece as they are written), each mapped back to
//! exactly the stored bytes that spell it ([`scan`]). Redacting twice
//! changes nothing.
//!
//! One scanner serves `record`, `analyze redact` ([`redact_entry`],
//! [`redact_log_head`]) and `analyze leaks` ([`scan_entry`],
//! [`scan_log_head`]): what `leaks` finds, `redact` removes.
use crate::model::Entry;
use sha2::{Digest, Sha256};

mod body;
mod entry;
mod head;
mod params;
mod patterns;
mod scan;
mod seen;
mod stream;
mod view;

pub use params::is_credential_name;
pub use patterns::EXAMPLES;
pub use scan::{excerpt, Finding};
pub use stream::StreamRedactor;

/// A credential a header rule took whole: its kind, value and, for a
/// cookie, the cookie's name.
pub(crate) struct Secret {
    pub kind: String,
    pub value: String,
    pub cookie: Option<String>,
}

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
    let digest = Sha256::digest(secret.as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// `redacted:<kind>:<fp>`.
pub fn marker(kind: &str, secret: &str) -> String {
    format!("redacted:{kind}:{}", fingerprint(secret))
}

/// Whether a value is a redaction marker (optionally after an auth scheme).
pub fn is_marker(value: &str) -> bool {
    let value = value.trim();
    let value = match value.split_once(' ') {
        Some((scheme, rest)) if is_token(scheme) => rest.trim(),
        _ => value,
    };
    let Some(rest) = value.strip_prefix("redacted:") else {
        return false;
    };
    let Some((kind, fp)) = rest.rsplit_once(':') else {
        return false;
    };
    !kind.is_empty()
        && kind
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && fp.len() == 12
        && fp
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An auth scheme or similar token: letters, digits and `-`.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Headers that are always redacted (FORMAT.md's list and suffixes).
pub fn is_sensitive_header(name: &str) -> bool {
    const ALWAYS: &[&str] = &[
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
    ];
    let name = name.trim().as_bytes();
    // Handshake nonces, not secrets.
    if name.eq_ignore_ascii_case(b"sec-websocket-key") {
        return false;
    }
    let ends_with = |suffix: &str| {
        name.len() >= suffix.len()
            && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    ALWAYS
        .iter()
        .any(|a| name.eq_ignore_ascii_case(a.as_bytes()))
        || ["-token", "-key", "-secret"].into_iter().any(ends_with)
}

/// Every credential-pattern match in a text.
pub fn find_secrets(text: &str) -> Vec<Found> {
    patterns::scan(text)
        .into_iter()
        .map(|hit| Found {
            kind: hit.kind,
            start: hit.start,
            end: hit.end,
        })
        .collect()
}

/// A header value with its secret replaced by a marker, keeping the scheme;
/// `None` when nothing needed to change.
pub fn redact_header(name: &str, value: &str) -> Option<String> {
    let mut secrets = Vec::new();
    let sensitive = sensitive_value(name, value, &mut secrets);
    let current = sensitive.as_deref().unwrap_or(value);
    redact_text(current).or(sensitive)
}

/// A sensitive header's value with its credentials replaced (each noted in
/// `secrets`); `None` if the header is not sensitive or holds only markers.
pub(crate) fn sensitive_value(
    name: &str,
    value: &str,
    secrets: &mut Vec<Secret>,
) -> Option<String> {
    if !is_sensitive_header(name) {
        return None;
    }
    let name = name.trim().to_ascii_lowercase();
    match name.as_str() {
        "cookie" => redact_cookie_values(value, usize::MAX, secrets),
        "set-cookie" => redact_cookie_values(value, 1, secrets),
        "authorization" | "proxy-authorization" => redact_credential(value, true, secrets),
        _ => redact_credential(value, false, secrets),
    }
}

/// A whole header value as one secret, after its auth scheme if `scheme`.
fn redact_credential(value: &str, scheme: bool, secrets: &mut Vec<Secret>) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || is_marker(trimmed) {
        return None;
    }
    if scheme {
        if let Some((name, cred)) = trimmed.split_once(' ') {
            let cred = cred.trim();
            if is_token(name) && !cred.is_empty() {
                let fallback = match name.to_ascii_lowercase().as_str() {
                    "bearer" => "bearer",
                    "basic" => "basic",
                    _ => "secret",
                };
                let m = credential_marker(cred, fallback);
                secrets.push(Secret::of_marker(&m, cred));
                return Some(format!("{name} {m}"));
            }
        }
    }
    let m = credential_marker(trimmed, "secret");
    secrets.push(Secret::of_marker(&m, trimmed));
    Some(m)
}

impl Secret {
    /// The secret behind `marker` (whose kind it takes).
    fn of_marker(marker: &str, value: &str) -> Secret {
        let kind = marker
            .strip_prefix("redacted:")
            .and_then(|r| r.rsplit_once(':'))
            .map_or("secret", |(k, _)| k);
        Secret {
            kind: kind.to_owned(),
            value: value.to_owned(),
            cookie: None,
        }
    }
}

/// How many credentials [`credential_marker`] remembers per thread.
const REMEMBERED: usize = 8;

thread_local! {
    /// (fallback kind, credential, marker), newest last.
    static MARKERS: std::cell::RefCell<Vec<(&'static str, String, String)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The marker of a header that is one credential, its kind named when
/// known, else `fallback`. Remembered: a client sends the same key with
/// every request, and naming its family (a regex pass) and hashing it cost
/// more than all the rest of an exchange's redaction.
fn credential_marker(cred: &str, fallback: &'static str) -> String {
    let known = MARKERS.with_borrow(|seen| {
        seen.iter()
            .find(|(f, c, _)| *f == fallback && c == cred)
            .map(|(_, _, m)| m.clone())
    });
    if let Some(marker) = known {
        return marker;
    }
    let made = marker(whole_kind(cred).unwrap_or(fallback), cred);
    MARKERS.with_borrow_mut(|seen| {
        if seen.len() == REMEMBERED {
            seen.remove(0);
        }
        seen.push((fallback, cred.to_owned(), made.clone()));
    });
    made
}

/// The family of a value that is exactly one known credential.
fn whole_kind(value: &str) -> Option<&'static str> {
    let found = find_secrets(value);
    match found.as_slice() {
        [one] if one.start == 0 && one.end == value.len() => Some(one.kind),
        _ => None,
    }
}

/// Redacts the values of the first `limit` `name=value` pairs of a cookie
/// header (all of them in `cookie`, the first in `set-cookie`, whose other
/// pairs are attributes), keeping names and attributes.
fn redact_cookie_values(value: &str, limit: usize, secrets: &mut Vec<Secret>) -> Option<String> {
    let mut changed = false;
    let parts: Vec<String> = value
        .split(';')
        .enumerate()
        .map(|(i, part)| {
            if i >= limit {
                return part.to_owned();
            }
            let (name, val) = match part.split_once('=') {
                Some((name, val)) => (Some(name), val),
                None => (None, part),
            };
            let secret = val.trim();
            if secret.is_empty() || is_marker(secret) {
                return part.to_owned();
            }
            changed = true;
            let redacted = marker("cookie", secret);
            // Reported by its family when it has one; the marker says cookie.
            secrets.push(Secret {
                kind: whole_kind(secret).unwrap_or("cookie").to_owned(),
                value: secret.to_owned(),
                cookie: name.map(|n| n.trim().to_owned()),
            });
            match name {
                Some(name) => format!("{name}={redacted}"),
                None => format!(
                    "{}{redacted}",
                    &part[..part.len() - part.trim_start().len()]
                ),
            }
        })
        .collect();
    changed.then(|| parts.join(";"))
}

/// Whether a header, in an archive written by anyone, still holds what
/// redaction would change: a sensitive header whose value is not all
/// markers (each cookie value counts), or a credential pattern in any other
/// header. What `analyze leaks` calls a leak.
pub fn header_leaks(name: &str, value: &str) -> bool {
    redact_header(name, value).is_some()
}

/// A text with every credential it spells replaced (as stored,
/// percent-decoded, JSON-unescaped); `None` if unchanged.
pub fn redact_text(text: &str) -> Option<String> {
    let mut hits = Vec::new();
    scan::scan_text(text, &mut hits);
    scan::Report::default().edits("", &hits).apply(text)
}

/// The `log` object's other fields (`pages` titles hold URLs, `comment`,
/// custom `_fields`): every string by the rules of its kind (a URL's
/// credential-named query parameters too), see [`head`]. Returns how many
/// strings changed.
pub fn redact_log_head(head: &mut crate::model::LogHead) -> usize {
    let mut report = scan::Report::default();
    head::redact(head, &mut report);
    report.places.len()
}

/// Redacts the `log` object's other fields like [`redact_log_head`] and
/// says what it found, each under its JSON path (`log.pages[0].title`).
/// What `analyze leaks` reports for the log.
pub fn scan_log_head(head: &mut crate::model::LogHead) -> Vec<Finding> {
    let mut report = scan::Report {
        findings: Some(Vec::new()),
        ..Default::default()
    };
    head::redact(head, &mut report);
    report.findings.unwrap_or_default()
}

/// Like [`redact_text`] for bytes that may not all be UTF-8 (a binary body):
/// credentials are ASCII, so non-ASCII bytes only separate them.
pub fn redact_bytes(data: &[u8]) -> Option<Vec<u8>> {
    let text: String = data
        .iter()
        .map(|&b| if b.is_ascii() { char::from(b) } else { '\0' })
        .collect();
    let mut hits = Vec::new();
    scan::scan_text(&text, &mut hits);
    scan::Report::default().edits("", &hits).apply_bytes(data)
}

/// Redacts a whole entry in place and records each changed place in
/// `entry.redacted`.
pub fn redact_entry(entry: &mut Entry) {
    let mut report = scan::Report::default();
    entry::redact(entry, &mut report);
    note(entry, report.places);
}

/// Redacts a whole entry like [`redact_entry`] and says what it found: one
/// finding per secret (documented examples too, left in place), never the
/// secret itself. What `analyze leaks` reports.
pub fn scan_entry(entry: &mut Entry) -> Vec<Finding> {
    let mut report = scan::Report {
        findings: Some(Vec::new()),
        ..Default::default()
    };
    entry::redact(entry, &mut report);
    note(entry, report.places);
    report.findings.unwrap_or_default()
}

/// Adds places to `_redacted`, each once.
fn note(entry: &mut Entry, places: Vec<String>) {
    for place in places {
        if !entry.redacted.contains(&place) {
            entry.redacted.push(place);
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod families;

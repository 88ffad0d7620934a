//! Query parameters and form fields whose name says credential
//! (FORMAT.md, "Redaction"): their values are secrets whatever they look
//! like, in `request.url`, `queryString`, form bodies and multipart parts.
use super::is_marker;
use super::patterns;
use super::scan::Hit;
use super::view::{percent_decoded, View};
use std::ops::Range;

/// Parameter and field names that say credential, compared ignoring case.
const CREDENTIAL_NAMES: &[&str] = &[
    "api_key",
    "apikey",
    "key",
    "token",
    "access_token",
    "refresh_token",
    "client_secret",
    "secret",
    "password",
    "sig",
    "signature",
];

/// Whether a parameter or field of this name holds a credential.
pub fn is_credential_name(name: &str) -> bool {
    let name = name.trim();
    CREDENTIAL_NAMES
        .iter()
        .any(|c| name.eq_ignore_ascii_case(c))
}

/// The kind a credential-named value gets: its family if it is one known
/// credential, else `secret`.
pub(crate) fn value_kind(value: &str) -> &'static str {
    match patterns::scan(value).as_slice() {
        [one] if one.start == 0 && one.end == value.len() => one.kind,
        _ => "secret",
    }
}

/// A credential-named value as a hit, unless empty or already a marker.
pub(crate) fn value_hit(range: Range<usize>, decoded: String) -> Option<Hit> {
    if decoded.trim().is_empty() || is_marker(&decoded) {
        return None;
    }
    Some(Hit {
        kind: value_kind(&decoded),
        value: decoded,
        at: vec![(0, range)],
    })
}

/// The values of credential-named `name=value` pairs in `stored[range]`
/// (a query string or a form body), percent-decoded.
pub(crate) fn pairs(stored: &str, range: Range<usize>, hits: &mut Vec<Hit>) {
    let mut at = range.start;
    for pair in stored[range.clone()].split('&') {
        let start = at;
        at += pair.len() + 1;
        let Some(eq) = pair.find('=') else { continue };
        if !is_credential_name(&decode(&pair[..eq])) {
            continue;
        }
        let value = start + eq + 1..start + pair.len();
        hits.extend(value_hit(value.clone(), decode(&stored[value])));
    }
}

/// The query of a URL: after `?`, before `#`.
pub(crate) fn query_range(url: &str) -> Option<Range<usize>> {
    let start = url.find('?')? + 1;
    let end = url[start..].find('#').map_or(url.len(), |i| start + i);
    Some(start..end)
}

/// Percent-decoded, `+` as space (forms).
fn decode(text: &str) -> String {
    let mut view = View::default();
    percent_decoded(&mut view, 0, text, 0..text.len(), true);
    view.text
}

/// Credential-named fields of a `multipart/form-data` body: the content of
/// each part whose `name` says credential.
pub(crate) fn multipart(stored: &str, mime: &str, hits: &mut Vec<Hit>) {
    let Some(boundary) = boundary(mime) else {
        return;
    };
    let delimiter = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    let starts: Vec<usize> = finder.find_iter(stored.as_bytes()).collect();
    for pair in starts.windows(2) {
        let part = pair[0] + delimiter.len()..pair[1];
        let text = &stored[part.clone()];
        let Some((head_len, sep)) = ["\r\n\r\n", "\n\n"]
            .iter()
            .filter_map(|s| text.find(s).map(|i| (i, s.len())))
            .min()
        else {
            continue;
        };
        let Some(name) = field_name(&text[..head_len]) else {
            continue;
        };
        if !is_credential_name(name) {
            continue;
        }
        let body_start = part.start + head_len + sep;
        let mut body_end = part.end;
        for nl in ["\r\n", "\n"] {
            if stored[body_start..body_end].ends_with(nl) {
                body_end -= nl.len();
                break;
            }
        }
        if body_start < body_end {
            let value = stored[body_start..body_end].to_owned();
            hits.extend(value_hit(body_start..body_end, value));
        }
    }
}

/// `boundary=…` of a multipart content type, unquoted.
fn boundary(mime: &str) -> Option<&str> {
    let lower = mime.to_ascii_lowercase();
    if !lower.trim_start().starts_with("multipart/") {
        return None;
    }
    let at = lower.find("boundary=")? + "boundary=".len();
    let rest = &mime[at..];
    let b = match rest.strip_prefix('"') {
        Some(q) => &q[..q.find('"')?],
        None => rest.split(';').next()?.trim(),
    };
    (!b.is_empty()).then_some(b)
}

/// `name="…"` of a part's `Content-Disposition`.
fn field_name(head: &str) -> Option<&str> {
    let line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))?;
    let at = line.find("name=\"")? + "name=\"".len();
    // `filename="…"` also ends in `name="`: take the field's own.
    let at = if line[..at].ends_with("filename=\"") {
        line.find("; name=\"")? + "; name=\"".len()
    } else {
        at
    };
    Some(&line[at..at + line[at..].find('"')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(hits: &[Hit], stored: &str) -> Vec<String> {
        hits.iter()
            .map(|h| stored[h.at[0].1.clone()].to_owned())
            .collect()
    }

    #[test]
    fn credential_named_pairs_are_hits_whatever_they_hold() {
        let url = "https://x.test/a?API_KEY=FAKE%2Dkey&page=2&Token=t0k&key=&sig=redacted:secret:0123456789ab#frag";
        let mut hits = Vec::new();
        pairs(url, query_range(url).unwrap(), &mut hits);
        assert_eq!(values(&hits, url), ["FAKE%2Dkey", "t0k"]);
        assert_eq!(hits[0].value, "FAKE-key");
        assert_eq!(hits[0].kind, "secret");
    }

    #[test]
    fn multipart_fields_by_name() {
        let mime = "multipart/form-data; boundary=\"XyZ\"";
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nFAKE-pass\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"token\"; filename=\"a.txt\"\r\n\r\nFAKEfile\r\n--XyZ--\r\n";
        let mut hits = Vec::new();
        multipart(body, mime, &mut hits);
        assert_eq!(values(&hits, body), ["FAKE-pass", "FAKEfile"]);
        assert_eq!(
            field_name("Content-Disposition: form-data; filename=\"k\"; name=\"key\""),
            Some("key")
        );
    }
}

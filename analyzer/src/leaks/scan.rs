//! Scanning entries for credentials: the places of an entry, the rules of
//! FORMAT.md applied to each, and the fingerprints of credentials per
//! host. Findings never hold the secret, only its kind, fingerprint and a
//! masked excerpt.

use crate::call::{body, split_url, Endpoint};
use cctap_archive::model::Header;
use cctap_archive::redact::{find_secrets, fingerprint, is_marker, is_sensitive_header};
use cctap_archive::Entry;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A secret is readable in the archive: exit 1.
    Leak,
    /// A credential went somewhere it perhaps should not (the archive
    /// itself may hold only its marker).
    Warning,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub file: String,
    pub entry: usize,
    /// The URL with any secret in it masked.
    pub url: String,
    pub place: String,
    pub kind: String,
    pub fingerprint: String,
    pub excerpt: String,
    pub severity: Severity,
}

/// `sk-ant-api03-FAKE…(98 chars)`: the family prefix and four characters
/// at most, never enough to use.
pub fn excerpt(secret: &str, kind: &str) -> String {
    let n = secret.chars().count();
    let keep = if kind.len() > 3 && secret.starts_with(kind) {
        (kind.len() + 5).min(n / 2)
    } else {
        4.min(n / 4)
    };
    let head: String = secret.chars().take(keep).collect();
    format!("{head}…({n} chars)")
}

/// The fingerprint inside a marker (`Bearer redacted:kind:fp` → `fp`).
fn marker_fp(value: &str) -> Option<String> {
    let at = value.find("redacted:")?;
    value[at..]
        .rsplit(':')
        .next()
        .map(|fp| fp.trim().to_owned())
}

/// The credential part of a header value: after an auth scheme, if any.
fn credential_of(value: &str) -> (&str, Option<&'static str>) {
    let v = value.trim();
    for (scheme, kind) in [("bearer ", "bearer"), ("basic ", "basic")] {
        if v.len() > scheme.len() && v[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return (v[scheme.len()..].trim(), Some(kind));
        }
    }
    (v, None)
}

/// Where a credential was first sent to a host.
#[derive(Debug)]
struct Sent {
    entry: usize,
    url: String,
    place: String,
    kind: String,
}

/// Per-file state: findings, and where each credential was sent.
#[derive(Debug, Default)]
pub struct Scan {
    pub file: String,
    pub findings: Vec<Finding>,
    /// fingerprint → host → where it was first sent there.
    sent: HashMap<String, BTreeMap<String, Sent>>,
    /// Hosts of Messages API calls, with counts.
    api_hosts: BTreeMap<String, usize>,
    pub entries: usize,
}

impl Scan {
    pub fn new(file: &str) -> Scan {
        Scan {
            file: file.to_owned(),
            ..Scan::default()
        }
    }

    /// Checks every place of one entry.
    pub fn entry(&mut self, index: usize, e: &Entry) {
        self.entries += 1;
        let req = &e.har.request;
        let (host, path) = split_url(&req.url);
        if Endpoint::of_path(&path) != Endpoint::Other {
            *self.api_hosts.entry(host.clone()).or_default() += 1;
        }
        let url = mask_secrets(&req.url);
        let mut ctx = Place {
            scan: self,
            index,
            url: &url,
            host: &host,
            seen: BTreeSet::new(),
        };
        ctx.headers("request.headers", &req.headers);
        ctx.text("request.url", &req.url);
        ctx.cookies("request.cookies", &req.cookies);
        for q in &req.query_string {
            ctx.text(&format!("request.queryString.{}", q.name), &q.value);
        }
        if let Some(pd) = &req.post_data {
            if let Some(t) = &pd.text {
                ctx.text("request.postData.text", t);
            }
            for p in pd.params.iter().flatten() {
                ctx.text(
                    &format!("request.postData.params.{}", p.name),
                    p.value.as_deref().unwrap_or(""),
                );
            }
        }
        let resp = &e.har.response;
        ctx.headers("response.headers", &resp.headers);
        ctx.cookies("response.cookies", &resp.cookies);
        if let Some(t) = resp.content.text.as_deref() {
            let b64 = resp
                .content
                .encoding
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case("base64"));
            let enc = cctap_archive::model::find_header(&resp.headers, "content-encoding");
            match body::response_bytes(t, b64, enc) {
                Ok(bytes) => ctx.text("response.content.text", &String::from_utf8_lossy(&bytes)),
                Err(_) => ctx.text("response.content.text", t),
            }
        }
        if let Some(redirect) = resp.redirect_url.as_deref() {
            ctx.text("response.redirectURL", redirect);
        }
        for (i, ev) in e.sse_events.iter().flatten().enumerate() {
            ctx.text(&format!("_sseEvents[{i}].data"), &ev.data);
        }
        if let Some(err) = &e.error {
            ctx.text("_error", err);
        }
    }

    /// After the last entry: credentials seen on the API host and elsewhere.
    pub fn finish(&mut self) {
        let Some(api) = self
            .api_hosts
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(h, _)| h.clone())
        else {
            return;
        };
        let mut extra = Vec::new();
        for (fp, hosts) in &self.sent {
            if !hosts.contains_key(&api) {
                continue;
            }
            for (host, sent) in hosts.iter().filter(|(h, _)| **h != api) {
                extra.push(Finding {
                    file: self.file.clone(),
                    entry: sent.entry,
                    url: sent.url.clone(),
                    place: sent.place.clone(),
                    kind: format!(
                        "{} sent to {host}, not only to the API host {api}",
                        sent.kind
                    ),
                    fingerprint: fp.clone(),
                    excerpt: String::new(),
                    severity: Severity::Warning,
                });
            }
        }
        extra.sort_by_key(|f| f.entry);
        self.findings.extend(extra);
    }
}

/// Checking one entry's places, deduplicating per place and fingerprint.
struct Place<'a> {
    scan: &'a mut Scan,
    index: usize,
    url: &'a str,
    host: &'a str,
    seen: BTreeSet<(String, String)>,
}

impl Place<'_> {
    fn leak(&mut self, place: &str, kind: &str, secret: &str) {
        let fp = fingerprint(secret);
        if !self.seen.insert((place.to_owned(), fp.clone())) {
            return;
        }
        self.scan.findings.push(Finding {
            file: self.scan.file.clone(),
            entry: self.index,
            url: self.url.to_owned(),
            place: place.to_owned(),
            kind: kind.to_owned(),
            fingerprint: fp,
            excerpt: excerpt(secret, kind),
            severity: Severity::Leak,
        });
    }

    fn sent(&mut self, fp: String, place: &str, kind: &str) {
        self.scan
            .sent
            .entry(fp)
            .or_default()
            .entry(self.host.to_owned())
            .or_insert_with(|| Sent {
                entry: self.index,
                url: self.url.to_owned(),
                place: place.to_owned(),
                kind: kind.to_owned(),
            });
    }

    fn text(&mut self, place: &str, text: &str) {
        for f in find_secrets(text) {
            if let Some(secret) = text.get(f.start..f.end) {
                self.leak(place, f.kind, secret);
            }
        }
    }

    fn headers(&mut self, prefix: &str, headers: &[Header]) {
        for h in headers {
            let place = format!("{prefix}.{}", h.name.to_ascii_lowercase());
            let lower = h.name.to_ascii_lowercase();
            if lower == "cookie" || lower == "set-cookie" {
                self.cookie_header(
                    &place,
                    &h.value,
                    if lower == "cookie" { usize::MAX } else { 1 },
                );
                continue;
            }
            if is_sensitive_header(&h.name) && !h.value.trim().is_empty() {
                if is_marker(&h.value) {
                    if let Some(fp) = marker_fp(&h.value) {
                        self.sent(fp, &place, "credential (redacted)");
                    }
                    continue;
                }
                let (secret, scheme) = credential_of(&h.value);
                let kind = find_secrets(secret)
                    .first()
                    .map(|f| f.kind.to_owned())
                    .or(scheme.map(str::to_owned));
                let kind = kind.unwrap_or_else(|| "secret".to_owned());
                self.leak(&place, &kind, secret);
                self.sent(fingerprint(secret), &place, &kind);
                continue;
            }
            self.text(&place, &h.value);
        }
    }

    /// `a=1; b=2` (all pairs) or `id=1; Path=/` (the first pair only):
    /// each value must be a marker; names and attributes are not secret.
    fn cookie_header(&mut self, place: &str, value: &str, pairs: usize) {
        for part in value.split(';').take(pairs) {
            let (name, v) = part.split_once('=').unwrap_or(("", part));
            let v = v.trim();
            if v.is_empty() || is_marker(v) {
                continue;
            }
            // The cookie's name says which one it is; it is not secret.
            let name = name.trim();
            let place = if name.is_empty() {
                place.to_owned()
            } else {
                format!("{place}.{name}")
            };
            let kind = find_secrets(v).first().map_or("cookie", |f| f.kind);
            self.leak(&place, kind, v);
        }
    }

    fn cookies(&mut self, prefix: &str, cookies: &[cctap_archive::model::Cookie]) {
        for c in cookies
            .iter()
            .filter(|c| !c.value.is_empty() && !is_marker(&c.value))
        {
            self.leak(&format!("{prefix}.{}", c.name), "cookie", &c.value);
        }
    }
}

/// A text with each credential replaced by its excerpt (for URLs).
fn mask_secrets(text: &str) -> String {
    let mut out = text.to_owned();
    let mut found = find_secrets(text);
    found.sort_by_key(|f| std::cmp::Reverse(f.start));
    for f in found {
        if let Some(secret) = text.get(f.start..f.end) {
            out.replace_range(f.start..f.end, &excerpt(secret, f.kind));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_never_hold_the_secret() {
        let key = format!("sk-ant-api03-FAKE{}", "x".repeat(81));
        assert_eq!(
            excerpt(&key, "sk-ant-api03"),
            "sk-ant-api03-FAKE…(98 chars)"
        );
        assert_eq!(excerpt("abcdefghijklmnopqrst", "bearer"), "abcd…(20 chars)");
        assert_eq!(excerpt("short", "secret"), "s…(5 chars)");
    }

    #[test]
    fn markers_and_schemes() {
        assert_eq!(
            marker_fp("Bearer redacted:sk-ant-oat01:3f9a1c0b27de").as_deref(),
            Some("3f9a1c0b27de")
        );
        assert_eq!(marker_fp("plain"), None);
        assert_eq!(credential_of("Bearer abc"), ("abc", Some("bearer")));
        assert_eq!(credential_of("abc"), ("abc", None));
    }

    fn entry_with(headers: &[(&str, &str)], body: &str) -> Entry {
        let mut e = crate::call::testkit::request(
            "https://api.anthropic.com/v1/messages",
            headers,
            &serde_json::json!({}),
        );
        e.har.request.post_data.as_mut().unwrap().text = Some(body.to_owned());
        e
    }

    #[test]
    fn sensitive_headers_patterns_and_cookies() {
        let key = format!("sk-ant-api03-FAKE{}", "x".repeat(81));
        let mut scan = Scan::new("f.har");
        let e = entry_with(
            &[
                ("Authorization", "Bearer not-a-known-pattern-FAKE-token"),
                ("x-api-key", "redacted:sk-ant-api03:0123456789ab"),
                ("cookie", "a=redacted:cookie:0123456789ab; b=plainFAKE"),
                ("x-note", &format!("see {key}")),
            ],
            &format!("{{\"text\": \"my key is {key}\"}}"),
        );
        scan.entry(0, &e);
        let got: Vec<(String, String, String)> = scan
            .findings
            .iter()
            .map(|f| (f.place.clone(), f.kind.clone(), f.excerpt.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "request.headers.authorization".into(),
                    "bearer".into(),
                    "not-…(30 chars)".into()
                ),
                (
                    "request.headers.cookie.b".into(),
                    "cookie".into(),
                    "pl…(9 chars)".into()
                ),
                (
                    "request.headers.x-note".into(),
                    "sk-ant-api03".into(),
                    "sk-ant-api03-FAKE…(98 chars)".into()
                ),
                (
                    "request.postData.text".into(),
                    "sk-ant-api03".into(),
                    "sk-ant-api03-FAKE…(98 chars)".into()
                ),
            ]
        );
        assert!(
            scan.findings
                .iter()
                .all(|f| !format!("{f:?}").contains(&key)),
            "never the secret"
        );
        assert_eq!(scan.findings[2].fingerprint, fingerprint(&key));
    }

    #[test]
    fn a_credential_on_another_host_is_a_warning() {
        let mut scan = Scan::new("f.har");
        let marker = "redacted:sk-ant-api03:0123456789ab";
        scan.entry(0, &entry_with(&[("x-api-key", marker)], "{}"));
        let mut other = entry_with(&[("x-api-key", marker)], "{}");
        other.har.request.url =
            "https://api.anthropic.com/api/claude_code/organizations/metrics_enabled".into();
        let mut api = entry_with(&[("x-api-key", marker)], "{}");
        api.har.request.url = "https://api.z.ai/api/anthropic/v1/messages".into();
        scan.entry(1, &api);
        scan.entry(2, &api);
        scan.entry(3, &other);
        scan.finish();
        assert_eq!(scan.findings.len(), 1, "{:?}", scan.findings);
        let f = &scan.findings[0];
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(
            f.entry, 0,
            "the first entry that sent it to api.anthropic.com"
        );
        assert_eq!(f.fingerprint, "0123456789ab");
        assert!(f.kind.contains("sent to api.anthropic.com"), "{}", f.kind);
        assert!(f.kind.contains("API host api.z.ai"), "{}", f.kind);
    }
}

//! Scanning entries for credentials with the archive crate's scanner (the
//! one `record` and `analyze redact` redact with), and the fingerprints of
//! credentials per host. Findings never hold the secret, only its kind,
//! fingerprint and a masked excerpt.

use crate::call::{split_url, Endpoint};
use cctap_archive::redact::{is_marker, is_sensitive_header, scan_entry, scan_log_head};
use cctap_archive::{Entry, LogHead};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A secret is readable in the archive: exit 1.
    Leak,
    /// A credential went somewhere it perhaps should not (the archive
    /// itself may hold only its marker).
    Warning,
    /// A vendor's documented example credential (AWS's
    /// `AKIAIOSFODNN7EXAMPLE`): listed, left as is, not a leak.
    Example,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub file: String,
    /// The entry; `None` for the `log` object's own fields (`place` says
    /// which: `log.pages[0].title`).
    pub entry: Option<usize>,
    /// The URL as redaction leaves it (no secret in it); empty for the log.
    pub url: String,
    pub place: String,
    /// Other places of the same secret in the same entry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    pub kind: String,
    pub fingerprint: String,
    pub excerpt: String,
    pub severity: Severity,
}

impl Finding {
    /// The scanner's finding at `entry` (`None`: the log's own fields).
    fn of(file: &str, entry: Option<usize>, url: &str, f: cctap_archive::redact::Finding) -> Self {
        Finding {
            file: file.to_owned(),
            entry,
            url: url.to_owned(),
            place: f.place,
            also: f.also,
            kind: f.kind,
            fingerprint: f.fingerprint,
            excerpt: f.excerpt,
            severity: if f.example {
                Severity::Example
            } else {
                Severity::Leak
            },
        }
    }
}

/// The fingerprint inside a marker (`Bearer redacted:kind:fp` → `fp`).
fn marker_fp(value: &str) -> Option<String> {
    let at = value.find("redacted:")?;
    value[at..]
        .rsplit(':')
        .next()
        .map(|fp| fp.trim().to_owned())
}

/// Where a credential was first sent to a host.
#[derive(Debug)]
struct Sent {
    entry: usize,
    url: String,
    place: String,
    kind: String,
}

/// Per-file state: where each credential was sent. Findings are handed
/// out per entry, not kept: memory does not grow with their number.
#[derive(Debug, Default)]
pub struct Scan {
    pub file: String,
    /// fingerprint → host → where it was first sent there.
    sent: HashMap<String, BTreeMap<String, Sent>>,
    /// Hosts of model API calls (Anthropic's or OpenAI-style), with counts.
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

    /// The findings of one entry (consumed: it is redacted to find them).
    pub fn entry(&mut self, index: usize, mut e: Entry) -> Vec<Finding> {
        self.entries += 1;
        let (host, path) = split_url(&e.har.request.url);
        if Endpoint::of(&e.har.request.method, &path) != Endpoint::Other {
            *self.api_hosts.entry(host.clone()).or_default() += 1;
        }
        // Credentials already redacted still tell where they went.
        let mut markers = Vec::new();
        for h in &e.har.request.headers {
            if is_sensitive_header(&h.name) && is_marker(&h.value) {
                if let Some(fp) = marker_fp(&h.value) {
                    markers.push((
                        fp,
                        format!("request.headers.{}", h.name.to_ascii_lowercase()),
                    ));
                }
            }
        }
        let found = scan_entry(&mut e);
        let url = e.har.request.url.clone();
        for (fp, place) in markers {
            self.sent(fp, index, &url, &host, &place, "credential (redacted)");
        }
        let mut out = Vec::with_capacity(found.len());
        for f in found {
            let header = f
                .place
                .strip_prefix("request.headers.")
                .is_some_and(|name| is_sensitive_header(name.split('.').next().unwrap_or(name)));
            if header && !f.example {
                self.sent(f.fingerprint.clone(), index, &url, &host, &f.place, &f.kind);
            }
            out.push(Finding::of(&self.file, Some(index), &url, f));
        }
        out
    }

    /// The findings in the `log` object's pages, comment and custom
    /// `_fields` (the same scanner `analyze redact` cleans them with).
    pub fn log(&self, head: &LogHead) -> Vec<Finding> {
        let mut head = head.clone();
        scan_log_head(&mut head)
            .into_iter()
            .map(|f| Finding::of(&self.file, None, "", f))
            .collect()
    }

    fn sent(&mut self, fp: String, entry: usize, url: &str, host: &str, place: &str, kind: &str) {
        self.sent
            .entry(fp)
            .or_default()
            .entry(host.to_owned())
            .or_insert_with(|| Sent {
                entry,
                url: url.to_owned(),
                place: place.to_owned(),
                kind: kind.to_owned(),
            });
    }

    /// After the last entry: credentials seen on the API host and elsewhere.
    pub fn finish(&mut self) -> Vec<Finding> {
        let Some(api) = self
            .api_hosts
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(h, _)| h.clone())
        else {
            return Vec::new();
        };
        let mut extra = Vec::new();
        for (fp, hosts) in &self.sent {
            if !hosts.contains_key(&api) {
                continue;
            }
            for (host, sent) in hosts.iter().filter(|(h, _)| **h != api) {
                extra.push(Finding {
                    file: self.file.clone(),
                    entry: Some(sent.entry),
                    url: sent.url.clone(),
                    place: sent.place.clone(),
                    also: Vec::new(),
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
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_fingerprints() {
        assert_eq!(
            marker_fp("Bearer redacted:sk-ant-oat01:3f9a1c0b27de").as_deref(),
            Some("3f9a1c0b27de")
        );
        assert_eq!(marker_fp("plain"), None);
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
    fn sensitive_headers_patterns_and_cookies_once_each() {
        let key = format!("sk-ant-api03-FAKE{}", "x".repeat(81));
        let mut scan = Scan::new("f.har");
        let mut e = entry_with(
            &[
                ("Authorization", "Bearer not-a-known-pattern-FAKE-token"),
                ("x-api-key", "redacted:sk-ant-api03:0123456789ab"),
                ("cookie", "a=redacted:cookie:0123456789ab; b=plainFAKE"),
                ("x-note", &format!("see {key}")),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ],
            &format!("{{\"text\": \"my key is {key}\"}}"),
        );
        e.har.request.cookies = vec![cctap_archive::model::Cookie {
            name: "b".into(),
            value: "plainFAKE".into(),
            ..Default::default()
        }];
        e.har.request.url.push_str("?api_key=FAKEopaque");
        let findings = scan.entry(0, e);
        let got: Vec<(&str, &str, &str)> = findings
            .iter()
            .map(|f| (f.place.as_str(), f.kind.as_str(), f.excerpt.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("request.headers.authorization", "bearer", "not-…(30 chars)"),
                ("request.headers.cookie.b", "cookie", "pl…(9 chars)"),
                (
                    "request.headers.x-note",
                    "sk-ant-api03",
                    "sk-ant-api03-FAKE…(98 chars)"
                ),
                ("request.url", "secret", "FA…(10 chars)"),
            ]
        );
        assert_eq!(
            findings[1].also,
            ["request.cookies.b"],
            "one cookie, one finding"
        );
        assert_eq!(findings[2].also, ["request.postData.text"]);
        assert!(
            findings[3].url.contains("?api_key=redacted:secret:"),
            "{}",
            findings[3].url
        );
        for f in &findings {
            let all = format!("{f:?}");
            assert!(!all.contains(&key) && !all.contains("FAKEopaque"), "{all}");
        }
    }

    #[test]
    fn a_credential_on_another_host_is_a_warning() {
        let mut scan = Scan::new("f.har");
        let marker = "redacted:sk-ant-api03:0123456789ab";
        scan.entry(0, entry_with(&[("x-api-key", marker)], "{}"));
        let mut other = entry_with(&[("x-api-key", marker)], "{}");
        other.har.request.url =
            "https://api.anthropic.com/api/claude_code/organizations/metrics_enabled".into();
        let mut api = entry_with(&[("x-api-key", marker)], "{}");
        api.har.request.url = "https://api.z.ai/api/anthropic/v1/messages".into();
        scan.entry(1, api.clone());
        scan.entry(2, api);
        scan.entry(3, other);
        let findings = scan.finish();
        assert_eq!(findings.len(), 1, "{findings:?}");
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(
            f.entry,
            Some(0),
            "the first entry that sent it to api.anthropic.com"
        );
        assert_eq!(f.fingerprint, "0123456789ab");
        assert!(f.kind.contains("sent to api.anthropic.com"), "{}", f.kind);
        assert!(f.kind.contains("API host api.z.ai"), "{}", f.kind);
    }
}

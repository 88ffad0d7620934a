//! The scanner: every secret a reader could recover from a stored text,
//! and where it is stored. `record`, `analyze redact` and `analyze leaks`
//! all go through here, so what `leaks` finds `redact` removes.
use super::patterns::{self, EXAMPLES};
use super::view::{has_json_escape, has_percent, json_decoded, percent_decoded, View};
use super::{fingerprint, marker, seen};
use std::ops::Range;

/// A secret, as a reader recovers it, and the stored bytes that spell it
/// (per source: a header value, one SSE event, …).
#[derive(Debug)]
pub(crate) struct Hit {
    pub kind: &'static str,
    pub value: String,
    pub at: Vec<(usize, Range<usize>)>,
}

impl Hit {
    /// A secret stored as it is, in source 0.
    pub fn plain(kind: &'static str, stored: &str, range: Range<usize>) -> Hit {
        Hit {
            kind,
            value: stored[range.clone()].to_owned(),
            at: vec![(0, range)],
        }
    }

    /// A vendor's documented example, left alone.
    pub fn is_example(&self) -> bool {
        EXAMPLES.contains(&self.value.as_str())
    }
}

/// Every pattern match in a view, mapped back to the stored bytes.
pub(crate) fn scan_view(view: &View, hits: &mut Vec<Hit>) {
    for h in patterns::scan(&view.text) {
        hits.push(Hit {
            kind: h.kind,
            value: view.text[h.start..h.end].to_owned(),
            at: view.origins(h.start..h.end),
        });
    }
}

/// Every secret in one stored text (source 0): as stored, percent-decoded
/// and JSON-unescaped. The decoded views are built only when the text has
/// an escape that could spell a credential's byte.
pub(crate) fn scan_text(stored: &str, hits: &mut Vec<Hit>) {
    // Decoding only shortens a text: no view of it can hold a secret.
    if stored.len() < patterns::SHORTEST {
        return;
    }
    let key = seen::Key::of(stored);
    if key.is_some_and(|k| seen::is_clean(k, stored)) {
        return;
    }
    let before = hits.len();
    scan_views(stored, hits);
    if let (Some(key), true) = (key, hits.len() == before) {
        seen::remember_clean(key, stored);
    }
}

/// [`scan_text`]'s work: the text as stored, then its decoded views.
fn scan_views(stored: &str, hits: &mut Vec<Hit>) {
    for h in patterns::scan(stored) {
        hits.push(Hit::plain(h.kind, stored, h.start..h.end));
    }
    if has_percent(stored) {
        let mut view = View::default();
        percent_decoded(&mut view, 0, stored, 0..stored.len(), false);
        scan_view(&view, hits);
    }
    if has_json_escape(stored) {
        let mut view = View::default();
        json_decoded(&mut view, 0, stored, 0..stored.len());
        scan_view(&view, hits);
    }
}

/// A form body (`+` is a space) as a reader decodes it.
pub(crate) fn scan_form(stored: &str, hits: &mut Vec<Hit>) {
    if stored.contains('+') {
        let mut view = View::default();
        percent_decoded(&mut view, 0, stored, 0..stored.len(), true);
        scan_view(&view, hits);
    }
}

/// Replacements in one stored string or byte buffer.
#[derive(Debug, Default)]
pub(crate) struct Edits(Vec<(Range<usize>, String)>);

impl Edits {
    pub fn add(&mut self, range: Range<usize>, marker: String) {
        self.0.push((range, marker));
    }

    /// The edits in order, overlapping ones joined under the widest's marker.
    fn merged(mut self) -> Vec<(Range<usize>, String)> {
        self.0
            .sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
        let mut out: Vec<(Range<usize>, String)> = Vec::with_capacity(self.0.len());
        for (r, m) in self.0 {
            match out.last_mut() {
                Some((last, _)) if r.start < last.end => last.end = last.end.max(r.end),
                _ => out.push((r, m)),
            }
        }
        out
    }

    /// `stored` with the edits made; `None` if there were none.
    pub fn apply_bytes(self, stored: &[u8]) -> Option<Vec<u8>> {
        if self.0.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(stored.len());
        let mut last = 0;
        for (r, m) in self.merged() {
            out.extend_from_slice(&stored[last..r.start]);
            out.extend_from_slice(m.as_bytes());
            last = r.end;
        }
        out.extend_from_slice(&stored[last..]);
        Some(out)
    }

    /// Like [`Edits::apply_bytes`] on text (ranges lie on char boundaries:
    /// they start and end at ASCII bytes or escapes).
    pub fn apply(self, stored: &str) -> Option<String> {
        let bytes = self.apply_bytes(stored.as_bytes())?;
        Some(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }
}

/// One secret a scan found, for reports: never the secret itself.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Finding {
    /// Where it is (`request.headers.x-api-key`), then any other places of
    /// the same secret in the same entry.
    pub place: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    pub kind: String,
    pub fingerprint: String,
    /// The family prefix and a few characters (see [`excerpt`]).
    pub excerpt: String,
    /// A vendor's documented example credential, left as it is.
    pub example: bool,
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

/// What a scan of one entry collects: the places changed and, when asked
/// for, the findings (one per secret, its places listed).
#[derive(Default)]
pub(crate) struct Report {
    pub places: Vec<String>,
    pub findings: Option<Vec<Finding>>,
}

/// How many other places one finding lists.
const ALSO_MAX: usize = 8;

impl Report {
    pub fn changed(&mut self, place: &str) {
        if !self.places.iter().any(|p| p == place) {
            self.places.push(place.to_owned());
        }
    }

    /// Notes a secret found at `place`.
    pub fn found(&mut self, place: &str, kind: &str, secret: &str, example: bool) {
        let Some(findings) = &mut self.findings else {
            return;
        };
        let fp = fingerprint(secret);
        if let Some(f) = findings.iter_mut().find(|f| f.fingerprint == fp) {
            if f.place != place && !f.also.iter().any(|p| p == place) && f.also.len() < ALSO_MAX {
                f.also.push(place.to_owned());
            }
            return;
        }
        findings.push(Finding {
            place: place.to_owned(),
            also: Vec::new(),
            kind: kind.to_owned(),
            fingerprint: fp,
            excerpt: excerpt(secret, kind),
            example,
        });
    }

    /// Turns hits in one text (source 0) into its edits; examples are
    /// reported and left.
    pub fn edits(&mut self, place: &str, hits: &[Hit]) -> Edits {
        let mut edits = Edits::default();
        for hit in hits {
            let example = hit.is_example();
            self.found(place, hit.kind, &hit.value, example);
            if example {
                continue;
            }
            let m = marker(hit.kind, &hit.value);
            for (_, r) in &hit.at {
                edits.add(r.clone(), m.clone());
            }
        }
        edits
    }

    /// Scans one text field in place.
    pub fn text(&mut self, place: &str, text: &mut String) {
        let mut hits = Vec::new();
        scan_text(text, &mut hits);
        self.apply(place, text, &hits);
    }

    /// Makes `hits` (source 0) in `text`; whether it changed.
    pub fn apply(&mut self, place: &str, text: &mut String, hits: &[Hit]) -> bool {
        if hits.is_empty() {
            return false;
        }
        match self.edits(place, hits).apply(text) {
            Some(new) => {
                *text = new;
                self.changed(place);
                true
            }
            None => false,
        }
    }
}

//! Every form of an entry a reader could recover a secret from, built
//! independently of the scanner under test: the entry's JSON as stored,
//! every string JSON-decoded (and again when it is JSON itself), all of it
//! percent-decoded, base64 strings decoded and gunzipped as far as they
//! go, and SSE text deltas joined (from `_sseEvents` and the raw stream).
use cctap_archive::Entry;
use serde_json::Value;
use std::io::Read;

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out)
        }),
        _ => {}
    }
}

/// `%XX` decoded and `+` as a space.
fn percent_decoded(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', ..) => {
                out.push(b' ');
                i += 1;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a gunzip gets before it stops (junk, a cut).
fn gunzipped(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    let mut d = flate2::read::MultiGzDecoder::new(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = d.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Joined `delta.text` of the events' data.
fn deltas<'a>(data: impl Iterator<Item = &'a str>) -> String {
    data.filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["delta"]["text"].as_str().map(str::to_owned))
        .collect()
}

pub fn forms(e: &Entry) -> Vec<String> {
    let json = serde_json::to_string(e).expect("entry as JSON");
    let mut all = Vec::new();
    strings(&serde_json::from_str(&json).expect("entry JSON"), &mut all);
    let mut forms = vec![json];
    for s in &all {
        if let Ok(v) = serde_json::from_str::<Value>(s) {
            let mut inner = Vec::new();
            strings(&v, &mut inner);
            forms.push(inner.join(""));
        }
        if let Some(bytes) = cctap_archive::base64::decode(s) {
            forms.extend(gunzipped(&bytes));
            forms.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    let joined = all.join("\n");
    forms.push(percent_decoded(&joined));
    forms.push(joined);
    forms.push(deltas(
        e.sse_events.iter().flatten().map(|ev| ev.data.as_str()),
    ));
    let raw = e.response_text().unwrap_or("");
    forms.push(deltas(raw.lines().filter_map(|l| l.strip_prefix("data: "))));
    forms
}

/// Whether `secret` can be recovered from `e`.
pub fn holds(e: &Entry, secret: &str) -> bool {
    forms(e).iter().any(|f| f.contains(secret))
}

//! Field-by-field comparison of a flow mitmproxy loaded (dump_flows.py's
//! JSON) with the entry it came from, modelling where mitmproxy changes
//! things on purpose (MITMPROXY.md).
use crate::common::{base64_decode, request_bytes, response_bytes};
use cctap_archive::model::Header;
use cctap_archive::Entry;
use serde_json::Value;

pub fn headers_json(list: &[Header]) -> Value {
    list.iter()
        .map(|h| serde_json::json!([h.name, h.value]))
        .collect()
}

pub fn b64(v: &Value) -> Vec<u8> {
    base64_decode(v.as_str().unwrap_or(""))
}

/// How strictly a loaded flow must match the entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Via {
    /// mitmproxy's HAR import: it rebuilds request headers (may add
    /// `content-length`), takes the reason from the status code and knows
    /// only HTTP/1.1, 2 and 3 spellings.
    HarImport,
    /// A flow file: everything as written.
    FlowFile,
}

/// Field by field: what mitmproxy loaded equals the entry.
pub fn assert_same(entry: &Entry, flow: &Value, via: Via, what: &str) {
    let har = &entry.har;
    assert_eq!(flow["method"], har.request.method, "{what}: method");
    assert_eq!(flow["url"], har.request.url, "{what}: url");
    let req_headers = &flow["request"]["headers"];
    let ours = headers_json(&har.request.headers);
    if via == Via::FlowFile {
        assert_eq!(req_headers, &ours, "{what}: request headers");
    } else {
        let theirs = req_headers.as_array().expect("headers");
        let ours = ours.as_array().expect("headers");
        assert_eq!(
            &theirs[..ours.len()],
            &ours[..],
            "{what}: request headers (order and case)"
        );
        for extra in &theirs[ours.len()..] {
            assert_eq!(
                extra[0], "content-length",
                "{what}: mitmproxy may only add content-length"
            );
        }
    }
    let base64_request = har
        .request
        .post_data
        .as_ref()
        .and_then(|p| p.comment.as_deref())
        == Some("base64");
    assert_body(
        &b64(&flow["request"]["content_b64"]),
        &flow["request"]["text"],
        &request_bytes(entry),
        base64_request,
        entry.request_header("content-type").unwrap_or(""),
        via,
        &format!("{what}: request"),
    );
    if har.response.status == 0 {
        // mitmproxy's HAR import makes a status-0 response of an entry
        // without one, and drops `_error`; a flow file keeps both.
        let status = flow["status"].as_i64().unwrap_or(0);
        assert_eq!(status, 0, "{what}: no response");
        if flow["response"].is_null() {
            assert_eq!(
                flow["error"].as_str(),
                entry.error.as_deref(),
                "{what}: error"
            );
        }
        return;
    }
    assert_eq!(flow["status"], har.response.status, "{what}: status");
    let resp = &flow["response"];
    assert_eq!(
        resp["headers"],
        headers_json(&har.response.headers),
        "{what}: response headers"
    );
    assert_body(
        &b64(&resp["content_b64"]),
        &resp["text"],
        &response_bytes(entry),
        har.response.content.encoding.as_deref() == Some("base64"),
        entry.response_header("content-type").unwrap_or(""),
        via,
        &format!("{what}: response"),
    );
    if via == Via::FlowFile {
        assert_eq!(flow["reason"], har.response.status_text, "{what}: reason");
        assert_eq!(
            resp["http_version"], har.response.http_version,
            "{what}: http version"
        );
        let start = cctap_archive::model::parse_started(&har.started_date_time).expect("start");
        let theirs = flow["request"]["timestamp_start"]
            .as_f64()
            .expect("timestamp");
        let ours = start.unix_timestamp_nanos() as f64 / 1e9;
        assert!(
            (theirs - ours).abs() < 1e-5,
            "{what}: request start {theirs} vs {ours}"
        );
    }
}

/// Whether mitmproxy reads a body of this type as UTF-8
/// (`infer_content_encoding`): the content-type's charset, UTF-8 for JSON,
/// else latin-1 (even for `text/event-stream`, which is always UTF-8).
pub fn mitmproxy_reads_utf8(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    match ct
        .split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix("charset="))
    {
        Some(charset) => matches!(charset.trim_matches('"'), "utf-8" | "utf8"),
        None => ct.contains("json"),
    }
}

/// The text mitmproxy shows for these body bytes.
pub fn mitmproxy_text(bytes: &[u8], content_type: &str) -> String {
    if mitmproxy_reads_utf8(content_type) {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        bytes.iter().map(|b| char::from(*b)).collect()
    }
}

/// The bytes mitmproxy's HAR import makes of a text body: latin-1 where it
/// assumes latin-1 and the text fits, UTF-8 otherwise.
pub fn har_import_bytes(text: &[u8], content_type: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    if !mitmproxy_reads_utf8(content_type) && text.chars().all(|c| u32::from(c) < 256) {
        text.chars().map(|c| u32::from(c) as u8).collect()
    } else {
        text.into_owned().into_bytes()
    }
}

/// A body as mitmproxy loaded it (decoded bytes, and the text it shows)
/// against ours (decoded bytes).
pub fn assert_body(
    wire: &[u8],
    shown: &Value,
    ours: &[u8],
    base64: bool,
    ctype: &str,
    via: Via,
    what: &str,
) {
    let expected = if via == Via::HarImport && !base64 {
        har_import_bytes(ours, ctype)
    } else {
        ours.to_vec()
    };
    assert_eq!(wire, &expected[..], "{what} body bytes ({ctype})");
    if !base64 {
        let shown = shown.as_str().unwrap_or("");
        assert_eq!(
            shown,
            mitmproxy_text(&expected, ctype),
            "{what} body text ({ctype})"
        );
    }
}

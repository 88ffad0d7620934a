//! Redaction of a whole entry: every place a secret can sit, each change
//! noted once in `_redacted` under the place's name.
use super::{is_marker, marker, redact_bytes, redact_header, redact_text};
use crate::model::{Cookie, Entry, Header};

/// The places changed so far, each listed once.
struct Places<'a>(&'a mut Vec<String>);

impl Places<'_> {
    fn note(&mut self, place: String) {
        if !self.0.contains(&place) {
            self.0.push(place);
        }
    }
}

pub(super) fn redact(entry: &mut Entry) {
    let Entry {
        har,
        sse_events,
        redacted,
        ..
    } = entry;
    let mut places = Places(redacted);
    let request = &mut har.request;
    headers(&mut request.headers, "request.headers", &mut places);
    if let Some(url) = redact_text(&request.url) {
        request.url = url;
        places.note("request.url".into());
    }
    for q in &mut request.query_string {
        if let Some(value) = redact_text(&q.value) {
            q.value = value;
            places.note(format!("request.queryString.{}", q.name));
        }
    }
    cookies(&mut request.cookies, "request.cookies", &mut places);
    if let Some(post) = &mut request.post_data {
        if let Some(text) = post.text.as_deref().and_then(redact_text) {
            post.text = Some(text);
            places.note("request.postData.text".into());
        }
        for param in post.params.iter_mut().flatten() {
            if let Some(value) = param.value.as_deref().and_then(redact_text) {
                param.value = Some(value);
                places.note(format!("request.postData.params.{}", param.name));
            }
        }
    }

    let response = &mut har.response;
    headers(&mut response.headers, "response.headers", &mut places);
    cookies(&mut response.cookies, "response.cookies", &mut places);
    if let Some(url) = response.redirect_url.as_deref().and_then(redact_text) {
        response.redirect_url = Some(url);
        places.note("response.redirectURL".into());
    }
    let content = &mut response.content;
    let base64 = content.encoding.as_deref() == Some("base64");
    if let Some(text) = content.text.as_deref().and_then(|t| body_text(t, base64)) {
        content.text = Some(text);
        places.note("response.content.text".into());
    }

    let mut sse_changed = false;
    for event in sse_events.iter_mut().flatten() {
        if let Some(data) = redact_text(&event.data) {
            event.data = data;
            sse_changed = true;
        }
    }
    if sse_changed {
        places.note("_sseEvents".into());
    }
}

/// Sensitive headers through [`redact_header`], the rest by pattern.
fn headers(headers: &mut [Header], prefix: &str, places: &mut Places) {
    for h in headers {
        if let Some(value) = redact_header(&h.name, &h.value) {
            h.value = value;
            places.note(format!("{prefix}.{}", h.name.to_ascii_lowercase()));
        }
    }
}

/// Cookie values are always secrets.
fn cookies(cookies: &mut [Cookie], prefix: &str, places: &mut Places) {
    for c in cookies {
        if !c.value.is_empty() && !is_marker(&c.value) {
            c.value = marker("cookie", &c.value);
            places.note(format!("{prefix}.{}", c.name));
        }
    }
}

/// A response body, decoding base64 to look inside and re-encoding only if
/// a secret was there (binary bodies stay byte-exact otherwise).
fn body_text(text: &str, base64: bool) -> Option<String> {
    if !base64 {
        return redact_text(text);
    }
    match crate::base64::decode(text) {
        Some(bytes) => redact_bytes(&bytes).map(|b| crate::base64::encode(&b)),
        None => redact_text(text), // says base64 but is not: search it as is
    }
}

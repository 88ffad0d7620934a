//! Redaction of a whole entry: every place a secret can sit (names too),
//! each change noted once in `_redacted` under the place's name.
use super::body::{self, Body, Changed};
use super::scan::{scan_text, Hit, Report};
use super::{is_marker, marker, params, seen, stream, Secret};
use crate::model::{Cookie, Entry, Header, Request, Response, SseEvent};

pub(super) fn redact(entry: &mut Entry, report: &mut Report) {
    let Entry {
        har, sse_events, ..
    } = entry;
    request(&mut har.request, report);
    response(&mut har.response, report);
    if let Some(events) = sse_events {
        events_in_place(events, report);
    }
    if let Some(error) = &mut entry.error {
        report.text("_error", error);
    }
}

fn request(request: &mut Request, report: &mut Report) {
    headers(&mut request.headers, "request.headers", report);
    url(&mut request.url, "request.url", report);
    for q in &mut request.query_string {
        report.text("request.queryString", &mut q.name);
        let place = format!("request.queryString.{}", q.name);
        param(&q.name, &mut q.value, &place, report);
    }
    cookies(&mut request.cookies, "request.cookies", report);
    let encoding = crate::model::find_header(&request.headers, "content-encoding");
    if let Some(post) = &mut request.post_data {
        if let Some(text) = &mut post.text {
            let base64 = post.comment.as_deref() == Some("base64");
            let body = Body {
                text,
                base64,
                mime: &post.mime_type,
                encoding,
            };
            if let Changed::Decoded { base64 } = body::redact(body, "request.postData.text", report)
            {
                post.comment = base64.then(|| "base64".to_owned());
            }
        }
        for p in post.params.iter_mut().flatten() {
            report.text("request.postData.params", &mut p.name);
            let place = format!("request.postData.params.{}", p.name);
            if let Some(value) = &mut p.value {
                param(&p.name, value, &place, report);
            }
        }
    }
}

fn response(response: &mut Response, report: &mut Report) {
    report.text("response.statusText", &mut response.status_text);
    headers(&mut response.headers, "response.headers", report);
    cookies(&mut response.cookies, "response.cookies", report);
    if let Some(redirect) = &mut response.redirect_url {
        url(redirect, "response.redirectURL", report);
    }
    let encoding = crate::model::find_header(&response.headers, "content-encoding");
    let content = &mut response.content;
    if let Some(text) = &mut content.text {
        let body = Body {
            text,
            base64: content.encoding.as_deref() == Some("base64"),
            mime: content.mime_type.as_deref().unwrap_or(""),
            encoding,
        };
        if let Changed::Decoded { base64 } = body::redact(body, "response.content.text", report) {
            content.encoding = base64.then(|| "base64".to_owned());
            content.comment = Some(
                "decoded (leniently: the stream was cut or corrupt) to redact a credential in it"
                    .to_owned(),
            );
        }
    }
}

/// A URL: credential-named query parameters, then patterns in every view.
pub(super) fn url(url: &mut String, place: &str, report: &mut Report) {
    let mut hits = Vec::new();
    if let Some(query) = params::query_range(url) {
        params::pairs(url, query, &mut hits);
    }
    scan_text(url, &mut hits);
    report.apply(place, url, &hits);
}

/// A parameter's value: all of it if the name says credential, else by
/// pattern.
fn param(name: &str, value: &mut String, place: &str, report: &mut Report) {
    if params::is_credential_name(name) {
        if let Some(hit) = params::value_hit(0..value.len(), value.clone()) {
            report.apply(place, value, &[hit]);
            return;
        }
    }
    report.text(place, value);
}

/// Sensitive headers through their rule, then every name and value by
/// pattern (a key as a cookie's name, in a folded `Set-Cookie`'s
/// attributes, as a header's name).
fn headers(headers: &mut [Header], prefix: &'static str, report: &mut Report) {
    for h in headers {
        match report.findings {
            // `leaks` wants each secret, not only the result.
            Some(_) => header(h, prefix, report),
            None => seen::header(h, prefix, report, header),
        }
    }
}

/// One header: see [`headers`].
fn header(h: &mut Header, prefix: &str, report: &mut Report) {
    let mut hits = Vec::new();
    scan_text(&h.name, &mut hits);
    if !hits.is_empty() {
        report.apply(&format!("{prefix}.(name)"), &mut h.name, &hits);
    }
    let mut secrets = Vec::new();
    let sensitive = super::sensitive_value(&h.name, &h.value, &mut secrets);
    let mut hits = Vec::new();
    scan_text(sensitive.as_deref().unwrap_or(&h.value), &mut hits);
    if sensitive.is_none() && hits.is_empty() {
        return;
    }
    let place = format!("{prefix}.{}", h.name.to_ascii_lowercase());
    for Secret {
        kind,
        value,
        cookie,
    } in &secrets
    {
        match cookie {
            Some(name) => {
                // The place names the cookie, never a secret in its name.
                let name = super::redact_text(name).unwrap_or_else(|| name.clone());
                report.found(&format!("{place}.{name}"), kind, value, false)
            }
            None => report.found(&place, kind, value, false),
        }
    }
    if let Some(value) = sensitive {
        h.value = value;
        report.changed(&place);
    }
    report.apply(&place, &mut h.value, &hits);
}

/// Cookie values are always secrets; names by pattern.
fn cookies(cookies: &mut [Cookie], prefix: &str, report: &mut Report) {
    for c in cookies {
        report.text(prefix, &mut c.name);
        if !c.value.is_empty() && !is_marker(&c.value) {
            let place = format!("{prefix}.{}", c.name);
            let kind = super::whole_kind(&c.value).unwrap_or("cookie");
            report.found(&place, kind, &c.value, false);
            c.value = marker("cookie", &c.value);
            report.changed(&place);
        }
    }
}

/// Each event's fields, then secrets split across events' pieces.
fn events_in_place(events: &mut [SseEvent], report: &mut Report) {
    let place = "_sseEvents";
    for ev in events.iter_mut() {
        report.text(place, &mut ev.event);
        report.text(place, &mut ev.data);
        if let Some(id) = &mut ev.id {
            report.text(place, id);
        }
    }
    let mut hits: Vec<Hit> = Vec::new();
    stream::assembled_events(events, &mut hits);
    if hits.is_empty() {
        return;
    }
    let mut per_event: Vec<Vec<Hit>> = (0..events.len()).map(|_| Vec::new()).collect();
    for hit in hits {
        for (src, range) in &hit.at {
            per_event[*src].push(Hit {
                kind: hit.kind,
                value: hit.value.clone(),
                at: vec![(0, range.clone())],
            });
        }
    }
    for (ev, hits) in events.iter_mut().zip(per_event) {
        report.apply(place, &mut ev.data, &hits);
    }
}

//! One test per place a secret travels (the places and patterns of
//! FORMAT.md, "Redaction"): after `redact_entry` the secret is gone in every
//! form a reader recovers, the rest is byte-identical, and `scan_entry` on
//! the original names the place.
use super::*;
use crate::model::{Header, PostData, SseEvent};

const KEY: &str =
    "sk-ant-api03-FAKEredactFAKEredactFAKEredactFAKEredactFAKEredactFAKEredactFAKEred-FAKE";
const AWS_SECRET: &str = "FAKEwJalrXUtnFEMI/K7MDENG+bPxRfiCYFAKEKE";

fn m(kind: &str, secret: &str) -> String {
    marker(kind, secret)
}

/// Every form of the entry a reader recovers: as stored; every JSON string
/// decoded, then percent-decoded; base64 bodies decoded and inflated; SSE
/// deltas joined (from the events and from the raw stream).
fn recoverable(e: &Entry) -> Vec<String> {
    let json = serde_json::to_string(e).unwrap();
    let mut forms = vec![json.clone()];
    let mut strings = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
                out.push(k.clone());
                walk(x, out)
            }),
            _ => {}
        }
    }
    walk(&serde_json::from_str(&json).unwrap(), &mut strings);
    for s in &strings {
        // A string that is itself JSON (an SSE event's data, a body).
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(s) {
            let mut inner = Vec::new();
            walk(&v, &mut inner);
            forms.push(inner.join(""));
        }
        if let Some(bytes) = crate::base64::decode(s) {
            forms.push(String::from_utf8_lossy(&bytes).into_owned());
            if let Some(inflated) = body::inflate(&bytes, None) {
                forms.push(String::from_utf8_lossy(&inflated).into_owned());
            }
        }
    }
    let joined = strings.join("\n");
    let mut decoded = view::View::default();
    view::percent_decoded(&mut decoded, 0, &joined, 0..joined.len(), true);
    forms.push(decoded.text);
    forms.push(joined);
    let deltas: String = e
        .sse_events
        .iter()
        .flatten()
        .filter_map(|ev| serde_json::from_str::<serde_json::Value>(&ev.data).ok())
        .filter_map(|v| v["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    forms.push(deltas);
    let raw: String = e
        .response_text()
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|v| v["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    forms.push(raw);
    forms
}

/// Redacts `e`; asserts `secret` is in a recoverable form before and in
/// none after, and that `scan_entry` named `place`.
fn gone(e: Entry, secret: &str, place: &str) -> Entry {
    all_gone(e, &[secret], place)
}

/// [`gone`] for several secrets in one place.
fn all_gone(mut e: Entry, secrets: &[&str], place: &str) -> Entry {
    for secret in secrets {
        assert!(
            recoverable(&e).iter().any(|f| f.contains(secret)),
            "the test must hide {secret} somewhere recoverable"
        );
    }
    let findings = scan_entry(&mut e.clone());
    assert!(
        findings
            .iter()
            .any(|f| !f.example && (f.place == place || f.also.iter().any(|p| p == place))),
        "{place} not among {findings:#?}"
    );
    assert!(findings.len() >= secrets.len(), "{findings:#?}");
    redact_entry(&mut e);
    for secret in secrets {
        assert!(
            findings.iter().all(|f| !format!("{f:?}").contains(secret)),
            "a finding holds the secret"
        );
        for form in recoverable(&e) {
            assert!(!form.contains(secret), "{secret} still in {form}");
        }
    }
    let again = e.clone();
    redact_entry(&mut e);
    assert_eq!(e, again, "redacting twice changes nothing");
    e
}

fn post(mime: &str, text: String, base64: bool) -> Entry {
    let mut e = Entry::default();
    e.har.request.url = "https://api.example.test/v1/upload".into();
    e.har.request.post_data = Some(PostData {
        mime_type: mime.into(),
        text: Some(text),
        comment: base64.then(|| "base64".into()),
        ..Default::default()
    });
    e
}

fn body_of(e: &Entry) -> &str {
    e.request_text().unwrap()
}

#[test]
fn url_credential_named_parameters() {
    for name in ["api_key", "Token", "key", "ACCESS_TOKEN", "sig"] {
        let mut e = Entry::default();
        e.har.request.url = format!("https://x.test/v1/models?{name}=FAKEopaque42&page=2");
        e.har.request.query_string = vec![crate::model::QueryString {
            name: name.into(),
            value: "FAKEopaque42".into(),
            comment: None,
        }];
        let e = gone(e, "FAKEopaque42", "request.url");
        let mk = m("secret", "FAKEopaque42");
        assert_eq!(
            e.har.request.url,
            format!("https://x.test/v1/models?{name}={mk}&page=2")
        );
        assert_eq!(e.har.request.query_string[0].value, mk);
    }
}

#[test]
fn url_percent_encoded_in_query_and_path() {
    let encoded = KEY.replace('-', "%2D");
    let mut e = Entry::default();
    e.har.request.url = format!("https://x.test/keys/{encoded}/use?note={encoded}&x=1");
    let e = gone(e, KEY, "request.url");
    let mk = m("sk-ant-api03", KEY);
    assert_eq!(
        e.har.request.url,
        format!("https://x.test/keys/{mk}/use?note={mk}&x=1")
    );
}

#[test]
fn form_body_pem_and_percent_encoded_aws_secret() {
    let pem =
        "-----BEGIN PRIVATE KEY-----\nMIIFAKEkeyFAKEkeyFAKE\nFAKE0123==\n-----END PRIVATE KEY-----";
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b' ' => "+".to_owned(),
                b'\n' => "%0A".to_owned(),
                b'/' => "%2F".to_owned(),
                b'+' => "%2B".to_owned(),
                b'=' => "%3D".to_owned(),
                _ => char::from(b).to_string(),
            })
            .collect::<String>()
    };
    let text = format!(
        "user=bob&pem={}&aws_secret_access_key={}&next=ok",
        enc(pem),
        enc(AWS_SECRET)
    );
    let e = post("application/x-www-form-urlencoded", text, false);
    let e = all_gone(
        e,
        &["MIIFAKEkeyFAKEkey", AWS_SECRET],
        "request.postData.text",
    );
    assert_eq!(
        body_of(&e),
        format!(
            "user=bob&pem={}&aws_secret_access_key={}&next=ok",
            m("private-key", pem),
            m("aws-secret-key", AWS_SECRET)
        )
    );
    let e = post(
        "application/x-www-form-urlencoded",
        format!("x=1&aws_secret_access_key={}", enc(AWS_SECRET)),
        false,
    );
    gone(e, AWS_SECRET, "request.postData.text");
}

#[test]
fn json_unicode_and_slash_escapes() {
    let escaped = KEY.replace('-', "\\u002d");
    let aws = AWS_SECRET.replace('/', "\\/");
    let text = format!("{{\"a\":\"use {escaped} now\",\"aws_secret_access_key\":\"{aws}\"}}");
    let e = post("application/json", text, false);
    let e = all_gone(e, &[KEY, AWS_SECRET], "request.postData.text");
    assert_eq!(
        body_of(&e),
        format!(
            "{{\"a\":\"use {} now\",\"aws_secret_access_key\":\"{}\"}}",
            m("sk-ant-api03", KEY),
            m("aws-secret-key", AWS_SECRET)
        )
    );
}

#[test]
fn binary_and_multipart_bodies_stored_as_base64() {
    let mut bin = vec![0x89, b'P', b'N', b'G', 0xff, 0x00];
    bin.extend_from_slice(KEY.as_bytes());
    bin.extend_from_slice(&[0xfe, 0x80]);
    let e = post(
        "application/octet-stream",
        crate::base64::encode(&bin),
        true,
    );
    let e = gone(e, KEY, "request.postData.text");
    let got = crate::base64::decode(body_of(&e)).unwrap();
    let mut want = bin[..6].to_vec();
    want.extend_from_slice(m("sk-ant-api03", KEY).as_bytes());
    want.extend_from_slice(&[0xfe, 0x80]);
    assert_eq!(got, want);

    let mut mp = b"--B\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nFAKEpass-1\r\n--B\r\nContent-Disposition: form-data; name=\"img\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n".to_vec();
    mp.extend_from_slice(&[0x89, b'P', 0xff]);
    mp.extend_from_slice(KEY.as_bytes());
    mp.extend_from_slice(b"\x00\xfe\r\n--B--\r\n");
    let e = post(
        "multipart/form-data; boundary=B",
        crate::base64::encode(&mp),
        true,
    );
    let e = all_gone(e, &[KEY, "FAKEpass-1"], "request.postData.text");
    let got = crate::base64::decode(body_of(&e)).unwrap();
    assert!(got.ends_with(b"\x00\xfe\r\n--B--\r\n") && got.starts_with(b"--B\r\n"));
}

#[test]
fn gzip_with_junk_or_cut_short_kept_as_base64() {
    use std::io::Write;
    let prose = "lorem ipsum dolor sit amet ".repeat(400);
    let text = format!("{prose}the key {KEY} {prose}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let whole = gz.finish().unwrap();
    let mut junk = whole.clone();
    junk.extend_from_slice(b"\x00\xffjunk");
    let cut = whole[..whole.len() - 8].to_vec();
    for wire in [junk, cut] {
        let mut e = Entry::default();
        e.har.response.headers = vec![Header {
            name: "Content-Encoding".into(),
            value: "gzip".into(),
            comment: None,
        }];
        e.har.response.content.mime_type = Some("text/plain".into());
        e.har.response.content.encoding = Some("base64".into());
        e.har.response.content.text = Some(crate::base64::encode(&wire));
        let e = gone(e, KEY, "response.content.text");
        let body = e.response_text().unwrap();
        assert!(e.har.response.content.encoding.is_none(), "decoded as text");
        assert!(body.starts_with(&format!("{prose}the key {}", m("sk-ant-api03", KEY))));
    }
}

#[test]
fn secrets_in_header_and_cookie_names_and_folded_set_cookie() {
    let h = |name: &str, value: &str| Header {
        name: name.into(),
        value: value.into(),
        comment: None,
    };
    let mut e = Entry::default();
    e.har.request.headers = vec![
        h("Cookie", &format!("{KEY}=1; theme=dark")),
        h(KEY, "1"),
        h("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    e.har.request.cookies = vec![crate::model::Cookie {
        name: KEY.into(),
        value: "1".into(),
        ..Default::default()
    }];
    e.har.response.headers = vec![h(
        "Set-Cookie",
        &format!("sid=abc; Path=/;\r\n\tNote={KEY}"),
    )];
    let e = gone(e, KEY, "request.headers.cookie");
    let mk = m("sk-ant-api03", KEY);
    assert_eq!(
        e.har.request.headers[0].value,
        format!("{mk}={}; theme={}", m("cookie", "1"), m("cookie", "dark"))
    );
    assert_eq!(e.har.request.headers[1].name, mk);
    assert_eq!(
        e.har.request.headers[2].value, "dGhlIHNhbXBsZSBub25jZQ==",
        "a nonce, not a secret"
    );
    assert_eq!(e.har.request.cookies[0].name, mk);
    assert_eq!(
        e.har.response.headers[0].value,
        format!("sid={}; Path=/;\r\n\tNote={mk}", m("cookie", "abc"))
    );
    let mut probe = Entry::default();
    probe.har.response.headers = vec![h("Set-Cookie", &format!("sid=x;\r\n\tNote={KEY}"))];
    gone(probe, KEY, "response.headers.set-cookie");
    let mut ws = Entry::default();
    ws.har.request.headers = vec![h("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")];
    assert!(scan_entry(&mut ws).is_empty());
}

fn delta(text: &str) -> String {
    format!("{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{text}\"}}}}")
}

#[test]
fn responses_reason_phrase_sse_id_and_split_deltas() {
    let mut e = Entry::default();
    e.har.response.status_text = format!("OK {KEY}");
    let e = gone(e, KEY, "response.statusText");
    assert_eq!(
        e.har.response.status_text,
        format!("OK {}", m("sk-ant-api03", KEY))
    );

    let cuts = [0, 10, 25, 60, KEY.len()];
    let pieces: Vec<&str> = cuts.windows(2).map(|w| &KEY[w[0]..w[1]]).collect();
    let mut events = vec![SseEvent {
        event: "message_start".into(),
        data: "{\"type\":\"message_start\"}".into(),
        id: Some(format!("id-{KEY}")),
        ..Default::default()
    }];
    events.push(SseEvent {
        event: "content_block_delta".into(),
        data: delta("Your key: "),
        ..Default::default()
    });
    for p in &pieces {
        events.push(SseEvent {
            event: "content_block_delta".into(),
            data: delta(p),
            ..Default::default()
        });
    }
    events.push(SseEvent {
        event: "content_block_delta".into(),
        data: delta(" - keep it safe."),
        ..Default::default()
    });
    let raw: String = events
        .iter()
        .map(|ev| {
            let id = ev
                .id
                .as_ref()
                .map(|i| format!("id: {i}\n"))
                .unwrap_or_default();
            format!("event: {}\n{id}data: {}\n\n", ev.event, ev.data)
        })
        .collect();
    let mut e = Entry::default();
    e.har.response.content.mime_type = Some("text/event-stream".into());
    e.har.response.content.text = Some(raw.clone());
    e.sse_events = Some(events);
    let e = gone(e, KEY, "_sseEvents");
    let mk = m("sk-ant-api03", KEY);
    let events = e.sse_events.as_ref().unwrap();
    assert_eq!(events[0].id.as_deref(), Some(format!("id-{mk}").as_str()));
    assert_eq!(events[1].data, delta("Your key: "));
    for ev in &events[2..6] {
        assert_eq!(ev.data, delta(&mk), "each piece's event carries the marker");
    }
    assert_eq!(events[6].data, delta(" - keep it safe."));
    let mut want = raw;
    for p in pieces.iter().rev() {
        want = want.replacen(
            &format!("\"text\":\"{p}\""),
            &format!("\"text\":\"{mk}\""),
            1,
        );
    }
    want = want.replace(KEY, &mk);
    assert_eq!(e.response_text(), Some(want.as_str()));
}

#[test]
fn documented_examples_are_left_and_listed() {
    let text = "aws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
    let mut e = post("text/plain", text.to_owned(), false);
    let findings = scan_entry(&mut e);
    assert_eq!(body_of(&e), text);
    assert!(e.redacted.is_empty());
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert!(findings.iter().all(|f| f.example));
}

#[test]
fn nothing_else_is_taken() {
    let prose = "Around the key: keep this text exactly. ".repeat(20);
    let pem =
        "-----BEGIN RSA PRIVATE KEY-----\\nMIIFAKE0123\\nFAKE==\\n-----END RSA PRIVATE KEY-----";
    let other_end = "-----END PRIVATE KEY-----";
    let tail = "after the block: ordinary words, code {x: 1}, and more.\\n".repeat(900);
    assert!(tail.len() > 50_000);
    let text = format!(
        "{{\"a\":\"{prose}{KEY} {prose}\",\"b\":\"{pem}{prose}\",\"c\":\"-----BEGIN PRIVATE KEY-----\\nMIIFAKEunclosed\\nFAKE0\\n{tail}{other_end}\"}}"
    );
    let mut e = post("application/json", text, false);
    redact_entry(&mut e);
    let want = format!(
        "{{\"a\":\"{prose}{} {prose}\",\"b\":\"{}{prose}\",\"c\":\"{}\\n{tail}{other_end}\"}}",
        m("sk-ant-api03", KEY),
        m("private-key", pem),
        m(
            "private-key",
            "-----BEGIN PRIVATE KEY-----\\nMIIFAKEunclosed\\nFAKE0"
        ),
    );
    assert!(body_of(&e) == want, "{}", body_of(&e));
}

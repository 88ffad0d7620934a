//! Tests for redaction, with fake keys that look fake (`FAKE` inside).
use super::*;
use crate::model::{Cookie, Header, PostData, QueryString, SseEvent};

/// A fake key of an Anthropic family: `FAKE` and 80 key characters.
fn fake_ant(family: &str) -> String {
    format!("sk-ant-{family}-FAKE{}", "x9_Y-AbCd0".repeat(8))
}

#[test]
fn fingerprint_and_marker() {
    // SHA-256("abc") = ba7816bf8f01cfea…
    assert_eq!(fingerprint("abc"), "ba7816bf8f01");
    assert_eq!(marker("secret", "abc"), "redacted:secret:ba7816bf8f01");
    assert!(is_marker("redacted:sk-ant-api03:ba7816bf8f01"));
    assert!(is_marker("Bearer redacted:sk-ant-oat01:ba7816bf8f01"));
    assert!(!is_marker("redacted:secret:BA7816BF8F01"));
    assert!(!is_marker("redacted:secret:ba7816"));
    assert!(!is_marker("Bearer sk-ant-oat01-FAKE"));
}

#[test]
fn sensitive_header_names() {
    for name in [
        "Authorization",
        "proxy-authorization",
        "X-Api-Key",
        "api-key",
        "x-goog-api-key",
        "Cookie",
        "set-cookie",
        "X-Auth-Token",
        "x-client-secret",
        "X-Custom-Key",
    ] {
        assert!(is_sensitive_header(name), "{name}");
    }
    for name in [
        "content-type",
        "anthropic-version",
        "x-keyboard",
        "x-tokens-used",
        "user-agent",
    ] {
        assert!(!is_sensitive_header(name), "{name}");
    }
}

#[test]
fn each_family_is_found_with_its_kind() {
    let cases = [
        (fake_ant("api03"), "sk-ant-api03"),
        (fake_ant("oat01"), "sk-ant-oat01"),
        (fake_ant("admin01"), "sk-ant-admin01"),
        (fake_ant("xyz07"), "sk-ant"),
        (format!("sk-proj-FAKE{}", "aB3_-".repeat(20)), "openai"),
        (
            format!("sk-FAKE{}T3BlbkFJ{}", "a".repeat(16), "b".repeat(20)),
            "openai",
        ),
        ("AKIAFAKEFAKEFAKE1234".to_owned(), "aws-access-key"),
        ("ASIAFAKE0000000000FK".to_owned(), "aws-access-key"),
        (format!("ghp_FAKE{}", "a1B2".repeat(8)), "github"),
        (
            format!("github_pat_FAKE{}", "a1_B".repeat(10)),
            "github-pat",
        ),
        (
            format!("AIzaFAKE{}", "a1_-B".repeat(6) + "x"),
            "google-api-key",
        ),
        ("xoxb-FAKE-1234567890-abcdef".to_owned(), "slack"),
    ];
    for (secret, kind) in cases {
        let text = format!("{{\"k\":\"{secret}\"}}");
        let found = find_secrets(&text);
        assert_eq!(found.len(), 1, "{secret}");
        assert_eq!(found[0].kind, kind, "{secret}");
        assert_eq!(&text[found[0].start..found[0].end], secret);
    }
}

#[test]
fn labelled_aws_secret_is_found_without_its_label() {
    let secret = "FAKEwJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPL";
    for text in [
        format!("aws_secret_access_key = {secret}\n"),
        format!("{{\"SecretAccessKey\": \"{secret}\"}}"),
        format!("\"AWS_SECRET_ACCESS_KEY=\\\"{secret}\\\"\""),
    ] {
        let found = find_secrets(&text);
        assert_eq!(found.len(), 1, "{text}");
        assert_eq!(&text[found[0].start..found[0].end], secret);
        let redacted = redact_text(&text).unwrap();
        assert!(redacted.contains("redacted:aws-secret-key:"), "{redacted}");
        assert!(!redacted.contains(secret));
    }
}

#[test]
fn private_key_block_in_a_json_string() {
    let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\\nFAKEb3BlbnNzaC1rZXktdjEAAAAA\\nFAKE\\n-----END OPENSSH PRIVATE KEY-----";
    let text = format!("{{\"content\":\"cat id_ed25519\\n{pem}\\n\"}}");
    let redacted = redact_text(&text).unwrap();
    assert!(!redacted.contains("FAKEb3Blbn"), "{redacted}");
    assert!(redacted.contains("redacted:private-key:"));
    assert!(redact_text(&redacted).is_none());
}

#[test]
fn key_inside_a_prompt_body_is_replaced() {
    let key = fake_ant("api03");
    // After an escaped newline: no word boundary before the key.
    let body = format!(
        "{{\"model\":\"claude-sonnet-4-5\",\"messages\":[{{\"role\":\"user\",\"content\":\"my .env:\\nANTHROPIC_API_KEY={key}\\nsk-ant-x and also\\n{key}\"}}]}}"
    );
    let redacted = redact_text(&body).unwrap();
    assert!(!redacted.contains(&key));
    assert!(!redacted.contains("FAKEx9_Y"));
    let m = marker("sk-ant-api03", &key);
    assert_eq!(redacted.matches(&m).count(), 2, "{redacted}");
    assert!(
        redacted.contains("sk-ant-x and also"),
        "short non-keys stay"
    );
    serde_json::from_str::<serde_json::Value>(&redacted).expect("still JSON");
}

#[test]
fn markers_and_ordinary_text_are_not_secrets() {
    let text = concat!(
        "redacted:sk-ant-api03:3f9a1c0b27de Bearer redacted:bearer:3f9a1c0b27de ",
        "task-0123456789abcdef0123456789abcdef disk-usage ghost_writer_0123456789012345678901234567890123 ",
        "AKIA is a prefix; sk-ant-api03 alone; the github_pat_ docs; xoxb- ; AIza",
    );
    assert_eq!(find_secrets(text), vec![]);
    assert!(redact_text(text).is_none());
}

#[test]
fn bearer_keeps_scheme_and_names_the_family() {
    let key = fake_ant("oat01");
    let out = redact_header("Authorization", &format!("Bearer {key}")).unwrap();
    assert_eq!(
        out,
        format!("Bearer redacted:sk-ant-oat01:{}", fingerprint(&key))
    );
    let out = redact_header("authorization", "Bearer FAKE.opaque.token").unwrap();
    assert_eq!(
        out,
        format!("Bearer {}", marker("bearer", "FAKE.opaque.token"))
    );
    let out = redact_header("Proxy-Authorization", "Basic RkFLRTpGQUtF").unwrap();
    assert_eq!(out, format!("Basic {}", marker("basic", "RkFLRTpGQUtF")));
    let out = redact_header("x-api-key", &fake_ant("api03")).unwrap();
    assert!(out.starts_with("redacted:sk-ant-api03:"), "{out}");
    let out = redact_header("X-Session-Token", "FAKE-opaque").unwrap();
    assert!(out.starts_with("redacted:secret:"), "{out}");
    assert_eq!(redact_header("content-type", "application/json"), None);
    let out = redact_header("x-forwarded-note", &format!("key {key}")).unwrap();
    assert!(
        out.starts_with("key redacted:sk-ant-oat01:"),
        "other headers by pattern: {out}"
    );
}

#[test]
fn cookies_keep_names_and_attributes() {
    let out = redact_header("Cookie", "session=FAKEsess1on; theme=dark;empty=").unwrap();
    assert_eq!(
        out,
        format!(
            "session={}; theme={};empty=",
            marker("cookie", "FAKEsess1on"),
            marker("cookie", "dark")
        )
    );
    let out = redact_header("set-cookie", "sid=FAKE123; Path=/; Max-Age=60; HttpOnly").unwrap();
    assert_eq!(
        out,
        format!(
            "sid={}; Path=/; Max-Age=60; HttpOnly",
            marker("cookie", "FAKE123")
        )
    );
}

#[test]
fn redacting_twice_changes_nothing() {
    let key = fake_ant("api03");
    for (name, value) in [
        ("authorization", format!("Bearer {key}")),
        ("x-api-key", key.clone()),
        ("cookie", "a=FAKE1; b=FAKE2".to_owned()),
        ("set-cookie", "a=FAKE1; Path=/".to_owned()),
        ("x-other", format!("v={key}")),
    ] {
        let once = redact_header(name, &value).unwrap();
        assert!(!once.contains("FAKE"), "{once}");
        assert_eq!(redact_header(name, &once), None, "{name}: {once}");
    }
    let mut e = sample_entry(&key);
    redact_entry(&mut e);
    let once = e.clone();
    redact_entry(&mut e);
    assert_eq!(e, once);
}

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
        comment: None,
    }
}

fn cookie(name: &str, value: &str) -> Cookie {
    Cookie {
        name: name.into(),
        value: value.into(),
        ..Default::default()
    }
}

fn sample_entry(key: &str) -> Entry {
    let mut e = Entry::default();
    let req = &mut e.har.request;
    req.url = format!("https://api.example.test/v1/messages?key={key}&beta=true");
    req.query_string = vec![
        QueryString {
            name: "key".into(),
            value: key.into(),
            comment: None,
        },
        QueryString {
            name: "beta".into(),
            value: "true".into(),
            comment: None,
        },
    ];
    req.headers = vec![
        header("X-Api-Key", key),
        header("Authorization", &format!("Bearer {key}")),
        header("Content-Type", "application/json"),
        header("X-Note", key),
    ];
    req.cookies = vec![cookie("session", "FAKEcookie")];
    req.post_data = Some(PostData {
        mime_type: "application/json".into(),
        text: Some(format!(
            "{{\"messages\":[{{\"role\":\"user\",\"content\":\"use {key}\"}}]}}"
        )),
        ..Default::default()
    });
    let resp = &mut e.har.response;
    resp.headers = vec![
        header("Set-Cookie", "sid=FAKEsid; Path=/"),
        header("content-type", "text/event-stream"),
    ];
    resp.cookies = vec![cookie("sid", "FAKEsid")];
    resp.content.text = Some(format!("event: message\ndata: {{\"echo\":\"{key}\"}}\n\n"));
    e.sse_events = Some(vec![
        SseEvent {
            event: "message".into(),
            data: format!("{{\"echo\":\"{key}\"}}"),
            ..Default::default()
        },
        SseEvent {
            event: "message".into(),
            data: key.into(),
            ..Default::default()
        },
    ]);
    e
}

#[test]
fn whole_entry_is_redacted_and_places_listed_once() {
    let key = fake_ant("api03");
    let mut e = sample_entry(&key);
    redact_entry(&mut e);
    let json = serde_json::to_string(&e).unwrap();
    assert!(!json.contains(&key), "{json}");
    assert!(!json.contains("FAKE"), "{json}");
    assert_eq!(
        e.redacted,
        [
            "request.headers.x-api-key",
            "request.headers.authorization",
            "request.headers.x-note",
            "request.url",
            "request.queryString.key",
            "request.cookies.session",
            "request.postData.text",
            "response.headers.set-cookie",
            "response.cookies.sid",
            "response.content.text",
            "_sseEvents",
        ]
    );
    assert_eq!(e.request_header("content-type"), Some("application/json"));
    assert!(e.har.request.url.ends_with("&beta=true"));
    let m = marker("sk-ant-api03", &key);
    assert_eq!(
        e.request_header("x-api-key"),
        Some(m.as_str()),
        "same key, same marker everywhere"
    );
    assert_eq!(e.har.request.query_string[0].value, m);
}

#[test]
fn base64_bodies_are_searched_and_reencoded_only_when_needed() {
    let key = fake_ant("api03");
    let mut binary: Vec<u8> = vec![0xff, 0x00, 0xfe];
    binary.extend_from_slice(key.as_bytes());
    binary.extend_from_slice(&[0x80, 0x81]);
    let mut e = Entry::default();
    e.har.response.content.encoding = Some("base64".into());
    e.har.response.content.text = Some(crate::base64::encode(&binary));
    redact_entry(&mut e);
    assert_eq!(e.redacted, ["response.content.text"]);
    let bytes = crate::base64::decode(e.response_text().unwrap()).unwrap();
    assert_eq!(&bytes[..3], &[0xff, 0x00, 0xfe]);
    assert_eq!(&bytes[bytes.len() - 2..], &[0x80, 0x81]);
    let middle = String::from_utf8(bytes[3..bytes.len() - 2].to_vec()).unwrap();
    assert_eq!(middle, marker("sk-ant-api03", &key));

    let clean = crate::base64::encode(&[0xff, 1, 2, 3, 0x80]);
    let mut e = Entry::default();
    e.har.response.content.encoding = Some("base64".into());
    e.har.response.content.text = Some(clean.clone());
    redact_entry(&mut e);
    assert!(e.redacted.is_empty());
    assert_eq!(e.response_text(), Some(clean.as_str()));
}

#[test]
fn a_large_clean_body_is_cheap() {
    // The shape of a Claude Code request: ~60 KB of JSON with tools and
    // prose, dashes, underscores and hex ids but no credential.
    let block = "{\"name\":\"Task-tool_runner\",\"description\":\"Launch a new agent to handle complex, multi-step tasks. \
                 Use sk- prefixes and AKIA words in prose; ask-me; ghost_ids 0123456789abcdef.\",\
                 \"input_schema\":{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":\"string\"}}}},";
    let body = format!("{{\"tools\":[{}]}}", block.repeat(60_000 / block.len()));
    assert!(body.len() > 55_000);
    let start = std::time::Instant::now();
    for _ in 0..20 {
        assert!(redact_text(&body).is_none());
    }
    let each = start.elapsed() / 20;
    assert!(
        each < std::time::Duration::from_millis(20),
        "{each:?} per 60 KB body"
    );
}

#[test]
fn leaks_are_what_redaction_would_change() {
    let cookie = redact_header("cookie", "a=FAKE1; b=FAKE2").unwrap();
    assert!(!header_leaks("Cookie", &cookie));
    assert!(header_leaks("Cookie", "a=FAKE1"));
    assert!(header_leaks("Authorization", "Bearer FAKE"));
    assert!(!header_leaks(
        "Authorization",
        "Bearer redacted:bearer:0123456789ab"
    ));
    assert!(header_leaks("x-debug", &fake_ant("api03")));
    assert!(!header_leaks("x-debug", "nothing here"));
}

#[test]
fn remembered_markers_match_fresh_ones() {
    // The same opaque token as a bearer credential and as an API key:
    // each keeps its own fallback kind, however often it is seen.
    for _ in 0..3 {
        assert_eq!(
            redact_header("authorization", "Bearer FAKE-opaque-1").unwrap(),
            format!("Bearer {}", marker("bearer", "FAKE-opaque-1"))
        );
        assert_eq!(
            redact_header("x-api-key", "FAKE-opaque-1").unwrap(),
            marker("secret", "FAKE-opaque-1")
        );
    }
    // More keys than are remembered, twice over: each still its own marker.
    let keys: Vec<String> = (0..20)
        .map(|i| format!("{}{i:02}", fake_ant("api03")))
        .collect();
    for _ in 0..2 {
        for key in &keys {
            assert_eq!(
                redact_header("x-api-key", key).unwrap(),
                format!("redacted:sk-ant-api03:{}", fingerprint(key))
            );
        }
    }
}

//! `analyze leaks` and `analyze redact`: findings, places, kinds,
//! excerpts that never hold the secret, and redaction that leaves no leak.

use crate::{analyze, analyze_json, handmade};
use serde_json::Value;

fn findings(v: &Value) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["place"].as_str().unwrap().to_owned(),
                f["kind"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn secret_in(name: &str, prefix: &str) -> String {
    let text = std::fs::read_to_string(handmade(name)).unwrap();
    let start = text.find(prefix).unwrap();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[test]
fn an_authorization_bearer_token_is_a_leak() {
    let v = analyze_json(&["leaks", &handmade("bearer-token.har")], 1);
    assert_eq!(
        findings(&v),
        [(
            "request.headers.authorization".to_owned(),
            "sk-ant-oat01".to_owned(),
            "leak".to_owned()
        )]
    );
    let f = &v["findings"][0];
    let token = secret_in("bearer-token.har", "sk-ant-oat01-FAKE");
    assert_eq!(
        f["excerpt"],
        format!("sk-ant-oat01-FAKE…({} chars)", token.len())
    );
    assert_eq!(f["entry"], 0);
    let human = analyze(&["leaks", &handmade("bearer-token.har")]);
    assert_eq!(human.code, 1);
    assert!(
        !human.stdout.contains(&token) && !v.to_string().contains(&token),
        "the secret is never printed"
    );
    assert!(human.stdout.contains("1 leak(s)"), "{}", human.stdout);
}

#[test]
fn a_key_pasted_into_a_prompt_is_found_in_request_reply_and_stream() {
    // One key, one finding: its first place, and the others under `also`.
    let v = analyze_json(&["leaks", &handmade("key-in-prompt.har")], 1);
    assert_eq!(
        findings(&v),
        [(
            "request.postData.text".to_owned(),
            "sk-ant-api03".to_owned(),
            "leak".to_owned()
        )]
    );
    assert_eq!(
        v["findings"][0]["also"],
        serde_json::json!(["response.content.text", "_sseEvents"])
    );
}

#[test]
fn a_redacted_key_sent_to_another_host_is_a_warning_not_a_leak() {
    let v = analyze_json(&["leaks", &handmade("third-party-base.har")], 0);
    assert_eq!(
        (v["leaks"].as_u64(), v["warnings"].as_u64()),
        (Some(0), Some(1))
    );
    let f = &v["findings"][0];
    assert_eq!(f["place"], "request.headers.x-api-key");
    assert_eq!(
        f["url"],
        "https://api.anthropic.com/api/claude_code/organizations/metrics_enabled"
    );
    assert!(
        f["kind"]
            .as_str()
            .unwrap()
            .contains("not only to the API host api.z.ai"),
        "{f}"
    );
    let strict = analyze(&["leaks", "--strict", &handmade("third-party-base.har")]);
    assert_eq!(strict.code, 1, "--strict fails on warnings too");
}

#[test]
fn a_browser_har_with_a_session_cookie_and_a_key() {
    let v = analyze_json(&["leaks", &handmade("browser.har")], 1);
    assert_eq!(
        findings(&v),
        [
            (
                "response.headers.set-cookie.sessionKey".to_owned(),
                "sk-ant-sid01".to_owned(),
                "leak".to_owned()
            ),
            (
                "request.headers.x-api-key".to_owned(),
                "sk-ant-api03".to_owned(),
                "leak".to_owned()
            ),
        ]
    );
}

#[test]
fn redact_leaves_leaks_clean_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for (name, ext) in [
        ("bearer-token.har", "har"),
        ("key-in-prompt.har", "har.zst"),
        ("browser.har", "har.gz"),
    ] {
        let out = dir.path().join(format!("{name}.redacted.{ext}"));
        let r = analyze(&["redact", &handmade(name), "-o", out.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v = analyze_json(&["leaks", out.to_str().unwrap()], 0);
        assert_eq!(v["leaks"], 0, "{name}: {v}");
        // Redaction keeps what usage needs.
        let before = analyze_json(&["usage", &handmade(name)], 0);
        let after = analyze_json(&["usage", out.to_str().unwrap()], 0);
        assert_eq!(before["total"], after["total"], "{name}");
    }
    let out = dir.path().join("b.har");
    let done = analyze_json(
        &[
            "redact",
            &handmade("bearer-token.har"),
            "-o",
            out.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(
        (done["entries"].as_u64(), done["redacted_entries"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(done["format"], "Har");
    let shown = analyze_json(&["show", out.to_str().unwrap(), "0"], 0);
    assert_eq!(
        shown["redacted"],
        serde_json::json!(["request.headers.authorization"])
    );
}

#[test]
fn recorded_archives_with_markers_are_clean() {
    for name in ["cc-2.0.50-a.har", "cc-2.1.332.har", "retry-529.har"] {
        let r = analyze(&["leaks", &handmade(name)]);
        assert_eq!(r.code, 0, "{name}: {}", r.stdout);
        assert!(r.stdout.contains("0 leak(s), 0 warning(s)"), "{}", r.stdout);
    }
}

/// A browser HAR's page title is often the page's URL; a key in it (or in
/// the log's comment or a custom log field) is redacted like any body's,
/// whether those fields come before or after the entries.
#[test]
fn redact_cleans_the_log_pages_comment_and_custom_fields() {
    let key = format!("sk-ant-api03-FAKE{}", "x".repeat(80));
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("pages.har");
    let out = dir.path().join("clean.har");
    let har = serde_json::json!({"log": {
        "version": "1.2", "creator": {"name": "test", "version": "0"},
        "comment": format!("exported with {key}"),
        "pages": [{"startedDateTime": "2026-12-04T08:00:00.000Z", "id": "page_1",
                   "title": format!("https://example.test/?k={key}"), "pageTimings": {}}],
        "entries": [],
        "_notes": {"seen": [format!("Bearer {key}")]}
    }});
    std::fs::write(&src, serde_json::to_vec(&har).unwrap()).unwrap();
    let r = analyze(&["redact", src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains(&key),
        "the key is still in the copy:\n{text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    let log = &v["log"];
    assert!(log["pages"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("https://example.test/?k=redacted:"));
    assert!(log["comment"].as_str().unwrap().contains("redacted:"));
    assert!(log["_notes"]["seen"][0]
        .as_str()
        .unwrap()
        .contains("redacted:"));
    assert_eq!(log["pages"][0]["id"], "page_1", "the rest is kept");
}

/// `leaks` judges the log's pages, comment and custom fields with the
/// scanner `redact` cleans them with: a page title holding a URL with
/// `?api_key=` (a value no pattern knows: the parameter's name says it)
/// and a key in a custom field, after the entries, are found under their
/// JSON paths; the redacted copy has no finding left.
#[test]
fn leaks_scans_the_log_pages_comment_and_custom_fields_as_redact_cleans_them() {
    let key = format!("sk-ant-api03-FAKE{}", "y".repeat(80));
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("pages.har");
    let out = dir.path().join("clean.har");
    // `pages` and `_notes` come after the entries, as some tools write them.
    let text = format!(
        r#"{{"log": {{"version": "1.2", "creator": {{"name": "test", "version": "0"}},
        "comment": "a page of the docs",
        "entries": [{{"startedDateTime": "2026-12-04T08:00:00.000Z", "time": 1, "pageref": "page_1",
            "request": {{"method": "GET", "url": "https://example.test/", "httpVersion": "HTTP/1.1",
                "headers": [], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0}},
            "response": {{"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [],
                "cookies": [], "content": {{"size": 0, "mimeType": "text/plain"}}, "redirectURL": "",
                "headersSize": -1, "bodySize": 0}},
            "cache": {{}}, "timings": {{"send": 0, "wait": 1, "receive": 0}}}}],
        "pages": [{{"startedDateTime": "2026-12-04T08:00:00.000Z", "id": "page_1",
            "title": "https://example.test/docs?lang=en&api_key=opaqueFAKE0123", "pageTimings": {{}}}}],
        "_notes": {{"seen": ["nothing here", "x-api-key: {key}"]}}}}}}"#
    );
    std::fs::write(&src, text).unwrap();
    let v = analyze_json(&["leaks", src.to_str().unwrap()], 1);
    assert_eq!(
        findings(&v),
        [
            (
                "log.pages[0].title".to_owned(),
                "secret".to_owned(),
                "leak".to_owned()
            ),
            (
                "log._notes.seen[1]".to_owned(),
                "sk-ant-api03".to_owned(),
                "leak".to_owned()
            ),
        ]
    );
    let page = &v["findings"][0];
    assert_eq!(page["entry"], Value::Null, "a log finding has no entry");
    assert_eq!(v["leaks"], 2);
    let all = v.to_string();
    assert!(
        !all.contains("opaqueFAKE0123") && !all.contains(&key),
        "{all}"
    );
    let human = analyze(&["leaks", src.to_str().unwrap()]);
    assert_eq!(human.code, 1, "{}", human.stderr);
    assert!(
        human.stdout.contains("log.pages[0].title"),
        "{}",
        human.stdout
    );

    let r = analyze(&["redact", src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let clean = analyze_json(&["leaks", out.to_str().unwrap()], 0);
    assert_eq!(findings(&clean), [], "{clean}");
    assert_eq!(clean["leaks"], 0);
    let copy: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let title = copy["log"]["pages"][0]["title"].as_str().unwrap();
    assert!(
        title.starts_with("https://example.test/docs?lang=en&api_key=redacted:secret:"),
        "{title}"
    );
}

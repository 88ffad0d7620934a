//! Other tools' archives are read per entry and per field, as
//! far as they can be (FORMAT.md, "Reading anyone's archive").
use crate::{analyze, handmade};

/// `off-schema.har`: a good call, five entries each bending HAR one way,
/// a good call. Every entry is listed; each kind of problem is named once
/// with its entry and JSON path; the calls that still carry usage count.
#[test]
fn off_schema_fields_are_read_with_one_warning_per_kind() {
    let path = handmade("off-schema.har");
    let ls = analyze(&["ls", &path, "--json"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    let rows = ls.json();
    assert_eq!(rows.as_array().unwrap().len(), 7, "{rows}");
    assert_eq!(rows[1]["status"], 200, "status \"200\" read as 200");
    assert_eq!(rows[3]["status"], 0, "a missing response is status 0");
    for want in [
        "entries[1].cache: expected object, found array, left empty []",
        r#"entries[1].response.status: expected integer, found string "200""#,
        r#"entries[1].response.content.size: expected integer, found string "12""#,
        r#"entries[2].time: expected number, found string "1800""#,
        r#"entries[2].request.headers[2].value: expected string, found array ["a","b"]"#,
        r#"entries[2].request.cookies[0].httpOnly: expected boolean, found string "true""#,
        r#"entries[2].request.postData.params[0].value: expected string, found object {"nested":1}"#,
        "entries[3].response: missing, left empty",
        "entries[4].response.content: missing, left empty",
        "entries[5]: a lone UTF-16 surrogate escape (invalid in UTF-8) was replaced by U+FFFD",
    ] {
        let line = format!("analyze: warning: {path}: {want}");
        assert_eq!(ls.stderr.matches(&line).count(), 1, "{want}\n{}", ls.stderr);
    }
    let usage = analyze(&["usage", &path, "--json"]);
    assert_eq!(usage.code, 0, "{}", usage.stderr);
    assert_eq!(usage.json()["total"]["requests"], 5, "{}", usage.stdout);
    for n in ["1", "3", "5"] {
        let show = analyze(&["show", &path, n]);
        assert_eq!(show.code, 0, "show {n}: {}", show.stderr);
    }
}

/// The same problem in many entries is one warning naming the first, and
/// one line counting the rest.
#[test]
fn a_repeated_problem_is_warned_about_once() {
    let entry = r#"{"startedDateTime":"2026-01-01T00:00:00Z","time":1,
        "request":{"method":"GET","url":"http://x/"},
        "response":{"status":"204","content":{"size":0}}}"#;
    let doc = format!(r#"{{"log":{{"entries":[{entry},{entry},{entry}]}}}}"#);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("same.har");
    std::fs::write(&path, doc).unwrap();
    let path = path.display().to_string();
    let r = analyze(&["ls", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr
            .matches("response.status: expected integer")
            .count(),
        1,
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("entries[0].response.status"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("2 more like the warnings above"),
        "{}",
        r.stderr
    );
}

/// A directory run names the file it cannot read with the reason, reads
/// the others, and exits 2 at the end saying how many were skipped.
#[test]
fn an_unreadable_file_in_a_directory_is_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(handmade("retry-529.har"), dir.path().join("a.har")).unwrap();
    std::fs::write(dir.path().join("b.har"), "not json at all").unwrap();
    std::fs::copy(handmade("gzip-body.har"), dir.path().join("c.har")).unwrap();
    let d = dir.path().display().to_string();
    let r = analyze(&["usage", &d, "--json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let b = dir.path().join("b.har").display().to_string();
    assert!(
        r.stderr
            .contains(&format!("analyze: warning: skipped {b}: ")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("not a HAR archive"), "{}", r.stderr);
    assert!(
        r.stderr
            .ends_with("analyze: error: 1 of 3 files skipped (see the warnings above)\n"),
        "{}",
        r.stderr
    );
    let totals = r.json();
    let alone = |f: &str| {
        let one = analyze(&["usage", &handmade(f), "--json"]);
        one.json()["total"]["requests"].as_u64().unwrap()
    };
    assert_eq!(
        totals["total"]["requests"].as_u64().unwrap(),
        alone("retry-529.har") + alone("gzip-body.har")
    );
    for cmd in [vec!["ls", &d, "--json"], vec!["leaks", &d]] {
        let r = analyze(&cmd);
        assert_eq!(r.code, 2, "{cmd:?}: {}", r.stderr);
        assert!(r.stderr.contains("1 of 3 files skipped"), "{}", r.stderr);
    }
    // A single unreadable file is still an error of its own.
    let r = analyze(&["ls", &b]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&b) && r.stderr.contains("not a HAR archive"),
        "{}",
        r.stderr
    );
}

/// `ls --json` on a file that cannot be read prints nothing on stdout.
#[test]
fn ls_json_prints_valid_json_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.har");
    std::fs::write(&bad, "{\"log\": [1,2]}").unwrap();
    let r = analyze(&["ls", &bad.display().to_string(), "--json"]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let empty = dir.path().join("empty.har");
    std::fs::write(&empty, r#"{"log":{"entries":[]}}"#).unwrap();
    let r = analyze(&["ls", &empty.display().to_string(), "--json"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.json(), serde_json::json!([]));
}

/// `diff --entry N` on an entry that is not a Messages request says what
/// it is, instead of comparing two empty prompts as "equal".
#[test]
fn diff_entry_on_a_non_messages_entry_says_what_it_is() {
    let b = handmade("browser.har");
    let r = analyze(&["diff", "--entry", "0", &b, &b]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("entry 0 is not a Messages API request (GET https://"),
        "{}",
        r.stderr
    );
}

/// An OpenAI-style call in an archive is counted (its usage mapped onto
/// the same token kinds), not silently zero: a bare chat reply with only
/// `usage` and the request's model. (Until OpenAI-style usage was read,
/// this test asserted the "were not counted" warning instead.)
#[test]
fn openai_style_calls_are_counted_not_silently_zero() {
    let doc = r#"{"log":{"entries":[{"startedDateTime":"2026-01-01T00:00:00Z","time":1,
        "request":{"method":"POST","url":"https://api.openai.com/v1/chat/completions",
                   "postData":{"mimeType":"application/json","text":"{\"model\":\"gpt-x\"}"}},
        "response":{"status":200,"content":{"size":2,"mimeType":"application/json",
                    "text":"{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}"}}}]}}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openai.har");
    std::fs::write(&path, doc).unwrap();
    let r = analyze(&["usage", path.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["total"]["requests"], 1);
    assert_eq!(v["total"]["input_tokens"], 5);
    assert_eq!(v["total"]["output_tokens"], 7);
    assert_eq!(v["groups"][0]["key"], "gpt-x");
    assert_eq!(v["total"]["unpriced_requests"], 1, "unpriced, not $0");
    assert_eq!(v["usage_not_reported"]["requests"], 0);
    assert!(!r.stderr.contains("not counted"), "{}", r.stderr);
}

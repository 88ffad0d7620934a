//! `ls`, `show`, `export`, errors, pipes.

use crate::{analyze, analyze_json, analyze_stdin, command, handmade};
use std::process::Stdio;

#[test]
fn ls_lists_roles_retries_and_errors() {
    let rows = analyze_json(&["ls", &handmade("retry-529.har")], 0);
    assert_eq!(rows[0]["status"], 529);
    assert_eq!(rows[0]["api_error"], "overloaded_error: Overloaded");
    assert_eq!(rows[1]["retry_of"], 0);
    assert_eq!(rows[1]["output_tokens"], 11);
    let rows = analyze_json(&["ls", &handmade("cc-2.0.50-a.har")], 0);
    let roles: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["git-history", "warmup", "warmup", "main"]);
    assert_eq!(rows[3]["first_token_ms"], 337.5);
    let text = analyze(&["ls", &handmade("retry-529.har")]);
    assert!(text.stdout.contains("retry of #0"), "{}", text.stdout);
    assert!(
        text.stdout.lines().nth(1).unwrap().contains("529"),
        "{}",
        text.stdout
    );
}

#[test]
fn ls_filters_keep_what_was_asked() {
    let a = handmade("cc-2.0.50-a.har");
    let count = |args: &[&str]| {
        let mut all = vec!["ls"];
        all.extend_from_slice(args);
        analyze_json(&all, 0).as_array().unwrap().len()
    };
    assert_eq!(count(&[&a]), 4);
    assert_eq!(count(&["--model", "haiku", &a]), 2);
    assert_eq!(count(&["--main-only", &a]), 1);
    assert_eq!(count(&["--since", "2999-01-01", &a]), 0);
    assert_eq!(count(&["--until", "2999-01-01", &a]), 4);
    let r = handmade("retry-529.har");
    assert_eq!(count(&["--status", "5xx", &r]), 1);
    assert_eq!(count(&["--errors", &r]), 1);
    assert_eq!(count(&["--status", "200", &r]), 1);
    let c21 = handmade("cc-2.1.332.har");
    assert_eq!(count(&["--session", "21212121", &c21]), 2);
    assert_eq!(count(&["--session", "99", &c21]), 0);
    let bad = analyze(&["ls", "--status", "bad", &r]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("give a code like 529"),
        "{}",
        bad.stderr
    );
}

#[test]
fn ls_has_urls_with_their_scheme_costs_and_a_csv() {
    let rows = analyze_json(&["ls", &handmade("cc-2.1.332.har")], 0);
    let url = rows[0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://") || url.starts_with("http://"),
        "{url}"
    );
    assert!(rows[0]["cost_usd"].as_f64().unwrap() > 0.0, "{}", rows[0]);
    let csv = analyze(&["ls", "--csv", &handmade("cc-2.1.332.har")]);
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert!(
        lines[0].starts_with("file,entry,started,method,status,url,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 3, "{}", csv.stdout);
    assert!(
        lines[1].contains(&format!(",{url},main,claude-opus-5-5,")),
        "{}",
        lines[1]
    );
    let table = analyze(&["ls", &handmade("cc-2.1.332.har")]);
    assert!(
        table.stdout.contains(url),
        "a pipe gets full values: {}",
        table.stdout
    );
    assert!(
        table.stdout.lines().next().unwrap().contains("cost"),
        "{}",
        table.stdout
    );
}

#[test]
fn show_prices_the_call_and_draws_its_timeline() {
    let v = analyze_json(&["show", &handmade("cc-2.1.332.har"), "0"], 0);
    assert!(v["cost_usd"].as_f64().unwrap() > 0.0, "{}", v["cost_usd"]);
    let events = v["sse_events"].as_array().unwrap();
    assert_eq!(v["timeline"]["events"].as_u64(), Some(events.len() as u64));
    assert!(
        events[0]["time"].as_f64().is_some(),
        "timed events: {}",
        events[0]
    );
    assert!(v["timeline"]["ttft_ms"].as_f64().unwrap() > 0.0);
    assert!(v["timeline"]["tokens_per_s"].as_f64().unwrap() > 0.0);
    let text = analyze(&["show", &handmade("cc-2.1.332.har"), "0"]);
    for want in [
        "stream: ttft ",
        "tokens/s",
        " events",
        "prices: built-in table read",
    ] {
        assert!(text.stdout.contains(want), "{want} in {}", text.stdout);
    }
    // A non-streamed reply has no ttft: `-`, not `0 ms`.
    let gz = analyze(&["show", &handmade("gzip-body.har"), "0"]);
    assert!(gz.stdout.contains("stream: ttft -"), "{}", gz.stdout);
    let rows = analyze_json(&["ls", &handmade("gzip-body.har")], 0);
    assert_eq!(rows[0]["first_token_ms"], serde_json::Value::Null);
}

#[test]
fn show_reassembles_the_reply_and_tool_calls() {
    let v = analyze_json(&["show", &handmade("cc-2.1.332.har"), "0"], 0);
    assert_eq!(v["role"], "main");
    assert_eq!(v["messages"][1]["role"], "system");
    assert_eq!(v["tools"].as_array().map(Vec::len), Some(12));
    assert_eq!(v["reply"]["text"], "Let me look.");
    assert_eq!(v["reply"]["tool_calls"][0]["name"], "Bash");
    assert_eq!(v["reply"]["tool_calls"][0]["input"], r#"{"command":"ls"}"#);
    assert_eq!(v["reply"]["stop_reason"], "tool_use");
    assert_eq!(v["reply"]["usage"]["ephemeral_1h_input_tokens"], 8000);
    assert_eq!(v["session"], "21212121-aaaa-4bbb-8ccc-dddddddddddd");
    let gz = analyze_json(&["show", &handmade("gzip-body.har"), "0"], 0);
    assert_eq!(
        gz["reply"]["text"], "compressed hello",
        "base64 + gzip undone"
    );
    let text = analyze(&["show", &handmade("cc-2.1.332.har"), "1"]);
    assert_eq!(text.code, 0);
    for want in [
        "== tools (12) ==",
        "There are two entries.",
        "[3 user tool_result]",
        "stop reason: end_turn",
    ] {
        assert!(text.stdout.contains(want), "{want} in {}", text.stdout);
    }
    let missing = analyze(&["show", &handmade("gzip-body.har"), "5"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("has 1 entry (0 to 0), not entry 5"),
        "{}",
        missing.stderr
    );
}

#[test]
fn export_round_trips_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let src = handmade("cc-2.1.332.har");
    let zst = dir.path().join("x.har.zst");
    let back = dir.path().join("x.har");
    assert_eq!(
        analyze(&["export", &src, "-o", zst.to_str().unwrap()]).code,
        0
    );
    assert_eq!(
        &std::fs::read(&zst).unwrap()[..4],
        &[0x28, 0xb5, 0x2f, 0xfd],
        "zstd magic"
    );
    assert_eq!(
        analyze(&[
            "export",
            zst.to_str().unwrap(),
            "-o",
            back.to_str().unwrap()
        ])
        .code,
        0
    );
    let a = analyze_json(&["show", &src, "1"], 0);
    let b = analyze_json(&["show", back.to_str().unwrap(), "1"], 0);
    assert_eq!(a["messages"], b["messages"]);
    assert_eq!(a["reply"], b["reply"]);
}

/// A HAR of `n` entries, each with a 64 KiB request body.
fn big_har(path: &std::path::Path, n: usize) {
    let body = "x".repeat(64 * 1024);
    let entry = serde_json::json!({
        "startedDateTime": "2026-12-04T08:00:00.000Z",
        "time": 1,
        "request": {
            "method": "POST", "url": "https://api.example.test/v1/messages",
            "httpVersion": "HTTP/1.1", "headers": [], "queryString": [], "cookies": [],
            "headersSize": -1, "bodySize": body.len(),
            "postData": {"mimeType": "text/plain", "text": body}
        },
        "response": {
            "status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
            "headers": [], "cookies": [], "redirectURL": "", "headersSize": -1, "bodySize": 0,
            "content": {"size": 0, "mimeType": "text/plain", "text": ""}
        },
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}
    });
    let har = serde_json::json!({"log": {
        "version": "1.2", "creator": {"name": "test", "version": "0"},
        "entries": vec![entry; n]
    }});
    std::fs::write(path, serde_json::to_vec(&har).unwrap()).unwrap();
}

/// A HAR whose one entry has a 65 MiB string as its request body, or
/// (`in_header`) as a request header's value.
fn huge_string_har(path: &std::path::Path, in_header: bool) {
    let big = "x".repeat(65 << 20);
    let (headers, text) = match in_header {
        true => (
            serde_json::json!([{"name": "x-huge", "value": big}]),
            "small".to_owned(),
        ),
        false => (serde_json::json!([]), big),
    };
    let har = serde_json::json!({"log": {
        "version": "1.2", "creator": {"name": "test", "version": "0"},
        "entries": [{
            "startedDateTime": "2026-12-04T08:00:00.000Z", "time": 1,
            "request": {"method": "POST", "url": "https://api.example.test/upload",
                "httpVersion": "HTTP/1.1", "headers": headers, "queryString": [], "cookies": [],
                "headersSize": -1, "bodySize": text.len(),
                "postData": {"mimeType": "text/plain", "text": text}},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                "headers": [], "cookies": [], "redirectURL": "", "headersSize": -1, "bodySize": 0,
                "content": {"size": 0, "mimeType": "text/plain", "text": ""}},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}
        }]
    }});
    std::fs::write(path, serde_json::to_vec(&har).unwrap()).unwrap();
}

/// A body longer than the reader's 64 MiB string cap is copied whole
/// (through a temporary file); a string that long anywhere else (a header
/// value) would still be cut, so the copy is refused and nothing written.
/// (Until issue 14's last item, both were refused.)
#[test]
fn export_and_redact_copy_a_huge_body_whole_and_refuse_a_huge_header() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("huge-body.har");
    huge_string_har(&body, false);
    let header = dir.path().join("huge-header.har");
    huge_string_har(&header, true);
    for cmd in ["export", "redact"] {
        let out = dir.path().join(format!("{cmd}.har"));
        let r = analyze(&[cmd, body.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{cmd}: {}", r.stderr);
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let text = doc["log"]["entries"][0]["request"]["postData"]["text"].as_str();
        assert_eq!(text.map(str::len), Some(65 << 20), "{cmd}");
        assert!(text.unwrap().bytes().all(|b| b == b'x'), "{cmd}");
        drop(doc);

        let out = dir.path().join(format!("{cmd}-header.har"));
        let r = analyze(&[cmd, header.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert_ne!(r.code, 0, "{cmd} wrote a cut copy: {}", r.stderr);
        assert!(
            r.stderr
                .contains("entries[0] holds a string longer than 64 MiB")
                && r.stderr.contains("nothing was written"),
            "{cmd}: {}",
            r.stderr
        );
        assert!(!out.exists(), "{cmd} left {}", out.display());
    }
}

#[test]
fn a_failed_export_or_redact_leaves_no_partial_file() {
    // The file size limit (ulimit -f, in KiB for bash) makes the write fail
    // after 256 KiB, as a full disk would; SIGXFSZ is ignored so the write
    // returns EFBIG instead of killing the process.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.har");
    big_har(&src, 8);
    for cmd in ["export", "redact"] {
        let new = dir.path().join(format!("{cmd}-new.har"));
        let old = dir.path().join(format!("{cmd}-old.har"));
        std::fs::write(&old, b"the previous output").unwrap();
        for out in [&new, &old] {
            let r = std::process::Command::new("bash")
                .stdin(Stdio::null())
                .args(["-c", "trap '' XFSZ; ulimit -f 256; exec \"$0\" \"$@\""])
                .arg(env!("CARGO_BIN_EXE_analyze"))
                .args([cmd, src.to_str().unwrap(), "-o", out.to_str().unwrap()])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&r.stderr);
            assert_ne!(
                r.status.code(),
                Some(0),
                "{cmd} wrote past the limit: {stderr}"
            );
            assert!(
                stderr.contains(out.file_name().unwrap().to_str().unwrap()),
                "{stderr}"
            );
        }
        assert!(!new.exists(), "{cmd}: a partial {} was left", new.display());
        assert_eq!(std::fs::read(&old).unwrap(), b"the previous output");
    }
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["big.har", "export-old.har", "redact-old.har"],
        "temporary files left"
    );
    // Without the limit the same export works.
    let out = dir.path().join("whole.har");
    let r = analyze(&["export", src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        analyze_json(&["ls", out.to_str().unwrap()], 0)
            .as_array()
            .unwrap()
            .len(),
        8
    );
}

#[test]
fn unreadable_input_exits_2_with_one_line() {
    let r = analyze(&["usage", "/nonexistent/x.har"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.starts_with("analyze: error: "), "{}", r.stderr);
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.har");
    std::fs::write(&junk, "this is not json").unwrap();
    let r = analyze(&["ls", junk.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("junk.har"), "{}", r.stderr);
    assert_eq!(
        analyze(&["usage", "--by", "planet", &handmade("gzip-body.har")]).code,
        2,
        "clap errors exit 2"
    );
}

#[test]
fn a_closed_pipe_exits_0() {
    let mut child = command()
        .args([
            "ls",
            &handmade("cc-2.0.50-a.har"),
            &handmade("cc-2.0.50-b.har"),
            &handmade("cc-2.1.332.har"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn no_colour_in_a_pipe_even_without_no_color() {
    let r = analyze(&["leaks", &handmade("bearer-token.har")]);
    assert!(!r.stdout.contains('\x1b'), "{}", r.stdout);
}

/// An undecodable body must not abort the whole archive: it is kept as
/// found, flagged naming file and entry, and the rest is read.
#[test]
fn a_body_that_cannot_be_decoded_is_flagged_and_the_rest_read() {
    let path = handmade("bad-body.har");
    let r = analyze(&["usage", &path, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = format!("analyze: warning: {path}: entry 0 (https://api.anthropic.com/v1/messages): body is not text and cannot be decoded as gzip");
    assert!(r.stderr.starts_with(&want), "{}", r.stderr);
    assert_eq!(
        r.json()["total"]["requests"],
        1,
        "the good entry is counted"
    );
    let ls = analyze(&["ls", &path, "--json"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    let rows = ls.json();
    assert!(rows[0]["body_error"].is_string(), "{rows}");
    assert!(
        rows[1]["body_error"].is_null() && rows[1]["output_tokens"].is_u64(),
        "{rows}"
    );
    assert_eq!(analyze(&["show", &path, "0"]).code, 0);
}

#[test]
fn a_directory_reads_as_all_its_archives() {
    let dir = crate::fixture("claude-code").display().to_string();
    let all = analyze_json(&["usage", &dir], 0);
    let files = all["files"].as_array().unwrap();
    assert!(files.len() >= 7, "{files:?}");
    let mut requests = 0;
    for f in files {
        requests += analyze_json(&["usage", f["file"].as_str().unwrap()], 0)["total"]["requests"]
            .as_u64()
            .unwrap();
    }
    assert_eq!(all["total"]["requests"].as_u64(), Some(requests));
}

/// Runs `analyze ARGS…` on a pseudo-terminal through util-linux `script`;
/// `None` where `script` is missing.
fn on_a_terminal(args: &[&str], no_color: bool) -> Option<String> {
    let line = std::iter::once(env!("CARGO_BIN_EXE_analyze"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &line, "/dev/null"]).stdin(Stdio::null());
    if no_color {
        c.env("NO_COLOR", "1");
    } else {
        c.env_remove("NO_COLOR").env("TERM", "xterm");
    }
    let out = c.output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let path = handmade("bearer-token.har");
    let Some(coloured) = on_a_terminal(&["leaks", &path], false) else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    assert!(
        coloured.contains("\x1b[") && coloured.contains("sk-ant-oat01"),
        "{coloured}"
    );
    let plain = on_a_terminal(&["leaks", &path], true).unwrap();
    assert!(
        !plain.contains("\x1b[") && plain.contains("sk-ant-oat01"),
        "{plain}"
    );
    assert!(
        plain.contains('│'),
        "a bordered table on a terminal: {plain}"
    );
}

/// An entry that is not JSON between good ones, breaking the array: not a
/// cut-off archive but a broken one. The entries before it are listed, the
/// break is named (file and entry) with no cut-off warning, and the run
/// exits 2; reading ahead on a thread of its own changes none of that,
/// from a file or from a pipe; the entries before the break are kept.
#[test]
fn a_broken_entry_mid_archive_is_an_error_naming_it() {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(handmade("bearer-token.har")).unwrap())
            .unwrap();
    let entry = doc["log"]["entries"][0].to_string();
    let broken = format!(
        r#"{{"log":{{"version":"1.2","creator":{{"name":"t","version":"1"}},"entries":[{entry},{entry},{{"startedDateTime":"x","time":{entry},{entry}]}}}}"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.har");
    std::fs::write(&path, &broken).unwrap();
    let path = path.display().to_string();
    for run in [
        analyze(&["ls", &path]),
        analyze_stdin(&["ls", "-"], broken.as_bytes()),
    ] {
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("entry 2: invalid JSON"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("cut off"), "{}", run.stderr);
        assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    }
    // `ls --json` prints valid JSON even so: the two rows read.
    let run = analyze(&["ls", &path, "--json"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json().as_array().map(Vec::len), Some(2));
}

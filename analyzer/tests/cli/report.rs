//! `analyze report`: the HTML file embeds what `usage`, `show` and `diff`
//! say, loads nothing, and is written whole or not at all. (What a browser
//! makes of it is tested by `.ci/report-browser.sh`.)

use super::*;
use regex::Regex;

/// Writes the report of `files` into a temporary directory and reads it.
fn report(files: &[&str], dir: &Path) -> String {
    report_with(&[], files, dir)
}

fn report_with(flags: &[&str], files: &[&str], dir: &Path) -> String {
    let out = dir.join("report.html");
    let mut args = vec!["report", "-o", out.to_str().unwrap()];
    args.extend(flags);
    args.extend(files);
    let r = analyze(&args);
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    assert!(r.stderr.contains("analyze: wrote"), "{}", r.stderr);
    std::fs::read_to_string(out).unwrap()
}

fn captures(html: &str, re: &str) -> Vec<String> {
    Regex::new(re)
        .unwrap()
        .captures_iter(html)
        .map(|c| c[1].to_owned())
        .collect()
}

/// Nothing in the page names a place to load from.
fn assert_self_contained(html: &str) {
    assert!(html.contains(
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-"#
    ));
    for attr in [" src=", " srcset=", "<link", "url(", "@import", "<iframe"] {
        assert!(!html.contains(attr), "the page has {attr}");
    }
    assert!(Regex::new(r#"href="[a-z]+:"#).unwrap().find(html).is_none());
    // Every inert block parses as JSON and cannot end its <script> early.
    let blocks = captures(
        html,
        r#"<script type="application/json" id="[a-z]+-?\d*">([^<]*)</script>"#,
    );
    assert!(!blocks.is_empty());
    for b in blocks {
        serde_json::from_str::<Value>(&b).unwrap_or_else(|e| panic!("{e}: {b:.200}"));
    }
}

#[test]
fn the_real_2_1_332_recording_shows_usage_totals_ttft_and_every_tool() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture("claude-code/2.1.332-offline.har");
    let file = file.to_str().unwrap();
    // An offline recording: its estimated tokens are kept out of the
    // totals unless --include-offline, as `analyze usage` does.
    let plain = report(&[file], dir.path());
    assert!(plain.contains(r#"<span id="offline-note">1 call answered by"#));
    let html = report_with(&["--include-offline"], &[file], dir.path());
    assert_self_contained(&html);
    assert!(!html.contains("offline-note"));

    for (page, flags) in [(&plain, vec![]), (&html, vec!["--include-offline"])] {
        let mut args = vec!["usage"];
        args.extend(flags);
        args.push(file);
        let usage = analyze_json(&args, 0);
        for (id, key) in [
            ("input", "input_tokens"),
            ("read", "cache_read_input_tokens"),
            ("w5", "ephemeral_5m_input_tokens"),
            ("w1", "ephemeral_1h_input_tokens"),
            ("output", "output_tokens"),
        ] {
            let got = captures(page, &format!(r#"id="tok-{id}" data-raw="(\d+)""#));
            assert_eq!(got, [usage["total"][key].to_string()], "{id} {args:?}");
        }
    }
    let usage = analyze_json(&["usage", "--include-offline", file], 0);
    assert!(usage["total"]["input_tokens"].as_u64().unwrap() > 1000);

    let show = analyze_json(&["show", file, "0"], 0);
    let ttft = show["reply"]["first_token_ms"].as_f64().unwrap();
    let shown: Vec<f64> = captures(&html, r#"class="ttft" data-ms="([0-9.]+)""#)
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(shown.len(), 1);
    assert!((shown[0] - ttft).abs() < 1.0, "{shown:?} vs {ttft}");

    assert!(html.contains(show["model"].as_str().unwrap()));
    for tool in show["tools"].as_array().unwrap() {
        assert!(html.contains(tool["name"].as_str().unwrap()), "{tool}");
    }
    assert_eq!(
        html.matches(r#"<g class="wfrow"#).count(),
        1,
        "one bar per call"
    );
    assert!(html.contains("No leak in the 1 entries"));
    let date = usage["prices"]["date"].as_str().unwrap();
    assert!(html.contains(date), "the price table's date {date}");
}

#[test]
fn side_calls_failures_and_leaks_are_marked() {
    let dir = tempfile::tempdir().unwrap();
    let html = report(
        &[&handmade("cc-2.0.50-a.har"), &handmade("failures.har")],
        dir.path(),
    );
    assert!(html.contains(r#"<span class="badge side">side call</span>warmup"#));
    assert!(html.contains(r#"id="errors""#));
    assert_eq!(
        html.matches(r#"<g class="wfrow"#).count(),
        captures(&html, r#"<details class="call[^"]*" id="c-(\d+)""#).len()
    );
    assert!(!html.contains(r#"id="compare""#) || html.contains("Two archives"));

    let leaky = report(&[&handmade("key-in-prompt.har")], dir.path());
    assert!(leaky.contains(r#"id="findings""#));
    assert!(
        !leaky.contains("FAKEpast"),
        "the report never shows the secret"
    );
    assert!(leaky.contains("redacted:sk-ant-api03:411bce03a076"));
}

#[test]
fn two_archives_get_the_diff_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let html = report(
        &[&handmade("cc-2.0.50-a.har"), &handmade("cc-2.1.332.har")],
        dir.path(),
    );
    assert!(html.contains(r##"<a href="#compare" data-tab="compare">Two archives</a>"##));
    assert!(html.contains(r#"id="cmp-summary""#));
    assert!(html.contains(r#"<tr class="chg">"#) || html.contains(r#"<tr class="add">"#));
    let same = report(
        &[
            fixture("claude-code/2.1.332-reverse.har").to_str().unwrap(),
            fixture("claude-code/2.1.332-reverse-rerun.har")
                .to_str()
                .unwrap(),
        ],
        dir.path(),
    );
    assert!(
        same.contains("<h2>No differences "),
        "masked like analyze diff"
    );
}

#[test]
fn a_failed_run_leaves_the_old_report_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    std::fs::write(&out, "old").unwrap();
    let missing = dir.path().join("missing.har");
    let r = analyze(&[
        "report",
        "-o",
        out.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let r = analyze(&[
        "report",
        "-o",
        "/nonexistent-dir/r.html",
        &handmade("cc-2.1.332.har"),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot write /nonexistent-dir/r.html"),
        "{}",
        r.stderr
    );
    let r = analyze(&["report", "-o", "-", &handmade("cc-2.1.332.har")]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("<!DOCTYPE html>"));
}

#[test]
fn the_two_archive_summary_is_diff_stats_word_for_word_side_calls_included() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (
        handmade("side-calls-2.0.50.har"),
        handmade("side-calls-2.1.332.har"),
    );
    let html = report(&[&old, &new], dir.path());
    let stat = analyze(&["diff", "--stat", &old, &new]);
    assert_eq!(stat.code, 1, "{}", stat.stderr);
    let rows: Vec<(String, String)> = captures_pairs(
        &html,
        r#"<tr><td>([a-z-]+)</td><td colspan="2">([^<]*)</td></tr>"#,
    );
    let want: Vec<(String, String)> = stat
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (section, text) = l.trim().split_once(char::is_whitespace)?;
            Some((section.to_owned(), text.trim().to_owned()))
        })
        .collect();
    assert!(want.len() >= 5, "{}", stat.stdout);
    assert_eq!(rows, want);
    // Each side call that differs gets its own section.
    for call in ["topic", "quota", "subagent"] {
        assert!(html.contains(&format!("Side call: {call} ")), "{call}");
    }
}

fn captures_pairs(html: &str, re: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&#x2f;", "/")
            .replace("&gt;", ">")
            .replace("&lt;", "<")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&amp;", "&")
    };
    Regex::new(re)
        .unwrap()
        .captures_iter(html)
        .map(|c| (c[1].to_owned(), unescape(&c[2])))
        .collect()
}

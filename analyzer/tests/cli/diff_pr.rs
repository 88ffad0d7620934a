//! `analyze diff` in a pull request: the markdown summary and `<details>`,
//! GitHub's comment limit, `--stat` in every format, exit codes.

use crate::{analyze, analyze_json, fixture, handmade};
use serde_json::Value;

/// GitHub refuses a comment longer than this many characters.
const GITHUB_LIMIT: usize = 65_536;

fn real(name: &str) -> String {
    fixture(&format!("claude-code/{name}"))
        .display()
        .to_string()
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// The section names `analyze diff --help` lists for `--only`.
fn help_sections() -> Vec<String> {
    let help = analyze(&["diff", "--help"]).stdout;
    let at = help.find("--only <SECTION>").expect("--only in --help");
    let mut names = Vec::new();
    for line in help[at..].lines().skip(1) {
        let t = line.trim();
        if t.starts_with("--") {
            break;
        }
        // Possible values are listed as `- name: what it is`.
        if let Some(name) = t.strip_prefix("- ").and_then(|x| x.split(':').next()) {
            names.push(name.to_owned());
        }
    }
    names
}

/// Checks the markdown's frame: code fences closed, every `<details>`
/// closed and named by a section `--only` takes.
fn check_frame(md: &str) {
    let fences = md.lines().filter(|l| l.starts_with("```")).count();
    assert_eq!(fences % 2, 0, "an unclosed code block:\n{md}");
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count(),
        "{md}"
    );
    let names = help_sections();
    for s in md.split("<summary><b>").skip(1) {
        let name = &s[..s.find("</b>").unwrap()];
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
}

#[test]
fn the_real_2_0_50_to_2_1_332_markdown_opens_with_a_summary_and_fits_a_comment() {
    let (old, new) = (real("2.0.50-reverse.har"), real("2.1.332-reverse.har"));
    let r = analyze(&["diff", "--format", "markdown", &old, &new]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let md = &r.stdout;
    eprintln!(
        "real 2.0.50 → 2.1.332 markdown: {} lines, {} characters",
        md.lines().count(),
        chars(md)
    );
    assert!(chars(md) < GITHUB_LIMIT, "{} characters", chars(md));
    assert!(
        md.starts_with("## Claude Code request diff: 2.0.50 → 2.1.332\n"),
        "{md}"
    );
    // The summary comes before any <details>, and says what a reviewer needs.
    let summary = &md[..md.find("<details>").expect("sections in <details>")];
    assert!(summary.lines().count() <= 15, "a short summary:\n{summary}");
    for want in [
        "- **prompt**: +",
        "- **tools**: ",
        "renamed `Task` → `Agent`",
        "removed (`Glob`, `Grep`",
        "- **params**: ",
        "`+thinking`",
        "`~model`",
        "- **side-calls**: 2 removed (`warmup claude-haiku-4-5-20251001`, `warmup claude-sonnet-4-5-20250929`)",
    ] {
        assert!(summary.contains(want), "missing {want:?} in:\n{summary}");
    }
    assert!(!summary.contains("`Task` (removed)") && !summary.contains("added (`Agent`"));
    for name in ["prompt", "tools", "params", "side-calls"] {
        assert!(
            md.contains(&format!("<details>\n<summary><b>{name}</b>: ")),
            "{name} has no <details>:\n{md}"
        );
    }
    check_frame(md);
    // A ```diff block per hunk (the prompt is one hunk, the tools' descriptions many).
    let hunks = md.lines().filter(|l| l.starts_with("@@ ")).count();
    assert!(hunks > 5, "{md}");
    assert_eq!(md.matches("```diff\n@@ ").count(), hunks, "{md}");
    assert!(!md.contains("Cut to"), "the real diff fits whole");
}

/// The `<details>` block of `name`.
fn section<'a>(md: &'a str, name: &str) -> &'a str {
    let start = md
        .find(&format!("<summary><b>{name}</b>"))
        .unwrap_or_else(|| panic!("no {name} in:\n{md}"));
    let end = start + md[start..].find("</details>").unwrap();
    &md[start..end]
}

/// Two copies of a real archive whose main-loop prompt and tool
/// descriptions differ on every line: far over the comment limit.
fn oversized(dir: &std::path::Path) -> (String, String) {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(real("2.1.332-reverse.har")).unwrap())
            .unwrap();
    let mut paths = Vec::new();
    for (side, word) in [("old", "alpha"), ("new", "omega")] {
        let mut d = doc.clone();
        let e = &mut d["log"]["entries"][0];
        let mut body: Value =
            serde_json::from_str(e["request"]["postData"]["text"].as_str().unwrap()).unwrap();
        let prompt: String = (0..2_500)
            .map(|i| format!("Rule {i}: always {word} the {i}th thing before the next one.\n"))
            .collect();
        body["system"][2]["text"] = Value::String(prompt);
        for t in body["tools"].as_array_mut().unwrap() {
            let d: String = (0..10)
                .map(|i| format!("Use {word} step {i} of this tool with care.\n"))
                .collect();
            t["description"] = Value::String(d);
        }
        e["request"]["postData"]["text"] = Value::String(body.to_string());
        let path = dir.join(format!("{side}.har"));
        std::fs::write(&path, d.to_string()).unwrap();
        paths.push(path.display().to_string());
    }
    (paths[0].clone(), paths[1].clone())
}

#[test]
fn a_diff_over_the_comment_limit_cuts_the_longest_sections_and_says_how_to_get_all() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = oversized(dir.path());
    let full = analyze(&[
        "diff",
        "--format",
        "markdown",
        "--max-chars",
        "0",
        &old,
        &new,
    ]);
    assert_eq!(full.code, 1, "{}", full.stderr);
    assert!(
        chars(&full.stdout) > 3 * GITHUB_LIMIT,
        "{}",
        chars(&full.stdout)
    );
    let r = analyze(&["diff", "--format", "markdown", &old, &new]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let md = &r.stdout;
    eprintln!(
        "synthetic diff: {} characters whole, {} cut (limit 65,000)",
        chars(&full.stdout),
        chars(md)
    );
    assert!(chars(md) <= 65_000, "{}", chars(md));
    assert!(chars(md) > 60_000, "the room is used: {}", chars(md));
    check_frame(md);
    // The summary is whole; the short sections are whole; the longest is cut.
    assert!(
        md.contains("- **prompt**: +2500 -2500 lines"),
        "{}",
        &md[..2000]
    );
    let note = md
        .lines()
        .find(|l| l.starts_with("> ✂ Cut to stay under 65000 characters"))
        .unwrap_or_else(|| panic!("no note saying what was cut:\n{}", &md[..3000]));
    assert!(
        note.contains("**prompt** (the rest of prompt lines 3–2508 (after "),
        "{note}"
    );
    assert!(
        !section(md, "tools").contains("cut to fit"),
        "the shorter section stays whole"
    );
    assert!(section(md, "tools").contains("+Use omega step 9 of this tool with care."));
    assert!(section(md, "prompt").contains("(cut to fit)"));
    // The note's command prints everything: run it.
    let cmd = note.rsplit('`').nth(1).unwrap();
    let words: Vec<&str> = cmd.split(' ').collect();
    assert_eq!(&words[..2], ["analyze", "diff"], "{cmd}");
    let again = analyze(&words[1..]);
    assert!(
        again.stdout == full.stdout,
        "the command in the note prints it all"
    );
    // So does the one inside the cut section, for that section alone.
    let inner = section(md, "prompt");
    let line = inner.lines().find(|l| l.starts_with("✂ ")).unwrap();
    let cmd = line.rsplit('`').nth(1).unwrap();
    assert!(cmd.contains("--only prompt"), "{cmd}");
    let words: Vec<&str> = cmd.split(' ').collect();
    let only = analyze(&words[1..]);
    assert_eq!(only.code, 1);
    assert!(
        only.stdout.contains("+Rule 2499: always omega"),
        "the last line is there"
    );
}

#[test]
fn stat_works_with_every_format() {
    let (old, new) = (real("2.0.50-reverse.har"), real("2.1.332-reverse.har"));
    let md = analyze(&["diff", "--format", "markdown", &old, &new]).stdout;
    let stat = analyze(&["diff", "--stat", "--format", "markdown", &old, &new]);
    assert_eq!(stat.code, 1);
    assert!(!stat.stdout.contains("<details>"), "{}", stat.stdout);
    assert!(
        md.starts_with(&stat.stdout),
        "the stat is the markdown's head"
    );
    let text = analyze(&["diff", "--stat", &old, &new]);
    assert_eq!(text.code, 1);
    let row = text
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("tools"))
        .unwrap();
    assert!(row.contains("renamed Task → Agent"), "{}", text.stdout);
    for args in [
        vec!["diff", "--stat", "--format", "json", &old, &new],
        vec!["diff", "--stat", &old, &new, "--json"],
    ] {
        let r = analyze(&args);
        assert_eq!(r.code, 1);
        let v = r.json();
        assert!(v.get("sections").is_none(), "{v}");
        assert_eq!(v["stat"]["tools"]["renamed"][0]["new"], "Agent");
        assert_eq!(v["stat"]["tools"]["removed"].as_array().unwrap().len(), 10);
        assert!(v["stat"]["prompt"]["added_lines"].as_u64().unwrap() > 0);
    }
    let whole = analyze_json(&["diff", &old, &new], 1);
    assert!(whole.get("sections").is_some() && whole.get("stat").is_some());
}

#[test]
fn exit_codes_are_0_same_1_different_2_trouble_in_every_format() {
    let same = (
        real("2.1.332-reverse.har"),
        real("2.1.332-reverse-rerun.har"),
    );
    let differ = (real("2.0.50-reverse.har"), real("2.1.332-reverse.har"));
    let formats: [&[&str]; 6] = [
        &[],
        &["--format", "markdown"],
        &["--format", "json"],
        &["--stat"],
        &["--stat", "--format", "markdown"],
        &["--stat", "--json"],
    ];
    for f in formats {
        for ((old, new), code) in [(&same, 0), (&differ, 1)] {
            let mut args = vec!["diff", old.as_str(), new.as_str()];
            args.extend_from_slice(f);
            let r = analyze(&args);
            assert_eq!(r.code, code, "{args:?}\n{}{}", r.stdout, r.stderr);
            assert_eq!(r.stderr, "", "{args:?}");
        }
        for bad in [
            vec!["diff", "/no/such.har", &same.0],
            vec!["diff", "--only", "nonsense", &same.0, &same.1],
            vec!["diff", "--entry", "7", &same.0, &same.1],
        ] {
            let mut args = bad.clone();
            args.extend_from_slice(f);
            let r = analyze(&args);
            assert_eq!(r.code, 2, "{args:?}\n{}", r.stdout);
            assert!(r.stdout.is_empty(), "{args:?}: nothing on stdout");
        }
    }
    // Sections that are the same exit 0 even when others differ.
    let (a, b) = (handmade("cc-2.0.50-a.har"), handmade("cc-2.0.50-b.har"));
    assert_eq!(analyze(&["diff", "--no-mask", &a, &b]).code, 1);
    let r = analyze(&["diff", "--no-mask", "--only", "tools,side-calls", &a, &b]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
}

#[test]
fn only_takes_the_names_the_headings_use() {
    let names = help_sections();
    assert_eq!(
        names,
        [
            "prompt",
            "tools",
            "params",
            "side-calls",
            "warmup",
            "git-history",
            "title",
            "topic",
            "quota",
            "subagent"
        ]
    );
    let (old, new) = (
        handmade("side-calls-2.0.50.har"),
        handmade("side-calls-2.1.332.har"),
    );
    let all = analyze(&["diff", &old, &new]);
    let headings: Vec<String> = all
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("== "))
        .map(|l| l[..l.find(" ==").unwrap()].to_owned())
        .collect();
    assert_eq!(
        headings,
        [
            "prompt",
            "tools",
            "params",
            "side-calls",
            "topic",
            "quota",
            "subagent"
        ],
        "{}",
        all.stdout
    );
    for name in &names {
        let r = analyze(&["diff", "--only", name, &old, &new]);
        let shown: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("== ")).collect();
        assert!(
            shown
                .iter()
                .all(|l| l.starts_with(&format!("== {name} =="))),
            "--only {name}: {shown:?}"
        );
        let md = analyze(&["diff", "--only", name, "--format", "markdown", &old, &new]).stdout;
        for s in md.split("<summary><b>").skip(1) {
            assert!(
                s.starts_with(&format!("{name}</b>")),
                "--only {name}:\n{md}"
            );
        }
    }
    let r = analyze(&["diff", "--only", "tools,params", "--json", &old, &new]);
    let keys: Vec<String> = r.json()["sections"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["tools", "params"]);
    let bad = analyze(&["diff", "--only", "system-prompt", &old, &new]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("possible values: prompt, tools"),
        "{}",
        bad.stderr
    );
}

/// The markdown as GitHub renders it: `cmark-gfm` (GitHub's fork of cmark,
/// Debian package `cmark-gfm`, installed by tests/run) with raw HTML kept,
/// as GitHub keeps `<details>`. `None` (skipped) when it is not installed.
fn gfm(md: &str) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("cmark-gfm")
        .args([
            "--unsafe",
            "-e",
            "strikethrough",
            "-e",
            "table",
            "-e",
            "autolink",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        assert!(
            std::env::var_os("CCTAP_REQUIRE_PEERS").is_none(),
            "cmark-gfm is required (CCTAP_REQUIRE_PEERS): apt-get install cmark-gfm"
        );
        eprintln!("skipped: cmark-gfm (GitHub's markdown renderer) is not installed");
        return None;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(md.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

/// What GitHub shows must have the markdown's structure: the summary one
/// tight list before the sections, each section a real `<details>`, each
/// ```diff fence one code block (none left open to swallow what follows).
fn check_rendered(md: &str, html: &str) {
    let fences = md
        .lines()
        .filter(|l| l.starts_with("```") && l.trim_start_matches('`') == "diff")
        .count();
    assert_eq!(
        html.matches("<pre><code class=\"language-diff\">").count(),
        fences,
        "every ```diff fence is one code block"
    );
    assert_eq!(
        html.matches("<details>").count(),
        md.matches("<details>").count()
    );
    assert_eq!(
        html.matches("<summary><b>").count(),
        md.matches("<details>").count()
    );
    assert!(
        !html.contains("&lt;details") && !html.contains("&lt;/details"),
        "a <details> ended up in a code block"
    );
    let summary = &html[..html.find("<details>").unwrap()];
    let list = &summary[summary.rfind("<ul>").expect("the summary is a list")..];
    let list = &list[..list.find("</ul>").unwrap()];
    assert!(!list.contains("<p>"), "a tight list:\n{list}");
    assert!(list.contains("<li><strong>prompt</strong>: +"), "{list}");
}

#[test]
fn github_renders_the_markdown_as_intended() {
    let (old, new) = (real("2.0.50-reverse.har"), real("2.1.332-reverse.har"));
    let md = analyze(&["diff", "--format", "markdown", &old, &new]).stdout;
    let Some(html) = gfm(&md) else { return };
    check_rendered(&md, &html);
    assert!(
        html.starts_with("<h2>Claude Code request diff: 2.0.50 → 2.1.332</h2>\n<p>old: <code>"),
        "{}",
        &html[..300]
    );
    assert!(
        html.contains("renamed <code>Task</code> → <code>Agent</code>"),
        "names in code"
    );
    // The words that changed, struck out and bold.
    assert!(
        html.contains(
            "<li>Performs exact string <del>replacements</del> <strong>replacement</strong> in "
        ),
        "word changes under the Edit description's hunk"
    );
    // A cut diff renders as well: the note a quote, the cut block closed.
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = oversized(dir.path());
    let md = analyze(&["diff", "--format", "markdown", &old, &new]).stdout;
    let html = gfm(&md).unwrap();
    check_rendered(&md, &html);
    assert!(
        html.contains("<blockquote>\n<p>✂ Cut to stay under 65000 characters"),
        "the note"
    );
}

//! `analyze diff`: masks, version changes, formats, sections, directories.

use crate::{analyze, analyze_json, handmade};

#[test]
fn two_runs_of_one_version_differ_only_in_masked_parts() {
    let (a, b) = (handmade("cc-2.0.50-a.har"), handmade("cc-2.0.50-b.har"));
    let r = analyze(&["diff", &a, &b]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "stderr: {}", r.stderr);
    let raw = analyze(&["diff", "--no-mask", &a, &b]);
    assert_eq!(raw.code, 1);
    assert!(
        raw.stdout.contains("-Working directory: /tmp/cc-run-a"),
        "{}",
        raw.stdout
    );
    assert!(
        raw.stdout
            .contains("+Working directory: /home/dev/other-project"),
        "{}",
        raw.stdout
    );
    assert!(
        !raw.stdout.contains("== tools =="),
        "tools are equal: {}",
        raw.stdout
    );
}

#[test]
fn a_user_mask_hides_what_differs() {
    let (a, b) = (handmade("cc-2.0.50-a.har"), handmade("cc-2.0.50-b.har"));
    let r = analyze(&[
        "diff",
        "--no-mask",
        "--only",
        "system",
        "--mask",
        r"(?m)^(Working directory|OS Version|Today's date|Current branch): .*$",
        "--mask",
        r"(?s)Status:\n.*",
        &a,
        &b,
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn version_2_0_14_to_2_0_50_names_skill_and_the_task_schema() {
    let r = analyze(&[
        "diff",
        &handmade("cc-2.0.14.har"),
        &handmade("cc-2.0.50-a.har"),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let out = &r.stdout;
    for want in [
        "+ tool Skill (added)",
        "~ tool Task (changed)",
        r#"+ properties.model: {"type":"string","enum":["sonnet","opus","haiku"]}"#,
        "+Prefer dedicated tools over shell commands for file operations.",
        r#"~ client_version: "2.0.14" → "2.0.50""#,
        r#"- anthropic-beta[]: "fine-grained-tool-streaming-2025-05-14""#,
        "- temperature: 1",
        "+ warmup claude-haiku-4-5-20251001",
        "- git-history claude-3-5-haiku-20241022",
        "+When you run a non-trivial bash command, explain what it does.",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains('\x1b'), "no colour in a pipe");
}

#[test]
fn version_2_0_50_to_2_1_332_as_json() {
    let v = analyze_json(
        &[
            "diff",
            &handmade("cc-2.0.50-a.har"),
            &handmade("cc-2.1.332.har"),
        ],
        1,
    );
    assert_eq!(v["equal"], false);
    assert_eq!(v["old"]["client"], "claude-cli/2.0.50");
    assert_eq!(v["new"]["entry"], 0, "turn 1 of the round trip");
    let s = &v["sections"];
    let names = |k: &str| -> Vec<String> {
        s["tools"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    };
    // Task → Agent is one rename, in neither added nor removed.
    assert!(!names("added").contains(&"Agent".to_owned()));
    assert!(!names("removed").contains(&"Task".to_owned()));
    assert_eq!(names("added").len(), 6);
    assert_eq!(s["tools"]["renamed"][0]["old"], "Task");
    assert_eq!(s["tools"]["renamed"][0]["new"], "Agent");
    assert_eq!(s["tools"]["renamed"].as_array().map(Vec::len), Some(1));
    assert_eq!(names("removed").len(), 10);
    let params: Vec<String> = s["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap().to_owned())
        .collect();
    for p in [
        "model",
        "thinking",
        "context_management",
        "output_config",
        "max_tokens",
        "metadata.user_id",
    ] {
        assert!(params.contains(&p.to_owned()), "{p} in {params:?}");
    }
    let prompt = s["prompt"]["unified"].as_str().unwrap();
    assert!(
        prompt.contains("+### messages[1] role=system content[0] type=text"),
        "{prompt}"
    );
    assert!(
        prompt.contains("+Primary working directory: <CWD>"),
        "{prompt}"
    );
    assert!(prompt.contains("-Working directory: <CWD>"), "{prompt}");
    assert_eq!(s["side_calls"]["removed"].as_array().map(Vec::len), Some(3));
}

#[test]
fn stat_markdown_and_only() {
    let (old, new) = (handmade("cc-2.0.14.har"), handmade("cc-2.0.50-a.har"));
    let stat = analyze(&["diff", "--stat", &old, &new]);
    assert_eq!(stat.code, 1);
    assert!(
        stat.stdout
            .contains("1 added (Skill), 2 changed (Task, Bash)"),
        "{}",
        stat.stdout
    );
    let md = analyze(&["diff", "--format", "markdown", &old, &new]);
    assert_eq!(md.code, 1);
    assert!(
        md.stdout
            .contains("- **tools**: 1 added (`Skill`), 2 changed (`Task`, `Bash`)"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("```diff\n+ Skill (added)\n"),
        "{}",
        md.stdout
    );
    let only = analyze_json(&["diff", "--only", "tools", &old, &new], 1);
    let keys: Vec<&String> = only["sections"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["tools"]);
    let params = analyze_json(
        &[
            "diff",
            "--only",
            "params",
            &handmade("cc-2.0.50-a.har"),
            &handmade("cc-2.0.50-b.har"),
        ],
        0,
    );
    assert_eq!(params["equal"], true);
}

#[test]
fn a_side_may_be_a_directory_and_entry_picks_another_call() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(handmade("cc-2.0.50-b.har"), dir.path().join("run.har")).unwrap();
    let r = analyze(&[
        "diff",
        &handmade("cc-2.0.50-a.har"),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Entry 0 is the git-history call in run A but the main loop in run B.
    let v = analyze_json(
        &[
            "diff",
            "--entry",
            "0",
            &handmade("cc-2.0.50-a.har"),
            &handmade("cc-2.0.50-b.har"),
        ],
        1,
    );
    assert_eq!(
        v["sections"]["tools"]["added"].as_array().map(Vec::len),
        Some(16)
    );
    // N:M picks each side: run A's main loop is entry 3, run B's entry 0.
    let same = analyze(&[
        "diff",
        "--entry",
        "3:0",
        &handmade("cc-2.0.50-a.har"),
        &handmade("cc-2.0.50-b.har"),
    ]);
    assert_eq!(same.code, 0, "{}", same.stdout);
}

#[test]
fn bad_arguments_exit_2_with_one_line_saying_what_to_do() {
    let a = handmade("cc-2.0.50-a.har");
    let r = analyze(&["diff", "--mask", "(", &a, &a]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("analyze: error: --mask \"(\" is not a valid regular expression (error: unclosed group): fix the pattern"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let r = analyze(&["diff", "--entry", "9", &a, &a]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("has no entry 9"), "{}", r.stderr);
    let r = analyze(&["diff", &handmade("gzip-body.har"), &a]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no main-loop request") && r.stderr.contains("--entry"),
        "{}",
        r.stderr
    );
}

//! `analyze diff`: side calls selected and diffed, a renamed tool reported
//! once, and the words that changed in a line (colour on a terminal,
//! `~~old~~ **new**` in markdown).

use crate::terminal::on_terminal_raw;
use crate::{analyze, analyze_json, fixture, handmade};

fn sides() -> (String, String) {
    (
        handmade("side-calls-2.0.50.har"),
        handmade("side-calls-2.1.332.har"),
    )
}

#[test]
fn each_side_call_is_compared_with_its_counterpart() {
    let (old, new) = sides();
    let v = analyze_json(&["diff", &old, &new], 1);
    let s = &v["sections"];
    // The subagent's first call (the Task/Agent tool's), not the main loop.
    let sub = &s["subagent"];
    assert_eq!(sub["old"], "entry 1 (claude-sonnet-4-5-20250929)", "{sub}");
    assert_eq!(sub["new"], "entry 1 (claude-opus-5-5)");
    assert_eq!(sub["tools"]["added"], serde_json::json!(["ToolSearch"]));
    assert_eq!(sub["tools"]["removed"], serde_json::json!(["Glob", "Grep"]));
    let prompt = sub["prompt"]["unified"].as_str().unwrap();
    assert!(
        prompt.contains("+When you complete the task simply respond with a concise report."),
        "{prompt}"
    );
    assert!(prompt.contains("+Never create files unless the task needs them."));
    // The topic check: one line changed a little.
    let topic = &s["topic"];
    assert_eq!(
        (
            topic["prompt"]["added_lines"].as_u64(),
            topic["prompt"]["removed_lines"].as_u64()
        ),
        (Some(1), Some(1))
    );
    // The quota probe: the same prompt, other parameters.
    let quota: Vec<&str> = s["quota"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert!(quota.contains(&"client_version"), "{quota:?}");
    assert_eq!(s["quota"]["prompt"]["added_lines"], 0);
    // Title generation is new in 2.1.x: listed among the side calls only.
    assert!(s.get("title").is_none(), "one-sided: in side-calls");
    assert_eq!(
        s["side_calls"]["added"],
        serde_json::json!([
            "subagent claude-opus-5-5",
            "title claude-haiku-4-5-20251001"
        ])
    );
    assert_eq!(
        s["side_calls"]["removed"],
        serde_json::json!(["subagent claude-sonnet-4-5-20250929"])
    );
    // Each can be picked alone, also the one-sided title.
    let title = analyze(&["diff", "--only", "title", &old, &new]);
    assert_eq!(title.code, 1);
    assert!(
        title
            .stdout
            .contains("== title == only in new: entry 5 (claude-haiku-4-5-20251001)"),
        "{}",
        title.stdout
    );
    let warmup = analyze(&["diff", "--only", "warmup", &old, &new]);
    assert_eq!(
        (warmup.code, warmup.stdout.as_str()),
        (0, ""),
        "neither side has one"
    );
    let sub = analyze(&["diff", "--only", "subagent", &old, &new]);
    assert_eq!(sub.code, 1);
    for want in [
        "== subagent == prompt +2 -1 lines; tools 1 added (ToolSearch), 2 removed (Glob, Grep); params",
        "old entry 1 (claude-sonnet-4-5-20250929), new entry 1 (claude-opus-5-5)",
        "  +++ new/subagent/prompt",
        "  + tool ToolSearch (added)",
        r#"  ~ model: "claude-sonnet-4-5-20250929" → "claude-opus-5-5""#,
    ] {
        assert!(sub.stdout.contains(want), "missing {want:?} in:\n{}", sub.stdout);
    }
}

#[test]
fn the_2_0_50_warmup_calls_pair_by_model() {
    let (a, b) = (handmade("cc-2.0.50-a.har"), handmade("cc-2.0.50-b.har"));
    // Run A sends them as entries 1 (haiku) and 2 (sonnet), run B as 2 and 1.
    let v = analyze_json(
        &["diff", "--no-mask", "--only", "warmup,git-history", &a, &b],
        0,
    );
    let w = &v["sections"]["warmup"];
    assert_eq!(w["old"], "entry 1 (claude-haiku-4-5-20251001)", "{w}");
    assert_eq!(w["new"], "entry 2 (claude-haiku-4-5-20251001)", "{w}");
    assert_eq!(w["params"], serde_json::json!([]), "the same call: {w}");
    assert_eq!(
        v["sections"]["git-history"]["new"],
        "entry 3 (claude-haiku-4-5-20251001)"
    );
}

#[test]
fn a_renamed_tool_is_reported_once_as_a_rename_with_its_changes() {
    let old = fixture("claude-code/2.0.50-reverse.har");
    let new = fixture("claude-code/2.1.332-reverse.har");
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let r = analyze(&["diff", "--only", "tools", old, new]);
    assert_eq!(r.code, 1);
    let out = &r.stdout;
    let mentions: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("tool Task") || l.contains("tool Agent"))
        .collect();
    assert_eq!(
        mentions,
        ["~ tool Task → Agent (renamed: takes the same input fields description, model, prompt, subagent_type)"],
        "{out}"
    );
    // With its changes under it: the description diff and the schema.
    let at = out.find("~ tool Task → Agent").unwrap();
    let below = &out[at..];
    assert!(
        below.contains("  description:\n  --- old/Task.description\n  +++ new/Agent.description"),
        "{below}"
    );
    assert!(below.contains("  input_schema:\n"), "{below}");
}

#[test]
fn words_that_changed_are_marked_on_a_terminal_and_in_markdown() {
    let (old, new) = sides();
    let Some(raw) = on_terminal_raw(120, &["diff", "--only", "topic", &old, &new]) else {
        return;
    };
    // The changed words in reverse video inside the red/green line.
    assert!(raw.contains("\x1b[7;31m2-3\x1b[0m"), "{raw:?}");
    assert!(raw.contains("\x1b[7;32m3-5\x1b[0m"), "{raw:?}");
    let piped = analyze(&["diff", "--only", "topic", &old, &new]);
    assert!(!piped.stdout.contains('\x1b'), "no colour in a pipe");
    assert!(piped.stdout.contains("+Analyze if this message indicates a new conversation topic. If it does, extract a 3-5 word title"));
    let md = analyze(&[
        "diff", "--only", "topic", "--format", "markdown", &old, &new,
    ])
    .stdout;
    assert!(md.contains("Words changed:\n\n- …"), "{md}");
    assert!(md.contains("~~2-3~~ **3-5** word title"), "{md}");
}

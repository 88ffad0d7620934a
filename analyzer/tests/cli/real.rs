//! Golden tests over the real Claude Code sessions in `fixtures/claude-code/`
//! (recorded by `record` in front of the fake upstream, or offline).
//!
//! The fake upstream's usage is a pure function of each request body
//! (tests/support/upstream/messages.rs: input = n/4+1, cache write =
//! n%1000, cache read = (n/8)%5000, output = len(reply)/4+1), so the totals
//! `usage` must print are computed here from the archive's own bodies.

use crate::{analyze, analyze_json, fixture};
use serde_json::Value;

const FAKE_REPLY: &str = "Hello from the cctap fake upstream.";

fn real(name: &str) -> String {
    fixture(&format!("claude-code/{name}"))
        .display()
        .to_string()
}

/// [requests, input, output, cache write, cache read] the fake sent.
fn fake_upstream_totals(name: &str) -> [u64; 5] {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(real(name)).unwrap()).unwrap();
    let mut t = [0u64; 5];
    for e in doc["log"]["entries"].as_array().unwrap() {
        let url = e["request"]["url"].as_str().unwrap();
        if !url.split('?').next().unwrap().ends_with("/v1/messages") {
            continue;
        }
        let n = e["request"]["postData"]["text"].as_str().unwrap().len() as u64;
        for (slot, v) in t.iter_mut().zip([
            1,
            n / 4 + 1,
            FAKE_REPLY.len() as u64 / 4 + 1,
            n % 1000,
            (n / 8) % 5000,
        ]) {
            *slot += v;
        }
    }
    t
}

#[test]
fn usage_equals_what_the_fake_upstream_sent() {
    for name in [
        "2.0.14-reverse.har",
        "2.0.50-reverse.har",
        "2.1.332-reverse.har",
        "2.1.332-reverse-rerun.har",
    ] {
        let u = analyze_json(&["usage", &real(name)], 0);
        let t = &u["total"];
        let got = [
            "requests",
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ]
        .map(|k| t[k].as_u64().unwrap());
        assert_eq!(got, fake_upstream_totals(name), "{name}");
        assert_eq!(u["failed"]["requests"], 0, "{name}");
    }
}

#[test]
fn recorded_sessions_hold_no_leaks() {
    for name in [
        "2.0.14-reverse.har",
        "2.0.50-reverse.har",
        "2.1.332-reverse.har",
        "2.0.50-offline.har",
    ] {
        let v = analyze_json(&["leaks", &real(name)], 0);
        assert_eq!(v["leaks"], 0, "{name}: {v}");
    }
}

#[test]
fn runs_of_one_version_diff_empty() {
    for (a, b) in [
        ("2.1.332-reverse.har", "2.1.332-reverse-rerun.har"),
        ("2.1.332-reverse.har", "2.1.332-offline.har"),
        ("2.0.50-reverse.har", "2.0.50-offline.har"),
        ("2.0.14-reverse.har", "2.0.14-offline.har"),
    ] {
        let r = analyze(&["diff", &real(a), &real(b)]);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, ""),
            "{a} vs {b}: {}",
            r.stderr
        );
    }
}

#[test]
fn from_2_0_14_to_2_0_50_skill_is_new_and_task_takes_a_model() {
    let r = analyze(&[
        "diff",
        &real("2.0.14-reverse.har"),
        &real("2.0.50-reverse.har"),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    for want in [
        "+ tool Skill (added)",
        "~ tool Task (changed)",
        "+ properties.model: {",
        r#"~ client_version: "2.0.14" → "2.0.50""#,
    ] {
        assert!(r.stdout.contains(want), "missing {want:?}");
    }
}

#[test]
fn from_2_0_50_to_2_1_332_agent_replaces_task_and_the_environment_moves() {
    let v = analyze_json(
        &[
            "diff",
            &real("2.0.50-reverse.har"),
            &real("2.1.332-reverse.har"),
        ],
        1,
    );
    let s = &v["sections"];
    // One rename: Task is not also listed as removed, nor Agent as added.
    assert_eq!(s["tools"]["renamed"][0]["old"], "Task");
    assert_eq!(s["tools"]["renamed"][0]["new"], "Agent");
    let removed: Vec<&str> = s["tools"]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(!removed.contains(&"Task"), "{removed:?}");
    for t in ["Glob", "Grep", "NotebookEdit", "WebFetch", "WebSearch"] {
        assert!(removed.contains(&t), "{t} removed: {removed:?}");
    }
    let added: Vec<&str> = s["tools"]["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        added.contains(&"ToolSearch")
            && added.contains(&"DeferredToolPlaceholder")
            && !added.contains(&"Agent"),
        "{added:?}"
    );
    let params: Vec<&str> = s["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    for p in [
        "thinking",
        "context_management",
        "output_config",
        "metadata.user_id",
    ] {
        assert!(params.contains(&p), "{p} in {params:?}");
    }
    let prompt = s["prompt"]["unified"].as_str().unwrap();
    assert!(
        prompt.contains("+### messages[1] role=system content[0]"),
        "the environment is a system message now"
    );
    assert!(
        prompt
            .lines()
            .any(|l| l.starts_with('+') && l.ends_with("Primary working directory: <CWD>")),
        "masked cwd in the system message"
    );
    assert!(prompt.contains("-Working directory: <CWD>"));
}

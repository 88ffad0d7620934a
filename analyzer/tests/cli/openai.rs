//! OpenAI-style calls counted beside Messages calls, in every command that
//! shows tokens. `fixtures/handmade/openai.har` (see `make.py`,
//! `openai_calls`) holds, in order: 0 a chat completion as JSON (prompt
//! 1,200 of which 1,024 cached, 300 out); 1 a chat stream with
//! `stream_options.include_usage` (2,048 / 1,920 cached / 21); 2 a chat
//! stream without it (no usage on the wire); 3 a Responses JSON reply
//! (500 / 0 / 900, 768 reasoning); 4 a Responses stream (3,000 / 2,048 /
//! 400, 320 reasoning); 5 a 429; 6 a GET listing stored completions; 7 one
//! Messages call (7 in, 5 out).

use crate::{analyze, analyze_json, handmade};
use serde_json::{json, Value};

fn openai() -> String {
    handmade("openai.har")
}

/// The token fields of a `usage --json` total or group.
fn tokens(v: &Value) -> [u64; 5] {
    [
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "reasoning_tokens",
    ]
    .map(|k| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}")))
}

#[test]
fn usage_counts_openai_calls_with_cached_tokens_moved_out_of_the_prompt() {
    let v = analyze_json(&["usage", &openai()], 0);
    // Input is the prompt without its cached part, as Anthropic counts it:
    // 176 + 128 + 500 + 952 + 7; cache reads 1,024 + 1,920 + 2,048.
    assert_eq!(v["total"]["requests"], 5);
    assert_eq!(tokens(&v["total"]), [1763, 1626, 0, 4992, 1088]);
    let groups: Vec<(String, u64, [u64; 5])> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                g["requests"].as_u64().unwrap(),
                tokens(g),
            )
        })
        .collect();
    let want = [
        ("claude-haiku-4-5-20251001", 1, [7, 5, 0, 0, 0]),
        ("gpt-4o", 1, [176, 300, 0, 1024, 0]),
        ("gpt-4o-mini", 1, [128, 21, 0, 1920, 0]),
        ("gpt-5-mini", 1, [952, 400, 0, 2048, 320]),
        ("o4-mini", 1, [500, 900, 0, 0, 768]),
    ]
    .map(|(k, n, t)| (k.to_owned(), n, t));
    assert_eq!(groups, want);
    // The stream without include_usage is a call, said apart, never zero.
    assert_eq!(
        v["usage_not_reported"],
        json!({"requests": 1,
            "by_reason": {"chat/completions: stream without stream_options.include_usage": 1},
            "by_model": {"gpt-4o-mini": 1}})
    );
    assert_eq!(v["failed"]["requests"], 1);
    assert_eq!(v["failed"]["by_status"]["429 requests"], 1);
    assert_eq!(v["other_entries"], 1, "the GET that lists completions");
    // No OpenAI price in the built-in table: unpriced, not $0.
    assert_eq!(v["total"]["unpriced_requests"], 4);
    for g in v["groups"].as_array().unwrap() {
        let openai = !g["key"].as_str().unwrap().starts_with("claude");
        assert_eq!(g["cost_usd"].is_null(), openai, "{g}");
    }
    let haiku = (7.0 * 1.0 + 5.0 * 5.0) / 1e6;
    assert!((v["total"]["cost_usd"].as_f64().unwrap() - haiku).abs() < 1e-12);
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("\\\"gpt-4o-mini\\\" has no price"),
        "{warnings}"
    );
    assert!(
        warnings.contains("usage not reported by 1 answered call(s)"),
        "{warnings}"
    );

    let human = analyze(&["usage", &openai()]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    let total = human
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("total"))
        .unwrap();
    let cells: Vec<&str> = total.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "total",
            "5",
            "1,763",
            "1,626",
            "0",
            "4,992",
            "$0.0000",
            "(+4",
            "unpriced)"
        ]
    );
    assert!(
        human.stdout.contains(
            "usage not reported (answered, tokens unknown, not counted): 1 \
             (chat/completions: stream without stream_options.include_usage ×1)"
        ),
        "{}",
        human.stdout
    );
    assert!(human
        .stdout
        .contains("failed (not counted): 1 (429 requests ×1)"));
}

#[test]
fn usage_by_api_and_priced_with_a_price_file() {
    let v = analyze_json(&["usage", "--by", "api", &openai()], 0);
    let keys: Vec<(&str, u64)> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap(), g["requests"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        keys,
        [("chat/completions", 2), ("messages", 1), ("responses", 2)]
    );
    assert_eq!(tokens(&v["groups"][0]), [304, 321, 0, 2944, 0]);
    assert_eq!(tokens(&v["groups"][2]), [1452, 1300, 0, 2048, 1088]);

    // OpenAI bills cached input at its own rate: the file's `cache_read`.
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("openai-prices.json");
    std::fs::write(
        &prices,
        json!({"date": "2026-12-04", "source": "test rates, not OpenAI's",
            "models": {"gpt-4o-mini": {"input": 0.15, "output": 0.6, "cache_read": 0.075},
                       "gpt-5-mini": {"input": 0.25, "output": 2.0, "cache_read": 0.025}}})
        .to_string(),
    )
    .unwrap();
    let p = prices.to_str().unwrap();
    let v = analyze_json(&["usage", &openai(), "--prices", p], 0);
    let cost = |key: &str| {
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)
            .unwrap()["cost_usd"]
            .as_f64()
    };
    let mini = (128.0 * 0.15 + 1920.0 * 0.075 + 21.0 * 0.6) / 1e6;
    let five = (952.0 * 0.25 + 2048.0 * 0.025 + 400.0 * 2.0) / 1e6;
    assert!((cost("gpt-4o-mini").unwrap() - mini).abs() < 1e-12);
    assert!((cost("gpt-5-mini").unwrap() - five).abs() < 1e-12);
    assert_eq!(cost("gpt-4o"), None, "still unpriced");
    assert_eq!(v["total"]["unpriced_requests"], 2);
}

#[test]
fn ls_and_show_give_each_call_its_tokens_or_say_they_were_not_reported() {
    let v = analyze_json(&["ls", &openai()], 0);
    let rows: Vec<(&str, &str, Value, Value, Value, Value)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap(),
                r["model"].as_str().unwrap(),
                r["input_tokens"].clone(),
                r["output_tokens"].clone(),
                r["cache_read_input_tokens"].clone(),
                r["reasoning_tokens"].clone(),
            )
        })
        .collect();
    let n = Value::Null;
    assert_eq!(
        rows,
        [
            (
                "chat/completions",
                "gpt-4o",
                json!(176),
                json!(300),
                json!(1024),
                json!(0)
            ),
            (
                "chat/completions",
                "gpt-4o-mini",
                json!(128),
                json!(21),
                json!(1920),
                json!(0)
            ),
            (
                "chat/completions",
                "gpt-4o-mini",
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone()
            ),
            (
                "responses",
                "o4-mini",
                json!(500),
                json!(900),
                json!(0),
                json!(768)
            ),
            (
                "responses",
                "gpt-5-mini",
                json!(952),
                json!(400),
                json!(2048),
                json!(320)
            ),
            (
                "chat/completions",
                "gpt-4o",
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone()
            ),
            ("other", "", n.clone(), n.clone(), n.clone(), n.clone()),
            (
                "side",
                "claude-haiku-4-5-20251001",
                json!(7),
                json!(5),
                json!(0),
                n.clone()
            ),
        ]
    );
    assert_eq!(
        v[2]["usage_not_reported"],
        "stream without stream_options.include_usage"
    );
    assert_eq!(
        v[1]["first_token_ms"], 210.0,
        "the first chunk with content"
    );
    assert_eq!(v[4]["stop_reason"], "completed");
    assert_eq!(
        v[5]["api_error"],
        "requests: Rate limit reached for gpt-4o (fake)"
    );
    let table = analyze(&["ls", &openai()]);
    assert!(
        table
            .stdout
            .contains("usage not reported (stream without stream_options.include_usage)"),
        "{}",
        table.stdout
    );

    let shown = analyze(&["show", &openai(), "2"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    for want in [
        "== request (chat/completions) ==",
        "model gpt-4o-mini  stream true  stream_options.include_usage false",
        "Hello again",
        "usage not reported (stream without stream_options.include_usage): the tokens are unknown, not zero",
    ] {
        assert!(shown.stdout.contains(want), "{want}:\n{}", shown.stdout);
    }
    let shown = analyze(&["show", &openai(), "4"]);
    assert!(
        shown.stdout.contains(
            "as sent: prompt 3,000 (cached 2,048), output 400 (reasoning 320); input = prompt - cached"
        ),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("Hello!"), "{}", shown.stdout);
    let j = analyze_json(&["show", &openai(), "3"], 0);
    assert_eq!(j["api"], "responses");
    assert_eq!(
        j["reply"]["usage"],
        json!({"input_tokens": 500, "output_tokens": 900, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0, "reasoning_tokens": 768})
    );
    assert_eq!(j["usage_not_reported"], Value::Null);
}

#[test]
fn the_report_counts_them_and_leaks_finds_the_markers_clean() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let r = analyze(&["report", "-o", html.to_str().unwrap(), &openai()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("id=\"usage-not-reported\">1 answered call with usage not reported"));
    // The report's totals are usage's: 1,763 + 4,992 + 1,626.
    for want in [
        "id=\"n-tokens\">8,381",
        "id=\"tok-input\" data-raw=\"1763\"",
        "id=\"tok-read\" data-raw=\"4992\"",
        "id=\"tok-output\" data-raw=\"1626\"",
    ] {
        assert!(page.contains(want), "{want} not in the report");
    }
    let v = analyze_json(&["leaks", &openai()], 0);
    assert_eq!(v["leaks"], 0, "{v}");
}

//! `analyze usage`: groups, prices, CSV, stdin, cut-off files.

use crate::{analyze, analyze_json, analyze_stdin, handmade};

fn close(a: &serde_json::Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn by_model_with_costs_from_the_built_in_table() {
    let u = analyze_json(&["usage", &handmade("cc-2.0.50-a.har")], 0);
    let g = u["groups"].as_array().unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(g[0]["key"], "claude-haiku-4-5-20251001");
    assert_eq!(
        (
            g[0]["requests"].as_u64(),
            g[0]["input_tokens"].as_u64(),
            g[0]["output_tokens"].as_u64()
        ),
        (Some(2), Some(254), Some(39))
    );
    // haiku 4.5: $1 in, $5 out, 5-minute writes at 1.25×.
    assert!(
        close(
            &g[0]["cost_usd"],
            (254.0 + 39.0 * 5.0 + 1800.0 * 1.25) / 1e6
        ),
        "{}",
        g[0]["cost_usd"]
    );
    assert_eq!(g[1]["key"], "claude-sonnet-4-5-20250929");
    assert!(
        close(
            &g[1]["cost_usd"],
            (7.0 * 3.0 + 57.0 * 15.0 + 14900.0 * 3.75) / 1e6
        ),
        "{}",
        g[1]["cost_usd"]
    );
    assert!(close(
        &u["total"]["cost_usd"],
        (254.0 + 195.0 + 2250.0 + 21.0 + 855.0 + 55875.0) / 1e6
    ));
    assert_eq!(
        u["prices"]["source"],
        "https://platform.claude.com/docs/en/about-claude/pricing"
    );
    assert_eq!(u["warnings"].as_array().map(Vec::len), Some(0));
}

#[test]
fn claude_code_2_1_332_is_priced_with_its_model_and_the_1h_split_is_kept() {
    let r = analyze(&["usage", "--json", &handmade("cc-2.1.332.har")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let u = r.json();
    assert_eq!(u["groups"][0]["key"], "claude-opus-5-5");
    // Opus 5.5: $4 in, $20 out, $5 5m write, $8 1h write, $0.20 read;
    // 25 in, 85 out, 1150 5m writes, 8000 1h writes, 9000 reads.
    let want = (25.0 * 4.0 + 85.0 * 20.0 + 1150.0 * 5.0 + 8000.0 * 8.0 + 9000.0 * 0.2) / 1e6;
    assert!(
        close(&u["groups"][0]["cost_usd"], want),
        "{}",
        u["groups"][0]["cost_usd"]
    );
    assert_eq!(u["total"]["unpriced_requests"], 0);
    assert_eq!(u["total"]["ephemeral_1h_input_tokens"], 8000);
    assert_eq!(
        u["total"]["ephemeral_5m_input_tokens"], 1150,
        "1000 split + 150 without a split"
    );
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let human = analyze(&["usage", &handmade("cc-2.1.332.har")]);
    assert!(
        human.stdout.contains(
            "prices: built-in table read 2026-12-04 from https://platform.claude.com/docs/en/about-claude/pricing"
        ),
        "{}",
        human.stdout
    );
}

#[test]
fn an_unknown_model_names_itself_and_how_to_price_it() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"replace": true, "date": "2026-12-01", "source": "team sheet",
            "models": {"glm-4.6": {"input": 1, "output": 2}}}"#,
    )
    .unwrap();
    let path = prices.to_str().unwrap();
    let r = analyze(&[
        "usage",
        "--json",
        "--prices",
        path,
        &handmade("cc-2.1.332.har"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let u = r.json();
    assert_eq!(
        u["groups"][0]["cost_usd"],
        serde_json::Value::Null,
        "never $0"
    );
    assert_eq!(u["total"]["unpriced_requests"], 2);
    assert_eq!(u["prices"]["file"]["source"], "team sheet");
    assert!(
        r.stderr.contains("model \"claude-opus-5-5\" has no price")
            && r.stderr
                .contains("{\"models\": {\"claude-opus-5-5\": {\"input\""),
        "{}",
        r.stderr
    );
    let human = analyze(&["usage", "--prices", path, &handmade("cc-2.1.332.har")]);
    assert!(human.stdout.contains("unpriced"), "{}", human.stdout);
    assert!(
        human
            .stdout
            .contains("(2026-12-01, team sheet), replacing the built-in table"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_recording_without_model_calls_costs_nothing() {
    let r = analyze(&["usage", &handmade("browser.har")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("$0.00"), "{}", r.stdout);
    assert!(!r.stdout.contains("unpriced"), "{}", r.stdout);
}

#[test]
fn a_price_file_prices_the_unknown_model() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"models": {"claude-opus-5-5": {"input": 10, "output": 50}}}"#,
    )
    .unwrap();
    let u = analyze_json(
        &[
            "usage",
            "--prices",
            prices.to_str().unwrap(),
            &handmade("cc-2.1.332.har"),
        ],
        0,
    );
    // 25 in, 85 out, 1150 5m writes, 8000 1h writes, 9000 reads.
    let want = (25.0 * 10.0 + 85.0 * 50.0 + 1150.0 * 12.5 + 8000.0 * 20.0 + 9000.0 * 1.0) / 1e6;
    assert!(
        close(&u["total"]["cost_usd"], want),
        "{} vs {want}",
        u["total"]["cost_usd"]
    );
    assert_eq!(u["warnings"].as_array().map(Vec::len), Some(0));
}

#[test]
fn groups_by_session_client_version_file_day_and_request() {
    let (a, b, c21) = (
        handmade("cc-2.0.50-a.har"),
        handmade("cc-2.0.50-b.har"),
        handmade("cc-2.1.332.har"),
    );
    let keys = |by: &str| -> Vec<String> {
        let u = analyze_json(&["usage", "--by", by, &a, &b, &c21], 0);
        u["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["key"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        keys("session"),
        [
            "0a0a0a0a-1111-4222-8333-444444444444",
            "0b0b0b0b-5555-4666-8777-888888888888",
            "21212121-aaaa-4bbb-8ccc-dddddddddddd"
        ]
    );
    assert_eq!(
        keys("client-version"),
        ["claude-cli/2.0.50", "claude-cli/2.1.332"]
    );
    assert_eq!(keys("file"), [a.clone(), b.clone(), c21.clone()]);
    assert_eq!(keys("day"), ["2026-11-24"]);
    assert_eq!(keys("request").len(), 10);
    assert_eq!(keys("request")[0], format!("{a}#0"));
}

#[test]
fn csv_has_a_header_rows_and_a_total() {
    let r = analyze(&["usage", "--csv", &handmade("cc-2.0.50-a.har")]);
    assert_eq!(r.code, 0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "key,requests,input_tokens,output_tokens,cache_creation_input_tokens,cache_read_input_tokens,cost_usd");
    assert!(
        lines[1].starts_with("claude-haiku-4-5-20251001,2,254,39,1800,0,0.0026"),
        "{}",
        lines[1]
    );
    assert!(
        lines[3].starts_with("TOTAL,4,261,96,16700,0,"),
        "{}",
        lines[3]
    );
}

#[test]
fn stdin_and_compressed_archives_give_the_same_totals() {
    let path = handmade("cc-2.0.50-a.har");
    let bytes = std::fs::read(&path).unwrap();
    let r = analyze_stdin(&["usage", "--json", "-"], &bytes);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["total"]["cache_creation_input_tokens"], 16700);
    let dir = tempfile::tempdir().unwrap();
    for ext in ["har.zst", "har.gz"] {
        let out = dir.path().join(format!("s.{ext}"));
        let e = analyze(&["export", &path, "-o", out.to_str().unwrap()]);
        assert_eq!(e.code, 0, "{}", e.stderr);
        let u = analyze_json(&["usage", out.to_str().unwrap()], 0);
        assert_eq!(u["total"]["input_tokens"], 261, "{ext}");
        // Content sniffing: a misleading name still reads.
        let renamed = dir.path().join(format!("s-{ext}.har"));
        std::fs::copy(&out, &renamed).unwrap();
        assert_eq!(
            analyze_json(&["usage", renamed.to_str().unwrap()], 0)["total"]["output_tokens"],
            96
        );
        let r = analyze_stdin(&["usage", "--json", "-"], &std::fs::read(&out).unwrap());
        assert_eq!(r.json()["total"]["output_tokens"], 96, "{ext} on stdin");
    }
}

#[test]
fn a_cut_off_archive_warns_once_naming_the_file_and_the_count() {
    let path = handmade("cut-off.har");
    let r = analyze(&["usage", "--json", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let warnings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("cut off")).collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(
        warnings[0].contains(&path) && warnings[0].contains("recovered 3 entries"),
        "{}",
        warnings[0]
    );
    assert_eq!(r.json()["files"][0]["cut_off"], true);
}

#[test]
fn a_zstd_archive_cut_mid_entry_recovers_the_entries_before() {
    let dir = tempfile::tempdir().unwrap();
    let zst = dir.path().join("s.har.zst");
    assert_eq!(
        analyze(&[
            "export",
            &handmade("cc-2.0.50-a.har"),
            "-o",
            zst.to_str().unwrap()
        ])
        .code,
        0
    );
    let bytes = std::fs::read(&zst).unwrap();
    let cut = dir.path().join("cut.har.zst");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 4]).unwrap();
    let r = analyze(&["usage", "--json", cut.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let n = r.json()["files"][0]["entries"].as_u64().unwrap();
    assert!((1..4).contains(&n), "some but not all entries: {n}");
    assert!(
        r.stderr.contains(&format!("recovered {n} entries")),
        "{}",
        r.stderr
    );
}

#[test]
fn raw_streams_count_tokens_cut_off_streams_and_refused_calls() {
    let u = analyze_json(
        &[
            "usage",
            &handmade("mitmproxy-export.har"),
            &handmade("failures.har"),
        ],
        0,
    );
    assert_eq!(u["count_tokens"]["requests"], 1);
    assert_eq!(u["total"]["cut_off_streams"], 1);
    assert_eq!(
        u["failed"]["by_status"]["no response (upstream refused the connection)"],
        1
    );
    let rows = analyze_json(&["ls", &handmade("mitmproxy-export.har")], 0);
    assert_eq!(rows[0]["role"], "count_tokens");
    assert_eq!(
        rows[1]["stop_reason"], "end_turn",
        "reassembled from content.text"
    );
    let shown = analyze_json(&["show", &handmade("mitmproxy-export.har"), "1"], 0);
    assert_eq!(shown["reply"]["source"], "sse_text");
    assert_eq!(shown["reply"]["text"], "Hi! How can I help?");
    assert_eq!(
        shown["reply"]["first_token_ms"],
        serde_json::Value::Null,
        "raw text has no times"
    );
    let human = analyze(&["usage", &handmade("failures.har")]);
    assert!(
        human.stdout.contains("failed (not counted): 1"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("cut-off streams (counted as far as they went): 1"),
        "{}",
        human.stdout
    );
}

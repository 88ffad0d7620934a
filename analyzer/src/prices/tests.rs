use super::*;
use time::macros::date;

fn usage(i: u64, o: u64, w: u64, r: u64) -> Usage {
    Usage {
        input_tokens: i,
        output_tokens: o,
        cache_creation_input_tokens: w,
        cache_read_input_tokens: r,
        ..Usage::default()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

const M: u64 = 1_000_000;

#[test]
fn families_match_the_longest_whole_name() {
    let p = Prices::built_in();
    let family = |m: &str| p.lookup(m).map(|(f, _)| f.to_owned());
    assert_eq!(
        family("claude-sonnet-4-5-20250929").unwrap(),
        "claude-sonnet-4-5"
    );
    assert_eq!(
        family("claude-sonnet-4-20250514").unwrap(),
        "claude-sonnet-4"
    );
    assert_eq!(
        family("claude-3-5-haiku-20241022").unwrap(),
        "claude-3-5-haiku"
    );
    assert_eq!(
        family("us.anthropic.claude-opus-4-1-20250805-v1:0").unwrap(),
        "claude-opus-4-1"
    );
    assert_eq!(family("claude-opus-5-5").unwrap(), "claude-opus-5-5");
    assert_eq!(family("claude-opus-5-5[1m]").unwrap(), "claude-opus-5-5");
    assert_eq!(family("claude-opus-5").unwrap(), "claude-opus-5");
    // A date after a family is not a longer family's version number.
    assert_eq!(family("claude-fable-5-20260609").unwrap(), "claude-fable-5");
    assert_eq!(family("claude-fable-5-2").unwrap(), "claude-fable-5-2");
    assert!(family("glm-4.6").is_none());
    assert!(
        p.cost_at("glm-4.6", &usage(1, 1, 0, 0), None).is_none(),
        "unknown is unpriced, never $0"
    );
}

#[test]
fn current_claude_code_model_is_priced_with_its_own_cache_rates() {
    let p = Prices::built_in();
    // Opus 5.5: $4 in, $20 out, $5 5m write, $0.20 read (0.05× input).
    let c = p
        .cost_at("claude-opus-5-5", &usage(M, M, M, M), None)
        .unwrap();
    assert!(close(c, 4.0 + 20.0 + 5.0 + 0.2), "{c}");
    let mut split = usage(0, 0, 3 * M, 0);
    split.ephemeral_5m_input_tokens = Some(M);
    split.ephemeral_1h_input_tokens = Some(2 * M);
    let c = p.cost_at("claude-opus-5-5", &split, None).unwrap();
    assert!(close(c, 5.0 + 2.0 * 8.0), "1h writes at $8: {c}");
}

#[test]
fn a_price_change_prices_calls_by_the_day_they_started() {
    let p = Prices::built_in();
    let reads = usage(0, 0, 0, M);
    let before = p.cost_at("claude-sonnet-5-5", &reads, Some(date!(2026 - 10 - 06)));
    let on = p.cost_at("claude-sonnet-5-5", &reads, Some(date!(2026 - 10 - 07)));
    let newest = p.cost_at("claude-sonnet-5-5", &reads, None);
    assert!(close(before.unwrap(), 0.20), "{before:?}");
    assert!(close(on.unwrap(), 0.10), "{on:?}");
    assert!(close(newest.unwrap(), 0.10), "{newest:?}");
    assert_eq!(
        date_of("2026-10-06T23:59:59.000-02:00"),
        Some(date!(2026 - 10 - 07))
    );
}

#[test]
fn prompt_length_tiers_bill_the_whole_request() {
    let p = Prices::built_in();
    // Haiku 5.5: up to 100k prompt tokens $0.10/$0.50, above $0.50/$2.50.
    let small = p
        .cost_at("claude-haiku-5-5", &usage(100_000, M, 0, 0), None)
        .unwrap();
    assert!(close(small, 0.01 + 0.5), "{small}");
    let q = p
        .quote("claude-haiku-5-5", &usage(60_000, M, 0, 40_001), None)
        .unwrap();
    assert!(q.long_prompt);
    assert!(
        close(q.dollars, (60_000.0 * 0.5 + 40_001.0 * 0.05) / 1e6 + 2.5),
        "{q:?}"
    );
    // Sonnet 4.5 above 200k: $6/$22.50, cache by the page's rule.
    let c = p
        .cost_at(
            "claude-sonnet-4-5-20250929",
            &usage(150_000, 1000, 0, 60_000),
            None,
        )
        .unwrap();
    assert!(
        close(c, (150_000.0 * 6.0 + 1000.0 * 22.5 + 60_000.0 * 0.6) / 1e6),
        "{c}"
    );
    let opus = p
        .cost_at("claude-opus-4-5", &usage(300_000, 0, 0, 0), None)
        .unwrap();
    assert!(close(opus, 1.5), "no tier for opus: {opus}");
}

#[test]
fn a_price_file_extends_or_replaces_and_keeps_its_date_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.json");
    std::fs::write(
        &f,
        r#"{"source": "https://example.test/prices", "date": "2026-12-01",
            "models": {"glm-4.6": [{"input": 1, "output": 2},
                                   {"from": "2026-11-01", "input": 10, "output": 50, "cache_read": 2}]}}"#,
    )
    .unwrap();
    let p = Prices::with_file(&f).unwrap();
    let c = p.cost_at("glm-4.6", &usage(M, 0, 0, M), None).unwrap();
    assert!(close(c, 12.0), "{c}");
    let old = p
        .cost_at("glm-4.6", &usage(M, 0, M, 0), Some(date!(2026 - 10 - 01)))
        .unwrap();
    assert!(close(old, 1.0 + 1.25), "cache write by rule: {old}");
    assert!(
        p.lookup("claude-opus-5-5").is_some(),
        "extends the built-in table"
    );
    let footer = p.footer();
    assert!(
        footer.contains("p.json (2026-12-01, https://example.test/prices)"),
        "{footer}"
    );
    assert!(footer.contains(TABLE_SOURCE), "{footer}");
    assert_eq!(p.to_json()["file"]["date"], "2026-12-01");

    std::fs::write(
        &f,
        r#"{"replace": true, "models": {"glm-4.6": {"input": 1, "output": 2}}}"#,
    )
    .unwrap();
    let p = Prices::with_file(&f).unwrap();
    assert!(p.lookup("claude-opus-5-5").is_none(), "replaced");
    assert!(
        p.footer()
            .contains("undated, no source given), replacing the built-in table"),
        "{}",
        p.footer()
    );

    std::fs::write(&f, r#"{"claude-x": 1}"#).unwrap();
    let err = Prices::with_file(&f).unwrap_err().to_string();
    assert!(err.contains("is not {\"models\""), "{err}");
    std::fs::write(
        &f,
        r#"{"models": {"x": {"from": "Oct 7", "input": 1, "output": 2}}}"#,
    )
    .unwrap();
    let err = Prices::with_file(&f).unwrap_err().to_string();
    assert!(err.contains("x: \"from\" is \"Oct 7\""), "{err}");
}

#[test]
fn every_built_in_row_is_complete_and_dated_rows_are_in_order() {
    for (family, rows) in table::built_in() {
        assert!(!rows.is_empty(), "{family}");
        for w in rows.windows(2) {
            assert!(w[0].from < w[1].from, "{family}: rows out of order");
        }
        for r in &rows {
            let b = r.base;
            assert!(b.input > 0.0 && b.output > b.input, "{family}");
            assert!(
                b.cache_read < b.input && b.cache_write_1h > b.cache_write_5m,
                "{family}"
            );
        }
    }
}

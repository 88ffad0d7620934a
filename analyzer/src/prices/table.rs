//! The built-in price table: every Claude model Anthropic's pricing page
//! lists, current and retired, in US dollars per million tokens.
//!
//! Read on [`TABLE_DATE`] from [`TABLE_SOURCE`] (the "Model pricing" table
//! and each model's overview page, whose "Pricing" lists the same five
//! rates), cross-checked against [`CROSS_CHECK`]. A row with a `from` date
//! replaces the one before it for calls started on or after that day
//! (Sonnet 5.5's cache-read cut of 2026-10-07), so old archives keep the
//! price they were billed at. Where a page publishes only input and output
//! for a prompt-length tier, its cache rates follow the page's own rule
//! (5-minute write 1.25×, 1-hour write 2×, read 0.1× of that input);
//! those cells are marked `rule`.

use super::{Price, Rate, Tier};
use time::macros::date;

/// When the table was read, and from where.
pub const TABLE_DATE: &str = "2026-12-04";
pub const TABLE_SOURCE: &str = "https://platform.claude.com/docs/en/about-claude/pricing";
/// The second published source every row was compared with.
pub const CROSS_CHECK: &str = "https://github.com/kurofune/claudit/releases/tag/v1.9.2";

/// input, 5-minute cache write, 1-hour cache write, cache read, output.
const fn rate(input: f64, w5: f64, w1: f64, read: f64, output: f64) -> Rate {
    Rate {
        input,
        cache_write_5m: w5,
        cache_write_1h: w1,
        cache_read: read,
        output,
    }
}

const fn plain(rate: Rate) -> Price {
    Price {
        from: None,
        base: rate,
        tier: None,
    }
}

const fn tiered(rate: Rate, above: u64, long: Rate) -> Price {
    Price {
        from: None,
        base: rate,
        tier: Some(Tier { above, rate: long }),
    }
}

const FABLE_5: Rate = rate(10.0, 12.5, 20.0, 1.0, 50.0);
// Footnote 1 of the page: Fable/Mythos 5.1 read the cache at 0.025× input.
const FABLE_5_1: Rate = rate(10.0, 12.5, 20.0, 0.25, 50.0);
const FABLE_5_2: Rate = rate(8.0, 10.0, 16.0, 0.20, 40.0);
const OPUS_5_5: Rate = rate(4.0, 5.0, 8.0, 0.20, 20.0);
const OPUS_4_5: Rate = rate(5.0, 6.25, 10.0, 0.50, 25.0);
const OPUS_4: Rate = rate(15.0, 18.75, 30.0, 1.50, 75.0);
const SONNET_5: Rate = rate(2.0, 2.5, 4.0, 0.20, 10.0);
const SONNET_4: Rate = rate(3.0, 3.75, 6.0, 0.30, 15.0);
// "Long context pricing": > 200K input tokens, $6 / $22.50; cache cells by rule.
const SONNET_4_LONG: Rate = rate(6.0, 7.5, 12.0, 0.60, 22.5);
const HAIKU_5_5: Rate = rate(0.10, 0.125, 0.20, 0.01, 0.50);
const HAIKU_5_5_LONG: Rate = rate(0.50, 0.625, 1.0, 0.05, 2.50);
const HAIKU_4_5: Rate = rate(1.0, 1.25, 2.0, 0.10, 5.0);
const HAIKU_3_5: Rate = rate(0.80, 1.0, 1.6, 0.08, 4.0);
const HAIKU_3: Rate = rate(0.25, 0.30, 0.50, 0.03, 1.25);

/// (model family, its prices in force from oldest to newest).
pub fn built_in() -> Vec<(&'static str, Vec<Price>)> {
    let one = |r: Rate| vec![plain(r)];
    vec![
        ("claude-fable-5-2", one(FABLE_5_2)),
        ("claude-mythos-5-2", one(FABLE_5_2)),
        ("claude-fable-5-1", one(FABLE_5_1)),
        ("claude-mythos-5-1", one(FABLE_5_1)),
        ("claude-fable-5", one(FABLE_5)),
        ("claude-mythos-5", one(FABLE_5)),
        ("claude-opus-5-5", one(OPUS_5_5)),
        ("claude-opus-5", one(OPUS_4_5)),
        ("claude-opus-4-8", one(OPUS_4_5)),
        ("claude-opus-4-7", one(OPUS_4_5)),
        ("claude-opus-4-6", one(OPUS_4_5)),
        ("claude-opus-4-5", one(OPUS_4_5)),
        ("claude-opus-4-1", one(OPUS_4)),
        ("claude-opus-4", one(OPUS_4)),
        ("claude-3-opus", one(OPUS_4)),
        (
            "claude-sonnet-5-5",
            vec![
                plain(SONNET_5),
                Price {
                    from: Some(date!(2026 - 10 - 07)),
                    ..plain(rate(2.0, 2.5, 4.0, 0.10, 10.0))
                },
            ],
        ),
        ("claude-sonnet-5", one(SONNET_5)),
        // 4.6 and later bill the whole 1M window at the standard rate.
        ("claude-sonnet-4-6", one(SONNET_4)),
        (
            "claude-sonnet-4-5",
            vec![tiered(SONNET_4, 200_000, SONNET_4_LONG)],
        ),
        (
            "claude-sonnet-4",
            vec![tiered(SONNET_4, 200_000, SONNET_4_LONG)],
        ),
        ("claude-3-7-sonnet", one(SONNET_4)),
        ("claude-3-5-sonnet", one(SONNET_4)),
        (
            "claude-haiku-5-5",
            vec![tiered(HAIKU_5_5, 100_000, HAIKU_5_5_LONG)],
        ),
        ("claude-haiku-4-5", one(HAIKU_4_5)),
        ("claude-3-5-haiku", one(HAIKU_3_5)),
        ("claude-3-haiku", one(HAIKU_3)),
    ]
}

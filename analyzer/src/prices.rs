//! The price table `usage` estimates cost from: per model family, in US
//! dollars per million tokens, with cache multipliers and the long-context
//! tier. `--prices FILE` overrides or extends it. A model not in the table
//! is unpriced, never $0.

use crate::call::Usage;
use anyhow::Context;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// When the built-in table was copied, and from where.
pub const TABLE_DATE: &str = "2025-11-24";
pub const TABLE_SOURCE: &str = "https://docs.claude.com/en/docs/about-claude/pricing";

/// Cache multipliers of the base input price (same source).
pub const CACHE_WRITE_5M: f64 = 1.25;
pub const CACHE_WRITE_1H: f64 = 2.0;
pub const CACHE_READ: f64 = 0.1;

/// Above this many prompt tokens (input + cache write + cache read) a
/// model with a long-context tier bills the whole request at that tier.
pub const LONG_CONTEXT_THRESHOLD: u64 = 200_000;

/// (family, input $/MTok, output $/MTok, long-context (input, output)).
type Row = (&'static str, f64, f64, Option<(f64, f64)>);

const BUILT_IN: &[Row] = &[
    ("claude-opus-4-5", 5.0, 25.0, None),
    ("claude-opus-4-1", 15.0, 75.0, None),
    ("claude-opus-4", 15.0, 75.0, None),
    ("claude-sonnet-4-5", 3.0, 15.0, Some((6.0, 22.5))),
    ("claude-sonnet-4", 3.0, 15.0, Some((6.0, 22.5))),
    ("claude-3-7-sonnet", 3.0, 15.0, None),
    ("claude-3-5-sonnet", 3.0, 15.0, None),
    ("claude-haiku-4-5", 1.0, 5.0, None),
    ("claude-3-5-haiku", 0.8, 4.0, None),
    ("claude-3-opus", 15.0, 75.0, None),
    ("claude-3-haiku", 0.25, 1.25, None),
];

/// One model family's prices, $/MTok. Cache prices default to the
/// multipliers of `input`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_write_5m: Option<f64>,
    #[serde(default)]
    pub cache_write_1h: Option<f64>,
    #[serde(default)]
    pub cache_read: Option<f64>,
    #[serde(default)]
    pub long_context: Option<LongContext>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongContext {
    #[serde(default = "default_threshold")]
    pub threshold: u64,
    pub input: f64,
    pub output: f64,
}

fn default_threshold() -> u64 {
    LONG_CONTEXT_THRESHOLD
}

/// The `--prices` file: `{"models": {"<family>": Price, …}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    models: BTreeMap<String, Price>,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    date: Option<String>,
}

/// Model family → price; a model id matches the longest family it contains.
#[derive(Clone, Debug)]
pub struct Prices {
    families: BTreeMap<String, Price>,
}

impl Prices {
    pub fn built_in() -> Prices {
        let families = BUILT_IN
            .iter()
            .map(|(name, input, output, long)| {
                let long_context = long.map(|(input, output)| LongContext {
                    threshold: LONG_CONTEXT_THRESHOLD,
                    input,
                    output,
                });
                let price = Price {
                    input: *input,
                    output: *output,
                    cache_write_5m: None,
                    cache_write_1h: None,
                    cache_read: None,
                    long_context,
                };
                ((*name).to_owned(), price)
            })
            .collect();
        Prices { families }
    }

    /// The built-in table with a file's families laid over it.
    pub fn with_file(path: &Path) -> anyhow::Result<Prices> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!("cannot read price file {}: check the path", path.display())
        })?;
        let file: PriceFile = serde_json::from_str(&text).with_context(|| {
            format!(
                "price file {} is not {{\"models\": {{\"<model family>\": {{\"input\": $/MTok, \"output\": $/MTok}}}}}}",
                path.display()
            )
        })?;
        let mut prices = Prices::built_in();
        prices.families.extend(file.models);
        Ok(prices)
    }

    /// The price of the longest family the model id contains
    /// (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`).
    pub fn lookup(&self, model: &str) -> Option<(&str, &Price)> {
        let model = model.to_ascii_lowercase();
        self.families
            .iter()
            .filter(|(family, _)| model.contains(family.as_str()))
            .max_by_key(|(family, _)| family.len())
            .map(|(f, p)| (f.as_str(), p))
    }

    /// Estimated cost of one call in dollars; `None` when unpriced.
    pub fn cost(&self, model: &str, u: &Usage) -> Option<f64> {
        let (_, p) = self.lookup(model)?;
        let prompt = u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens;
        let long = p.long_context.as_ref().filter(|l| prompt > l.threshold);
        let (input, output) = long.map_or((p.input, p.output), |l| (l.input, l.output));
        // An explicit cache price applies to the standard tier only.
        let pick = |explicit: Option<f64>, mult: f64| match (long, explicit) {
            (None, Some(x)) => x,
            _ => input * mult,
        };
        let (w5, w1) = u.cache_writes();
        let dollars = u.input_tokens as f64 * input
            + u.output_tokens as f64 * output
            + w5 as f64 * pick(p.cache_write_5m, CACHE_WRITE_5M)
            + w1 as f64 * pick(p.cache_write_1h, CACHE_WRITE_1H)
            + u.cache_read_input_tokens as f64 * pick(p.cache_read, CACHE_READ);
        Some(dollars / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn families_match_the_longest_name() {
        let p = Prices::built_in();
        assert_eq!(
            p.lookup("claude-sonnet-4-5-20250929").unwrap().0,
            "claude-sonnet-4-5"
        );
        assert_eq!(
            p.lookup("claude-sonnet-4-20250514").unwrap().0,
            "claude-sonnet-4"
        );
        assert_eq!(
            p.lookup("claude-3-5-haiku-20241022").unwrap().0,
            "claude-3-5-haiku"
        );
        assert_eq!(
            p.lookup("us.anthropic.claude-opus-4-1-20250805-v1:0")
                .unwrap()
                .0,
            "claude-opus-4-1"
        );
        assert!(p.lookup("claude-opus-5-5").is_none());
        assert!(
            p.cost("glm-4.6", &usage(1, 1, 0, 0)).is_none(),
            "unknown is unpriced, never $0"
        );
    }

    #[test]
    fn cost_with_cache_multipliers_and_split() {
        let p = Prices::built_in();
        // sonnet 4.5: 1M input $3, 1M output $15, 1M 5m-write $3.75, 1M read $0.30
        let c = p
            .cost(
                "claude-sonnet-4-5",
                &usage(1_000_000, 1_000_000, 1_000_000, 1_000_000),
            )
            .unwrap();
        assert!(
            close(c, 6.0 + 22.5 + 7.5 + 0.6),
            "3M prompt tokens is the long tier: {c}"
        );
        let small = p
            .cost("claude-sonnet-4-5", &usage(100_000, 1000, 50_000, 40_000))
            .unwrap();
        assert!(
            close(
                small,
                (100_000.0 * 3.0 + 1000.0 * 15.0 + 50_000.0 * 3.75 + 40_000.0 * 0.3) / 1e6
            ),
            "{small}"
        );
        let mut split = usage(0, 0, 3000, 0);
        split.ephemeral_5m_input_tokens = Some(1000);
        split.ephemeral_1h_input_tokens = Some(2000);
        let c = p.cost("claude-haiku-4-5", &split).unwrap();
        assert!(close(c, (1000.0 * 1.25 + 2000.0 * 2.0) / 1e6), "{c}");
    }

    #[test]
    fn long_context_tier_for_sonnet_above_200k_prompt_tokens() {
        let p = Prices::built_in();
        let c = p
            .cost(
                "claude-sonnet-4-5-20250929",
                &usage(150_000, 1000, 0, 60_000),
            )
            .unwrap();
        assert!(
            close(c, (150_000.0 * 6.0 + 1000.0 * 22.5 + 60_000.0 * 0.6) / 1e6),
            "{c}"
        );
        let opus = p.cost("claude-opus-4-5", &usage(300_000, 0, 0, 0)).unwrap();
        assert!(close(opus, 1.5), "no tier for opus: {opus}");
    }

    #[test]
    fn a_price_file_adds_families() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.json");
        std::fs::write(
            &f,
            r#"{"models": {"claude-opus-5-5": {"input": 10, "output": 50, "cache_read": 2}}}"#,
        )
        .unwrap();
        let p = Prices::with_file(&f).unwrap();
        let c = p
            .cost("claude-opus-5-5", &usage(1_000_000, 0, 0, 1_000_000))
            .unwrap();
        assert!(close(c, 12.0), "{c}");
        std::fs::write(&f, r#"{"claude-x": 1}"#).unwrap();
        let err = format!("{:#}", Prices::with_file(&f).unwrap_err());
        assert!(err.contains("is not {\"models\""), "{err}");
    }
}

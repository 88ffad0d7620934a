//! What a call cost: the price table (built in, [`table`]; or laid over or
//! replaced by a `--prices FILE`, [`file`]) and the rule that prices one
//! call by the rate in force on the day it started.
//!
//! The stable entry points, for every command that shows money (`usage`,
//! `ls`, `show`, reports, exports): [`Prices::load`], [`Prices::call_cost`]
//! (one call, by its `startedDateTime`), [`Prices::cost_at`] (a model and
//! usage at a date) and [`Prices::footer`] (the line printed under every
//! cost table). A model not in the table is unpriced, never $0.

mod file;
mod table;

use crate::call::{Call, Usage};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use time::Date;

pub use file::PriceFileError;
pub use table::{CROSS_CHECK, TABLE_DATE, TABLE_SOURCE};

/// Rates in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub input: f64,
    pub cache_write_5m: f64,
    pub cache_write_1h: f64,
    pub cache_read: f64,
    pub output: f64,
}

impl Rate {
    /// Input and output given, cache rates by the pricing page's rule
    /// (1.25×, 2×, 0.1× of input) unless given too.
    pub fn from_parts(
        input: f64,
        output: f64,
        w5: Option<f64>,
        w1: Option<f64>,
        read: Option<f64>,
    ) -> Rate {
        Rate {
            input,
            output,
            cache_write_5m: w5.unwrap_or(input * 1.25),
            cache_write_1h: w1.unwrap_or(input * 2.0),
            cache_read: read.unwrap_or(input * 0.1),
        }
    }

    fn dollars(&self, u: &Usage) -> f64 {
        let (w5, w1) = u.cache_writes();
        (u.input_tokens as f64 * self.input
            + u.output_tokens as f64 * self.output
            + w5 as f64 * self.cache_write_5m
            + w1 as f64 * self.cache_write_1h
            + u.cache_read_input_tokens as f64 * self.cache_read)
            / 1_000_000.0
    }
}

/// A prompt-length tier: a request whose prompt (input + cache writes +
/// cache reads) is over `above` tokens pays `rate` on every token,
/// output included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tier {
    pub above: u64,
    pub rate: Rate,
}

/// One model family's prices from a day on (`from: None`: since always).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    pub from: Option<Date>,
    pub base: Rate,
    pub tier: Option<Tier>,
}

/// What one call cost and by which row.
#[derive(Clone, Debug, PartialEq)]
pub struct Quote {
    pub family: String,
    pub dollars: f64,
    /// The prompt-length tier applied.
    pub long_prompt: bool,
    /// The day the row applied came into force.
    pub from: Option<Date>,
}

/// The `--prices` file a table came from, as it describes itself.
#[derive(Clone, Debug, PartialEq)]
pub struct FileSource {
    pub path: PathBuf,
    pub date: Option<String>,
    pub source: Option<String>,
    /// The file replaced the built-in table instead of extending it.
    pub replaced: bool,
}

/// Model family → its prices, oldest first; and where they came from.
#[derive(Clone, Debug)]
pub struct Prices {
    families: BTreeMap<String, Vec<Price>>,
    file: Option<FileSource>,
}

impl Prices {
    pub fn built_in() -> Prices {
        let families = table::built_in()
            .into_iter()
            .map(|(name, rows)| (name.to_owned(), rows))
            .collect();
        Prices {
            families,
            file: None,
        }
    }

    /// The built-in table, or the one `--prices FILE` makes of it.
    pub fn load(path: Option<&Path>) -> Result<Prices, PriceFileError> {
        match path {
            Some(p) => Prices::with_file(p),
            None => Ok(Prices::built_in()),
        }
    }

    /// The built-in table with a file's families laid over it (or replaced
    /// by them when the file says `"replace": true`).
    pub fn with_file(path: &Path) -> Result<Prices, PriceFileError> {
        let loaded = file::read(path)?;
        let mut prices = if loaded.replace {
            Prices {
                families: BTreeMap::new(),
                file: None,
            }
        } else {
            Prices::built_in()
        };
        prices.families.extend(loaded.families);
        prices.file = Some(FileSource {
            path: path.to_owned(),
            date: loaded.date,
            source: loaded.source,
            replaced: loaded.replace,
        });
        Ok(prices)
    }

    /// The longest family the model id contains, ending where a word of
    /// the id ends (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`;
    /// `claude-fable-5-20260609` is Fable 5, not `claude-fable-5-2`).
    pub fn lookup(&self, model: &str) -> Option<(&str, &[Price])> {
        let model = model.to_ascii_lowercase();
        self.families
            .iter()
            .filter(|(family, _)| contains_word(&model, family))
            .max_by_key(|(family, _)| family.len())
            .map(|(f, p)| (f.as_str(), p.as_slice()))
    }

    /// What a call of `model` with `usage` cost on day `at` (`None`: the
    /// newest rate); `None` when the model has no price.
    pub fn quote(&self, model: &str, usage: &Usage, at: Option<Date>) -> Option<Quote> {
        let (family, rows) = self.lookup(model)?;
        let row = in_force(rows, at)?;
        let prompt =
            usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens;
        let tier = row.tier.filter(|t| prompt > t.above);
        let rate = tier.map_or(row.base, |t| t.rate);
        Some(Quote {
            family: family.to_owned(),
            dollars: rate.dollars(usage),
            long_prompt: tier.is_some(),
            from: row.from,
        })
    }

    /// Dollars for `model` and `usage` on day `at`; `None` when unpriced.
    pub fn cost_at(&self, model: &str, usage: &Usage, at: Option<Date>) -> Option<f64> {
        self.quote(model, usage, at).map(|q| q.dollars)
    }

    /// What one recorded call cost, priced on the day it started; `None`
    /// when it has no usage or its model has no price.
    pub fn call_cost(&self, call: &Call) -> Option<f64> {
        let usage = call.reply.usage.as_ref()?;
        self.cost_at(call.model(), usage, date_of(&call.started))
    }

    /// The line under every cost table: which table, how old, from where.
    pub fn footer(&self) -> String {
        let built_in = format!("built-in table read {TABLE_DATE} from {TABLE_SOURCE}");
        match &self.file {
            None => format!("prices: {built_in}"),
            Some(f) => {
                let date = f.date.as_deref().unwrap_or("undated");
                let source = f.source.as_deref().unwrap_or("no source given");
                let how = if f.replaced {
                    "replacing the built-in table".to_owned()
                } else {
                    format!("over the {built_in}")
                };
                format!("prices: {} ({date}, {source}), {how}", f.path.display())
            }
        }
    }

    /// The same, for `--json`.
    pub fn to_json(&self) -> serde_json::Value {
        let file = self.file.as_ref().map(|f| {
            serde_json::json!({
                "path": f.path.display().to_string(),
                "date": f.date,
                "source": f.source,
                "replaced": f.replaced,
            })
        });
        serde_json::json!({
            "date": TABLE_DATE,
            "source": TABLE_SOURCE,
            "cross_check": CROSS_CHECK,
            "file": file,
        })
    }
}

/// What to tell a user whose model has no price.
pub fn unpriced_hint(model: &str) -> String {
    format!(
        "model {model:?} has no price in the table: its cost is shown as unpriced; \
         to price it, write {{\"models\": {{\"{model}\": {{\"input\": <$/MTok>, \"output\": <$/MTok>}}}}}} \
         to a file and pass --prices FILE"
    )
}

/// The UTC day of a `startedDateTime`.
pub fn date_of(started: &str) -> Option<Date> {
    cctap_archive::model::parse_started(started).map(|t| t.to_offset(time::UtcOffset::UTC).date())
}

/// The row in force on `at`: the newest that started on or before it; a
/// call dated before every row (or undated) takes the oldest (or newest).
fn in_force(rows: &[Price], at: Option<Date>) -> Option<&Price> {
    match at {
        None => rows.last(),
        Some(day) => rows
            .iter()
            .rev()
            .find(|r| r.from.is_none_or(|f| f <= day))
            .or(rows.first()),
    }
}

/// `family` occurs in `model` and the next character does not continue a
/// word of it (a letter or digit).
fn contains_word(model: &str, family: &str) -> bool {
    model.match_indices(family).any(|(i, _)| {
        model[i + family.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests;

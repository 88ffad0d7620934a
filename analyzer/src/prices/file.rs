//! `--prices FILE`: a JSON price table that extends or replaces the
//! built-in one, and says where it came from.
//!
//! ```json
//! {"source": "https://…", "date": "2026-12-01", "replace": false,
//!  "models": {"my-model": {"input": 1, "output": 5},
//!             "claude-x": [{"input": 3, "output": 15},
//!                          {"from": "2026-10-07", "input": 2, "output": 10,
//!                           "cache_read": 0.1,
//!                           "long_context": {"threshold": 200000, "input": 4, "output": 20}}]}}
//! ```
//! Cache rates left out follow the pricing page's rule (1.25×, 2×, 0.1×
//! of input).

use super::{Price, Rate, Tier};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SHAPE: &str =
    "{\"models\": {\"<model family>\": {\"input\": <$/MTok>, \"output\": <$/MTok>}}}";

#[derive(Debug, thiserror::Error)]
pub enum PriceFileError {
    #[error("cannot read price file {path}: {source} (check the path)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("price file {path} is not {SHAPE} (see analyzer/README.md, \"Prices\"): {source}")]
    Shape {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("price file {path}: {family}: \"from\" is {value:?}, not a day like \"2026-10-07\"")]
    Date {
        path: PathBuf,
        family: String,
        value: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    models: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    replace: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Row),
    Many(Vec<Row>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    #[serde(default)]
    from: Option<String>,
    input: f64,
    output: f64,
    #[serde(default)]
    cache_write_5m: Option<f64>,
    #[serde(default)]
    cache_write_1h: Option<f64>,
    #[serde(default)]
    cache_read: Option<f64>,
    #[serde(default)]
    long_context: Option<LongRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LongRow {
    #[serde(default = "default_threshold")]
    threshold: u64,
    input: f64,
    output: f64,
    #[serde(default)]
    cache_write_5m: Option<f64>,
    #[serde(default)]
    cache_write_1h: Option<f64>,
    #[serde(default)]
    cache_read: Option<f64>,
}

fn default_threshold() -> u64 {
    200_000
}

/// A read price file.
pub struct Loaded {
    pub families: BTreeMap<String, Vec<Price>>,
    pub source: Option<String>,
    pub date: Option<String>,
    pub replace: bool,
}

pub fn read(path: &Path) -> Result<Loaded, PriceFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| PriceFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file: PriceFile = serde_json::from_str(&text).map_err(|source| PriceFileError::Shape {
        path: path.to_owned(),
        source,
    })?;
    let mut families = BTreeMap::new();
    for (family, rows) in file.models {
        let rows = match rows {
            OneOrMany::One(r) => vec![r],
            OneOrMany::Many(rs) => rs,
        };
        let mut prices = rows
            .into_iter()
            .map(|r| price(path, &family, r))
            .collect::<Result<Vec<_>, _>>()?;
        prices.sort_by_key(|p| p.from);
        families.insert(family.to_ascii_lowercase(), prices);
    }
    Ok(Loaded {
        families,
        source: file.source,
        date: file.date,
        replace: file.replace,
    })
}

fn price(path: &Path, family: &str, r: Row) -> Result<Price, PriceFileError> {
    let from = match r.from {
        None => None,
        Some(s) => Some(parse_day(&s).ok_or_else(|| PriceFileError::Date {
            path: path.to_owned(),
            family: family.to_owned(),
            value: s,
        })?),
    };
    let tier = r.long_context.map(|l| Tier {
        above: l.threshold,
        rate: Rate::from_parts(
            l.input,
            l.output,
            l.cache_write_5m,
            l.cache_write_1h,
            l.cache_read,
        ),
    });
    Ok(Price {
        from,
        base: Rate::from_parts(
            r.input,
            r.output,
            r.cache_write_5m,
            r.cache_write_1h,
            r.cache_read,
        ),
        tier,
    })
}

fn parse_day(s: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &format).ok()
}

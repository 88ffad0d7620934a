//! `analyze usage`: token totals and estimated cost, grouped by model,
//! request, file, session, client version or day.
//!
//! Counting follows the wire (see [`crate::call::reply`]); failed calls and
//! `count_tokens` are counted apart, cut-off streams are flagged.
//! OpenAI-style calls are counted with their usage mapped onto the same
//! token kinds (see [`crate::call::openai`]); one answered without usage
//! (a chat stream without `stream_options.include_usage`) is counted apart
//! as "usage not reported", never as zero. The JSON shape (`total`,
//! `groups`, `failed`, `usage_not_reported`, `warnings`) is a stable
//! interface.

mod not_reported;

use crate::call::{Call, Endpoint, Usage};
use crate::cli::{GroupBy, UsageArgs};
use crate::input::{self, Source};
use crate::layout::{Column, Kind};
use crate::prices::{self, Prices};
use crate::report::{self, Outcome, Style};
pub use not_reported::NotReported;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

/// Sums for one group (or the total).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub requests: u64,
    pub usage: Usage,
    /// Cost of the priced requests; `None` while none was priced.
    pub cost_usd: Option<f64>,
    pub unpriced_requests: u64,
    /// Offline calls: estimated tokens, never billed.
    pub estimated_requests: u64,
    pub cut_off_streams: u64,
}

impl Totals {
    fn add(&mut self, u: &Usage, cost: Option<f64>, cut_off: bool) {
        self.requests += 1;
        let t = &mut self.usage;
        t.input_tokens += u.input_tokens;
        t.output_tokens += u.output_tokens;
        t.cache_creation_input_tokens += u.cache_creation_input_tokens;
        t.cache_read_input_tokens += u.cache_read_input_tokens;
        let (w5, w1) = u.cache_writes();
        *t.ephemeral_5m_input_tokens.get_or_insert(0) += w5;
        *t.ephemeral_1h_input_tokens.get_or_insert(0) += w1;
        if let Some(r) = u.reasoning_tokens {
            *t.reasoning_tokens.get_or_insert(0) += r;
        }
        match cost {
            Some(c) => *self.cost_usd.get_or_insert(0.0) += c,
            None => self.unpriced_requests += 1,
        }
        self.cut_off_streams += u64::from(cut_off);
    }

    /// Tokens of an offline call: counted, never priced.
    fn add_estimate(&mut self, u: &Usage) {
        self.add(u, None, false);
        self.unpriced_requests -= 1;
        self.estimated_requests += 1;
    }

    fn to_json(&self) -> Value {
        let u = &self.usage;
        json!({
            "requests": self.requests,
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "cache_creation_input_tokens": u.cache_creation_input_tokens,
            "cache_read_input_tokens": u.cache_read_input_tokens,
            "ephemeral_5m_input_tokens": u.ephemeral_5m_input_tokens.unwrap_or(0),
            "ephemeral_1h_input_tokens": u.ephemeral_1h_input_tokens.unwrap_or(0),
            "reasoning_tokens": u.reasoning_tokens.unwrap_or(0),
            "cost_usd": self.cost_usd,
            "unpriced_requests": self.unpriced_requests,
            "estimated_requests": self.estimated_requests,
            "cut_off_streams": self.cut_off_streams,
        })
    }

    fn cost_text(&self) -> String {
        if self.requests > 0 && self.estimated_requests == self.requests {
            return "not billed".into();
        }
        match (self.cost_usd, self.unpriced_requests) {
            // Nothing to price (no model call, or estimates only): $0.00.
            (None, 0) => "$0.00".into(),
            (None, _) => "unpriced".into(),
            (c, 0) => report::dollars(c),
            (c, n) => format!("{} (+{n} unpriced)", report::dollars(c)),
        }
    }
}

/// Everything `usage` learns from the archives.
#[derive(Debug, Default)]
pub struct Tally {
    pub total: Totals,
    /// Groups in first-seen order; sorted by key before printing except
    /// for `--by request`.
    pub groups: Vec<(String, Totals)>,
    index: HashMap<String, usize>,
    pub failed: u64,
    pub failed_by_status: BTreeMap<String, u64>,
    pub count_tokens: u64,
    pub other_entries: u64,
    /// Answered OpenAI-style calls whose reply carried no usage, by reason
    /// and by model: their tokens are unknown, so they stay out of the
    /// totals and are said apart.
    pub not_reported: NotReported,
    pub unpriced_models: BTreeSet<String>,
    /// Calls answered by `record -m offline` (estimated tokens), kept out
    /// of `total` unless `--include-offline`.
    pub offline: Totals,
    pub warnings: Vec<String>,
}

impl Tally {
    /// Counts one call under the given group key; offline calls (estimated
    /// tokens) go to a group of their own, kept out of `total` and priced
    /// only when `with_offline`.
    pub fn add(&mut self, call: &Call, key: String, prices: &Prices, with_offline: bool) {
        match call.endpoint {
            Endpoint::Other => {
                self.other_entries += 1;
                return;
            }
            Endpoint::CountTokens => {
                self.count_tokens += 1;
                return;
            }
            Endpoint::Messages | Endpoint::ChatCompletions | Endpoint::Responses => {}
        }
        if let Some(why) = call.usage_not_reported() {
            self.not_reported.add(call, why);
            return;
        }
        let usage = match &call.reply.usage {
            Some(u) if !call.failed() => u,
            _ => {
                self.failed += 1;
                *self
                    .failed_by_status
                    .entry(failure_label(call))
                    .or_default() += 1;
                return;
            }
        };
        let offline = call.offline() && !with_offline;
        let cost = if offline {
            None
        } else {
            prices.call_cost(call)
        };
        if cost.is_none() && !offline && self.unpriced_models.insert(call.model().to_owned()) {
            self.warnings.push(prices::unpriced_hint(call.model()));
        }
        let key = if call.offline() {
            format!("{key} (estimated, offline)")
        } else {
            key
        };
        if offline {
            self.offline.add_estimate(usage);
        }
        let slot = *self.index.entry(key.clone()).or_insert_with(|| {
            self.groups.push((key, Totals::default()));
            self.groups.len() - 1
        });
        let group = &mut self.groups[slot].1;
        if offline {
            group.add_estimate(usage);
        } else {
            group.add(usage, cost, call.reply.cut_off);
            self.total.add(usage, cost, call.reply.cut_off);
        }
    }
}

fn failure_label(call: &Call) -> String {
    match (call.status, &call.reply.api_error, &call.error) {
        (0, _, Some(e)) => format!("no response ({e})"),
        (s, Some(e), _) => format!("{s} {}", e.split(':').next().unwrap_or("")),
        (s, None, _) => format!("{s} without usage"),
    }
}

/// The group a call falls in.
pub fn key_of(by: GroupBy, source: &Source, call: &Call) -> String {
    match by {
        GroupBy::Model => non_empty(call.model()),
        GroupBy::Request => format!("{}#{}", source.name(), call.index),
        GroupBy::File => source.name(),
        GroupBy::Session => non_empty(call.session().unwrap_or("")),
        GroupBy::ClientVersion => call
            .client
            .as_ref()
            .map_or_else(|| "(unknown)".to_owned(), |(n, v)| format!("{n}/{v}")),
        GroupBy::Day => call.day(),
        GroupBy::Api => call.endpoint.api_name().to_owned(),
    }
}

fn non_empty(s: &str) -> String {
    if s.is_empty() {
        "(none)".into()
    } else {
        s.to_owned()
    }
}

pub fn run(
    args: &UsageArgs,
    json_out: bool,
    style: Style,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let prices = Prices::load(args.prices.as_deref())?;
    let sources = input::expand(&args.files.files)?;
    let mut tally = Tally::default();
    let mut files = Vec::new();
    for source in &sources {
        let summary = input::read_entries(source, |i, mut entry| {
            let call = Call::taking_body(i, &mut entry);
            call.warn_body(&source.name());
            tally.add(
                &call,
                key_of(args.by, source, &call),
                &prices,
                args.include_offline,
            );
            Ok(())
        })?;
        if summary.cut_off {
            tally.warnings.push(format!(
                "{} was cut off; {} entries recovered",
                source.name(),
                summary.entries
            ));
        }
        files.push(
            json!({"file": source.name(), "entries": summary.entries, "cut_off": summary.cut_off}),
        );
    }
    if args.by != GroupBy::Request {
        tally.groups.sort_by(|a, b| a.0.cmp(&b.0));
    }
    if tally.not_reported.requests > 0 {
        tally.warnings.push(format!(
            "usage not reported by {} answered call(s) ({}): their tokens are unknown and \
             not in the totals; a chat/completions stream reports usage only when the request \
             sets stream_options.include_usage",
            tally.not_reported.requests,
            tally.not_reported.reasons()
        ));
    }
    for w in tally.warnings.iter().filter(|w| !w.contains("was cut off")) {
        report::warn(w);
    }
    if json_out {
        report::write_json(out, &to_json(&tally, args.by, files, &prices))?;
    } else if args.csv {
        write_csv(out, &tally)?;
    } else {
        write_table(out, &tally, style, &prices)?;
    }
    Ok(Outcome::Clean)
}

/// The stable JSON shape.
pub fn to_json(t: &Tally, by: GroupBy, files: Vec<Value>, prices: &Prices) -> Value {
    let groups: Vec<Value> = t
        .groups
        .iter()
        .map(|(key, g)| {
            // The key first, then the same fields as `total`.
            let mut m = serde_json::Map::new();
            m.insert("key".into(), json!(key));
            if let Value::Object(fields) = g.to_json() {
                m.extend(fields);
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "by": format!("{by:?}").to_lowercase(),
        "total": t.total.to_json(),
        "groups": groups,
        "failed": {"requests": t.failed, "by_status": t.failed_by_status},
        "count_tokens": {"requests": t.count_tokens},
        "other_entries": t.other_entries,
        "usage_not_reported": t.not_reported.to_json(),
        "files": files,
        "offline_estimated": t.offline.to_json(),
        "prices": prices.to_json(),
        "warnings": t.warnings,
    })
}

fn write_csv(out: &mut dyn Write, t: &Tally) -> std::io::Result<()> {
    writeln!(out, "key,requests,input_tokens,output_tokens,cache_creation_input_tokens,cache_read_input_tokens,cost_usd")?;
    let rows = t
        .groups
        .iter()
        .map(|(k, g)| (k.as_str(), g))
        .chain([("TOTAL", &t.total)]);
    for (key, g) in rows {
        let u = &g.usage;
        let cost = g.cost_usd.map(|c| format!("{c:.6}")).unwrap_or_default();
        let key = if key.contains([',', '"']) {
            format!("\"{}\"", key.replace('"', "\"\""))
        } else {
            key.to_owned()
        };
        writeln!(
            out,
            "{key},{},{},{},{},{},{cost}",
            g.requests,
            u.input_tokens,
            u.output_tokens,
            u.cache_creation_input_tokens,
            u.cache_read_input_tokens
        )?;
    }
    Ok(())
}

/// `usage`'s columns: the group key shrinks (model, session, file names
/// keep their start); numbers never do.
const USAGE_COLUMNS: [Column; 7] = [
    Column::text("group", Kind::Model, 18, 0),
    Column::fixed("requests", 1),
    Column::fixed("input", 0),
    Column::fixed("output", 0),
    Column::fixed("cache write", 0),
    Column::fixed("cache read", 0),
    Column::fixed("cost", 0),
];

fn write_table(
    out: &mut dyn Write,
    t: &Tally,
    style: Style,
    prices: &Prices,
) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = t
        .groups
        .iter()
        .map(|(k, g)| (k.as_str(), g))
        .chain([("total", &t.total)])
        .map(|(key, g)| {
            let u = &g.usage;
            let mut cells = vec![key.to_owned(), report::thousands(g.requests)];
            cells.extend(
                [
                    u.input_tokens,
                    u.output_tokens,
                    u.cache_creation_input_tokens,
                    u.cache_read_input_tokens,
                ]
                .map(report::thousands),
            );
            cells.push(g.cost_text());
            cells
        })
        .collect();
    let last = rows.len() - 1;
    let table = style.fitted_table(&USAGE_COLUMNS, &rows, &|name, text| {
        if name == "group" && text == "total" && rows[last][0] == "total" {
            style.bold_cell(&text)
        } else {
            comfy_table::Cell::new(text)
        }
    });
    report::write_table(out, &table)?;
    if t.failed > 0 {
        let detail: Vec<String> = t
            .failed_by_status
            .iter()
            .map(|(s, n)| format!("{s} ×{n}"))
            .collect();
        writeln!(
            out,
            "{}",
            style.red(&format!(
                "failed (not counted): {} ({})",
                t.failed,
                detail.join(", ")
            ))
        )?;
    }
    if t.not_reported.requests > 0 {
        writeln!(
            out,
            "usage not reported (answered, tokens unknown, not counted): {} ({})",
            t.not_reported.requests,
            t.not_reported.reasons()
        )?;
    }
    if t.total.cut_off_streams > 0 {
        writeln!(
            out,
            "cut-off streams (counted as far as they went): {}",
            t.total.cut_off_streams
        )?;
    }
    if t.count_tokens > 0 {
        writeln!(out, "count_tokens calls (not billed): {}", t.count_tokens)?;
    }
    if t.offline.requests > 0 {
        writeln!(
            out,
            "estimated, offline (not in the totals; --include-offline counts them): {} calls, {} input tokens",
            t.offline.requests,
            report::thousands(t.offline.usage.input_tokens)
        )?;
    }
    report::write_note(out, style, &prices.footer())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::testkit::*;
    use serde_json::json;

    fn call(i: usize, e: &cctap_archive::Entry) -> Call {
        Call::from_entry(i, e)
    }

    #[test]
    fn totals_by_model_with_failures_apart() {
        let prices = Prices::built_in();
        let src = Source {
            path: "s.har".into(),
        };
        let mut t = Tally::default();
        let calls = [
            streamed(
                UA_2_0,
                &main_body("claude-sonnet-4-5-20250929", &["Bash"], "p"),
                (10, 100, 2000, 0),
                "a",
            ),
            streamed(
                UA_2_0,
                &main_body("claude-sonnet-4-5-20250929", &["Bash"], "p"),
                (20, 200, 0, 2000),
                "b",
            ),
            streamed(
                UA_2_0,
                &warmup_body("claude-haiku-4-5-20251001"),
                (5, 1, 0, 0),
                "c",
            ),
            streamed(UA_2_1, &warmup_body("claude-nova-1"), (7, 3, 0, 0), "d"),
            answered_json(
                request(
                    "https://api.anthropic.com/v1/messages",
                    &[],
                    &warmup_body("x"),
                ),
                529,
                &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ),
        ];
        for (i, e) in calls.iter().enumerate() {
            let c = call(i, e);
            t.add(&c, key_of(GroupBy::Model, &src, &c), &prices, false);
        }
        t.groups.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(t.total.requests, 4);
        assert_eq!(t.total.usage.input_tokens, 42);
        assert_eq!(t.total.usage.output_tokens, 304);
        assert_eq!(t.total.usage.cache_creation_input_tokens, 2000);
        assert_eq!(t.total.usage.cache_read_input_tokens, 2000);
        assert_eq!(t.failed, 1);
        assert_eq!(t.failed_by_status["529 overloaded_error"], 1);
        let keys: Vec<&str> = t.groups.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "claude-haiku-4-5-20251001",
                "claude-nova-1",
                "claude-sonnet-4-5-20250929"
            ]
        );
        assert_eq!(t.groups[1].1.cost_usd, None, "unknown model is unpriced");
        assert_eq!(t.total.unpriced_requests, 1);
        assert_eq!(t.warnings.len(), 1);
        assert!(
            t.warnings[0].contains("\"claude-nova-1\" has no price"),
            "{:?}",
            t.warnings
        );
        assert!(t.warnings[0].contains("--prices FILE"), "{:?}", t.warnings);
        let sonnet = t.groups[2].1.cost_usd.unwrap();
        let want = (30.0 * 3.0 + 300.0 * 15.0 + 2000.0 * 3.75 + 2000.0 * 0.3) / 1e6;
        assert!((sonnet - want).abs() < 1e-12, "{sonnet} vs {want}");

        let v = to_json(&t, GroupBy::Model, vec![], &prices);
        assert_eq!(v["total"]["requests"], 4);
        assert_eq!(v["groups"][2]["key"], "claude-sonnet-4-5-20250929");
        assert_eq!(v["groups"][1]["cost_usd"], Value::Null);
        assert_eq!(v["failed"]["requests"], 1);
        let mut csv = Vec::new();
        write_csv(&mut csv, &t).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(
            csv.lines()
                .last()
                .unwrap()
                .starts_with("TOTAL,4,42,304,2000,2000,"),
            "{csv}"
        );
    }

    #[test]
    fn offline_estimates_stay_out_of_the_money_and_nothing_costs_zero() {
        let prices = Prices::built_in();
        let src = Source {
            path: "s.har".into(),
        };
        let empty = Tally::default();
        assert_eq!(empty.total.cost_text(), "$0.00", "no model calls");
        let real = call(
            0,
            &streamed(
                UA_2_1,
                &warmup_body("claude-opus-5-5"),
                (1000, 100, 0, 0),
                "a",
            ),
        );
        let mut offline_entry = streamed(
            UA_2_1,
            &warmup_body("claude-opus-5-5"),
            (5000, 10, 0, 0),
            "b",
        );
        for ev in offline_entry.sse_events.iter_mut().flatten() {
            ev.data = ev
                .data
                .replace("\"id\":\"msg_", "\"id\":\"msg_cctap_offline_");
        }
        let offline = call(1, &offline_entry);
        assert!(offline.offline() && !real.offline());
        for with in [false, true] {
            let mut t = Tally::default();
            for c in [&real, &offline] {
                t.add(c, key_of(GroupBy::Model, &src, c), &prices, with);
            }
            let want_real = (1000.0 * 4.0 + 100.0 * 20.0) / 1e6;
            let want_offline = (5000.0 * 4.0 + 10.0 * 20.0) / 1e6;
            let keys: Vec<&str> = t.groups.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                keys,
                ["claude-opus-5-5", "claude-opus-5-5 (estimated, offline)"]
            );
            if with {
                assert_eq!(t.total.requests, 2);
                let c = t.total.cost_usd.unwrap();
                assert!((c - want_real - want_offline).abs() < 1e-12, "{c}");
            } else {
                assert_eq!(t.total.requests, 1);
                assert_eq!(t.total.usage.input_tokens, 1000);
                assert!((t.total.cost_usd.unwrap() - want_real).abs() < 1e-12);
                assert_eq!(t.groups[1].1.cost_text(), "not billed");
                assert_eq!(t.offline.usage.input_tokens, 5000);
                assert!(t.warnings.is_empty(), "{:?}", t.warnings);
            }
        }
    }

    #[test]
    fn group_keys() {
        let src = Source {
            path: "dir/a.har".into(),
        };
        let c = call(
            4,
            &streamed(UA_2_1, &main_body("m", &["Bash"], "p"), (1, 1, 0, 0), "x"),
        );
        assert_eq!(key_of(GroupBy::Request, &src, &c), "dir/a.har#4");
        assert_eq!(
            key_of(GroupBy::ClientVersion, &src, &c),
            "claude-cli/2.1.332"
        );
        assert_eq!(
            key_of(GroupBy::Session, &src, &c),
            "11111111-2222-4333-8444-555555555555"
        );
        assert_eq!(key_of(GroupBy::Day, &src, &c), "2026-11-25");
        assert_eq!(key_of(GroupBy::File, &src, &c), "dir/a.har");
    }
}

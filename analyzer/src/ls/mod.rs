//! `analyze ls`: one line per entry — start time, method, status, URL,
//! role, model, tokens, cost, duration, time to first token, `_error` —
//! as a table, JSON or CSV, narrowed by [`filter`]s.

mod filter;

use crate::call::{Call, ReplySource};
use crate::classify::{self, Retries};
use crate::cli::LsArgs;
use crate::input;
use crate::layout::{Column, Kind};
use crate::prices::Prices;
use crate::report::{self, Outcome, Style};
use cctap_archive::Entry;
use comfy_table::Cell;
use filter::Filter;
use serde_json::{json, Value};
use std::io::Write;

/// One listed entry.
fn row(file: &str, call: &Call, entry: &Entry, retry_of: Option<usize>, prices: &Prices) -> Value {
    let u = call.reply.usage.as_ref();
    // Offline replies carry estimated tokens: never money.
    let cost = if call.offline() {
        None
    } else {
        prices.call_cost(call)
    };
    // Time to first token is a stream's; a JSON reply has none.
    let ttft = Some(call.reply.source)
        .filter(|s| *s == ReplySource::SseEvents)
        .and(call.reply.first_token_ms);
    json!({
        "file": file,
        "entry": call.index,
        "started": call.started,
        "method": call.method,
        "status": call.status,
        "url": call.url,
        "host": call.host,
        "path": call.path,
        "role": classify::role(call).name(),
        "model": call.model(),
        "client": call.client.as_ref().map(|(n, v)| format!("{n}/{v}")),
        "input_tokens": u.map(|u| u.input_tokens),
        "output_tokens": u.map(|u| u.output_tokens),
        "cache_creation_input_tokens": u.map(|u| u.cache_creation_input_tokens),
        "cache_read_input_tokens": u.map(|u| u.cache_read_input_tokens),
        "reasoning_tokens": u.and_then(|u| u.reasoning_tokens),
        "usage_not_reported": call.usage_not_reported(),
        "duration_ms": call.duration_ms,
        "cost_usd": cost,
        "estimated_offline": call.offline(),
        "first_token_ms": ttft,
        "stop_reason": call.reply.stop_reason,
        "cut_off": call.reply.cut_off,
        "retry_of": retry_of,
        "api_error": call.reply.api_error,
        "error": call.error,
        "body_error": call.body_error,
        "websocket_messages": entry.websocket_messages.as_ref().map(Vec::len),
    })
}

/// `2026-11-25T12:00:01.234+00:00` → `12:00:01.234`.
fn clock(started: &str) -> String {
    started.get(11..23).unwrap_or(started).to_owned()
}

/// Rows per printed table: memory stays bounded on huge archives, at the
/// cost of column widths that may change from one page to the next.
const PAGE: usize = 5000;

/// The table's columns; the least needed leave first on a narrow terminal.
const COLUMNS: [Column; 15] = [
    Column::text("file", Kind::TextMiddle, 10, 3),
    Column::fixed("#", 0),
    Column::fixed("start", 6),
    Column::fixed("method", 9),
    Column::fixed("status", 0),
    Column::text("url", Kind::TextMiddle, 16, 5),
    Column::text("role", Kind::TextEnd, 4, 4),
    Column::text("model", Kind::Model, 18, 0),
    Column::fixed("in", 0),
    Column::fixed("out", 0),
    Column::fixed("cache w/r", 7),
    Column::fixed("cost", 0),
    Column::fixed("time", 8),
    Column::fixed("ttft", 2),
    Column::text("note", Kind::TextEnd, 8, 1),
];

/// How rows are written.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Table,
    Json,
    Csv,
}

pub fn run(
    args: &LsArgs,
    json_out: bool,
    style: Style,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let filter = Filter::from_args(args)?;
    let prices = Prices::load(args.prices.as_deref())?;
    let format = match (json_out, args.csv) {
        (true, _) => Format::Json,
        (_, true) => Format::Csv,
        _ => Format::Table,
    };
    let json_out = format == Format::Json;
    let sources = input::expand(&args.files.files)?;
    let many = sources.len() > 1;
    // JSON rows are written as they come; table rows a page at a time,
    // since column widths need the whole page.
    let mut page = Vec::new();
    let mut written = 0usize;
    if format == Format::Csv {
        writeln!(out, "{}", CSV_HEADER)?;
    }
    let how = How {
        format,
        style,
        filter: &filter,
        prices: &prices,
    };
    let listed = list(&sources, &how, out, &mut page, &mut written);
    if json_out && (written > 0 || listed.is_ok()) {
        // Stdout holds valid JSON or nothing: rows listed before an error
        // are closed into an array; the error goes to stderr.
        let open = if written == 0 { "[" } else { "" };
        writeln!(out, "{open}\n]")?;
    } else if format == Format::Table && listed.is_ok() && (!page.is_empty() || written == 0) {
        print_page(out, style, many, page)?;
    }
    listed.map(|()| Outcome::Clean)
}

/// What `list` writes and keeps.
struct How<'a> {
    format: Format,
    style: Style,
    filter: &'a Filter,
    prices: &'a Prices,
}

fn list(
    sources: &[input::Source],
    how: &How,
    out: &mut dyn Write,
    page: &mut Vec<Vec<String>>,
    written: &mut usize,
) -> anyhow::Result<()> {
    let many = sources.len() > 1;
    let style = how.style;
    for source in sources {
        let mut retries = Retries::default();
        input::read_entries(source, |i, mut e| {
            // The row needs the call, not the request body: moved, not copied.
            let call = Call::taking_body(i, &mut e);
            call.warn_body(&source.name());
            // Retries are observed before filtering, so "retry of #N" holds.
            let retry_of = retries.observe(&call);
            if !how.filter.keeps(&call) {
                return Ok(());
            }
            let r = row(&source.name(), &call, &e, retry_of, how.prices);
            match how.format {
                Format::Json => {
                    writeln!(out, "{}", if *written == 0 { "[" } else { "," })?;
                    serde_json::to_writer_pretty(&mut *out, &r)?;
                }
                Format::Csv => writeln!(out, "{}", csv_line(&r))?,
                Format::Table => {
                    page.push(cells(&r));
                    if page.len() == PAGE {
                        print_page(out, style, many, std::mem::take(page))?;
                    }
                }
            }
            *written += 1;
            Ok(())
        })?;
    }
    Ok(())
}

fn print_page(
    out: &mut dyn Write,
    style: Style,
    many: bool,
    rows: Vec<Vec<String>>,
) -> std::io::Result<()> {
    // Without a file column the plan sees an empty one and leaves it out
    // of a pipe too: drop it before planning.
    let (columns, rows): (&[Column], Vec<Vec<String>>) = if many {
        (&COLUMNS, rows)
    } else {
        let rows = rows.into_iter().map(|r| r[1..].to_vec()).collect();
        (&COLUMNS[1..], rows)
    };
    let t = style.fitted_table(columns, &rows, &|name, text| {
        if name == "status" && !text.starts_with('2') {
            style.red_cell(&text)
        } else {
            Cell::new(text)
        }
    });
    report::write_table(out, &t)
}

const CSV_HEADER: &str = "file,entry,started,method,status,url,role,model,input_tokens,output_tokens,\
cache_creation_input_tokens,cache_read_input_tokens,cost_usd,estimated_offline,duration_ms,first_token_ms,note";

/// One CSV line: full values, numbers unformatted.
fn csv_line(r: &Value) -> String {
    let field = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => report::csv_field(s),
        other => other.to_string(),
    };
    let keys = [
        "file",
        "entry",
        "started",
        "method",
        "status",
        "url",
        "role",
        "model",
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "cost_usd",
        "estimated_offline",
        "duration_ms",
        "first_token_ms",
    ];
    let mut fields: Vec<String> = keys.iter().map(|k| field(&r[*k])).collect();
    fields.push(report::csv_field(&notes(r).join("; ")));
    fields.join(",")
}

/// The note column: retries, cut-off streams, errors.
fn notes(r: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(n) = r["retry_of"].as_u64() {
        notes.push(format!("retry of #{n}"));
    }
    if r["cut_off"].as_bool() == Some(true) {
        notes.push("stream cut off".into());
    }
    if let Some(why) = r["usage_not_reported"].as_str() {
        notes.push(format!("usage not reported ({why})"));
    }
    for k in ["api_error", "error"] {
        if let Some(s) = r[k].as_str() {
            notes.push(s.to_owned());
        }
    }
    if let Some(n) = r["websocket_messages"].as_u64() {
        notes.push(format!("websocket, {n} messages"));
    }
    if r["body_error"].is_string() {
        notes.push("body undecodable, kept as found".into());
    }
    if r["estimated_offline"].as_bool() == Some(true) {
        notes.push("estimated, offline".into());
    }
    notes
}

/// One table row from a listed entry, every column (file first).
fn cells(r: &Value) -> Vec<String> {
    let num = |k: &str| {
        r[k].as_u64()
            .map(report::thousands)
            .unwrap_or_else(|| "-".into())
    };
    let cache = match (
        r["cache_creation_input_tokens"].as_u64(),
        r["cache_read_input_tokens"].as_u64(),
    ) {
        (Some(w), Some(rd)) => format!("{}/{}", report::thousands(w), report::thousands(rd)),
        _ => "-".into(),
    };
    let status = r["status"].as_i64().unwrap_or(0);
    let cost = match (r["cost_usd"].as_f64(), r["estimated_offline"].as_bool()) {
        (Some(c), _) => report::dollars(Some(c)),
        (None, Some(true)) => "-".into(),
        (None, _) if r["input_tokens"].is_u64() => "unpriced".into(),
        _ => "-".into(),
    };
    let text = |k: &str| r[k].as_str().unwrap_or("").to_owned();
    vec![
        text("file"),
        r["entry"].to_string(),
        clock(&text("started")),
        text("method"),
        status.to_string(),
        text("url"),
        text("role"),
        text("model"),
        num("input_tokens"),
        num("output_tokens"),
        cache,
        cost,
        report::millis(r["duration_ms"].as_f64()),
        report::millis(r["first_token_ms"].as_f64()),
        notes(r).join("; "),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::testkit::*;

    #[test]
    fn a_row_has_role_tokens_and_timing() {
        let e = streamed(
            UA_2_0,
            &main_body("claude-sonnet-4-5", &["Bash"], "p"),
            (10, 20, 30, 40),
            "x",
        );
        let r = row(
            "a.har",
            &Call::from_entry(2, &e),
            &e,
            None,
            &Prices::built_in(),
        );
        assert_eq!(r["entry"], 2);
        assert_eq!(r["role"], "main");
        assert_eq!(r["input_tokens"], 10);
        assert_eq!(r["output_tokens"], 20);
        assert_eq!(r["first_token_ms"], 320.0);
        assert_eq!(r["path"], "/v1/messages");
        assert_eq!(r["url"], "https://api.anthropic.com/v1/messages?beta=true");
        let want = (10.0 * 3.0 + 20.0 * 15.0 + 30.0 * 3.75 + 40.0 * 0.3) / 1e6;
        assert!(
            (r["cost_usd"].as_f64().unwrap() - want).abs() < 1e-12,
            "{}",
            r["cost_usd"]
        );
        let line = csv_line(&r);
        assert!(line.starts_with("a.har,2,"), "{line}");
        assert!(line.contains(",https://api.anthropic.com/v1/messages?beta=true,main,claude-sonnet-4-5,10,20,30,40,"), "{line}");
        assert_eq!(clock("2026-11-25T12:00:01.234+00:00"), "12:00:01.234");
    }
}

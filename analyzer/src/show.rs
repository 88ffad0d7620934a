//! `analyze show FILE N`: one exchange, readable — request parameters,
//! system prompt, tools (names and sizes), messages, the reply reassembled,
//! usage and timings.

use crate::call::Call;
use crate::classify;
use crate::cli::ShowArgs;
use crate::input::{self, Source};
use crate::report::{self, Outcome, Style};
use anyhow::bail;
use cctap_archive::Entry;
use serde_json::{json, Value};
use std::io::Write;

/// Reads up to entry `n` and stops there.
fn find(source: &Source, n: usize) -> anyhow::Result<Entry> {
    let mut reader = input::open(source)?;
    let mut seen = 0;
    for item in reader.by_ref() {
        // Entries before `n` are only counted: their warnings are not
        // about the entry asked for.
        if seen == n {
            if let Some(entry) = input::readable(&source.name(), seen, item) {
                return Ok(entry);
            }
            bail!(
                "{}: entry {n} cannot be read (see the warning above)",
                source.name()
            );
        }
        seen += 1;
    }
    bail!(
        "{} has {seen} entries (0 to {}), not entry {n}: `analyze ls {}` lists them",
        source.name(),
        seen.saturating_sub(1),
        source.name()
    )
}

pub fn run(
    args: &ShowArgs,
    json_out: bool,
    style: Style,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let source = Source {
        path: args.file.clone(),
    };
    let entry = find(&source, args.entry)?;
    let call = Call::from_entry(args.entry, &entry);
    call.warn_body(&source.name());
    if json_out {
        report::write_json(out, &to_json(&call, &entry))?;
    } else {
        write_human(out, &call, &entry, style)?;
    }
    Ok(Outcome::Clean)
}

fn to_json(call: &Call, entry: &Entry) -> Value {
    let req = call.request.as_ref();
    json!({
        "entry": call.index,
        "started": call.started,
        "method": call.method,
        "url": call.url,
        "status": call.status,
        "role": classify::role(call).name(),
        "client": call.client.as_ref().map(|(n, v)| format!("{n}/{v}")),
        "anthropic-version": call.api_version,
        "anthropic-beta": call.betas,
        "model": call.model(),
        "params": req.map(|r| Value::Object(r.params.clone())),
        "session": call.session(),
        "system": req.map(|r| r.system().iter().map(|b| b.raw.clone()).collect::<Vec<_>>()),
        "tools": req.map(|r| r.tools().iter().map(|t| json!({"name": t.name, "bytes": t.bytes()})).collect::<Vec<_>>()),
        "messages": req.map(|r| r.messages().iter().map(|m| json!({"role": m.role, "content": m.blocks.iter().map(|b| b.raw.clone()).collect::<Vec<_>>()})).collect::<Vec<_>>()),
        "reply": call.reply,
        "timings": entry.har.timings,
        "duration_ms": call.duration_ms,
        "error": call.error,
        "redacted": entry.redacted,
    })
}

fn heading(out: &mut dyn Write, style: Style, title: &str) -> std::io::Result<()> {
    writeln!(out, "\n{}", style.bold(&format!("== {title} ==")))
}

fn write_human(
    out: &mut dyn Write,
    call: &Call,
    entry: &Entry,
    style: Style,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        style.bold(&format!(
            "entry {}: {} {}",
            call.index, call.method, call.url
        ))
    )?;
    writeln!(
        out,
        "started {}  status {}  role {}",
        call.started,
        call.status,
        classify::role(call).name()
    )?;
    if let Some((n, v)) = &call.client {
        writeln!(out, "client {n} {v}")?;
    }
    let req_body = entry.request_text().map_or(0, str::len);
    let content = &entry.har.response.content;
    writeln!(
        out,
        "request body {}  response {} ({})",
        report::bytes(req_body),
        report::bytes(content.text.as_deref().map_or(0, str::len)),
        content.mime_type.as_deref().unwrap_or("no type")
    )?;
    if let Some(e) = &call.error {
        writeln!(out, "{}", style.red(&format!("error: {e}")))?;
    }
    if !entry.redacted.is_empty() {
        writeln!(out, "redacted: {}", entry.redacted.join(", "))?;
    }
    if let Some(req) = &call.request {
        heading(out, style, "parameters")?;
        writeln!(out, "model: {}", req.model)?;
        for (k, v) in &req.params {
            writeln!(out, "{k}: {v}")?;
        }
        writeln!(
            out,
            "anthropic-version: {}",
            call.api_version.as_deref().unwrap_or("-")
        )?;
        writeln!(out, "anthropic-beta: {}", call.betas.join(", "))?;
        if let Some(s) = call.session() {
            writeln!(out, "session: {s}")?;
        }
        let (system, tools, messages) = (req.system(), req.tools(), req.messages());
        heading(out, style, &format!("system ({} blocks)", system.len()))?;
        for (i, b) in system.iter().enumerate() {
            writeln!(
                out,
                "{}",
                style.cyan(&format!("[system {i}] {} chars", b.text.chars().count()))
            )?;
            writeln!(out, "{}", b.text)?;
        }
        heading(out, style, &format!("tools ({})", tools.len()))?;
        let mut t = style.table(["tool", "size", "fields"]);
        for tool in &tools {
            let extra: Vec<&str> = tool.extra.keys().map(String::as_str).collect();
            t.add_row(vec![
                tool.name.clone(),
                report::bytes(tool.bytes()),
                extra.join(", "),
            ]);
        }
        report::write_table(out, &t)?;
        heading(out, style, &format!("messages ({})", messages.len()))?;
        for (i, m) in messages.iter().enumerate() {
            for b in &m.blocks {
                writeln!(
                    out,
                    "{}",
                    style.cyan(&format!("[{i} {} {}]", m.role, b.kind))
                )?;
                writeln!(out, "{}", b.text)?;
            }
        }
    }
    heading(out, style, "reply")?;
    let r = &call.reply;
    if let Some(e) = &r.api_error {
        writeln!(out, "{}", style.red(&format!("API error: {e}")))?;
    }
    if !r.text.is_empty() {
        writeln!(out, "{}", r.text)?;
    }
    for tc in &r.tool_calls {
        writeln!(
            out,
            "{}",
            style.cyan(&format!("tool call {} {}: {}", tc.name, tc.id, tc.input))
        )?;
    }
    writeln!(
        out,
        "stop reason: {}",
        r.stop_reason.as_deref().unwrap_or("-")
    )?;
    if r.cut_off {
        writeln!(
            out,
            "{}",
            style.red("the stream was cut off before message_stop")
        )?;
    }
    if let Some(n) = r.counted_tokens {
        writeln!(out, "counted input tokens: {n}")?;
    }
    if let Some(u) = &r.usage {
        heading(out, style, "usage")?;
        let mut t = style.table(["input", "output", "cache write", "5m", "1h", "cache read"]);
        let (w5, w1) = u.cache_writes();
        t.add_row(
            [
                u.input_tokens,
                u.output_tokens,
                u.cache_creation_input_tokens,
                w5,
                w1,
                u.cache_read_input_tokens,
            ]
            .map(report::thousands),
        );
        report::write_table(out, &t)?;
    }
    heading(out, style, "timings")?;
    let tm = &entry.har.timings;
    writeln!(
        out,
        "total {}  wait {}  receive {}  first token {}  last event {}  ({} events)",
        report::millis(Some(call.duration_ms)),
        report::millis(Some(tm.wait)),
        report::millis(Some(tm.receive)),
        report::millis(r.first_token_ms),
        report::millis(r.last_event_ms),
        r.events
    )
}

//! `show`'s layout for people: a head, the request (parameters, system,
//! tools, messages), the reply, usage and cost, the stream's timeline.

use super::Shown;
use crate::call::{Call, Endpoint, MessagesRequest};
use crate::classify;
use crate::report::{self, Style};
use cctap_archive::model::WebSocketMessage;
use cctap_archive::Entry;
use std::io::{Result, Write};

pub(super) fn write(out: &mut dyn Write, s: &Shown, style: Style) -> Result<()> {
    head(out, s.call, s.entry, style)?;
    if let Some(req) = &s.call.request {
        parameters(out, s.call, req, style)?;
        system(out, req, style)?;
        tools(out, req, style)?;
        messages(out, req, style)?;
    }
    if let Some(facts) = &s.call.openai {
        openai_request(out, s.call, facts, style)?;
    }
    reply(out, s.call, style)?;
    usage(out, s, style)?;
    timeline(out, s, style)
}

fn heading(out: &mut dyn Write, style: Style, title: &str) -> Result<()> {
    writeln!(out, "\n{}", style.bold(&format!("== {title} ==")))
}

/// The request body's size, wherever it is: a Messages body was moved
/// into the call ([`Call::taking_body`]).
fn request_len(call: &Call, entry: &Entry) -> usize {
    entry
        .request_text()
        .or(call.request.as_ref().map(MessagesRequest::body))
        .map_or(0, str::len)
}

fn head(out: &mut dyn Write, call: &Call, entry: &Entry, style: Style) -> Result<()> {
    let title = format!("entry {}: {} {}", call.index, call.method, call.url);
    writeln!(out, "{}", style.bold(&title))?;
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
    let content = &entry.har.response.content;
    writeln!(
        out,
        "request body {}  response {} ({})",
        report::bytes(request_len(call, entry)),
        report::bytes(content.text.as_deref().map_or(0, str::len)),
        content.mime_type.as_deref().unwrap_or("no type")
    )?;
    if let Some(e) = &call.error {
        writeln!(out, "{}", style.red(&format!("error: {e}")))?;
    }
    if !entry.redacted.is_empty() {
        writeln!(out, "redacted: {}", entry.redacted.join(", "))?;
    }
    if let Some(why) = &call.body_error {
        let line = format!("response body kept undecoded: {why}");
        writeln!(out, "{}", style.red(&line))?;
    }
    if let Some(messages) = &entry.websocket_messages {
        websocket(out, style, messages, &entry.har.started_date_time)?;
    }
    Ok(())
}

/// One line per WebSocket message: direction, time after the handshake
/// started, and the text (shortened) or what the binary data is.
fn websocket(
    out: &mut dyn Write,
    style: Style,
    messages: &[WebSocketMessage],
    started: &str,
) -> Result<()> {
    heading(
        out,
        style,
        &format!("WebSocket messages ({})", messages.len()),
    )?;
    let t0 = cctap_archive::model::parse_started(started)
        .map_or(0.0, |t| t.unix_timestamp_nanos() as f64 / 1e9);
    for m in messages {
        let arrow = if m.is_sent() { "->" } else { "<-" };
        let at = report::millis(Some((m.time - t0) * 1000.0));
        let body = if m.opcode == 1 {
            let text: String = m.data.chars().take(120).collect();
            let more = if text.len() < m.data.len() { "…" } else { "" };
            format!("{text}{more}")
        } else {
            let n = m.data.len();
            format!("(binary, opcode {}, base64 {n} chars)", m.opcode)
        };
        writeln!(out, "{arrow} {at:>9}  {body}")?;
    }
    Ok(())
}

fn parameters(out: &mut dyn Write, call: &Call, req: &MessagesRequest, style: Style) -> Result<()> {
    heading(out, style, "parameters")?;
    writeln!(out, "model: {}", req.model)?;
    for (k, v) in &req.params {
        writeln!(out, "{k}: {v}")?;
    }
    let version = call.api_version.as_deref().unwrap_or("-");
    writeln!(out, "anthropic-version: {version}")?;
    writeln!(out, "anthropic-beta: {}", call.betas.join(", "))?;
    if let Some(s) = call.session() {
        writeln!(out, "session: {s}")?;
    }
    Ok(())
}

fn system(out: &mut dyn Write, req: &MessagesRequest, style: Style) -> Result<()> {
    let blocks = req.system();
    heading(out, style, &format!("system ({} blocks)", blocks.len()))?;
    for (i, b) in blocks.iter().enumerate() {
        let label = format!("[system {i}] {} chars", b.text.chars().count());
        writeln!(out, "{}", style.cyan(&label))?;
        writeln!(out, "{}", b.text)?;
    }
    Ok(())
}

fn tools(out: &mut dyn Write, req: &MessagesRequest, style: Style) -> Result<()> {
    let tools = req.tools();
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
    report::write_table(out, &t)
}

fn messages(out: &mut dyn Write, req: &MessagesRequest, style: Style) -> Result<()> {
    let Some(n) = req.message_count_in_pieces() else {
        return messages_whole(out, req, style);
    };
    heading(out, style, &format!("messages ({n})"))?;
    let mut printer = Printer {
        out,
        style,
        open: false,
        error: None,
    };
    req.message_blocks(&mut printer);
    printer.finish()
}

/// Prints blocks as [`messages_whole`] does, their texts piece by piece.
struct Printer<'a> {
    out: &'a mut dyn Write,
    style: Style,
    /// A block's text is being printed (its line not yet ended).
    open: bool,
    error: Option<std::io::Error>,
}

impl Printer<'_> {
    fn put(&mut self, f: impl FnOnce(&mut dyn Write) -> Result<()>) {
        if self.error.is_none() {
            self.error = f(self.out).err();
        }
    }

    fn finish(mut self) -> Result<()> {
        if self.open {
            self.put(|out| writeln!(out));
        }
        self.error.map_or(Ok(()), Err)
    }
}

impl crate::call::text::BlockSink for Printer<'_> {
    fn block(&mut self, index: usize, role: &str, kind: &str) {
        let head = self.style.cyan(&format!("[{index} {role} {kind}]"));
        let end = if self.open { "\n" } else { "" };
        self.put(|out| writeln!(out, "{end}{head}"));
        self.open = true;
    }

    fn text(&mut self, piece: &str) {
        self.put(|out| out.write_all(piece.as_bytes()));
    }
}

/// The messages parsed whole (when they cannot be read in pieces).
fn messages_whole(out: &mut dyn Write, req: &MessagesRequest, style: Style) -> Result<()> {
    let messages = req.messages();
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
    Ok(())
}

/// What an OpenAI-style request says about its reply (its prompt is not
/// taken apart: `show --json` and the HAR hold it whole).
fn openai_request(
    out: &mut dyn Write,
    call: &Call,
    facts: &crate::call::openai::RequestFacts,
    style: Style,
) -> Result<()> {
    heading(
        out,
        style,
        &format!("request ({})", call.endpoint.api_name()),
    )?;
    let mut line = format!("model {}  stream {}", or_dash(&facts.model), facts.stream);
    if call.endpoint == Endpoint::ChatCompletions && facts.stream {
        line.push_str(&format!(
            "  stream_options.include_usage {}",
            facts.include_usage
        ));
    }
    writeln!(out, "{line}")
}

/// The event that ends a complete stream of this API.
fn stream_end(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::ChatCompletions => "data: [DONE]",
        Endpoint::Responses => "response.completed",
        _ => "message_stop",
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn reply(out: &mut dyn Write, call: &Call, style: Style) -> Result<()> {
    let r = &call.reply;
    heading(out, style, "reply")?;
    if let Some(e) = &r.api_error {
        writeln!(out, "{}", style.red(&format!("API error: {e}")))?;
    }
    if !r.text.is_empty() {
        writeln!(out, "{}", r.text)?;
    }
    for tc in &r.tool_calls {
        let line = format!("tool call {} {}: {}", tc.name, tc.id, tc.input);
        writeln!(out, "{}", style.cyan(&line))?;
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
            style.red(&format!(
                "the stream was cut off before {}",
                stream_end(call.endpoint)
            ))
        )?;
    }
    if let Some(n) = r.counted_tokens {
        writeln!(out, "counted input tokens: {n}")?;
    }
    Ok(())
}

fn usage(out: &mut dyn Write, s: &Shown, style: Style) -> Result<()> {
    let Some(u) = &s.call.reply.usage else {
        if let Some(why) = s.call.usage_not_reported() {
            heading(out, style, "usage")?;
            writeln!(
                out,
                "{}",
                style.red(&format!(
                    "usage not reported ({why}): the tokens are unknown, not zero"
                ))
            )?;
        }
        return Ok(());
    };
    heading(out, style, "usage")?;
    let mut t = style.table([
        "input",
        "output",
        "cache write",
        "5m",
        "1h",
        "cache read",
        "cost",
    ]);
    let (w5, w1) = u.cache_writes();
    let mut cells: Vec<String> = [
        u.input_tokens,
        u.output_tokens,
        u.cache_creation_input_tokens,
        w5,
        w1,
        u.cache_read_input_tokens,
    ]
    .map(report::thousands)
    .into();
    cells.push(s.cost.text());
    t.add_row(cells);
    report::align_numbers_right(&mut t);
    report::write_table(out, &t)?;
    if s.call.endpoint.openai().is_some() {
        // Said in OpenAI's own terms, so the mapping can be checked.
        let mut line = format!(
            "as sent: prompt {} (cached {}), output {}",
            report::thousands(u.input_tokens + u.cache_read_input_tokens),
            report::thousands(u.cache_read_input_tokens),
            report::thousands(u.output_tokens)
        );
        if let Some(r) = u.reasoning_tokens {
            line.push_str(&format!(" (reasoning {})", report::thousands(r)));
        }
        writeln!(out, "{line}; input = prompt - cached")?;
    }
    report::write_note(out, style, &s.prices.footer())
}

fn timeline(out: &mut dyn Write, s: &Shown, style: Style) -> Result<()> {
    heading(out, style, "timings")?;
    let tm = &s.entry.har.timings;
    writeln!(
        out,
        "total {}  wait {}  receive {}",
        report::millis(Some(s.call.duration_ms)),
        report::millis(Some(tm.wait)),
        report::millis(Some(tm.receive)),
    )?;
    let t = &s.timeline;
    let rate = t
        .tokens_per_s
        .map_or_else(|| "-".to_owned(), |r| format!("{r:.1} tokens/s"));
    writeln!(
        out,
        "stream: ttft {}  last event {}  {}  {}",
        report::millis(t.ttft_ms),
        report::millis(t.last_event_ms),
        rate,
        report::count(t.events, "event", "events"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_printed_in_pieces_read_as_printed_whole() {
        let color = Style {
            color: true,
            ..Style::default()
        };
        let arrays = [
            json!([
                {"role": "user", "content": "say \"hi\"\n\ttwice \u{e9}\u{1F600}"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hm"},
                    {"type": "text", "text": "a"},
                    {"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": "ls"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": "x\ny"},
                    {"type": "tool_result", "content": [{"type": "text", "text": "in"}]},
                    {"type": "image", "source": {}},
                    {"text": "no type"}, 7, "s", null, {"type": "text", "text": 3}
                ]},
                {"content": {"type": "text", "text": "one block, no role"}},
                {"role": "user", "content": null},
                {"role": "user"},
                "not a message",
                {"role": "user", "content": [], "role": "assistant"}
            ]),
            json!([]),
            json!({"not": "a list"}),
        ];
        for messages in arrays {
            for style in [Style::default(), color] {
                let body = json!({"model": "m", "messages": messages}).to_string();
                let r = MessagesRequest::parse(&body).unwrap();
                assert!(r.message_count_in_pieces().is_some(), "{body}");
                let (mut pieces, mut whole) = (Vec::new(), Vec::new());
                super::messages(&mut pieces, &r, style).unwrap();
                messages_whole(&mut whole, &r, style).unwrap();
                assert_eq!(
                    String::from_utf8(pieces).unwrap(),
                    String::from_utf8(whole).unwrap(),
                    "{body}"
                );
            }
        }
        // A lone surrogate empties `messages()`: printed the whole way.
        let r = MessagesRequest::parse(r#"{"messages":[{"role":"user","content":"a\ud800"}]}"#)
            .unwrap();
        assert_eq!(r.message_count_in_pieces(), None);
        assert!(r.messages().is_empty());
    }
}

//! `analyze show FILE N`: one exchange, readable — request parameters,
//! system prompt, tools (names and sizes), messages, the reply reassembled,
//! usage and cost, and the stream's timeline. The human layout is
//! [`human`]; `--json` is built here.

mod human;

use crate::call::{Call, ReplySource};
use crate::classify;
use crate::cli::ShowArgs;
use crate::input::{self, Source};
use crate::prices::Prices;
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
        "{} has {} (0 to {}), not entry {n}: `analyze ls {}` lists them",
        source.name(),
        report::count(seen, "entry", "entries"),
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
    let prices = Prices::load(args.prices.as_deref())?;
    let source = Source {
        path: args.file.clone(),
    };
    let mut entry = find(&source, args.entry)?;
    // Shown from the call: the request body is moved there, not copied.
    let call = Call::taking_body(args.entry, &mut entry);
    call.warn_body(&source.name());
    let shown = Shown {
        call: &call,
        entry: &entry,
        cost: Cost::of(&call, &prices),
        timeline: Timeline::of(&call),
        prices: &prices,
    };
    if json_out {
        report::write_json(out, &to_json(&shown))?;
    } else {
        human::write(out, &shown, style)?;
    }
    Ok(Outcome::Clean)
}

/// Everything `show` prints about one entry.
struct Shown<'a> {
    call: &'a Call,
    entry: &'a Entry,
    cost: Cost,
    timeline: Timeline,
    prices: &'a Prices,
}

/// What the call cost, or why it has no price.
enum Cost {
    Dollars(f64),
    /// `record -m offline` answered: estimated tokens, nobody billed.
    Offline,
    Unpriced,
    /// No usage: failed, or not a model call.
    None,
}

impl Cost {
    fn of(call: &Call, prices: &Prices) -> Cost {
        if call.reply.usage.is_none() {
            Cost::None
        } else if call.offline() {
            Cost::Offline
        } else {
            prices.call_cost(call).map_or(Cost::Unpriced, Cost::Dollars)
        }
    }

    fn text(&self) -> String {
        match self {
            Cost::Dollars(d) => report::dollars(Some(*d)),
            Cost::Offline => "not billed (estimated, offline)".into(),
            Cost::Unpriced => "unpriced".into(),
            Cost::None => "-".into(),
        }
    }
}

/// The stream's shape in time; all `None` for a reply that was not a
/// timed stream.
#[derive(Debug, Default, PartialEq)]
struct Timeline {
    /// First content delta, ms after the request started.
    ttft_ms: Option<f64>,
    last_event_ms: Option<f64>,
    events: usize,
    /// Output tokens over the time from the first to the last event.
    tokens_per_s: Option<f64>,
}

impl Timeline {
    fn of(call: &Call) -> Timeline {
        let r = &call.reply;
        if r.source != ReplySource::SseEvents {
            return Timeline {
                events: r.events,
                ..Timeline::default()
            };
        }
        let span = r.first_token_ms.zip(r.last_event_ms).map(|(a, b)| b - a);
        let output = r.usage.as_ref().map(|u| u.output_tokens);
        let tokens_per_s = match (span, output) {
            (Some(ms), Some(n)) if ms > 0.0 && n > 0 => Some(n as f64 * 1000.0 / ms),
            _ => None,
        };
        Timeline {
            ttft_ms: r.first_token_ms,
            last_event_ms: r.last_event_ms,
            events: r.events,
            tokens_per_s,
        }
    }
}

fn to_json(s: &Shown) -> Value {
    let (call, entry) = (s.call, s.entry);
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
        "api": call.endpoint.api_name(),
        "openai_request": call.openai.as_ref().map(|f| json!({"model": f.model, "stream": f.stream, "include_usage": f.include_usage})),
        "usage_not_reported": call.usage_not_reported(),
        "params": req.map(|r| Value::Object(r.params.clone())),
        "session": call.session(),
        "system": req.map(|r| r.system().iter().map(|b| b.raw.clone()).collect::<Vec<_>>()),
        "tools": req.map(|r| r.tools().iter().map(|t| json!({"name": t.name, "bytes": t.bytes()})).collect::<Vec<_>>()),
        "messages": req.map(|r| r.messages().iter().map(|m| json!({"role": m.role, "content": m.blocks.iter().map(|b| b.raw.clone()).collect::<Vec<_>>()})).collect::<Vec<_>>()),
        "reply": call.reply,
        "cost_usd": match s.cost { Cost::Dollars(d) => Some(d), _ => None },
        "estimated_offline": call.offline(),
        "prices": s.prices.to_json(),
        "timeline": {
            "ttft_ms": s.timeline.ttft_ms,
            "last_event_ms": s.timeline.last_event_ms,
            "events": s.timeline.events,
            "tokens_per_s": s.timeline.tokens_per_s,
        },
        "sse_events": entry.sse_events,
        "timings": entry.har.timings,
        "duration_ms": call.duration_ms,
        "error": call.error,
        "redacted": entry.redacted,
        "body_error": call.body_error,
        "websocket_messages": entry.websocket_messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::testkit::*;

    #[test]
    fn a_stream_has_a_timeline_and_a_json_body_has_none() {
        let e = streamed(
            UA_2_1,
            &main_body("claude-opus-5-5", &["Bash"], "p"),
            (10, 41, 0, 0),
            "x",
        );
        let t = Timeline::of(&Call::from_entry(0, &e));
        // Events at 300, 310 … 350 ms; the first delta at 320.
        assert_eq!(t.ttft_ms, Some(320.0));
        assert_eq!(t.events, 6);
        assert!((t.tokens_per_s.unwrap() - 41.0 * 1000.0 / 30.0).abs() < 1e-9);
        let json = answered_json(
            request(
                "https://api.anthropic.com/v1/messages",
                &[],
                &warmup_body("m"),
            ),
            200,
            &serde_json::json!({"id": "msg_1", "type": "message", "usage": {"input_tokens": 1, "output_tokens": 2}}),
        );
        let t = Timeline::of(&Call::from_entry(0, &json));
        assert_eq!(t.ttft_ms, None, "not a stream: no ttft");
        assert_eq!(t.tokens_per_s, None);
    }
}

//! Reading the archives once into what the report shows: one [`CallRow`]
//! per entry (timings, usage, cost), its stream's events, its part of the
//! conversation ([`super::detail`]), the usage totals `analyze usage`
//! computes and the findings `analyze leaks` makes.
//!
//! Nothing of a request is kept beyond what is shown: in a long session
//! every request repeats the whole conversation, so only each call's new
//! messages are taken ([`super::detail::Threads`]).

use super::detail::{Detail, PromptVersion, Threads};
use crate::call::{Call, Usage};
use crate::classify::{self, Role};
use crate::cli::GroupBy;
use crate::input::{self, Source};
use crate::leaks::scan::{Finding, Scan, Severity};
use crate::prices::Prices;
use crate::usage::{self, Tally};
use cctap_archive::Entry;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Longest preview of one SSE event's data kept for the timeline.
const EVENT_PREVIEW: usize = 120;

/// One archive read.
#[derive(Clone, Debug, Serialize)]
pub struct FileRow {
    pub name: String,
    pub entries: usize,
    pub cut_off: bool,
    /// The file could not be read at all (a run over several goes on).
    pub skipped: bool,
    pub bytes: u64,
}

/// One exchange, as the overview, conversation and timeline show it.
#[derive(Clone, Debug, Serialize)]
pub struct CallRow {
    /// Position in start order, the id every view uses.
    pub id: usize,
    pub file: usize,
    /// The entry's number in its file (as `analyze ls`/`show` number it).
    pub entry: usize,
    pub session: usize,
    pub role: &'static str,
    pub side: bool,
    /// `turn 3`, `subagent 1 · turn 2`, `warmup`, …
    pub label: String,
    /// The conversation thread (main loop or subagent) within the session.
    pub thread: Option<usize>,
    pub model: String,
    pub status: i64,
    pub failed: bool,
    /// Answered by `record -m offline`: tokens are estimates, nothing billed.
    pub offline: bool,
    pub error: Option<String>,
    pub method: String,
    pub host: String,
    pub path: String,
    pub client: Option<String>,
    pub usage: Option<Usage>,
    pub cost: Option<f64>,
    /// Start, ms after the first call of the report.
    pub start_ms: f64,
    /// Request sent whole, ms after the call's start.
    pub sent_ms: f64,
    /// First response byte (HAR `timings.wait` after sending).
    pub first_byte_ms: Option<f64>,
    /// First content event (`analyze show`'s `first_token_ms`).
    pub ttft_ms: Option<f64>,
    /// The last event, or the end of the exchange.
    pub end_ms: f64,
    pub duration_ms: f64,
    /// Output tokens per second of streaming (first content to last event).
    pub tokens_per_s: Option<f64>,
    pub events: usize,
    pub tools: Vec<String>,
    pub stop_reason: Option<String>,
    pub cut_off: bool,
    /// The system prompt and tools this call sent ([`PromptVersion`]).
    pub prompt: Option<usize>,
    /// Whether its thread's prompt changed here (or starts here).
    pub new_prompt: bool,
    #[serde(skip)]
    started: String,
    #[serde(skip)]
    started_nanos: i128,
}

/// One SSE event on the timeline: time, type, the start of its data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tick(pub f64, pub String, pub String);

/// A Claude Code session (or the calls of a file without a session id).
#[derive(Clone, Debug, Default, Serialize)]
pub struct SessionRow {
    pub id: String,
    pub clients: Vec<String>,
    pub calls: usize,
    pub turns: usize,
    pub start_ms: f64,
    pub end_ms: f64,
    pub tokens: u64,
    pub cost: Option<f64>,
}

/// Everything the report shows.
#[derive(Debug, Default)]
pub struct Model {
    pub files: Vec<FileRow>,
    /// In start order; `calls[i].id == i`.
    pub calls: Vec<CallRow>,
    pub details: Vec<Detail>,
    pub ticks: Vec<Vec<Tick>>,
    pub prompts: Vec<PromptVersion>,
    pub sessions: Vec<SessionRow>,
    pub tally: Tally,
    pub findings: Vec<Finding>,
    pub leaks: usize,
    pub entries: usize,
    /// The first call's `startedDateTime`.
    pub started: String,
    pub span_ms: f64,
}

/// Reads every archive in order; offline calls count in the totals only
/// `with_offline` (as `usage --include-offline`).
pub fn read(sources: &[Source], prices: &Prices, with_offline: bool) -> anyhow::Result<Model> {
    let mut c = Collector {
        prices,
        with_offline,
        model: Model::default(),
        threads: Threads::default(),
        sessions: HashMap::new(),
    };
    for (file, source) in sources.iter().enumerate() {
        let mut scan = Scan::new(&source.name());
        let summary = input::read_entries(source, |i, entry| {
            c.entry(file, source, i, &entry)?;
            // `analyze leaks`' scan, last: it redacts the entry it is given.
            let found = scan.entry(i, entry);
            c.model.findings.extend(found);
            Ok(())
        })?;
        // The log's pages, comment and custom fields, as `leaks` judges them.
        if let Some(head) = &summary.head {
            c.model.findings.extend(scan.log(head));
        }
        let found = scan.finish();
        c.model.findings.extend(found);
        c.model.files.push(FileRow {
            name: source.name(),
            entries: summary.entries,
            cut_off: summary.cut_off,
            skipped: summary.skipped,
            bytes: std::fs::metadata(&source.path).map_or(0, |m| m.len()),
        });
        c.model.entries += summary.entries;
    }
    Ok(c.finish())
}

struct Collector<'a> {
    prices: &'a Prices,
    with_offline: bool,
    model: Model,
    threads: Threads,
    /// Session key → index in `model.sessions`.
    sessions: HashMap<String, usize>,
}

impl Collector<'_> {
    fn entry(
        &mut self,
        file: usize,
        source: &Source,
        index: usize,
        entry: &Entry,
    ) -> anyhow::Result<()> {
        let call = Call::from_entry(index, entry);
        let m = &mut self.model;
        m.tally.add(
            &call,
            usage::key_of(GroupBy::Model, source, &call),
            self.prices,
            self.with_offline,
        );
        let role = classify::role(&call);
        let session_key = call.session().map_or_else(
            || format!("(no session id) {}", source.name()),
            str::to_owned,
        );
        let next = m.sessions.len();
        let session = *self.sessions.entry(session_key.clone()).or_insert(next);
        if session == next {
            m.sessions.push(SessionRow {
                id: session_key,
                ..SessionRow::default()
            });
        }
        let placed = self
            .threads
            .place(&call, role, session, &mut m.prompts, &mut m.details);
        let priced = (self.prices, self.with_offline);
        let row = row_of(&call, entry, role, file, session, priced, &placed);
        m.calls.push(row);
        m.details.push(placed.detail);
        m.ticks.push(ticks_of(entry));
        Ok(())
    }

    /// Sorts by start, numbers calls, labels threads, sums sessions.
    fn finish(mut self) -> Model {
        let m = &mut self.model;
        let mut order: Vec<usize> = (0..m.calls.len()).collect();
        order.sort_by_key(|&i| (m.calls[i].started_nanos, i));
        let t0 = order.first().map_or(0, |&i| m.calls[i].started_nanos);
        let mut calls = Vec::with_capacity(order.len());
        let mut details = std::mem::take(&mut m.details)
            .into_iter()
            .map(Some)
            .collect::<Vec<_>>();
        let mut ticks = std::mem::take(&mut m.ticks)
            .into_iter()
            .map(Some)
            .collect::<Vec<_>>();
        let mut new_details = Vec::with_capacity(order.len());
        let mut new_ticks = Vec::with_capacity(order.len());
        for (id, &i) in order.iter().enumerate() {
            let mut row = m.calls[i].clone();
            row.id = id;
            row.start_ms = (row.started_nanos - t0) as f64 / 1e6;
            calls.push(row);
            new_details.push(details[i].take().unwrap_or_default());
            new_ticks.push(ticks[i].take().unwrap_or_default());
        }
        if let Some(first) = calls.first() {
            m.started = first.started.clone();
        }
        label_threads(&mut calls, &self.threads);
        for c in &calls {
            let s = &mut m.sessions[c.session];
            if s.calls == 0 || c.start_ms < s.start_ms {
                s.start_ms = c.start_ms;
            }
            s.calls += 1;
            s.end_ms = s.end_ms.max(c.start_ms + c.duration_ms);
            if c.label.starts_with("turn ") {
                s.turns += 1;
            }
            if let Some(client) = c.client.as_ref().filter(|v| !s.clients.contains(v)) {
                s.clients.push(client.clone());
            }
            if let (Some(u), false) = (&c.usage, c.failed) {
                s.tokens += total_tokens(u);
                if let Some(cost) = c.cost {
                    *s.cost.get_or_insert(0.0) += cost;
                }
            }
        }
        m.span_ms = calls
            .iter()
            .map(|c| c.start_ms + c.duration_ms.max(c.end_ms))
            .fold(0.0, f64::max);
        m.leaks = m
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Leak)
            .count();
        m.tally.groups.sort_by(|a, b| a.0.cmp(&b.0));
        m.calls = calls;
        m.details = new_details;
        m.ticks = new_ticks;
        self.model
    }
}

/// Every token the call was billed for.
pub fn total_tokens(u: &Usage) -> u64 {
    u.input_tokens + u.output_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
}

/// Names each Messages call: the session's longest thread is its main
/// loop (`turn N`), other threads are subagents, side calls by role.
fn label_threads(calls: &mut [CallRow], threads: &Threads) {
    let mut longest: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for c in calls.iter() {
        if let Some(t) = c.thread {
            let n = threads.len(t);
            let best = longest.entry(c.session).or_insert((t, n));
            if n > best.1 || (n == best.1 && t < best.0) {
                *best = (t, n);
            }
        }
    }
    let mut sub_numbers: HashMap<usize, usize> = HashMap::new();
    let mut turns: HashMap<usize, usize> = HashMap::new();
    for c in calls.iter_mut() {
        let Some(t) = c.thread else {
            continue;
        };
        let turn = turns.entry(t).or_insert(0);
        *turn += 1;
        if longest.get(&c.session).is_some_and(|(main, _)| *main == t) {
            c.label = format!("turn {turn}");
        } else {
            let n = sub_numbers.len() + 1;
            let n = *sub_numbers.entry(t).or_insert(n);
            c.label = format!("subagent {n} · turn {turn}");
        }
    }
}

fn row_of(
    call: &Call,
    entry: &Entry,
    role: Role,
    file: usize,
    session: usize,
    (prices, with_offline): (&Prices, bool),
    placed: &super::detail::Placed,
) -> CallRow {
    let t = &entry.har.timings;
    let before_send = [t.blocked, t.dns, t.connect]
        .into_iter()
        .flatten()
        .filter(|v| *v > 0.0)
        .sum::<f64>();
    let sent_ms = before_send + t.send.max(0.0);
    let first_byte_ms = Some(t.wait).filter(|w| *w >= 0.0).map(|w| sent_ms + w);
    let r = &call.reply;
    let usage = r.usage.clone().filter(|_| call.endpoint.is_model_call());
    // Priced as `usage` prices: on the call's day; offline calls only
    // with --include-offline.
    let cost = usage
        .as_ref()
        .filter(|_| !call.failed() && (with_offline || !call.offline()))
        .and_then(|_| prices.call_cost(call));
    let end_ms = r.last_event_ms.unwrap_or(call.duration_ms).max(0.0);
    let tokens_per_s = match (&usage, r.first_token_ms, r.last_event_ms) {
        (Some(u), Some(first), Some(last)) if last - first > 1.0 => {
            Some(u.output_tokens as f64 / ((last - first) / 1000.0))
        }
        _ => None,
    };
    let label = match role {
        Role::Main => "main".to_owned(),
        other => other.name().to_owned(),
    };
    CallRow {
        id: 0,
        file,
        entry: call.index,
        session,
        role: role.name(),
        side: role.is_side(),
        label,
        thread: placed.thread,
        model: call.model().to_owned(),
        status: call.status,
        failed: call.failed(),
        offline: call.offline(),
        error: call.error.clone().or_else(|| r.api_error.clone()),
        method: call.method.clone(),
        host: call.host.clone(),
        path: call.path.clone(),
        client: call.client.as_ref().map(|(n, v)| format!("{n}/{v}")),
        usage,
        cost,
        start_ms: 0.0,
        sent_ms,
        first_byte_ms,
        ttft_ms: r.first_token_ms,
        end_ms,
        duration_ms: call.duration_ms.max(0.0),
        tokens_per_s,
        events: r.events,
        tools: r.tool_calls.iter().map(|t| t.name.clone()).collect(),
        stop_reason: r.stop_reason.clone(),
        cut_off: r.cut_off,
        prompt: placed.prompt,
        new_prompt: placed.new_prompt,
        started: call.started.clone(),
        started_nanos: call.started_nanos(),
    }
}

/// The stream's events with real arrival times (none for untimed streams).
fn ticks_of(entry: &Entry) -> Vec<Tick> {
    let Some(events) = entry.sse_events.as_deref() else {
        return Vec::new();
    };
    events
        .iter()
        .map(|e| {
            // Redacted before it is cut: a cut secret no longer matches.
            let data = cctap_archive::redact::redact_text(&e.data);
            let data = data.as_deref().unwrap_or(&e.data);
            let mut preview: String = data.chars().take(EVENT_PREVIEW).collect();
            if preview.len() < data.len() {
                preview.push('…');
            }
            Tick(e.time, e.event.clone(), preview)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::testkit::*;
    use serde_json::{json, Value};

    /// A main-loop (or side) call answered by a JSON message.
    fn call(body: Value, reply: Value, started: &str) -> Entry {
        let mut e = answered_json(
            request(
                "https://api.anthropic.com/v1/messages?beta=true",
                &[("User-Agent", UA_2_1)],
                &body,
            ),
            200,
            &reply,
        );
        e.har.started_date_time = started.into();
        e
    }

    fn body(fp: &str, messages: Value) -> Value {
        let mut b = main_body("claude-opus-5-5", &["Bash", "Read"], "The prompt.");
        b["system"][0]["text"] = json!(format!(
            "x-anthropic-billing-header: cc_version=2.1.332.{fp};"
        ));
        b["messages"] = messages;
        b
    }

    fn message(content: Value) -> Value {
        json!({"type": "message", "model": "claude-opus-5-5", "stop_reason": "end_turn", "content": content,
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100}})
    }

    fn model_of(entries: &[Entry]) -> Model {
        let prices = Prices::built_in();
        let mut c = Collector {
            prices: &prices,
            with_offline: false,
            model: Model::default(),
            threads: Threads::default(),
            sessions: HashMap::new(),
        };
        let src = Source {
            path: "s.har".into(),
        };
        for (i, e) in entries.iter().enumerate() {
            c.entry(0, &src, i, e).unwrap();
        }
        c.finish()
    }

    #[test]
    fn a_thread_keeps_new_messages_only_and_pairs_tool_results() {
        let user = json!({"role": "user", "content": [{"type": "text", "text": "fix it"}]});
        let asked = json!([{"type": "text", "text": "Looking"},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]);
        let second = json!([user, {"role": "assistant", "content": asked},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}]}]);
        let entries = [
            // Read in completion order: the second turn ends after the warmup.
            call(
                body("abc", json!([user])),
                message(asked.clone()),
                "2026-11-25T12:00:00.000+00:00",
            ),
            call(
                warmup_body("claude-haiku-4-5"),
                message(json!([{"type": "text", "text": "ok"}])),
                "2026-11-25T12:00:00.500+00:00",
            ),
            call(
                body("def", second),
                message(json!([{"type": "text", "text": "Done"}])),
                "2026-11-25T12:00:02.000+00:00",
            ),
            call(
                body(
                    "abc",
                    json!([{"role": "user", "content": "explore the repo"}]),
                ),
                message(json!([{"type": "text", "text": "Found it"}])),
                "2026-11-25T12:00:01.000+00:00",
            ),
        ];
        let m = model_of(&entries);
        let labels: Vec<&str> = m.calls.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            ["turn 1", "warmup", "subagent 1 · turn 1", "turn 2"],
            "start order"
        );
        assert_eq!(
            m.calls.iter().map(|c| c.entry).collect::<Vec<_>>(),
            [0, 1, 3, 2]
        );
        assert!(m.calls[1].side && !m.calls[0].side);

        let first = &m.details[0];
        assert_eq!((first.skipped, first.msgs.len()), (0, 1));
        let tool = &first.reply.tools[0];
        assert_eq!(
            (tool.name.as_str(), tool.result.as_deref()),
            ("Bash", Some("a.txt"))
        );
        assert_eq!(tool.input, "{\n  \"command\": \"ls\"\n}");

        let second = &m.details[3];
        assert_eq!(second.skipped, 1);
        assert!(second.echo, "the previous reply is not shown twice");
        assert_eq!(second.msgs.len(), 1);
        let result = &second.msgs[0].blocks[0];
        assert!(result.paired && result.t.is_empty(), "{result:?}");
        assert_eq!(result.name.as_deref(), Some("Bash"));
        assert_eq!(second.reply.text, "Done");

        // The billing fingerprint changed, the prompt did not: one version.
        assert_eq!(m.calls[0].prompt, m.calls[3].prompt);
        assert!(m.calls[0].new_prompt && !m.calls[3].new_prompt);
        assert_eq!(m.prompts.len(), 2, "the main prompt and the warmup's");
        assert_eq!(m.prompts[0].tools.len(), 2);

        assert_eq!(m.sessions.len(), 1);
        assert_eq!((m.sessions[0].calls, m.sessions[0].turns), (4, 2));
        assert_eq!(m.calls[3].start_ms, 2000.0);
        assert_eq!(m.tally.total.requests, 4);
    }

    #[test]
    fn results_in_the_same_call_pair_with_its_own_tool_uses() {
        // A recording that starts mid-thread: the tool use and its result
        // both arrive in the first call seen.
        let msgs = json!([{"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t9", "name": "Read", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t9", "content": "text", "is_error": true}]}]);
        let m = model_of(&[call(
            body("abc", msgs),
            message(json!([])),
            "2026-11-25T12:00:00.000+00:00",
        )]);
        let used = &m.details[0].msgs[1].blocks[0];
        assert_eq!(
            (used.result.as_deref(), used.is_error),
            (Some("text"), true)
        );
        assert!(m.details[0].msgs[2].blocks[0].paired);
    }

    #[test]
    fn a_shorter_conversation_is_shown_whole() {
        let long = json!([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]);
        let short =
            json!([{"role": "user", "content": "a"}, {"role": "user", "content": "summary"}]);
        let m = model_of(&[
            call(
                body("abc", long),
                message(json!([])),
                "2026-11-25T12:00:00.000+00:00",
            ),
            call(
                body("abc", short),
                message(json!([])),
                "2026-11-25T12:00:01.000+00:00",
            ),
        ]);
        assert!(m.details[1].rewritten);
        assert_eq!(m.details[1].msgs.len(), 2);
    }
}

//! `analyze usage --against ~/.claude/projects ARCHIVE…`: the wire
//! reconciled with Claude Code's own logs.
//!
//! Tools that total Claude Code's spend from its local transcripts
//! ([`local`]) see only what Claude Code chose to log. Every billed call on
//! the wire (a Messages API call with usage) is looked up there by
//! (session, message id), else by request id; per session the report
//! lists the wire calls missing locally, by kind (`subagent`, `side` with
//! the side call's role, `retry`), pairs whose token counts differ, local
//! entries with no wire counterpart, and both sides' token and cost
//! totals. Exit 1 when the two disagree.

pub mod local;
mod render;

use crate::call::{Call, Endpoint, Usage};
use crate::cli::UsageArgs;
use crate::input;
use crate::prices::Prices;
use crate::report::{Outcome, Style};
use crate::warehouse::calls::{CallRow, RowBuilder};
use local::{LocalCall, LocalLogs};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

/// A billed call on the wire.
#[derive(Clone, Debug, Serialize)]
pub struct WireCall {
    pub archive: String,
    pub entry_index: usize,
    pub session: Option<String>,
    pub message_id: Option<String>,
    pub request_id: Option<String>,
    pub model: String,
    /// `main`, `subagent`, `retry`, or `side`.
    pub category: &'static str,
    /// The role as `ls` names it (`main`, `warmup`, `title`, …).
    pub role: String,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    #[serde(skip)]
    started_nanos: i128,
    #[serde(skip)]
    prompt_hash: Option<String>,
}

/// Token and cost sums of one side.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Sums {
    pub calls: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cost_usd: f64,
    pub unpriced_calls: usize,
}

impl Sums {
    fn add(&mut self, u: &Usage, cost: Option<f64>) {
        self.calls += 1;
        self.input_tokens += u.input_tokens;
        self.output_tokens += u.output_tokens;
        self.cache_read_input_tokens += u.cache_read_input_tokens;
        self.cache_creation_input_tokens += u.cache_creation_input_tokens;
        match cost {
            Some(c) => self.cost_usd += c,
            None => self.unpriced_calls += 1,
        }
    }
}

/// A matched pair whose counts differ.
#[derive(Clone, Debug, Serialize)]
pub struct Differs {
    pub wire: WireCall,
    pub local: LocalEntry,
}

/// A local entry, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct LocalEntry {
    pub file: String,
    pub line: usize,
    pub message_id: String,
    pub request_id: Option<String>,
    pub model: String,
    pub sidechain: bool,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
}

impl LocalEntry {
    fn of(c: &LocalCall, prices: &Prices) -> LocalEntry {
        LocalEntry {
            file: c.file.display().to_string(),
            line: c.line,
            message_id: c.message_id.clone(),
            request_id: c.request_id.clone(),
            model: c.model.clone(),
            sidechain: c.sidechain,
            usage: c.usage.clone(),
            cost_usd: prices.cost_at(&c.model, &c.usage, c.day),
        }
    }
}

/// One session, both sides.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SessionReport {
    pub session: String,
    pub matched: usize,
    pub missing_locally: Vec<WireCall>,
    /// Missing calls counted by category (`side:title`, `subagent`, …).
    pub missing_by_kind: BTreeMap<String, usize>,
    pub missing_sums: Sums,
    pub token_differences: Vec<Differs>,
    pub local_only: Vec<LocalEntry>,
    pub wire: Sums,
    pub local: Sums,
    /// API calls on the wire that failed (no usage: not billed, not compared).
    pub failed_on_wire: usize,
}

impl SessionReport {
    pub fn agrees(&self) -> bool {
        self.missing_locally.is_empty()
            && self.token_differences.is_empty()
            && self.local_only.is_empty()
    }
}

/// The whole comparison.
#[derive(Debug, Default, Serialize)]
pub struct Reconciliation {
    pub agree: bool,
    pub sessions: Vec<SessionReport>,
    /// Billed wire calls without a session id (not Claude Code, or too old).
    pub wire_calls_without_session: usize,
    pub local_files: usize,
    pub local_entries: usize,
    /// Local sessions the archives do not hold (not compared).
    pub local_sessions_not_on_wire: usize,
}

pub fn run(
    args: &UsageArgs,
    json_out: bool,
    style: Style,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let dir = args.against.as_deref().expect("called with --against");
    let prices = Prices::load(args.prices.as_deref())?;
    let logs = LocalLogs::read(dir)?;
    let (wire, failed) = read_wire(&args.files.files, &prices)?;
    let r = reconcile(wire, &failed, &logs, &prices);
    if json_out {
        crate::report::write_json(out, &serde_json::to_value(&r)?)?;
    } else {
        render::text(out, &r, style)?;
    }
    Ok(if r.agree {
        Outcome::Clean
    } else {
        Outcome::Found
    })
}

/// Billed calls of every archive, and failed calls counted per session.
fn read_wire(
    paths: &[std::path::PathBuf],
    prices: &Prices,
) -> anyhow::Result<(Vec<WireCall>, HashMap<String, usize>)> {
    let mut wire = Vec::new();
    let mut failed: HashMap<String, usize> = HashMap::new();
    let mut builder = RowBuilder::new(prices);
    for source in input::expand(paths)? {
        builder.next_archive();
        let name = source.name();
        input::read_entries(&source, |i, entry| {
            let call = Call::from_entry(i, &entry);
            call.warn_body(&name);
            if call.endpoint != Endpoint::Messages {
                return Ok(());
            }
            let Some(row) = builder.row(&call, &entry, &name, "") else {
                return Ok(());
            };
            match (&call.reply.usage, call.failed()) {
                (Some(u), false) => wire.push(wire_call(&call, row, u.clone())),
                _ => {
                    *failed
                        .entry(row.session_id.unwrap_or_default())
                        .or_default() += 1
                }
            }
            Ok(())
        })?;
    }
    Ok((wire, failed))
}

fn wire_call(call: &Call, row: CallRow, usage: Usage) -> WireCall {
    WireCall {
        archive: row.archive,
        entry_index: call.index,
        session: row.session_id,
        message_id: row.message_id,
        request_id: row.request_id,
        model: call.model().to_owned(),
        category: if row.retry_of_entry.is_some() {
            "retry"
        } else if row.kind == "main" {
            "main"
        } else {
            "side"
        },
        role: row.kind,
        usage,
        cost_usd: row.cost_usd,
        started_nanos: call.started_nanos(),
        prompt_hash: row.system_prompt_hash,
    }
}

/// Calls with tools but another system prompt than the session's first
/// main-loop call are subagents (the Agent/Task tool's own loops).
fn mark_subagents(calls: &mut [&mut WireCall]) {
    let first = calls
        .iter()
        .filter(|c| c.category == "main")
        .min_by_key(|c| c.started_nanos)
        .map(|c| c.prompt_hash.clone());
    let Some(main_prompt) = first else { return };
    for c in calls.iter_mut() {
        if c.category == "main" && c.prompt_hash != main_prompt {
            c.category = "subagent";
        }
    }
}

/// Pairs the wire with the local logs, session by session.
pub fn reconcile(
    mut wire: Vec<WireCall>,
    failed: &HashMap<String, usize>,
    logs: &LocalLogs,
    prices: &Prices,
) -> Reconciliation {
    let mut r = Reconciliation {
        local_files: logs.files,
        local_entries: logs.calls.len(),
        ..Reconciliation::default()
    };
    let mut by_message: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_request: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in logs.calls.iter().enumerate() {
        by_message.entry(&c.message_id).or_default().push(i);
        if let Some(id) = &c.request_id {
            by_request.entry(id).or_default().push(i);
        }
    }
    let mut sessions: BTreeMap<String, Vec<WireCall>> = BTreeMap::new();
    for c in wire.drain(..) {
        match c.session.clone() {
            Some(s) => sessions.entry(s).or_default().push(c),
            None => r.wire_calls_without_session += 1,
        }
    }
    let mut used = vec![false; logs.calls.len()];
    for (session, mut calls) in sessions {
        calls.sort_by_key(|c| c.started_nanos);
        mark_subagents(&mut calls.iter_mut().collect::<Vec<_>>());
        let mut s = SessionReport {
            session: session.clone(),
            failed_on_wire: failed.get(&session).copied().unwrap_or(0),
            ..SessionReport::default()
        };
        for c in calls {
            s.wire.add(&c.usage, c.cost_usd);
            let pick = |ids: Option<&Vec<usize>>| {
                ids.into_iter()
                    .flatten()
                    .copied()
                    .find(|&i| !used[i] && logs.calls[i].session == session)
            };
            let found = c
                .message_id
                .as_deref()
                .and_then(|m| pick(by_message.get(m)))
                .or_else(|| {
                    c.request_id
                        .as_deref()
                        .and_then(|q| pick(by_request.get(q)))
                });
            match found {
                Some(i) => {
                    used[i] = true;
                    s.matched += 1;
                    let local = &logs.calls[i];
                    if !same_counts(&c.usage, &local.usage) {
                        s.token_differences.push(Differs {
                            wire: c,
                            local: LocalEntry::of(local, prices),
                        });
                    }
                }
                None => {
                    let kind = match c.category {
                        "side" => format!("side:{}", c.role),
                        k => k.to_owned(),
                    };
                    *s.missing_by_kind.entry(kind).or_default() += 1;
                    s.missing_sums.add(&c.usage, c.cost_usd);
                    s.missing_locally.push(c);
                }
            }
        }
        for (i, local) in logs.calls.iter().enumerate() {
            if local.session == session {
                s.local.add(
                    &local.usage,
                    prices.cost_at(&local.model, &local.usage, local.day),
                );
                if !used[i] {
                    s.local_only.push(LocalEntry::of(local, prices));
                }
            }
        }
        r.sessions.push(s);
    }
    let compared: std::collections::HashSet<&str> =
        r.sessions.iter().map(|s| s.session.as_str()).collect();
    let mut others: Vec<&str> = logs
        .calls
        .iter()
        .map(|c| c.session.as_str())
        .filter(|s| !compared.contains(s))
        .collect();
    others.sort_unstable();
    others.dedup();
    r.local_sessions_not_on_wire = others.len();
    r.agree = r.sessions.iter().all(SessionReport::agrees);
    r
}

fn same_counts(a: &Usage, b: &Usage) -> bool {
    (
        a.input_tokens,
        a.output_tokens,
        a.cache_read_input_tokens,
        a.cache_creation_input_tokens,
    ) == (
        b.input_tokens,
        b.output_tokens,
        b.cache_read_input_tokens,
        b.cache_creation_input_tokens,
    )
}

#[cfg(test)]
mod tests;

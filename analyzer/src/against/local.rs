//! Claude Code's own logs: the session transcripts it writes under
//! `~/.claude/projects/<project>/<session>.jsonl` (subagents' in
//! subdirectories), one JSON object a line.
//!
//! Only `type: "assistant"` lines carry API usage: `sessionId`,
//! `requestId`, and `message` with the reply's `id`, `model` and `usage`.
//! Claude Code writes one line per content block of a reply, each with the
//! same message id, so lines are merged by (session, message id), keeping
//! for each count the largest any of them carries. `model: "<synthetic>"`
//! lines are messages Claude Code made up itself (errors, interruptions),
//! not API calls, and are skipped.

use crate::call::Usage;
use anyhow::Context;
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One API reply as the local logs saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalCall {
    pub session: String,
    pub message_id: String,
    pub request_id: Option<String>,
    pub model: String,
    pub usage: Usage,
    /// The file and the first line (from 1) that named this message.
    pub file: PathBuf,
    pub line: usize,
    /// A subagent's line (`isSidechain: true`).
    pub sidechain: bool,
    /// The UTC day of its `timestamp`, to price it as the wire call is.
    pub day: Option<time::Date>,
}

/// Everything read from the transcripts.
#[derive(Debug, Default)]
pub struct LocalLogs {
    pub calls: Vec<LocalCall>,
    pub files: usize,
    /// Lines that were not JSON (a transcript being written, a stray file).
    pub bad_lines: usize,
}

impl LocalLogs {
    /// Reads every `*.jsonl` under `dir`, recursively.
    pub fn read(dir: &Path) -> anyhow::Result<LocalLogs> {
        if !dir.is_dir() {
            anyhow::bail!(
                "{} is not a directory: pass Claude Code's transcripts directory (usually ~/.claude/projects)",
                dir.display()
            );
        }
        let mut logs = LocalLogs::default();
        let mut index: HashMap<(String, String), usize> = HashMap::new();
        for file in crate::warehouse::dataset::files_under(dir, "jsonl")? {
            logs.files += 1;
            let reader = std::io::BufReader::new(
                std::fs::File::open(&file)
                    .with_context(|| format!("cannot open {}", file.display()))?,
            );
            for (n, line) in reader.lines().enumerate() {
                let line = line.with_context(|| format!("reading {}", file.display()))?;
                if line.trim().is_empty() {
                    continue;
                }
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    logs.bad_lines += 1;
                    continue;
                };
                if let Some(call) = assistant_line(&v, &file, n + 1) {
                    logs.merge(call, &mut index);
                }
            }
        }
        Ok(logs)
    }

    fn merge(&mut self, call: LocalCall, index: &mut HashMap<(String, String), usize>) {
        let key = (call.session.clone(), call.message_id.clone());
        match index.get(&key) {
            Some(&i) => {
                let u = &mut self.calls[i].usage;
                let n = &call.usage;
                u.input_tokens = u.input_tokens.max(n.input_tokens);
                u.output_tokens = u.output_tokens.max(n.output_tokens);
                u.cache_read_input_tokens =
                    u.cache_read_input_tokens.max(n.cache_read_input_tokens);
                u.cache_creation_input_tokens = u
                    .cache_creation_input_tokens
                    .max(n.cache_creation_input_tokens);
            }
            None => {
                index.insert(key, self.calls.len());
                self.calls.push(call);
            }
        }
    }
}

/// The API reply an `assistant` line records, if it is one.
pub fn assistant_line(v: &Value, file: &Path, line: usize) -> Option<LocalCall> {
    if v.get("type").and_then(Value::as_str) != Some("assistant") {
        return None;
    }
    let message = v.get("message")?;
    let model = message.get("model").and_then(Value::as_str).unwrap_or("");
    if model == "<synthetic>" {
        return None;
    }
    let usage = message.get("usage")?;
    let mut u = Usage::default();
    u.apply(usage);
    let text = |x: Option<&Value>| x.and_then(Value::as_str).map(str::to_owned);
    Some(LocalCall {
        session: text(v.get("sessionId")).unwrap_or_default(),
        message_id: text(message.get("id"))?,
        request_id: text(v.get("requestId")),
        model: model.to_owned(),
        usage: u,
        file: file.to_owned(),
        line,
        sidechain: v.get("isSidechain").and_then(Value::as_bool) == Some(true),
        day: v
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(crate::prices::date_of),
    })
}

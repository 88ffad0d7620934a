//! The `messages` table (`--with-content` only): one row per content block
//! of a call, as the model saw it (system blocks, every message of the
//! request) and as it answered (the reply's thinking, text and tool calls).
//! Each request repeats the whole conversation, so a session's early
//! blocks come again with every later call: `message_index` and `source`
//! let a query keep one copy (`WHERE source = 'reply'` gives each answer
//! once). Text is passed through the redaction scanner first, so no
//! credential leaves the archive even where the archive kept one.

use super::calls::CallRow;
use super::table::{col, Cell, Column, Kind};
use crate::call::request::Block;
use crate::call::Call;
use cctap_archive::redact::redact_text;

/// The `messages` columns, in file order (the README's table is checked
/// against this list by a test).
#[rustfmt::skip]
pub const COLUMNS: &[Column] = &[
    col("call_id", Kind::Str, false, "the call the block belongs to (joins `calls.call_id`)"),
    col("session_id", Kind::Str, true, "Claude Code's session, as in `calls`"),
    col("started_at", Kind::Timestamp, true, "the call's start (UTC, µs)"),
    col("source", Kind::Str, false, "`system` (the system prompt), `request` (a message the request sent) or `reply` (the model's answer)"),
    col("message_index", Kind::I32, true, "the message's position in the request's `messages` (null for system and reply blocks)"),
    col("block_index", Kind::I32, false, "the block's position in its message (or in the system prompt, or the reply)"),
    col("role", Kind::Str, false, "`system`, `user` or `assistant`"),
    col("type", Kind::Str, false, "`text`, `thinking`, `tool_use`, `tool_result`, `image`, … as sent"),
    col("text", Kind::Str, true, "a text or thinking block's text, a tool_use's input JSON, a tool_result's text; redacted"),
    col("tool_name", Kind::Str, true, "a tool_use's tool"),
    col("tool_use_id", Kind::Str, true, "a tool_use's id, or the id a tool_result answers"),
    col("is_error", Kind::Bool, true, "a tool_result's `is_error`"),
    col("chars", Kind::I64, false, "characters of `text` as stored in the archive (before redaction)"),
    col("bytes", Kind::I64, true, "bytes of the block's JSON as sent (null for reply blocks, which arrive as stream events)"),
];

/// One block's row.
struct Row<'a> {
    source: &'static str,
    message_index: Option<i32>,
    block_index: usize,
    role: &'a str,
    kind: &'a str,
    text: &'a str,
    tool_name: Option<String>,
    tool_use_id: Option<String>,
    is_error: Option<bool>,
    bytes: Option<usize>,
}

impl Row<'_> {
    fn cells(&self, call: &CallRow) -> Vec<Cell> {
        let text = redact_text(self.text).unwrap_or_else(|| self.text.to_owned());
        vec![
            Cell::Str(call.call_id.clone()),
            Cell::opt_str(call.session_id.clone()),
            call.started_at_us.map_or(Cell::Null, Cell::I64),
            Cell::Str(self.source.to_owned()),
            self.message_index.map_or(Cell::Null, Cell::I32),
            Cell::I32(i32::try_from(self.block_index).unwrap_or(i32::MAX)),
            Cell::Str(self.role.to_owned()),
            Cell::Str(self.kind.to_owned()),
            Cell::Str(text),
            Cell::opt_str(self.tool_name.clone()),
            Cell::opt_str(self.tool_use_id.clone()),
            self.is_error.map_or(Cell::Null, Cell::Bool),
            Cell::I64(self.text.chars().count() as i64),
            Cell::opt_i64(self.bytes.map(|b| b as i64)),
        ]
    }
}

fn of_block<'a>(
    source: &'static str,
    message_index: Option<i32>,
    block_index: usize,
    role: &'a str,
    b: &'a Block,
) -> Row<'a> {
    let field = |k: &str| b.raw.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    Row {
        source,
        message_index,
        block_index,
        role,
        kind: &b.kind,
        text: &b.text,
        tool_name: (b.kind.ends_with("tool_use"))
            .then(|| field("name"))
            .flatten(),
        tool_use_id: field("id").or_else(|| field("tool_use_id")),
        is_error: b.raw.get("is_error").and_then(|v| v.as_bool()),
        bytes: Some(serde_json::to_string(&b.raw).map_or(0, |s| s.len())),
    }
}

/// The rows of one call's blocks, each as a row of cells.
pub fn rows(call: &Call, row: &CallRow) -> Vec<Vec<Cell>> {
    let mut out = Vec::new();
    if let Some(req) = &call.request {
        for (i, b) in req.system().iter().enumerate() {
            out.push(of_block("system", None, i, "system", b).cells(row));
        }
        for (m, msg) in req.messages().iter().enumerate() {
            let m = Some(i32::try_from(m).unwrap_or(i32::MAX));
            for (i, b) in msg.blocks.iter().enumerate() {
                out.push(of_block("request", m, i, &msg.role, b).cells(row));
            }
        }
    }
    let r = &call.reply;
    let mut reply = Vec::new();
    if !r.thinking.is_empty() {
        reply.push(("thinking", r.thinking.as_str(), None, None));
    }
    if !r.text.is_empty() {
        reply.push(("text", r.text.as_str(), None, None));
    }
    for t in &r.tool_calls {
        reply.push(("tool_use", t.input.as_str(), Some(&t.name), Some(&t.id)));
    }
    for (i, (kind, text, name, id)) in reply.into_iter().enumerate() {
        let row_of = Row {
            source: "reply",
            message_index: None,
            block_index: i,
            role: "assistant",
            kind,
            text,
            tool_name: name.cloned(),
            tool_use_id: id.cloned(),
            is_error: None,
            bytes: None,
        };
        out.push(row_of.cells(row));
    }
    out
}

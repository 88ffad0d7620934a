//! The `calls` table: one row per Messages API call (and per
//! `count_tokens` call, and per OpenAI-style `chat/completions` or
//! `responses` call, its usage mapped as `usage` maps it), built from the
//! call model, priced with the price table, its role named by
//! [`crate::classify`].
//!
//! `call_id` is what makes the warehouse mergeable: Anthropic's
//! `request-id` response header where the archive has it (unique per call
//! on the API's side), else the `request_hash`: `cctap_` and 32 hex digits
//! of SHA-256 over the method, URL, request body and `startedDateTime`. The
//! same call copied into two archives gets the same id either way. A
//! `request-id` seen before with another request (fakes and some
//! Anthropic-compatible APIs number their replies per process) is not
//! trusted: that call's id is its `request_hash` (see [`super::ids`]).

use super::table::{col, Cell, Column, Kind};
use crate::call::{Call, Endpoint};
use crate::classify::{self, Retries};
use crate::mask::Masks;
use crate::prices::{self, Prices};
use cctap_archive::Entry;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// The `calls` columns, in file order. The README's schema table is
/// checked against this list by a test.
pub const COLUMNS: &[Column] = &[
    col("call_id", Kind::Str, false, "Anthropic's `request-id` response header, else `request_hash`"),
    col("request_hash", Kind::Str, false, "`cctap_` + 32 hex digits of SHA-256(method, URL, request body, startedDateTime)"),
    col("session_id", Kind::Str, true, "Claude Code's session: `metadata.user_id`'s session part, else the `X-Claude-Code-Session-Id` header"),
    col("started_at", Kind::Timestamp, true, "when the request started (UTC, µs)"),
    col("archive", Kind::Str, false, "the archive file, as named on the command line"),
    col("archive_sha256", Kind::Str, false, "SHA-256 of the archive file (joins `_cctap_manifest.json`)"),
    col("entry_index", Kind::I64, false, "the entry's position in its archive, as `analyze ls` numbers it"),
    col("host", Kind::Str, false, "the upstream host (and port when not the default)"),
    col("url", Kind::Str, false, "the upstream URL"),
    col("method", Kind::Str, false, "HTTP method"),
    col("client_name", Kind::Str, true, "from `User-Agent` (`claude-cli`)"),
    col("client_version", Kind::Str, true, "from `User-Agent` (`2.1.332`)"),
    col("kind", Kind::Str, false, "`main`, `warmup`, `git-history`, `title`, `topic`, `quota`, `side`, `count_tokens`, or `chat/completions` / `responses` for OpenAI-style calls (kinds as `analyze ls` names them)"),
    col("retry_of_entry", Kind::I64, true, "for a retry: the `entry_index` of the failed attempt it repeats"),
    col("model", Kind::Str, true, "the requested model (else the reply's)"),
    col("stream", Kind::Bool, true, "the request's `stream` flag"),
    col("status", Kind::I32, false, "HTTP status; 0 when no response head arrived"),
    col("error", Kind::Str, true, "why the call failed: the archive's `_error`, else the API's `type: message`"),
    col("stop_reason", Kind::Str, true, "the reply's `stop_reason`"),
    col("message_id", Kind::Str, true, "the reply's message id (`msg_…`)"),
    col("request_id", Kind::Str, true, "the `request-id` response header"),
    col("input_tokens", Kind::I64, true, "usage as the API reported it (prompt tokens not read from the cache); null for failed calls and count_tokens, which are not billed, and for OpenAI-style replies without usage"),
    col("output_tokens", Kind::I64, true, "the final `message_delta`'s count"),
    col("cache_read_input_tokens", Kind::I64, true, "prompt tokens read from the cache"),
    col("cache_creation_input_tokens", Kind::I64, true, "prompt tokens written to the cache (both TTLs)"),
    col("cache_creation_5m_input_tokens", Kind::I64, true, "cache writes at the 5-minute rate (all of them when the API sent no split)"),
    col("cache_creation_1h_input_tokens", Kind::I64, true, "cache writes at the 1-hour rate"),
    col("cost_usd", Kind::F64, true, "estimated cost, priced on the call's day (the table's effective dates); null when the model has no price or the call was not billed (failed, count_tokens, offline)"),
    col("price_date", Kind::Str, true, "the date of the price table `cost_usd` comes from (the built-in table's, or the `--prices` file's)"),
    col("ttft_ms", Kind::F64, true, "time to the first content delta (timed streams only)"),
    col("duration_ms", Kind::F64, true, "the whole exchange (HAR `time`)"),
    col("output_tokens_per_s", Kind::F64, true, "output tokens over the time from the first delta to the last event"),
    col("tools_offered", Kind::I32, true, "how many tools the request carried"),
    col("tool_names", Kind::StrList, true, "the tools the model called in its reply, in order"),
    col("system_prompt_hash", Kind::Str, true, "16 hex digits of SHA-256 over the system blocks, masked as `analyze diff` masks them: calls group by prompt version"),
    col("request_bytes", Kind::I64, true, "size of the request body"),
    col("cut_off", Kind::Bool, false, "the stream started but never reached `message_stop`"),
    col("offline", Kind::Bool, false, "answered by `record -m offline`: tokens are estimates and nothing was billed (`usage` keeps these apart)"),
];

/// One call's row, typed; [`CallRow::cells`] lays it out as [`COLUMNS`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallRow {
    pub call_id: String,
    pub request_hash: String,
    pub session_id: Option<String>,
    pub started_at_us: Option<i64>,
    /// `YYYY-MM-DD` (UTC), the partition; `unknown` without a start time.
    pub date: String,
    pub archive: String,
    pub archive_sha256: String,
    pub entry_index: i64,
    pub host: String,
    pub url: String,
    pub method: String,
    pub client_name: Option<String>,
    pub client_version: Option<String>,
    pub kind: String,
    pub retry_of_entry: Option<i64>,
    pub model: Option<String>,
    pub stream: Option<bool>,
    pub status: i32,
    pub error: Option<String>,
    pub stop_reason: Option<String>,
    pub message_id: Option<String>,
    pub request_id: Option<String>,
    /// input, output, cache read, cache write, 5m, 1h.
    pub tokens: Option<[i64; 6]>,
    pub cost_usd: Option<f64>,
    pub price_date: Option<String>,
    pub ttft_ms: Option<f64>,
    pub duration_ms: Option<f64>,
    pub output_tokens_per_s: Option<f64>,
    pub tools_offered: Option<i32>,
    pub tool_names: Vec<String>,
    pub system_prompt_hash: Option<String>,
    pub request_bytes: Option<i64>,
    pub cut_off: bool,
    pub offline: bool,
}

impl CallRow {
    pub fn cells(self) -> Vec<Cell> {
        let tokens = |i: usize| Cell::opt_i64(self.tokens.map(|t| t[i]));
        vec![
            Cell::Str(self.call_id.clone()),
            Cell::Str(self.request_hash.clone()),
            Cell::opt_str(self.session_id.clone()),
            self.started_at_us.map_or(Cell::Null, Cell::I64),
            Cell::Str(self.archive.clone()),
            Cell::Str(self.archive_sha256.clone()),
            Cell::I64(self.entry_index),
            Cell::Str(self.host.clone()),
            Cell::Str(self.url.clone()),
            Cell::Str(self.method.clone()),
            Cell::opt_str(self.client_name.clone()),
            Cell::opt_str(self.client_version.clone()),
            Cell::Str(self.kind.clone()),
            Cell::opt_i64(self.retry_of_entry),
            Cell::opt_str(self.model.clone()),
            self.stream.map_or(Cell::Null, Cell::Bool),
            Cell::I32(self.status),
            Cell::opt_str(self.error.clone()),
            Cell::opt_str(self.stop_reason.clone()),
            Cell::opt_str(self.message_id.clone()),
            Cell::opt_str(self.request_id.clone()),
            tokens(0),
            tokens(1),
            tokens(2),
            tokens(3),
            tokens(4),
            tokens(5),
            Cell::opt_f64(self.cost_usd),
            Cell::opt_str(self.price_date.clone()),
            Cell::opt_f64(self.ttft_ms),
            Cell::opt_f64(self.duration_ms),
            Cell::opt_f64(self.output_tokens_per_s),
            self.tools_offered.map_or(Cell::Null, Cell::I32),
            Cell::StrList(self.tool_names),
            Cell::opt_str(self.system_prompt_hash),
            Cell::opt_i64(self.request_bytes),
            Cell::Bool(self.cut_off),
            Cell::Bool(self.offline),
        ]
    }
}

/// The request's content hash (see the module's doc).
pub fn request_hash(entry: &Entry) -> String {
    let req = &entry.har.request;
    let mut h = Sha256::new();
    for part in [
        req.method.as_str(),
        req.url.as_str(),
        entry.request_text().unwrap_or(""),
        entry.har.started_date_time.as_str(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("cctap_{}", hex(&h.finalize()[..16]))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the rows of one archive; keeps what rows need from the calls
/// before them (retries) and across archives (masked prompt hashes).
pub struct RowBuilder<'a> {
    prices: &'a Prices,
    /// The table's date, for `price_date`.
    price_date: String,
    masks: Masks,
    /// Raw system text's hash → masked hash: masking a 10 KB prompt per
    /// call would cost more than the rest of the row.
    prompt_hashes: HashMap<u64, Option<String>>,
    retries: Retries,
}

impl<'a> RowBuilder<'a> {
    pub fn new(prices: &'a Prices) -> RowBuilder<'a> {
        let file_date = prices.to_json()["file"]["date"].as_str().map(str::to_owned);
        RowBuilder {
            prices,
            price_date: file_date.unwrap_or_else(|| prices::TABLE_DATE.to_owned()),
            masks: Masks::claude_code(),
            prompt_hashes: HashMap::new(),
            retries: Retries::default(),
        }
    }

    /// Starts a new archive (retries do not cross files).
    pub fn next_archive(&mut self) {
        self.retries = Retries::default();
    }

    /// The row of an API call; `None` for other traffic (telemetry, pages).
    pub fn row(
        &mut self,
        call: &Call,
        entry: &Entry,
        archive: &str,
        archive_sha256: &str,
    ) -> Option<CallRow> {
        if call.endpoint == Endpoint::Other {
            return None;
        }
        let retry_of = self.retries.observe(call);
        let started = cctap_archive::model::parse_started(&call.started);
        let usage = call
            .reply
            .usage
            .as_ref()
            .filter(|_| call.endpoint.is_model_call() && !call.failed());
        let model = Some(call.model()).filter(|m| !m.is_empty());
        let offline = call.offline();
        let cost = usage.filter(|_| !offline).and_then(|u| {
            self.prices
                .cost_at(call.model(), u, prices::date_of(&call.started))
        });
        let reply = &call.reply;
        let error = call.error.clone().or_else(|| reply.api_error.clone());
        let tokens_per_s = match (usage, reply.first_token_ms, reply.last_event_ms) {
            (Some(u), Some(first), Some(last)) if last > first => {
                Some(u.output_tokens as f64 / ((last - first) / 1000.0))
            }
            _ => None,
        };
        let req = call.request.as_ref();
        let hash = request_hash(entry);
        Some(CallRow {
            call_id: match entry
                .response_header("request-id")
                .filter(|v| !v.is_empty())
            {
                Some(id) => id.to_owned(),
                None => hash.clone(),
            },
            request_hash: hash,
            session_id: call.session().map(str::to_owned),
            started_at_us: started.map(|t| (t.unix_timestamp_nanos() / 1000) as i64),
            date: started.map_or_else(
                || "unknown".to_owned(),
                |t| t.to_offset(time::UtcOffset::UTC).date().to_string(),
            ),
            archive: archive.to_owned(),
            archive_sha256: archive_sha256.to_owned(),
            entry_index: call.index as i64,
            host: call.host.clone(),
            url: call.url.clone(),
            method: call.method.clone(),
            client_name: call.client.as_ref().map(|c| c.0.clone()),
            client_version: call.client.as_ref().map(|c| c.1.clone()),
            kind: classify::role(call).name().to_owned(),
            retry_of_entry: retry_of.map(|i| i as i64),
            model: model.map(str::to_owned),
            stream: req
                .map(|r| r.params.get("stream") == Some(&serde_json::Value::Bool(true)))
                .or(call.openai.as_ref().map(|f| f.stream)),
            status: call.status as i32,
            error,
            stop_reason: reply.stop_reason.clone(),
            message_id: reply.id.clone(),
            request_id: entry.response_header("request-id").map(str::to_owned),
            tokens: usage.map(|u| {
                let (w5, w1) = u.cache_writes();
                [
                    u.input_tokens,
                    u.output_tokens,
                    u.cache_read_input_tokens,
                    u.cache_creation_input_tokens,
                    w5,
                    w1,
                ]
                .map(|n| n as i64)
            }),
            cost_usd: cost,
            price_date: cost.map(|_| self.price_date.clone()),
            ttft_ms: reply.first_token_ms,
            duration_ms: Some(call.duration_ms).filter(|d| *d >= 0.0),
            output_tokens_per_s: tokens_per_s,
            tools_offered: req.map(|r| r.tool_count() as i32),
            tool_names: reply.tool_calls.iter().map(|t| t.name.clone()).collect(),
            system_prompt_hash: req.and_then(|r| self.prompt_hash(r)),
            request_bytes: entry.request_text().map(|t| t.len() as i64),
            cut_off: reply.cut_off,
            offline,
        })
    }

    /// The masked system prompt's hash, cached by the raw prompt.
    fn prompt_hash(&mut self, req: &crate::call::MessagesRequest) -> Option<String> {
        let system = req.system();
        if system.is_empty() {
            return None;
        }
        let mut key = DefaultHasher::new();
        for b in &system {
            b.text.hash(&mut key);
        }
        let key = key.finish();
        if let Some(hit) = self.prompt_hashes.get(&key) {
            return hit.clone();
        }
        // 2.1.x names the working directory in a message, not the prompt.
        let messages = req.messages();
        let texts = system
            .iter()
            .chain(messages.iter().flat_map(|m| m.blocks.iter()))
            .map(|b| b.text.as_str());
        let cwd = self.masks.working_directory(texts);
        let mut h = Sha256::new();
        for b in &system {
            let masked = self.masks.apply(&b.text, cwd.as_deref());
            h.update((masked.len() as u64).to_le_bytes());
            h.update(masked.as_bytes());
        }
        let hash = Some(hex(&h.finalize()[..8]));
        if self.prompt_hashes.len() > 4096 {
            self.prompt_hashes.clear();
        }
        self.prompt_hashes.insert(key, hash.clone());
        hash
    }
}

#[cfg(test)]
#[path = "calls_tests.rs"]
mod tests;

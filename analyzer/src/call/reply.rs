//! The response half of a Messages API call: usage, stop reason, the reply
//! text and tool calls reassembled, and timings, from a stream of
//! server-sent events or from a JSON body.
//!
//! Counting follows the wire: `output_tokens` is the final `message_delta`'s
//! (it is cumulative, so never added to `message_start`'s), and any other
//! usage field a `message_delta` carries replaces the start's value.

use cctap_archive::SseEvent;
use serde::Serialize;
use serde_json::Value;

/// Token counts as the API reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    /// The 5-minute/1-hour split of cache writes, where the API sends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_5m_input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_1h_input_tokens: Option<u64>,
    /// Of `output_tokens`, those spent reasoning, where the API says so
    /// (OpenAI's `reasoning_tokens`, already counted in `output_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Overwrites the fields present in an API `usage` object.
    pub fn apply(&mut self, v: &Value) {
        let get = |k: &str| v.get(k).and_then(Value::as_u64);
        if let Some(n) = get("input_tokens") {
            self.input_tokens = n;
        }
        if let Some(n) = get("output_tokens") {
            self.output_tokens = n;
        }
        if let Some(n) = get("cache_creation_input_tokens") {
            self.cache_creation_input_tokens = n;
        }
        if let Some(n) = get("cache_read_input_tokens") {
            self.cache_read_input_tokens = n;
        }
        if let Some(cc) = v.get("cache_creation") {
            if let Some(n) = cc.get("ephemeral_5m_input_tokens").and_then(Value::as_u64) {
                self.ephemeral_5m_input_tokens = Some(n);
            }
            if let Some(n) = cc.get("ephemeral_1h_input_tokens").and_then(Value::as_u64) {
                self.ephemeral_1h_input_tokens = Some(n);
            }
        }
    }

    /// Cache writes billed at the 5-minute and the 1-hour rate: the split
    /// where sent, else all 5-minute (the API's default TTL).
    pub fn cache_writes(&self) -> (u64, u64) {
        match (
            self.ephemeral_5m_input_tokens,
            self.ephemeral_1h_input_tokens,
        ) {
            (None, None) => (self.cache_creation_input_tokens, 0),
            (m5, h1) => (m5.unwrap_or(0), h1.unwrap_or(0)),
        }
    }
}

/// A tool call the model made, its input reassembled.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The input JSON as streamed (`input_json_delta`s joined).
    pub input: String,
}

/// Where the reply was read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplySource {
    /// The entry's `_sseEvents` (timed).
    SseEvents,
    /// The raw stream in `content.text`, parsed here (untimed).
    SseText,
    /// A JSON body (non-streaming reply, error or count_tokens).
    Json,
    #[default]
    None,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Reply {
    pub source: ReplySource,
    pub id: Option<String>,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    pub stop_reason: Option<String>,
    pub text: String,
    pub thinking: String,
    pub tool_calls: Vec<ToolCall>,
    /// Time of the first content delta, ms since the request started.
    pub first_token_ms: Option<f64>,
    /// Time of the last event.
    pub last_event_ms: Option<f64>,
    /// A stream that started but never reached `message_stop`.
    pub cut_off: bool,
    /// An API error (`error` event or error body): `type: message`.
    pub api_error: Option<String>,
    /// A count_tokens reply's `input_tokens`.
    pub counted_tokens: Option<u64>,
    pub events: usize,
}

impl Reply {
    /// The empty reply a stream of `events` is read into, and whether
    /// their times are real (timed `_sseEvents`, not raw text).
    pub fn for_stream(events: &[SseEvent], source: ReplySource) -> (Reply, bool) {
        let reply = Reply {
            source,
            events: events.len(),
            ..Reply::default()
        };
        (reply, source == ReplySource::SseEvents)
    }

    /// Reassembles a stream. `source` says whether event times are real.
    pub fn from_events(events: &[SseEvent], source: ReplySource) -> Reply {
        let (mut r, timed) = Reply::for_stream(events, source);
        let mut started = false;
        let mut stopped = false;
        let mut current_tool: Option<usize> = None;
        for ev in events {
            let Ok(data) = serde_json::from_str::<Value>(&ev.data) else {
                continue;
            };
            let kind = data
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or(ev.event.as_str());
            if timed {
                r.last_event_ms = Some(ev.time);
            }
            match kind {
                "message_start" => {
                    started = true;
                    let msg = &data["message"];
                    r.id = msg.get("id").and_then(Value::as_str).map(str::to_owned);
                    r.model = msg.get("model").and_then(Value::as_str).map(str::to_owned);
                    let mut u = Usage::default();
                    u.apply(&msg["usage"]);
                    r.usage = Some(u);
                }
                "content_block_start" => {
                    let block = &data["content_block"];
                    current_tool = None;
                    match block.get("type").and_then(Value::as_str) {
                        Some("tool_use") | Some("server_tool_use") => {
                            r.tool_calls.push(ToolCall {
                                id: str_of(block, "id"),
                                name: str_of(block, "name"),
                                input: String::new(),
                            });
                            current_tool = Some(r.tool_calls.len() - 1);
                        }
                        Some("text") => r
                            .text
                            .push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
                        _ => {}
                    }
                }
                "content_block_delta" => {
                    if timed && r.first_token_ms.is_none() {
                        r.first_token_ms = Some(ev.time);
                    }
                    let d = &data["delta"];
                    match d.get("type").and_then(Value::as_str) {
                        Some("text_delta") => r.text.push_str(d["text"].as_str().unwrap_or("")),
                        Some("thinking_delta") => {
                            r.thinking.push_str(d["thinking"].as_str().unwrap_or(""))
                        }
                        Some("input_json_delta") => {
                            if let Some(t) = current_tool.and_then(|i| r.tool_calls.get_mut(i)) {
                                t.input.push_str(d["partial_json"].as_str().unwrap_or(""));
                            }
                        }
                        _ => {}
                    }
                }
                "message_delta" => {
                    if let Some(s) = data["delta"].get("stop_reason").and_then(Value::as_str) {
                        r.stop_reason = Some(s.to_owned());
                    }
                    if let Some(u) = data.get("usage") {
                        r.usage.get_or_insert_with(Usage::default).apply(u);
                    }
                }
                "message_stop" => stopped = true,
                "error" => r.api_error = Some(error_of(&data)),
                _ => {}
            }
        }
        // An `error` event mid-stream also ends it early: flagged, and counted
        // as far as it went.
        r.cut_off = started && !stopped;
        r
    }

    /// Reads a JSON body: a message, an error, or a count_tokens answer.
    pub fn from_json(body: &str) -> Option<Reply> {
        let v: Value = serde_json::from_str(body).ok()?;
        let mut r = Reply {
            source: ReplySource::Json,
            ..Reply::default()
        };
        match v.get("type").and_then(Value::as_str) {
            Some("error") => r.api_error = Some(error_of(&v)),
            Some("message") => {
                r.id = v.get("id").and_then(Value::as_str).map(str::to_owned);
                r.model = v.get("model").and_then(Value::as_str).map(str::to_owned);
                r.stop_reason = v
                    .get("stop_reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if let Some(u) = v.get("usage") {
                    let mut usage = Usage::default();
                    usage.apply(u);
                    r.usage = Some(usage);
                }
                for block in v["content"].as_array().into_iter().flatten() {
                    match block.get("type").and_then(Value::as_str) {
                        Some("text") => r.text.push_str(block["text"].as_str().unwrap_or("")),
                        Some("thinking") => r
                            .thinking
                            .push_str(block["thinking"].as_str().unwrap_or("")),
                        Some("tool_use") | Some("server_tool_use") => r.tool_calls.push(ToolCall {
                            id: str_of(block, "id"),
                            name: str_of(block, "name"),
                            input: block.get("input").map(Value::to_string).unwrap_or_default(),
                        }),
                        _ => {}
                    }
                }
            }
            _ => r.counted_tokens = v.get("input_tokens").and_then(Value::as_u64),
        }
        Some(r)
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn error_of(v: &Value) -> String {
    let e = &v["error"];
    format!(
        "{}: {}",
        e["type"].as_str().unwrap_or("error"),
        e["message"].as_str().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::call::testkit::typed_event as ev;

    fn stream() -> Vec<SseEvent> {
        vec![
            ev(
                310.0,
                json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude-sonnet-4-5-20250929", "usage": {
                "input_tokens": 12, "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 9000, "output_tokens": 1,
                "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000}}}}),
            ),
            ev(
                311.0,
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            ev(312.0, json!({"type": "ping"})),
            ev(
                402.5,
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
            ),
            ev(
                410.0,
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
            ),
            ev(411.0, json!({"type": "content_block_stop", "index": 0})),
            ev(
                412.0,
                json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}}),
            ),
            ev(
                413.0,
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"command\":"}}),
            ),
            ev(
                414.0,
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"ls\"}"}}),
            ),
            ev(415.0, json!({"type": "content_block_stop", "index": 1})),
            ev(
                420.0,
                json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 57}}),
            ),
            ev(421.0, json!({"type": "message_stop"})),
        ]
    }

    #[test]
    fn a_stream_reassembles_with_final_output_tokens() {
        let r = Reply::from_events(&stream(), ReplySource::SseEvents);
        let u = r.usage.clone().unwrap();
        assert_eq!(u.input_tokens, 12);
        assert_eq!(u.output_tokens, 57, "final message_delta, not 57 + 1");
        assert_eq!(u.cache_creation_input_tokens, 3000);
        assert_eq!(u.cache_read_input_tokens, 9000);
        assert_eq!(u.cache_writes(), (1000, 2000));
        assert_eq!(r.text, "Hello");
        assert_eq!(
            r.tool_calls,
            [ToolCall {
                id: "toolu_1".into(),
                name: "Bash".into(),
                input: r#"{"command":"ls"}"#.into()
            }]
        );
        assert_eq!(r.stop_reason.as_deref(), Some("tool_use"));
        assert_eq!(r.first_token_ms, Some(402.5));
        assert_eq!(r.last_event_ms, Some(421.0));
        assert!(!r.cut_off);
    }

    #[test]
    fn a_stream_without_message_stop_is_cut_off_and_untimed_text_has_no_times() {
        let mut events = stream();
        events.truncate(5);
        let r = Reply::from_events(&events, ReplySource::SseText);
        assert!(r.cut_off);
        assert_eq!(r.usage.unwrap().output_tokens, 1);
        assert_eq!(r.first_token_ms, None);
    }

    #[test]
    fn json_bodies_message_error_and_count() {
        let r = Reply::from_json(&json!({"type": "message", "id": "m", "model": "claude-sonnet-4-5", "stop_reason": "end_turn",
            "content": [{"type": "text", "text": "hi"}], "usage": {"input_tokens": 5, "output_tokens": 7}}).to_string()).unwrap();
        assert_eq!(
            (r.text.as_str(), r.usage.as_ref().unwrap().output_tokens),
            ("hi", 7)
        );
        assert_eq!(r.usage.unwrap().cache_writes(), (0, 0));
        let e = Reply::from_json(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        )
        .unwrap();
        assert_eq!(e.api_error.as_deref(), Some("overloaded_error: Overloaded"));
        assert!(e.usage.is_none());
        assert_eq!(
            Reply::from_json(r#"{"input_tokens": 812}"#)
                .unwrap()
                .counted_tokens,
            Some(812)
        );
    }
}

//! The Messages API answers the fake upstream gives: the SSE event list,
//! the JSON message, `count_tokens`, the error body, and the usage numbers.
//!
//! Usage is a pure function of the request body and the reply text, so a
//! test computes the totals it expects with [`Usage::for_request`] instead
//! of reading them back from the fake.

use serde::Serialize;
use serde_json::{json, Value};

/// The reply text when none is configured.
pub const DEFAULT_REPLY: &str = "Hello from the cctap fake upstream.";

/// The token counts of one answer, as the Messages API reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    /// The final count, sent in `message_delta` (and in the JSON message).
    pub output_tokens: u64,
}

impl Usage {
    /// The usage the fake reports for this request body and reply.
    pub fn for_request(body: &[u8], reply: &str) -> Usage {
        let n = body.len() as u64;
        Usage {
            input_tokens: n / 4 + 1,
            cache_creation_input_tokens: n % 1000,
            cache_read_input_tokens: (n / 8) % 5000,
            output_tokens: reply.len() as u64 / 4 + 1,
        }
    }

    fn to_json(self, output_tokens: u64) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": output_tokens,
        })
    }
}

/// One server-sent event before it is put on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub name: &'static str,
    pub data: String,
}

impl Event {
    fn new(name: &'static str, data: Value) -> Event {
        Event {
            name,
            data: data.to_string(),
        }
    }

    /// The event as it travels: `event:` line, `data:` line, blank line.
    pub fn to_wire(&self) -> String {
        format!("event: {}\ndata: {}\n\n", self.name, self.data)
    }
}

/// The `model` field of a request body, or a fake name.
pub fn model_of(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("model")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "claude-fake-1".to_owned())
}

/// Whether a request body asks for a stream (`"stream": true`).
pub fn wants_stream(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("stream")?.as_bool())
        .unwrap_or(false)
}

/// The reply split into `deltas` pieces (one per word when `None`).
pub fn split_reply(reply: &str, deltas: Option<usize>) -> Vec<String> {
    let Some(n) = deltas else {
        return reply.split_inclusive(' ').map(str::to_owned).collect();
    };
    let chars: Vec<char> = reply.chars().collect();
    let per = chars.len().div_ceil(n).max(1);
    let mut pieces: Vec<String> = chars.chunks(per).map(|c| c.iter().collect()).collect();
    pieces.resize(n, String::new());
    pieces
}

/// The full stream for one answer, `message_start` to `message_stop`.
pub fn stream_events(
    id: &str,
    model: &str,
    reply: &str,
    deltas: Option<usize>,
    usage: Usage,
) -> Vec<Event> {
    let mut events = vec![
        Event::new(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": usage.to_json(1)}}),
        ),
        Event::new(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    for piece in split_reply(reply, deltas) {
        events.push(Event::new(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": piece}}),
        ));
    }
    events.push(Event::new("ping", json!({"type": "ping"})));
    events.push(Event::new(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(Event::new(
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": usage.output_tokens}}),
    ));
    events.push(Event::new("message_stop", json!({"type": "message_stop"})));
    events
}

/// The non-streaming answer.
pub fn message_json(id: &str, model: &str, reply: &str, usage: Usage) -> Value {
    json!({"id": id, "type": "message", "role": "assistant", "model": model,
           "content": [{"type": "text", "text": reply}],
           "stop_reason": "end_turn", "stop_sequence": null,
           "usage": usage.to_json(usage.output_tokens)})
}

/// The `count_tokens` answer.
pub fn count_tokens_json(usage: Usage) -> Value {
    json!({"input_tokens": usage.input_tokens})
}

/// Anthropic's error body for a status (529 is `overloaded_error`).
pub fn error_json(status: u16) -> Value {
    let (kind, message) = match status {
        529 => ("overloaded_error", "Overloaded"),
        429 => ("rate_limit_error", "Rate limited"),
        401 => ("authentication_error", "invalid x-api-key"),
        400 => ("invalid_request_error", "Invalid request"),
        404 => ("not_found_error", "Not found"),
        _ => ("api_error", "Internal server error"),
    };
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_starts_and_ends_like_the_real_api() {
        let usage = Usage::for_request(b"{}", "a b c");
        let events = stream_events("msg_1", "m", "a b c", None, usage);
        let names: Vec<_> = events.iter().map(|e| e.name).collect();
        assert_eq!(names.first(), Some(&"message_start"));
        assert_eq!(names.last(), Some(&"message_stop"));
        assert_eq!(
            names
                .iter()
                .filter(|n| **n == "content_block_delta")
                .count(),
            3
        );
        let text: String = events
            .iter()
            .filter(|e| e.name == "content_block_delta")
            .map(|e| {
                serde_json::from_str::<Value>(&e.data).unwrap()["delta"]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(text, "a b c");
    }

    #[test]
    fn split_into_n_keeps_the_text() {
        let pieces = split_reply("hello world", Some(4));
        assert_eq!(pieces.len(), 4);
        assert_eq!(pieces.concat(), "hello world");
        assert_eq!(split_reply("hi", Some(5)).len(), 5);
    }

    #[test]
    fn usage_is_deterministic() {
        assert_eq!(
            Usage::for_request(&[b'x'; 400], "r"),
            Usage::for_request(&[b'y'; 400], "r")
        );
        assert_ne!(
            Usage::for_request(&[b'x'; 400], "r"),
            Usage::for_request(&[b'x'; 401], "r")
        );
    }
}

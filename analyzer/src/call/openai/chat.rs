//! Chat Completions replies: a `chat.completion` JSON body, or a stream of
//! `chat.completion.chunk`s (`data: {…}` lines without event names) that
//! ends with `data: [DONE]`. A stream carries its usage in one last chunk
//! (empty `choices`) only when the request set
//! `stream_options.include_usage`; every other chunk has `"usage": null`.
//!
//! Text, reasoning and tool calls are read from the first choice (index 0).

use super::{error_of, usage_of, Api};
use crate::call::reply::{Reply, ReplySource, ToolCall};
use cctap_archive::SseEvent;
use serde_json::Value;
use std::collections::HashMap;

/// Reassembles a stream. `source` says whether event times are real.
pub fn from_events(events: &[SseEvent], source: ReplySource) -> Reply {
    let (mut r, timed) = Reply::for_stream(events, source);
    let mut started = false;
    let mut done = false;
    // A tool call's `index` in the deltas → its place in `r.tool_calls`.
    let mut tools: HashMap<u64, usize> = HashMap::new();
    for ev in events {
        if timed {
            r.last_event_ms = Some(ev.time);
        }
        let data = ev.data.trim();
        if data == "[DONE]" {
            done = true;
            continue;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if let Some(e) = error_of(&chunk) {
            r.api_error = Some(e);
            continue;
        }
        started = true;
        ids(&mut r, &chunk);
        if let Some(u) = chunk.get("usage").and_then(|u| usage_of(Api::Chat, u)) {
            r.usage = Some(u);
        }
        let Some(choice) = first_choice(&chunk) else {
            continue;
        };
        let delta = &choice["delta"];
        let content = delta["content"].as_str().unwrap_or("");
        let calls = delta["tool_calls"].as_array();
        if timed && r.first_token_ms.is_none() && (!content.is_empty() || calls.is_some()) {
            r.first_token_ms = Some(ev.time);
        }
        r.text.push_str(content);
        r.thinking.push_str(reasoning(delta));
        for call in calls.into_iter().flatten() {
            tool_delta(&mut r, &mut tools, call);
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            r.stop_reason = Some(reason.to_owned());
        }
    }
    r.cut_off = started && !done;
    r
}

/// A `chat.completion` body into `r`.
pub fn apply_completion(r: &mut Reply, v: &Value) {
    ids(r, v);
    if let Some(u) = v.get("usage").and_then(|u| usage_of(Api::Chat, u)) {
        r.usage = Some(u);
    }
    let Some(choice) = first_choice(v) else {
        return;
    };
    let message = &choice["message"];
    r.text.push_str(message["content"].as_str().unwrap_or(""));
    r.thinking.push_str(reasoning(message));
    for call in message["tool_calls"].as_array().into_iter().flatten() {
        r.tool_calls.push(ToolCall {
            id: call["id"].as_str().unwrap_or("").to_owned(),
            name: call["function"]["name"].as_str().unwrap_or("").to_owned(),
            input: call["function"]["arguments"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        });
    }
    r.stop_reason = choice["finish_reason"].as_str().map(str::to_owned);
}

/// The reply's id (`chatcmpl-…`) and model, from the first chunk that has them.
fn ids(r: &mut Reply, v: &Value) {
    if r.id.is_none() {
        r.id = v["id"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
    }
    if r.model.is_none() {
        r.model = v["model"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
    }
}

fn first_choice(v: &Value) -> Option<&Value> {
    v["choices"]
        .as_array()?
        .iter()
        .find(|c| c["index"].as_u64().unwrap_or(0) == 0)
}

/// Reasoning text where a compatible server sends it (`reasoning_content`,
/// `reasoning`); OpenAI itself sends none on this API.
fn reasoning(v: &Value) -> &str {
    ["reasoning_content", "reasoning"]
        .iter()
        .find_map(|k| v[*k].as_str())
        .unwrap_or("")
}

/// One tool call's piece: the first names it, the rest add arguments.
fn tool_delta(r: &mut Reply, tools: &mut HashMap<u64, usize>, call: &Value) {
    let index = call["index"].as_u64().unwrap_or(0);
    let at = *tools.entry(index).or_insert_with(|| {
        r.tool_calls.push(ToolCall::default());
        r.tool_calls.len() - 1
    });
    let t = &mut r.tool_calls[at];
    if let Some(id) = call["id"].as_str() {
        t.id = id.to_owned();
    }
    let function = &call["function"];
    if let Some(name) = function["name"].as_str() {
        t.name.push_str(name);
    }
    t.input
        .push_str(function["arguments"].as_str().unwrap_or(""));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(time: f64, data: &str) -> SseEvent {
        SseEvent {
            time,
            event: "message".into(),
            data: data.into(),
            ..SseEvent::default()
        }
    }

    fn chunk(delta: Value, finish: Value) -> String {
        json!({"id": "chatcmpl-FAKE1", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": null})
        .to_string()
    }

    fn stream(with_usage: bool) -> Vec<SseEvent> {
        let mut events = vec![
            ev(
                200.0,
                &chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            ),
            ev(250.0, &chunk(json!({"content": "Hel"}), Value::Null)),
            ev(260.0, &chunk(json!({"content": "lo"}), Value::Null)),
            ev(
                270.0,
                &chunk(
                    json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]}),
                    Value::Null,
                ),
            ),
            ev(
                280.0,
                &chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":\"Oslo\"}"}}]}),
                    Value::Null,
                ),
            ),
            ev(290.0, &chunk(json!({}), json!("tool_calls"))),
        ];
        if with_usage {
            events.push(ev(
                291.0,
                &json!({"id": "chatcmpl-FAKE1", "object": "chat.completion.chunk",
                "model": "gpt-4o-mini-2024-07-18", "choices": [],
                "usage": {"prompt_tokens": 2048, "completion_tokens": 21, "total_tokens": 2069,
                    "prompt_tokens_details": {"cached_tokens": 1920}}})
                .to_string(),
            ));
        }
        events.push(ev(292.0, "[DONE]"));
        events
    }

    #[test]
    fn a_stream_with_its_usage_chunk() {
        let r = from_events(&stream(true), ReplySource::SseEvents);
        let u = r.usage.clone().unwrap();
        assert_eq!(
            (u.input_tokens, u.cache_read_input_tokens, u.output_tokens),
            (128, 1920, 21)
        );
        assert_eq!(r.text, "Hello");
        assert_eq!(r.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(r.id.as_deref(), Some("chatcmpl-FAKE1"));
        assert_eq!(
            r.tool_calls,
            [ToolCall {
                id: "call_1".into(),
                name: "get_weather".into(),
                input: r#"{"city":"Oslo"}"#.into()
            }]
        );
        assert_eq!(r.stop_reason.as_deref(), Some("tool_calls"));
        assert_eq!(r.first_token_ms, Some(250.0));
        assert_eq!(r.last_event_ms, Some(292.0));
        assert!(!r.cut_off);
    }

    #[test]
    fn without_include_usage_no_usage_and_without_done_cut_off() {
        let r = from_events(&stream(false), ReplySource::SseText);
        assert_eq!(r.usage, None);
        assert!(!r.cut_off);
        assert_eq!(r.first_token_ms, None, "untimed");
        let mut events = stream(true);
        events.truncate(3);
        let r = from_events(&events, ReplySource::SseEvents);
        assert!(r.cut_off);
        assert_eq!(r.text, "Hello");
    }

    #[test]
    fn a_completion_body() {
        let body = json!({"id": "chatcmpl-FAKE2", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi there",
                "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "ls", "arguments": "{}"}}]},
                "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0}}});
        let mut r = Reply::default();
        apply_completion(&mut r, &body);
        assert_eq!(r.text, "Hi there");
        assert_eq!(r.tool_calls[0].name, "ls");
        assert_eq!(r.stop_reason.as_deref(), Some("stop"));
        let u = r.usage.unwrap();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.reasoning_tokens),
            (19, 10, Some(0))
        );
    }
}

//! Responses API replies: a `response` JSON body, or a stream of typed
//! events (`response.created`, `response.output_text.delta`, …) that ends
//! with `response.completed` (or `response.incomplete`, `response.failed`),
//! whose `response` is the whole reply again, usage included.

use super::{error_of, usage_of, Api};
use crate::call::reply::{Reply, ReplySource, ToolCall};
use cctap_archive::SseEvent;
use serde_json::Value;
use std::collections::HashMap;

/// Reassembles a stream. `source` says whether event times are real.
pub fn from_events(events: &[SseEvent], source: ReplySource) -> Reply {
    let (mut r, timed) = Reply::for_stream(events, source);
    let mut started = false;
    let mut ended = false;
    // A function call's item id → its place in `r.tool_calls`.
    let mut tools: HashMap<String, usize> = HashMap::new();
    for ev in events {
        let Ok(data) = serde_json::from_str::<Value>(&ev.data) else {
            continue;
        };
        if timed {
            r.last_event_ms = Some(ev.time);
        }
        let kind = data["type"].as_str().unwrap_or(ev.event.as_str());
        let content = matches!(
            kind,
            "response.output_text.delta" | "response.function_call_arguments.delta"
        );
        if timed && content && r.first_token_ms.is_none() {
            r.first_token_ms = Some(ev.time);
        }
        let delta = data["delta"].as_str().unwrap_or("");
        match kind {
            "response.created" | "response.in_progress" => {
                started = true;
                apply_response(&mut r, &data["response"]);
            }
            "response.output_text.delta" => r.text.push_str(delta),
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                r.thinking.push_str(delta)
            }
            "response.output_item.added" => {
                let item = &data["item"];
                if item["type"] == "function_call" {
                    r.tool_calls.push(tool_call(item));
                    let id = item["id"].as_str().unwrap_or("").to_owned();
                    tools.insert(id, r.tool_calls.len() - 1);
                }
            }
            "response.function_call_arguments.delta" => {
                let item = data["item_id"].as_str().unwrap_or("");
                if let Some(t) = tools.get(item).and_then(|i| r.tool_calls.get_mut(*i)) {
                    t.input.push_str(delta);
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                started = true;
                ended = true;
                apply_response(&mut r, &data["response"]);
            }
            "error" => r.api_error = error_of(&data),
            _ => {}
        }
    }
    r.cut_off = started && !ended;
    r
}

/// A `response` object into `r`: ids, usage, status; its output (text,
/// reasoning summaries, function calls) replaces what deltas gave, when
/// it has any (a stream's final `response` repeats the whole reply).
pub fn apply_response(r: &mut Reply, v: &Value) {
    if let Some(id) = v["id"].as_str().filter(|s| !s.is_empty()) {
        r.id = Some(id.to_owned());
    }
    if let Some(model) = v["model"].as_str().filter(|s| !s.is_empty()) {
        r.model = Some(model.to_owned());
    }
    if let Some(u) = v.get("usage").and_then(|u| usage_of(Api::Responses, u)) {
        r.usage = Some(u);
    }
    if let Some(e) = error_of(v) {
        r.api_error = Some(e);
    }
    let reason = v["incomplete_details"]["reason"].as_str();
    if let Some(status) = reason.or(v["status"].as_str()) {
        r.stop_reason = Some(status.to_owned());
    }
    let (mut text, mut thinking, mut calls) = (String::new(), String::new(), Vec::new());
    for item in v["output"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("message") => {
                for part in item["content"].as_array().into_iter().flatten() {
                    if part["type"] == "output_text" {
                        text.push_str(part["text"].as_str().unwrap_or(""));
                    }
                }
            }
            Some("reasoning") => {
                for part in item["summary"].as_array().into_iter().flatten() {
                    thinking.push_str(part["text"].as_str().unwrap_or(""));
                }
            }
            Some("function_call") => calls.push(tool_call(item)),
            _ => {}
        }
    }
    if !text.is_empty() {
        r.text = text;
    }
    if !thinking.is_empty() {
        r.thinking = thinking;
    }
    if !calls.is_empty() {
        r.tool_calls = calls;
    }
}

fn tool_call(item: &Value) -> ToolCall {
    let s = |k: &str| item[k].as_str().unwrap_or("").to_owned();
    ToolCall {
        id: s("call_id"),
        name: s("name"),
        input: s("arguments"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::call::testkit::typed_event as ev;

    fn response(status: &str, usage: Value) -> Value {
        json!({"id": "resp_FAKE1", "object": "response", "status": status, "model": "gpt-5-mini-2025-08-07",
            "output": if status == "completed" { json!([
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"type": "message", "id": "msg_1", "role": "assistant",
                 "content": [{"type": "output_text", "text": "Hello", "annotations": []}]}]) } else { json!([]) },
            "usage": usage, "error": null, "incomplete_details": null})
    }

    fn usage() -> Value {
        json!({"input_tokens": 3000, "input_tokens_details": {"cached_tokens": 2048},
            "output_tokens": 400, "output_tokens_details": {"reasoning_tokens": 320}, "total_tokens": 3400})
    }

    fn stream() -> Vec<SseEvent> {
        vec![
            ev(
                100.0,
                json!({"type": "response.created", "sequence_number": 0, "response": response("in_progress", Value::Null)}),
            ),
            ev(
                150.0,
                json!({"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "Hel"}),
            ),
            ev(
                160.0,
                json!({"type": "response.output_text.delta", "sequence_number": 5, "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "lo"}),
            ),
            ev(
                170.0,
                json!({"type": "response.completed", "sequence_number": 9, "response": response("completed", usage())}),
            ),
        ]
    }

    #[test]
    fn a_stream_takes_usage_from_response_completed() {
        let r = from_events(&stream(), ReplySource::SseEvents);
        let u = r.usage.clone().unwrap();
        assert_eq!(
            (
                u.input_tokens,
                u.cache_read_input_tokens,
                u.output_tokens,
                u.reasoning_tokens
            ),
            (952, 2048, 400, Some(320))
        );
        assert_eq!(r.text, "Hello", "the final response's text, not twice");
        assert_eq!(r.id.as_deref(), Some("resp_FAKE1"));
        assert_eq!(r.model.as_deref(), Some("gpt-5-mini-2025-08-07"));
        assert_eq!(r.stop_reason.as_deref(), Some("completed"));
        assert_eq!(r.first_token_ms, Some(150.0));
        assert!(!r.cut_off);
        let cut = from_events(&stream()[..3], ReplySource::SseEvents);
        assert!(cut.cut_off && cut.usage.is_none());
        assert_eq!(cut.text, "Hello");
    }

    #[test]
    fn function_calls_stream_and_a_failed_response() {
        let events = [
            ev(
                1.0,
                json!({"type": "response.created", "response": response("in_progress", Value::Null)}),
            ),
            ev(
                2.0,
                json!({"type": "response.output_item.added", "output_index": 0,
                "item": {"type": "function_call", "id": "fc_1", "call_id": "call_7", "name": "get_weather", "arguments": ""}}),
            ),
            ev(
                3.0,
                json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": "{\"city\":"}),
            ),
            ev(
                4.0,
                json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": "\"Oslo\"}"}),
            ),
            ev(
                5.0,
                json!({"type": "response.failed", "response": {"id": "resp_FAKE1", "status": "failed",
                "error": {"code": "server_error", "message": "boom"}, "output": [], "usage": null}}),
            ),
        ];
        let r = from_events(&events, ReplySource::SseEvents);
        assert_eq!(r.tool_calls[0].name, "get_weather");
        assert_eq!(r.tool_calls[0].id, "call_7");
        assert_eq!(r.tool_calls[0].input, r#"{"city":"Oslo"}"#);
        assert_eq!(r.api_error.as_deref(), Some("server_error: boom"));
        assert_eq!(r.usage, None);
        assert!(!r.cut_off);
    }
}

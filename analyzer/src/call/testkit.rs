//! Entries built in code for unit tests across the crate: a Claude Code
//! request with a streamed or JSON reply, as FORMAT.md stores them.

use cctap_archive::model::{Content, Header, PostData};
use cctap_archive::{Entry, SseEvent};
use serde_json::{json, Value};

pub const UA_2_0: &str = "claude-cli/2.0.50 (external, sdk-cli)";
pub const UA_2_1: &str = "claude-cli/2.1.332 (external, sdk-cli)";

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
        comment: None,
    }
}

/// A POST with the given headers and JSON body, no response yet.
pub fn request(url: &str, headers: &[(&str, &str)], body: &Value) -> Entry {
    let mut e = Entry::default();
    e.har.started_date_time = "2026-11-25T12:00:00.000+00:00".into();
    e.har.time = 1500.0;
    e.har.timings.wait = 300.0;
    e.har.request.method = "POST".into();
    e.har.request.url = url.into();
    e.har.request.http_version = "HTTP/1.1".into();
    e.har.request.headers = headers.iter().map(|(n, v)| header(n, v)).collect();
    e.har.request.post_data = Some(PostData {
        mime_type: "application/json".into(),
        text: Some(body.to_string()),
        params: None,
        comment: None,
    });
    e
}

/// A Claude Code call to the Messages API answered by a stream.
pub fn streamed(ua: &str, body: &Value, usage: (u64, u64, u64, u64), text: &str) -> Entry {
    let mut e = request(
        "https://api.anthropic.com/v1/messages?beta=true",
        &[
            ("User-Agent", ua),
            ("anthropic-version", "2023-06-01"),
            ("x-api-key", "redacted:sk-ant-api03:0123456789ab"),
        ],
        body,
    );
    let (input, output, write, read) = usage;
    let model = body["model"].as_str().unwrap_or("");
    let events = [
        json!({"type": "message_start", "message": {"id": "msg_1", "model": model, "usage": {"input_tokens": input,
            "cache_creation_input_tokens": write, "cache_read_input_tokens": read, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": output}}),
        json!({"type": "message_stop"}),
    ];
    let mut raw = String::new();
    let sse: Vec<SseEvent> = events
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let kind = d["type"].as_str().unwrap_or("").to_owned();
            raw.push_str(&format!("event: {kind}\ndata: {d}\n\n"));
            SseEvent {
                time: 300.0 + 10.0 * i as f64,
                event: kind,
                data: d.to_string(),
                ..SseEvent::default()
            }
        })
        .collect();
    e.har.response.status = 200;
    e.har.response.status_text = "OK".into();
    e.har.response.headers = vec![header("content-type", "text/event-stream")];
    e.har.response.content = Content {
        size: raw.len() as i64,
        mime_type: Some("text/event-stream".into()),
        text: Some(raw),
        ..Content::default()
    };
    e.sse_events = Some(sse);
    e
}

/// A reply with a JSON body and the given status.
pub fn answered_json(mut e: Entry, status: i64, body: &Value) -> Entry {
    e.har.response.status = status;
    e.har.response.headers = vec![header("content-type", "application/json")];
    e.har.response.content = Content {
        mime_type: Some("application/json".into()),
        text: Some(body.to_string()),
        ..Content::default()
    };
    e
}

/// A 2.0.50-shaped main-loop body with the given tool names.
pub fn main_body(model: &str, tools: &[&str], system: &str) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "say hi"}]}],
        "system": [{"type": "text", "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK."},
                   {"type": "text", "text": system}],
        "tools": tools.iter().map(|t| json!({"name": t, "description": format!("The {t} tool."),
            "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}})).collect::<Vec<_>>(),
        "metadata": {"user_id": "user_aa11_account__session_11111111-2222-4333-8444-555555555555"},
        "max_tokens": 32000,
        "stream": true
    })
}

/// A Warmup side call (no tools, user text `Warmup`).
pub fn warmup_body(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": [{"type": "text", "text": "Warmup"}]}],
        "system": [{"type": "text", "text": "You are an agent."}], "tools": [],
        "metadata": {"user_id": "user_aa11_account__session_11111111-2222-4333-8444-555555555555"},
        "max_tokens": 32000, "stream": true})
}

/// One stream event whose name is its data's `type` (as the Messages and
/// Responses APIs send them), at `time` ms.
pub fn typed_event(time: f64, data: Value) -> SseEvent {
    SseEvent {
        time,
        event: data["type"].as_str().unwrap_or("message").to_owned(),
        data: data.to_string(),
        ..SseEvent::default()
    }
}

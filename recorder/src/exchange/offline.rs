//! Offline mode: canned Messages API answers, nothing contacted.
//!
//! So a user can capture what a client sends (every Claude Code version's
//! prompts and tools) with no account and no spend. `POST …/v1/messages`
//! gets a short text reply, as an SSE stream (`message_start` …
//! `message_stop`, with `ping`) when the request says `"stream": true`,
//! else as JSON; `…/count_tokens` gets `{"input_tokens": N}`; anything else
//! a 404 in the API's error shape.

use crate::io::body::Chunks;
use bytes::Bytes;
use http::{header, Method, Response, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// The reply every call gets.
pub const REPLY: &str = "Hi! This is cctap offline mode: a canned reply, no model was called.";

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Answers one request whose body has been read whole.
pub fn respond(method: &Method, path: &str, body: &[u8]) -> Response<Chunks> {
    let mut response = answer(method, path.split('?').next().unwrap_or(""), body);
    if method == Method::HEAD {
        // A head only: hyper drops a HEAD answer's body unpolled, and a
        // body not at its end would make the exchange look cut off.
        *response.body_mut() = Chunks::empty();
    }
    response
}

fn answer(method: &Method, path: &str, body: &[u8]) -> Response<Chunks> {
    if path.ends_with("/api/hello") && (method == Method::HEAD || method == Method::GET) {
        // Claude Code's connectivity probe (with nonessential traffic on).
        return json_response(&json!({}));
    }
    if method != Method::POST {
        return error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            &not_here(method, path),
        );
    }
    if path.ends_with("/v1/messages/count_tokens") {
        return json_response(&json!({ "input_tokens": estimate_tokens(body) }));
    }
    if !path.ends_with("/v1/messages") {
        return error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            &not_here(method, path),
        );
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "cctap offline mode: the request body is not a JSON object",
            )
        }
    };
    let model = request["model"]
        .as_str()
        .unwrap_or("claude-offline")
        .to_owned();
    let id = format!(
        "msg_cctap_offline_{:06}",
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    );
    let usage = Usage {
        input: estimate_tokens(body),
        output: REPLY.split_whitespace().count() as u64 + 2,
    };
    if request["stream"] == Value::Bool(true) {
        stream_response(&id, &model, usage)
    } else {
        json_response(&json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": REPLY}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": usage.json(usage.output),
        }))
    }
}

fn not_here(method: &Method, path: &str) -> String {
    format!("cctap offline mode answers only POST /v1/messages and /v1/messages/count_tokens, not {method} {path}")
}

#[derive(Clone, Copy)]
struct Usage {
    input: u64,
    output: u64,
}

impl Usage {
    fn json(self, output: u64) -> Value {
        json!({
            "input_tokens": self.input,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output,
        })
    }
}

/// About four bytes a token, as a rough stand-in for a tokenizer.
fn estimate_tokens(body: &[u8]) -> u64 {
    (body.len() as u64 / 4).max(1)
}

fn stream_response(id: &str, model: &str, usage: Usage) -> Response<Chunks> {
    let (first, second) = REPLY.split_at(REPLY.find(' ').unwrap_or(0));
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": usage.json(1)}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": first}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": second}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": usage.output}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let chunks = events
        .iter()
        .map(|(name, data)| Bytes::from(format!("event: {name}\ndata: {data}\n\n")));
    let mut response = Response::new(Chunks::new(chunks));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    response
}

fn json_response(value: &Value) -> Response<Chunks> {
    let mut response = Response::new(Chunks::whole(value.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response<Chunks> {
    let mut response = json_response(&json!({
        "type": "error", "error": {"type": kind, "message": message}
    }));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use cctap_archive::sse::SseParser;
    use http_body_util::BodyExt;

    async fn body_of(r: Response<Chunks>) -> (StatusCode, Vec<Bytes>) {
        let status = r.status();
        let mut body = r.into_body();
        let mut chunks = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                chunks.push(data);
            }
        }
        (status, chunks)
    }

    #[tokio::test]
    async fn streams_a_complete_message_the_sse_parser_reads() {
        let req = br#"{"model":"claude-opus-5-5","stream":true,"messages":[]}"#;
        let r = respond(&Method::POST, "/v1/messages?beta=true", req);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/event-stream; charset=utf-8"
        );
        let (status, chunks) = body_of(r).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(chunks.len(), 8, "one frame per event");
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for c in &chunks {
            parser.feed(c, 0.0, &mut events);
        }
        parser.finish(0.0, &mut events);
        let names: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(names.first(), Some(&"message_start"));
        assert_eq!(names.last(), Some(&"message_stop"));
        assert!(names.contains(&"ping"));
        let text: String = events
            .iter()
            .filter(|e| e.event == "content_block_delta")
            .map(|e| {
                serde_json::from_str::<Value>(&e.data).unwrap()["delta"]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(text, REPLY);
        let start: Value = serde_json::from_str(&events[0].data).unwrap();
        assert_eq!(start["message"]["model"], "claude-opus-5-5");
        assert_eq!(
            start["message"]["usage"]["input_tokens"],
            (req.len() / 4) as u64
        );
    }

    #[tokio::test]
    async fn answers_json_count_tokens_and_404() {
        let (status, body) = body_of(respond(
            &Method::POST,
            "/v1/messages",
            br#"{"model":"m","messages":[]}"#,
        ))
        .await;
        let v: Value = serde_json::from_slice(&body.concat()).unwrap();
        assert_eq!(
            (status, v["content"][0]["text"].as_str()),
            (StatusCode::OK, Some(REPLY))
        );
        assert_eq!(
            v["usage"]["output_tokens"],
            REPLY.split_whitespace().count() as u64 + 2
        );

        let (_, body) = body_of(respond(
            &Method::POST,
            "/api/v1/messages/count_tokens?beta=true",
            &[b'x'; 40],
        ))
        .await;
        assert_eq!(
            serde_json::from_slice::<Value>(&body.concat()).unwrap(),
            json!({"input_tokens": 10})
        );

        // Claude Code's probe is answered; a HEAD gets the head alone.
        for method in [Method::GET, Method::HEAD] {
            let (status, body) = body_of(respond(&method, "/api/hello", b"")).await;
            assert_eq!(status, StatusCode::OK, "{method}");
            assert_eq!(body.concat().is_empty(), method == Method::HEAD);
        }
        let (status, body) = body_of(respond(&Method::HEAD, "/api/other", b"")).await;
        assert_eq!((status, body.concat().len()), (StatusCode::NOT_FOUND, 0));

        let (status, body) = body_of(respond(&Method::GET, "/api/other", b"")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            serde_json::from_slice::<Value>(&body.concat()).unwrap()["type"],
            "error"
        );

        let (status, _) = body_of(respond(&Method::POST, "/v1/messages", b"not json")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

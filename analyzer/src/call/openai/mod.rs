//! OpenAI-style calls: Chat Completions (`POST …/chat/completions`,
//! [`chat`]) and the Responses API (`POST …/responses`, [`responses`]),
//! as OpenAI and the many servers that speak its wire format answer them.
//!
//! Their usage is mapped onto the Messages API's token kinds so that the
//! totals mean the same thing whichever API a call went to: OpenAI's
//! prompt count (`prompt_tokens`, `input_tokens`) *includes* the tokens
//! read from the cache, Anthropic's `input_tokens` does not. So
//! `input_tokens` = prompt − cached, `cache_read_input_tokens` = cached,
//! `cache_creation_input_tokens` = 0 (OpenAI neither reports nor bills
//! cache writes), `output_tokens` = the completion count (reasoning
//! included, as Anthropic's includes thinking), and `reasoning_tokens`
//! keeps the part of it spent reasoning.

pub mod chat;
pub mod responses;

use super::reply::{Reply, ReplySource, Usage};
use cctap_archive::SseEvent;
use serde::Deserialize;
use serde_json::Value;

/// Which of OpenAI's APIs a call spoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Chat,
    Responses,
}

/// What an OpenAI-style request says about its reply: the model, whether
/// it streams, and whether a stream was asked to carry its usage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestFacts {
    pub model: String,
    pub stream: bool,
    /// Chat Completions' `stream_options.include_usage`: without it a
    /// stream carries no usage at all.
    pub include_usage: bool,
}

impl RequestFacts {
    /// Reads the few fields it needs (the rest of the body is skipped, not
    /// parsed); `None` when the body is not a JSON object.
    pub fn parse(body: &str) -> Option<RequestFacts> {
        #[derive(Deserialize)]
        struct Options {
            include_usage: Option<bool>,
        }
        #[derive(Deserialize)]
        struct Head {
            model: Option<Value>,
            stream: Option<Value>,
            stream_options: Option<Options>,
        }
        let head: Head = serde_json::from_str(body).ok()?;
        Some(RequestFacts {
            model: head
                .model
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            stream: head.stream.as_ref().and_then(Value::as_bool) == Some(true),
            include_usage: head.stream_options.and_then(|o| o.include_usage) == Some(true),
        })
    }
}

/// The reply of an OpenAI-style call, from its stream.
pub fn from_events(api: Api, events: &[SseEvent], source: ReplySource) -> Reply {
    match api {
        Api::Chat => chat::from_events(events, source),
        Api::Responses => responses::from_events(events, source),
    }
}

/// The reply of an OpenAI-style call, from its JSON body.
pub fn from_json(api: Api, body: &str) -> Option<Reply> {
    let v: Value = serde_json::from_str(body).ok()?;
    let mut r = Reply {
        source: ReplySource::Json,
        ..Reply::default()
    };
    if let Some(e) = error_of(&v) {
        r.api_error = Some(e);
        return Some(r);
    }
    match api {
        Api::Chat => chat::apply_completion(&mut r, &v),
        Api::Responses => responses::apply_response(&mut r, &v),
    }
    Some(r)
}

/// OpenAI's error object (`{"error": {"type", "code", "message"}}`, or
/// a stream's `{"type": "error", "code", "message"}`) as `type: message`.
pub fn error_of(v: &Value) -> Option<String> {
    let e = match v.get("error") {
        Some(e) if e.is_object() => e,
        _ if v.get("type").and_then(Value::as_str) == Some("error") => v,
        _ => return None,
    };
    let kind = ["type", "code"]
        .iter()
        .filter_map(|k| e.get(*k).and_then(Value::as_str))
        .find(|k| *k != "error")
        .unwrap_or("error");
    let message = e.get("message").and_then(Value::as_str).unwrap_or("");
    Some(format!("{kind}: {message}"))
}

/// The usage object of either API, mapped as the module's doc says;
/// `None` unless it is an object with a prompt or completion count (a
/// chat stream's chunks carry `"usage": null` until the last).
pub fn usage_of(api: Api, v: &Value) -> Option<Usage> {
    let (prompt, cached, output, reasoning) = match api {
        Api::Chat => (
            "prompt_tokens",
            "prompt_tokens_details",
            "completion_tokens",
            "completion_tokens_details",
        ),
        Api::Responses => (
            "input_tokens",
            "input_tokens_details",
            "output_tokens",
            "output_tokens_details",
        ),
    };
    let count = |k: &str| v.get(k).and_then(Value::as_u64);
    if count(prompt).is_none() && count(output).is_none() {
        return None;
    }
    let prompt = count(prompt).unwrap_or(0);
    let cached = v[cached]["cached_tokens"].as_u64().unwrap_or(0);
    Some(Usage {
        // A cached count above the prompt's would be the server's error:
        // never a negative input.
        input_tokens: prompt.saturating_sub(cached),
        cache_read_input_tokens: cached.min(prompt),
        output_tokens: count(output).unwrap_or(0),
        reasoning_tokens: v[reasoning]["reasoning_tokens"].as_u64(),
        ..Usage::default()
    })
}

/// Why a successful call has no usage, for `usage` and `show`.
pub fn why_no_usage(facts: Option<&RequestFacts>, reply: &Reply) -> &'static str {
    let streamed = matches!(reply.source, ReplySource::SseEvents | ReplySource::SseText);
    if streamed && reply.cut_off {
        "stream cut off before its usage"
    } else if streamed && facts.is_some_and(|f| !f.include_usage) {
        "stream without stream_options.include_usage"
    } else {
        "reply without usage"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chat_usage_moves_cached_tokens_out_of_the_prompt_count() {
        let u = usage_of(
            Api::Chat,
            &json!({"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
                "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 256}}),
        )
        .unwrap();
        assert_eq!(
            (
                u.input_tokens,
                u.cache_read_input_tokens,
                u.cache_creation_input_tokens,
                u.output_tokens,
                u.reasoning_tokens
            ),
            (176, 1024, 0, 300, Some(256))
        );
        assert_eq!(usage_of(Api::Chat, &Value::Null), None, "a chunk's null");
    }

    #[test]
    fn responses_usage_and_request_facts() {
        let u = usage_of(
            Api::Responses,
            &json!({"input_tokens": 50, "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 9, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 59}),
        )
        .unwrap();
        assert_eq!((u.input_tokens, u.output_tokens), (50, 9));
        assert_eq!(u.reasoning_tokens, Some(0));
        let f = RequestFacts::parse(
            r#"{"model":"gpt-4o-mini","messages":[],"stream":true,"stream_options":{"include_usage":true}}"#,
        )
        .unwrap();
        assert_eq!(
            (f.model.as_str(), f.stream, f.include_usage),
            ("gpt-4o-mini", true, true)
        );
        let f = RequestFacts::parse(r#"{"model": 5, "stream": "yes"}"#).unwrap();
        assert_eq!(f, RequestFacts::default(), "odd types read as absent");
        assert_eq!(RequestFacts::parse("[1]"), None);
    }

    #[test]
    fn errors_of_both_shapes() {
        assert_eq!(
            error_of(&json!({"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded"}}))
                .as_deref(),
            Some("requests: Rate limit")
        );
        assert_eq!(
            error_of(&json!({"type": "error", "code": "server_error", "message": "boom"}))
                .as_deref(),
            Some("server_error: boom")
        );
        assert_eq!(error_of(&json!({"error": null, "id": "x"})), None);
    }
}

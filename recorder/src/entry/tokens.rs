//! Tokens a response reports, for the status line.

use cctap_archive::Entry;

/// Tokens an entry's response reports: input (fresh, cache written and
/// cache read) and output, from SSE `usage` or a JSON body's `usage`.
pub fn tokens(entry: &Entry) -> (u64, u64) {
    let mut input = 0;
    let mut output = 0;
    let mut add = |usage: &serde_json::Value, take_input: bool| {
        let n = |k: &str| {
            usage
                .get(k)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        if take_input {
            input +=
                n("input_tokens") + n("cache_creation_input_tokens") + n("cache_read_input_tokens");
        }
        if let Some(o) = usage
            .get("output_tokens")
            .and_then(serde_json::Value::as_u64)
        {
            output = o;
        }
    };
    match &entry.sse_events {
        Some(events) => {
            for ev in events {
                let Ok(data) = serde_json::from_str::<serde_json::Value>(&ev.data) else {
                    continue;
                };
                match ev.event.as_str() {
                    "message_start" => add(&data["message"]["usage"], true),
                    "message_delta" => add(&data["usage"], false),
                    _ => {}
                }
            }
        }
        None if entry.har.response.content.encoding.is_none() => {
            if let Some(v) = entry
                .har
                .response
                .content
                .text
                .as_deref()
                .filter(|t| t.contains("\"usage\""))
                .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            {
                add(&v["usage"], true);
            }
        }
        None => {}
    }
    (input, output)
}

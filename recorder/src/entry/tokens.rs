//! Tokens a response reports, for the status line.
//!
//! Counting parses the reply's JSON (or its SSE events' data) a second
//! time, after the archive's own pass: ~5% of record's CPU under load in
//! the profile in bench/README.md. Nothing but the live status line shows the counts, so
//! [`count`] does that work only while the line is on screen (not with
//! `-q`, not when stderr is not a terminal, not when wrapping a command).

use cctap_archive::Entry;
use serde::Deserialize;

/// The `usage` object of a Messages API reply; other fields are skipped
/// without being built.
#[derive(Debug, Default, Deserialize)]
struct Usage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    output_tokens: Option<u64>,
}

impl Usage {
    fn input(&self) -> u64 {
        self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens
    }
}

/// A JSON reply, or a `message_delta` event: `usage` at the top.
#[derive(Deserialize)]
struct HasUsage {
    #[serde(default)]
    usage: Option<Usage>,
}

/// A `message_start` event: `message.usage`.
#[derive(Deserialize)]
struct MessageStart {
    message: HasUsage,
}

/// Tokens an entry's response reports: input (fresh, cache written and
/// cache read) and output, from SSE `usage` or a JSON body's `usage`.
pub fn count(entry: &Entry) -> (u64, u64) {
    let mut input = 0;
    let mut output = 0;
    let mut add = |usage: Option<Usage>, take_input: bool| {
        let Some(usage) = usage else { return };
        if take_input {
            input += usage.input();
        }
        if let Some(o) = usage.output_tokens {
            output = o;
        }
    };
    match &entry.sse_events {
        Some(events) => {
            for ev in events {
                // The event type first: only two kinds carry usage.
                match ev.event.as_str() {
                    "message_start" => add(
                        serde_json::from_str::<MessageStart>(&ev.data)
                            .ok()
                            .and_then(|m| m.message.usage),
                        true,
                    ),
                    "message_delta" => add(
                        serde_json::from_str::<HasUsage>(&ev.data)
                            .ok()
                            .and_then(|d| d.usage),
                        false,
                    ),
                    _ => {}
                }
            }
        }
        None if entry.har.response.content.encoding.is_none() => {
            let usage = (entry.har.response.content.text.as_deref())
                .filter(|t| t.contains("\"usage\""))
                .and_then(|t| serde_json::from_str::<HasUsage>(t).ok())
                .and_then(|v| v.usage);
            add(usage, true);
        }
        None => {}
    }
    (input, output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_reply(text: &str) -> Entry {
        let mut e = Entry::default();
        e.har.response.content.text = Some(text.to_owned());
        e
    }

    #[test]
    fn a_json_reply_counts_every_kind_of_input() {
        let e = json_reply(
            r#"{"id":"msg_1","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":3,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":7}}"#,
        );
        assert_eq!(count(&e), (113, 7));
    }

    #[test]
    fn replies_without_usage_or_json_count_nothing() {
        assert_eq!(count(&json_reply(r#"{"type":"error"}"#)), (0, 0));
        assert_eq!(count(&json_reply("not json \"usage\"")), (0, 0));
        assert_eq!(count(&json_reply(r#"{"usage":null}"#)), (0, 0));
    }
}

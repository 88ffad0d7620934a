//! Claude Code 2.1.x-shaped traffic for the archive-size and reading
//! benchmarks: the main-loop call of a recorded fixture, replayed over many
//! turns. Each turn appends an assistant reply (text + a tool call) and a
//! user tool result to the conversation, and every request repeats the whole
//! conversation, as Claude Code does. The text is drawn deterministically
//! from the fixture's own words, so every run builds the same bytes.

use anyhow::{bail, Context};
use cctap_archive::Entry;
use serde_json::{json, Value};
use std::path::Path;

/// The fixture's main-loop call: the request every turn is built from.
#[derive(Clone, Debug)]
pub struct Template {
    /// The recorded entry (response, SSE events, timings, headers).
    pub entry: Entry,
    /// The request body, parsed (key order kept).
    pub body: Value,
}

impl Template {
    /// Reads a HAR fixture and picks its main-loop call: a POST whose body
    /// has tools, the largest such.
    pub fn load(fixture: &Path) -> anyhow::Result<Template> {
        let text = std::fs::read_to_string(fixture)
            .with_context(|| format!("cannot read fixture {}", fixture.display()))?;
        let doc: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a HAR document", fixture.display()))?;
        let entries = doc["log"]["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut best: Option<(usize, Entry, Value)> = None;
        for raw in entries {
            let entry: Entry = serde_json::from_value(raw)?;
            let Some(text) = entry
                .har
                .request
                .post_data
                .as_ref()
                .and_then(|p| p.text.clone())
            else {
                continue;
            };
            let Ok(body) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
            if has_tools && best.as_ref().is_none_or(|b| text.len() > b.0) {
                best = Some((text.len(), entry, body));
            }
        }
        let Some((_, entry, body)) = best else {
            bail!(
                "{} has no main-loop call (a POST with tools)",
                fixture.display()
            );
        };
        Ok(Template { entry, body })
    }

    /// The request headers to send: the recorded ones minus those the HTTP
    /// client sets itself, with a fake key where the recording has a marker.
    pub fn headers(&self) -> Vec<(String, String)> {
        let skip = ["host", "content-length", "connection", "transfer-encoding"];
        self.entry
            .har
            .request
            .headers
            .iter()
            .filter(|h| !skip.contains(&h.name.to_ascii_lowercase().as_str()))
            .map(|h| {
                let value = if h.value.contains("redacted:") {
                    "sk-ant-api03-FAKE-bench-key-000000000000000000000000000000000000000000000000000000000000000000000000000000000000000AA".to_owned()
                } else {
                    h.value.clone()
                };
                (h.name.clone(), value)
            })
            .collect()
    }
}

/// A conversation that grows by one tool round trip per turn.
pub struct Conversation {
    template: Value,
    messages: Vec<Value>,
    words: Vec<String>,
    rng: u64,
}

impl Conversation {
    /// Starts from the template's first turn; `seed` varies the text.
    pub fn new(template: &Template, seed: u64) -> Conversation {
        let mut words: Vec<String> = template.body["system"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["text"].as_str())
            .flat_map(|t| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        words.sort();
        words.dedup();
        if words.is_empty() {
            words.push("lorem".into());
        }
        Conversation {
            messages: template.body["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            template: template.body.clone(),
            words,
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    /// The request body of this turn: the template with the conversation so
    /// far, and the billing header's prompt fingerprint varied per turn.
    pub fn body(&mut self) -> String {
        let mut body = self.template.clone();
        body["messages"] = Value::Array(self.messages.clone());
        if let Some(system) = body["system"].as_array_mut() {
            if let Some(text) = system.first_mut().and_then(|b| b.get_mut("text")) {
                let fp = format!("{:03x}", (self.next() % 4096) as u32);
                if let Some(s) = text.as_str().map(|s| vary_fingerprint(s, &fp)) {
                    *text = Value::String(s);
                }
            }
        }
        body.to_string()
    }

    /// Appends one tool round trip: assistant text + tool_use, user
    /// tool_result of 1–6 KB.
    pub fn advance(&mut self, turn: usize) {
        let tools = ["Read", "Bash", "Edit", "Grep"];
        let tool = tools[(self.next() % 4) as usize];
        let id = format!("toolu_bench_{turn:04}_{:08x}", self.next() as u32);
        let thought = self.text(200);
        let path = format!("/home/user/project/src/module_{}.rs", self.next() % 50);
        self.messages.push(json!({"role": "assistant", "content": [
            {"type": "text", "text": thought},
            {"type": "tool_use", "id": id, "name": tool, "input": {"file_path": path}}
        ]}));
        let size = 1000 + (self.next() % 5000) as usize;
        let result = self.text(size);
        self.messages.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": id, "content": result}
        ]}));
    }

    /// About `bytes` of text made of the fixture's words.
    fn text(&mut self, bytes: usize) -> String {
        let mut out = String::with_capacity(bytes + 16);
        while out.len() < bytes {
            let i = (self.next() % self.words.len() as u64) as usize;
            out.push_str(&self.words[i]);
            out.push(if self.next().is_multiple_of(12) {
                '\n'
            } else {
                ' '
            });
        }
        out
    }

    /// xorshift64: deterministic and fast.
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

/// Replaces the 3 hex of `cc_version=X.Y.Z.hhh` (they follow the prompt).
fn vary_fingerprint(text: &str, fp: &str) -> String {
    let Some(at) = text.find("cc_version=") else {
        return text.to_owned();
    };
    let start = at + "cc_version=".len();
    let rest = &text[start..];
    let dots: Vec<usize> = rest.match_indices('.').map(|(i, _)| i).take(3).collect();
    match dots.get(2) {
        Some(&d) if rest.len() >= d + 4 => {
            format!("{}{}.{}{}", &text[..start], &rest[..d], fp, &rest[d + 4..])
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fingerprint_is_replaced() {
        let s = "x-anthropic-billing-header: cc_version=2.1.332.abc; cc_entrypoint=sdk-cli;";
        assert_eq!(
            super::vary_fingerprint(s, "0f0"),
            "x-anthropic-billing-header: cc_version=2.1.332.0f0; cc_entrypoint=sdk-cli;"
        );
    }
}

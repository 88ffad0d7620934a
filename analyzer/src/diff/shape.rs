//! What `diff` compares of one call, masked: the prompt as one text
//! (system blocks, then message blocks, each under a header line), the
//! tools by name, and a flat object of request parameters.

use crate::call::request::Block;
use crate::call::Call;
use crate::mask::Masks;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A tool, masked, ready to compare.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolShape {
    pub description: String,
    pub input_schema: Value,
    /// `defer_loading`, `cache_control`, `type`, … as one object.
    pub other: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// System blocks and message blocks as one text with header lines.
    pub prompt: String,
    /// Tools in the order sent, by name.
    pub tool_order: Vec<String>,
    pub tools: BTreeMap<String, ToolShape>,
    /// Model, client, API version, betas, body parameters.
    pub params: Value,
}

impl Shape {
    pub fn of(call: &Call, masks: &Masks) -> Shape {
        let Some(req) = &call.request else {
            return Shape {
                prompt: String::new(),
                tool_order: vec![],
                tools: BTreeMap::new(),
                params: params_of(call),
            };
        };
        let (system, messages, tools) = (req.system(), req.messages(), req.tools());
        let texts = system
            .iter()
            .chain(messages.iter().flat_map(|m| m.blocks.iter()))
            .map(|b| b.text.as_str());
        let cwd = masks.working_directory(texts);
        let cwd = cwd.as_deref();
        let mut prompt = String::new();
        for (i, b) in system.iter().enumerate() {
            section(&mut prompt, &format!("system[{i}]"), b, masks, cwd);
        }
        for (i, m) in messages.iter().enumerate() {
            for (j, b) in m.blocks.iter().enumerate() {
                section(
                    &mut prompt,
                    &format!("messages[{i}] role={} content[{j}]", m.role),
                    b,
                    masks,
                    cwd,
                );
            }
        }
        let tool_order = tools.iter().map(|t| t.name.clone()).collect();
        let tools = tools
            .into_iter()
            .map(|t| {
                let schema = masks.apply(&t.input_schema.to_string(), cwd);
                let shape = ToolShape {
                    description: masks.apply(&t.description, cwd),
                    input_schema: serde_json::from_str(&schema)
                        .unwrap_or_else(|_| t.input_schema.clone()),
                    other: Value::Object(t.extra.clone()),
                };
                (t.name, shape)
            })
            .collect();
        Shape {
            prompt,
            tool_order,
            tools,
            params: params_of(call),
        }
    }
}

/// One block under a header line naming where it sits and its type and
/// attributes (cache_control and any unknown fields), then its text.
fn section(out: &mut String, place: &str, b: &Block, masks: &Masks, cwd: Option<&str>) {
    let mut attrs = match &b.raw {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    for k in ["type", "text", "content", "input", "thinking", "signature"] {
        attrs.shift_remove(k);
    }
    out.push_str(&format!("### {place} type={}", b.kind));
    if !attrs.is_empty() {
        out.push(' ');
        out.push_str(&masks.apply(&Value::Object(attrs).to_string(), cwd));
    }
    out.push('\n');
    out.push_str(&masks.apply(&b.text, cwd));
    out.push('\n');
}

/// The parameters compared: everything in the body except the prompt,
/// tools and metadata values, plus what the headers say.
fn params_of(call: &Call) -> Value {
    let mut m = Map::new();
    m.insert("model".into(), json!(call.model()));
    if let Some((name, version)) = &call.client {
        m.insert("client".into(), json!(name));
        m.insert("client_version".into(), json!(version));
    }
    m.insert("anthropic-version".into(), json!(call.api_version));
    m.insert("anthropic-beta".into(), json!(call.betas));
    m.insert("endpoint".into(), json!(call.path));
    if let Some(req) = &call.request {
        if let Some(id) = &req.user_id {
            m.insert("metadata.user_id".into(), json!(id.form()));
        }
        for (k, v) in &req.metadata_extra {
            m.insert(format!("metadata.{k}"), v.clone());
        }
        for (k, v) in &req.params {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}

/// The shape of a streamed call with this body and user agent, with
/// Claude Code's masks (for tests).
#[cfg(test)]
pub fn of_body(body: serde_json::Value, ua: &str) -> Shape {
    let e = crate::call::testkit::streamed(ua, &body, (1, 1, 0, 0), "x");
    Shape::of(&Call::from_entry(0, &e), &Masks::claude_code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::testkit::*;

    #[test]
    fn the_prompt_holds_system_and_message_blocks_masked() {
        let mut body = main_body("claude-opus-5-5", &["Agent", "Bash"], "Be brief.");
        body["messages"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!(
            {"role": "system", "content": "Primary working directory: /w/p\nRead /w/p/x"}));
        body["system"][0]["cache_control"] = serde_json::json!({"type": "ephemeral"});
        let e = streamed(UA_2_1, &body, (1, 1, 0, 0), "x");
        let s = Shape::of(&Call::from_entry(0, &e), &Masks::claude_code());
        assert!(
            s.prompt.starts_with(
                "### system[0] type=text {\"cache_control\":{\"type\":\"ephemeral\"}}\n"
            ),
            "{}",
            s.prompt
        );
        assert!(s.prompt.contains("### messages[1] role=system content[0] type=text\nPrimary working directory: <CWD>\nRead <CWD>/x\n"), "{}", s.prompt);
        assert_eq!(s.tool_order, ["Agent", "Bash"]);
        assert_eq!(s.params["client_version"], "2.1.332");
        assert_eq!(s.params["max_tokens"], 32000);
        assert_eq!(
            s.params["metadata.user_id"],
            "user_<hex>_account__session_<uuid>"
        );
    }
}

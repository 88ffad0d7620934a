//! The request half of a Messages API call: the JSON body taken apart into
//! system blocks, messages, tools and parameters, plus the client facts the
//! headers carry (User-Agent, `anthropic-beta`, `anthropic-version`).
//!
//! Lenient by design: any role is accepted (2.1.x sends `role: "system"`
//! messages), unknown fields are kept in `params` or a block's `raw`, and
//! nothing unknown is an error.

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// One content block (system, message or tool result).
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// `text`, `tool_use`, `tool_result`, `image`, …
    pub kind: String,
    /// The text a human reads: a text block's text, a tool result's text,
    /// a tool use's input as JSON.
    pub text: String,
    /// The whole block as sent (cache_control and unknown fields included).
    pub raw: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// `user`, `assistant`, or `system` (2.1.x's environment block).
    pub role: String,
    pub blocks: Vec<Block>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
    /// The tool's other fields (`defer_loading`, `cache_control`, `type`, …).
    pub extra: Map<String, Value>,
}

impl Tool {
    /// Size of the tool's JSON as sent (computed on demand: serialising
    /// every tool of every request would dominate reading large archives).
    pub fn bytes(&self) -> usize {
        let mut m = self.extra.clone();
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert(
            "description".into(),
            Value::String(self.description.clone()),
        );
        m.insert("input_schema".into(), self.input_schema.clone());
        Value::Object(m).to_string().len()
    }
}

/// `metadata.user_id` in either of Claude Code's forms.
#[derive(Clone, Debug, PartialEq)]
pub enum UserId {
    /// 2.0.x: `user_<hex>_account_<uuid?>_session_<uuid>`.
    Legacy {
        user: String,
        account: String,
        session: String,
    },
    /// 2.1.x: a JSON string `{"device_id", "account_uuid", "session_id"}`.
    Json {
        device_id: String,
        account_uuid: String,
        session_id: String,
    },
    /// Anything else, kept as sent.
    Other(String),
}

impl UserId {
    pub fn parse(s: &str) -> UserId {
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(s) {
            let get = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            return UserId::Json {
                device_id: get("device_id"),
                account_uuid: get("account_uuid"),
                session_id: get("session_id"),
            };
        }
        if let Some(rest) = s.strip_prefix("user_") {
            if let Some((user, tail)) = rest.split_once("_account_") {
                if let Some((account, session)) = tail.rsplit_once("_session_") {
                    return UserId::Legacy {
                        user: user.to_owned(),
                        account: account.trim_matches('_').to_owned(),
                        session: session.to_owned(),
                    };
                }
            }
        }
        UserId::Other(s.to_owned())
    }

    pub fn session(&self) -> Option<&str> {
        match self {
            UserId::Legacy { session, .. } => Some(session),
            UserId::Json { session_id, .. } if !session_id.is_empty() => Some(session_id),
            _ => None,
        }
    }

    /// The form's name, for diffing (`legacy`, `json`, `other`).
    pub fn form(&self) -> &'static str {
        match self {
            UserId::Legacy { .. } => "user_<hex>_account__session_<uuid>",
            UserId::Json { .. } => "json {device_id, account_uuid, session_id}",
            UserId::Other(_) => "other",
        }
    }
}

/// A Messages API request body, taken apart.
///
/// `system`, `messages` and `tools` (nearly all of a 60 KB body) are kept
/// as raw JSON and parsed when asked for: `usage` over a large archive
/// never needs them, `ls` only the first user message.
#[derive(Clone, Debug)]
pub struct MessagesRequest {
    pub model: String,
    system: Option<Box<RawValue>>,
    messages: Option<Box<RawValue>>,
    tools: Option<Box<RawValue>>,
    /// Every other top-level field in body order, except `metadata`:
    /// `max_tokens`, `temperature`, `thinking`, `context_management`,
    /// `output_config`, `stream`, and whatever is new.
    pub params: Map<String, Value>,
    pub user_id: Option<UserId>,
    /// `metadata` fields other than `user_id`.
    pub metadata_extra: Map<String, Value>,
}

/// A JSON object's fields in order, values unparsed.
struct Fields(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Fields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push(kv);
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// A message with its content unparsed.
#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(default)]
    role: String,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
}

fn value_of(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

impl MessagesRequest {
    /// Takes a body apart; `None` when it is not a JSON object.
    pub fn parse(body: &str) -> Option<MessagesRequest> {
        let Fields(fields) = serde_json::from_str(body).ok()?;
        let mut r = MessagesRequest {
            model: String::new(),
            system: None,
            messages: None,
            tools: None,
            params: Map::new(),
            user_id: None,
            metadata_extra: Map::new(),
        };
        for (key, raw) in fields {
            match key.as_str() {
                "model" => r.model = serde_json::from_str(raw.get()).unwrap_or_default(),
                "system" => r.system = Some(raw),
                "messages" => r.messages = Some(raw),
                "tools" => r.tools = Some(raw),
                "metadata" => {
                    if let Value::Object(mut m) = value_of(&raw) {
                        r.user_id = m
                            .shift_remove("user_id")
                            .and_then(|v| v.as_str().map(UserId::parse));
                        r.metadata_extra = m;
                    }
                }
                _ => {
                    r.params.insert(key, value_of(&raw));
                }
            }
        }
        Some(r)
    }

    pub fn system(&self) -> Vec<Block> {
        self.system
            .as_deref()
            .map(|raw| blocks_of(value_of(raw)))
            .unwrap_or_default()
    }

    pub fn messages(&self) -> Vec<Message> {
        match self.messages.as_deref().map(value_of) {
            Some(Value::Array(items)) => items.into_iter().map(message_of).collect(),
            _ => Vec::new(),
        }
    }

    pub fn tools(&self) -> Vec<Tool> {
        match self.tools.as_deref().map(value_of) {
            Some(Value::Array(items)) => items.into_iter().map(tool_of).collect(),
            _ => Vec::new(),
        }
    }

    /// How many tools, without parsing them.
    pub fn tool_count(&self) -> usize {
        self.tools
            .as_deref()
            .and_then(|raw| serde_json::from_str::<Vec<IgnoredAny>>(raw.get()).ok())
            .map_or(0, |v| v.len())
    }

    /// The tools' names, in order, without parsing the rest of them.
    pub fn tool_names(&self) -> Vec<String> {
        #[derive(Deserialize)]
        struct Named {
            #[serde(default)]
            name: String,
        }
        self.tools
            .as_deref()
            .and_then(|raw| serde_json::from_str::<Vec<Named>>(raw.get()).ok())
            .map(|v| v.into_iter().map(|t| t.name).collect())
            .unwrap_or_default()
    }

    /// The conversation as sent, for recognising a request sent again.
    pub fn messages_json(&self) -> &str {
        self.messages.as_deref().map_or("", RawValue::get)
    }

    /// The tools as sent, for recognising a tool set sent again without
    /// parsing it.
    pub fn tools_json(&self) -> &str {
        self.tools.as_deref().map_or("", RawValue::get)
    }

    /// How many messages there are, and the messages from `from` on,
    /// parsing only those (the conversation's new tail in a long session).
    pub fn messages_from(&self, from: usize) -> (usize, Vec<Message>) {
        let Some(raw) = self.messages.as_deref() else {
            return (0, Vec::new());
        };
        let items: Vec<&RawValue> = serde_json::from_str(raw.get()).unwrap_or_default();
        let tail = items.iter().skip(from).map(|m| message_of(value_of(m)));
        (items.len(), tail.collect())
    }

    /// The first user message's text, all text blocks joined (parses
    /// only that message).
    pub fn first_user_text(&self) -> Option<String> {
        let raw = self.messages.as_deref()?;
        let items: Vec<RawMessage> = serde_json::from_str(raw.get()).ok()?;
        let first = items.into_iter().find(|m| m.role == "user")?;
        let blocks = first
            .content
            .map(|c| blocks_of(value_of(c)))
            .unwrap_or_default();
        Some(
            blocks
                .iter()
                .filter(|b| b.kind == "text")
                .map(|b| b.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    /// All system text joined, for classification.
    pub fn system_text(&self) -> String {
        self.system()
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `system` or a message's `content`: a string is one text block.
fn blocks_of(v: Value) -> Vec<Block> {
    match v {
        Value::String(s) => vec![Block {
            kind: "text".into(),
            text: s.clone(),
            raw: Value::String(s),
        }],
        Value::Array(items) => items.into_iter().map(block_of).collect(),
        other => vec![block_of(other)],
    }
}

fn block_of(raw: Value) -> Block {
    let kind = raw
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("text")
        .to_owned();
    let text = match kind.as_str() {
        "text" => raw
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        "tool_use" | "server_tool_use" => format!(
            "{}({})",
            raw.get("name").and_then(Value::as_str).unwrap_or("?"),
            raw.get("input").map(Value::to_string).unwrap_or_default()
        ),
        "tool_result" => match raw.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(c @ Value::Array(_)) => blocks_of(c.clone())
                .into_iter()
                .map(|b| b.text)
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        },
        "thinking" => raw
            .get("thinking")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        _ => String::new(),
    };
    Block { kind, text, raw }
}

fn message_of(v: Value) -> Message {
    let role = v
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    let blocks = match v {
        Value::Object(mut m) => m.shift_remove("content").map(blocks_of).unwrap_or_default(),
        _ => Vec::new(),
    };
    Message { role, blocks }
}

fn tool_of(v: Value) -> Tool {
    let mut map = match v {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("value".into(), other);
            m
        }
    };
    let name = match map.shift_remove("name") {
        Some(Value::String(s)) => s,
        _ => "?".into(),
    };
    let description = match map.shift_remove("description") {
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    let input_schema = map.shift_remove("input_schema").unwrap_or(Value::Null);
    Tool {
        name,
        description,
        input_schema,
        extra: map,
    }
}

/// `claude-cli/2.0.50 (external, sdk-cli)` → (`claude-cli`, `2.0.50`).
pub fn client_of(user_agent: &str) -> Option<(String, String)> {
    let first = user_agent.split_whitespace().next()?;
    let (name, version) = first.split_once('/')?;
    if name.is_empty() || version.is_empty() {
        return None;
    }
    Some((name.to_owned(), version.to_owned()))
}

/// `anthropic-beta: a,b, c` → [a, b, c].
pub fn betas_of(header: Option<&str>) -> Vec<String> {
    header
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_id_both_forms() {
        let legacy =
            UserId::parse("user_abc123_account__session_1b2c3d4e-0000-4000-8000-000000000001");
        assert_eq!(
            legacy.session(),
            Some("1b2c3d4e-0000-4000-8000-000000000001")
        );
        assert!(
            matches!(&legacy, UserId::Legacy { user, account, .. } if user == "abc123" && account.is_empty())
        );
        let json = UserId::parse(r#"{"device_id":"ff00","account_uuid":"","session_id":"5e55-1"}"#);
        assert_eq!(json.session(), Some("5e55-1"));
        assert_eq!(UserId::parse("whatever").session(), None);
    }

    #[test]
    fn a_2_1_body_keeps_system_role_messages_and_new_fields() {
        let body = json!({
            "model": "claude-opus-5-5",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "<system-reminder>git</system-reminder>"}, {"type": "text", "text": "hi"}]},
                {"role": "system", "content": "Primary working directory: /tmp/x"}
            ],
            "system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.abc;"}],
            "tools": [{"name": "Agent", "description": "d", "input_schema": {"type": "object"}, "defer_loading": true}],
            "metadata": {"user_id": "{\"device_id\":\"aa\",\"account_uuid\":\"\",\"session_id\":\"s1\"}"},
            "max_tokens": 128000,
            "thinking": {"type": "adaptive", "display": "omitted"},
            "future_field": [1, 2],
            "stream": true
        })
        .to_string();
        let r = MessagesRequest::parse(&body).unwrap();
        assert_eq!(r.model, "claude-opus-5-5");
        let messages = r.messages();
        assert_eq!(messages[1].role, "system");
        assert_eq!(
            messages[1].blocks[0].text,
            "Primary working directory: /tmp/x"
        );
        assert_eq!(r.tools()[0].extra["defer_loading"], json!(true));
        let (n, tail) = r.messages_from(1);
        assert_eq!((n, tail.len(), tail[0].role.as_str()), (2, 1, "system"));
        assert!(r.tools_json().starts_with("[{\"name\":\"Agent\""));
        assert_eq!(r.tool_count(), 1);
        assert_eq!(r.params["future_field"], json!([1, 2]));
        assert_eq!(
            r.params.keys().collect::<Vec<_>>(),
            ["max_tokens", "thinking", "future_field", "stream"]
        );
        assert_eq!(r.user_id.as_ref().unwrap().session(), Some("s1"));
        assert_eq!(
            r.first_user_text().unwrap(),
            "<system-reminder>git</system-reminder>\nhi"
        );
    }

    #[test]
    fn tool_results_and_uses_read_as_text() {
        let r = MessagesRequest::parse(
            &json!({"model": "m", "messages": [
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "a.txt"}]}]}
            ]})
            .to_string(),
        )
        .unwrap();
        assert_eq!(r.messages()[0].blocks[0].text, r#"Bash({"command":"ls"})"#);
        assert_eq!(r.messages()[1].blocks[0].text, "a.txt");
    }

    #[test]
    fn client_and_betas_come_from_headers() {
        assert_eq!(
            client_of("claude-cli/2.0.50 (external, sdk-cli)"),
            Some(("claude-cli".into(), "2.0.50".into()))
        );
        assert_eq!(client_of("curl"), None);
        assert_eq!(betas_of(Some("a, b,,c")), ["a", "b", "c"]);
        assert!(MessagesRequest::parse("not json").is_none());
    }
}

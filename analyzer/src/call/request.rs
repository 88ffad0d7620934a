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
use std::ops::Range;
use std::sync::Arc;

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
/// as places in the body and parsed when asked for: `usage` over a large
/// archive never needs them, `ls` only the first user message. The body
/// is held once: taken from the entry ([`MessagesRequest::parse_owned`])
/// it is not copied at all.
#[derive(Clone, Debug)]
pub struct MessagesRequest {
    pub model: String,
    /// The body as sent; the three below are byte ranges of it.
    body: Arc<String>,
    system: Option<Range<usize>>,
    messages: Option<Range<usize>>,
    tools: Option<Range<usize>>,
    /// Every other top-level field in body order, except `metadata`:
    /// `max_tokens`, `temperature`, `thinking`, `context_management`,
    /// `output_config`, `stream`, and whatever is new.
    pub params: Map<String, Value>,
    pub user_id: Option<UserId>,
    /// `metadata` fields other than `user_id`.
    pub metadata_extra: Map<String, Value>,
}

/// A JSON object's fields in order, values unparsed (borrowed from it).
pub(super) struct Fields<'a>(pub Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fields<'de>, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = map.next_entry::<String, &'de RawValue>()? {
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

pub(super) fn value_of(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or(Value::Null)
}

impl MessagesRequest {
    /// Takes a body apart; `None` when it is not a JSON object.
    pub fn parse(body: &str) -> Option<MessagesRequest> {
        MessagesRequest::parse_owned(body.to_owned())
    }

    /// [`MessagesRequest::parse`] keeping `body` itself, no copy of it.
    pub fn parse_owned(body: String) -> Option<MessagesRequest> {
        let mut r = MessagesRequest {
            model: String::new(),
            body: Arc::new(String::new()),
            system: None,
            messages: None,
            tools: None,
            params: Map::new(),
            user_id: None,
            metadata_extra: Map::new(),
        };
        let Fields(fields) = serde_json::from_str(&body).ok()?;
        // A borrowed raw value is a slice of `body`: where it lies.
        let place = |raw: &RawValue| {
            let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
            start..start + raw.get().len()
        };
        for (key, raw) in fields {
            match key.as_str() {
                "model" => r.model = serde_json::from_str(raw.get()).unwrap_or_default(),
                "system" => r.system = Some(place(raw)),
                "messages" => r.messages = Some(place(raw)),
                "tools" => r.tools = Some(place(raw)),
                "metadata" => {
                    if let Value::Object(mut m) = value_of(raw.get()) {
                        r.user_id = m
                            .shift_remove("user_id")
                            .and_then(|v| v.as_str().map(UserId::parse));
                        r.metadata_extra = m;
                    }
                }
                _ => {
                    r.params.insert(key, value_of(raw.get()));
                }
            }
        }
        r.body = Arc::new(body);
        Some(r)
    }

    /// The body as sent.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// One of the parts kept unparsed, as sent.
    fn part(&self, place: &Option<Range<usize>>) -> Option<&str> {
        place.clone().map(|r| &self.body[r])
    }

    pub fn system(&self) -> Vec<Block> {
        self.part(&self.system)
            .map(|raw| blocks_of(value_of(raw)))
            .unwrap_or_default()
    }

    pub fn messages(&self) -> Vec<Message> {
        match self.part(&self.messages).map(value_of) {
            Some(Value::Array(items)) => items.into_iter().map(message_of).collect(),
            _ => Vec::new(),
        }
    }

    pub fn tools(&self) -> Vec<Tool> {
        match self.part(&self.tools).map(value_of) {
            Some(Value::Array(items)) => items.into_iter().map(tool_of).collect(),
            _ => Vec::new(),
        }
    }

    /// How many tools, without parsing them.
    pub fn tool_count(&self) -> usize {
        self.part(&self.tools)
            .and_then(|raw| serde_json::from_str::<Vec<IgnoredAny>>(raw).ok())
            .map_or(0, |v| v.len())
    }

    /// The tools' names, in order, without parsing the rest of them.
    pub fn tool_names(&self) -> Vec<String> {
        #[derive(Deserialize)]
        struct Named {
            #[serde(default)]
            name: String,
        }
        self.part(&self.tools)
            .and_then(|raw| serde_json::from_str::<Vec<Named>>(raw).ok())
            .map(|v| v.into_iter().map(|t| t.name).collect())
            .unwrap_or_default()
    }

    /// The conversation as sent, for recognising a request sent again.
    pub fn messages_json(&self) -> &str {
        self.part(&self.messages).unwrap_or("")
    }

    /// The tools as sent, for recognising a tool set sent again without
    /// parsing it.
    pub fn tools_json(&self) -> &str {
        self.part(&self.tools).unwrap_or("")
    }

    /// How many messages there are, and the messages from `from` on,
    /// parsing only those (the conversation's new tail in a long session).
    pub fn messages_from(&self, from: usize) -> (usize, Vec<Message>) {
        let Some(raw) = self.part(&self.messages) else {
            return (0, Vec::new());
        };
        let items: Vec<&RawValue> = serde_json::from_str(raw).unwrap_or_default();
        let tail = items
            .iter()
            .skip(from)
            .map(|m| message_of(value_of(m.get())));
        (items.len(), tail.collect())
    }

    /// The first user message's text, all text blocks joined (parses
    /// only that message).
    pub fn first_user_text(&self) -> Option<String> {
        let raw = self.part(&self.messages)?;
        let items: Vec<RawMessage> = serde_json::from_str(raw).ok()?;
        let first = items.into_iter().find(|m| m.role == "user")?;
        let blocks = first
            .content
            .map(|c| blocks_of(value_of(c.get())))
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

    /// `first_user_text().unwrap_or_default()` handed to `f` in pieces,
    /// read out of the body without a copy of it (a 200 MB prompt is
    /// classified without holding it twice).
    pub fn first_user_text_pieces(&self, f: &mut dyn FnMut(&str)) {
        let content = || {
            let items: Vec<RawMessage> = serde_json::from_str(self.part(&self.messages)?).ok()?;
            items.into_iter().find(|m| m.role == "user")?.content
        };
        let Some(content) = content() else {
            return;
        };
        // Checked whole first: a piece handed out cannot be taken back.
        if super::text::content_text_pieces(content.get(), &mut |_| {}).is_ok() {
            let _ = super::text::content_text_pieces(content.get(), f);
        } else {
            f(&self.first_user_text().unwrap_or_default());
        }
    }

    /// How many messages [`MessagesRequest::message_blocks`] hands out, or
    /// `None` when it cannot be read in pieces (then use `messages()`).
    pub fn message_count_in_pieces(&self) -> Option<usize> {
        let Some(raw) = self.part(&self.messages) else {
            return Some(0);
        };
        super::text::message_blocks(raw, &mut super::text::Nowhere).ok()
    }

    /// The messages' blocks, as [`MessagesRequest::messages`] has them,
    /// with the texts of text, thinking and tool result blocks in pieces
    /// (`show` prints a 200 MB message without a copy of it). Only after
    /// [`MessagesRequest::message_count_in_pieces`] said it can.
    pub fn message_blocks(&self, sink: &mut dyn super::text::BlockSink) {
        if let Some(raw) = self.part(&self.messages) {
            let _ = super::text::message_blocks(raw, sink);
        }
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

pub(super) fn block_of(raw: Value) -> Block {
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
    fn the_first_user_text_in_pieces_is_the_first_user_text() {
        let contents = [
            json!("  Warmup \n"),
            json!("say \"hi\" \u{e9}\u{1F600}\t\\ end"),
            json!([{"type": "text", "text": "a"}, {"type": "image", "source": {}}, {"type": "text", "text": "b\nc"}]),
            json!([{"type": "tool_result", "content": "x"}, {"text": "no type"}, 7, "s", {"type": "text"}]),
            json!([]),
            json!({"type": "text", "text": "one block"}),
            json!(null),
            json!(12),
        ];
        for content in contents {
            for messages in [
                json!([{"role": "assistant", "content": "no"}, {"role": "user", "content": content}]),
                json!([{"role": "user"}]),
                json!([]),
                json!("not a list"),
            ] {
                let body = json!({"model": "m", "messages": messages}).to_string();
                let r = MessagesRequest::parse(&body).unwrap();
                let mut got = String::new();
                r.first_user_text_pieces(&mut |p| got.push_str(p));
                assert_eq!(got, r.first_user_text().unwrap_or_default(), "{body}");
            }
        }
        // A lone surrogate (which serde_json refuses) is read the ordinary way.
        let body = r#"{"messages":[{"role":"user","content":"a\ud800b"}]}"#;
        let r = MessagesRequest::parse(body).unwrap();
        let mut got = String::new();
        r.first_user_text_pieces(&mut |p| got.push_str(p));
        assert_eq!(got, r.first_user_text().unwrap_or_default());
    }

    #[test]
    fn a_body_taken_apart_is_held_once_not_copied() {
        let body = json!({"model": "m", "system": "s", "messages": [{"role": "user", "content": "hi"}], "tools": []})
            .to_string();
        let (start, len) = (body.as_ptr() as usize, body.len());
        let r = MessagesRequest::parse_owned(body).unwrap();
        let at = r.messages_json().as_ptr() as usize;
        assert!(
            at > start && at < start + len,
            "messages are a slice of the body"
        );
        assert_eq!(r.messages_json(), r#"[{"role":"user","content":"hi"}]"#);
        assert_eq!((r.tools_json(), r.system_text().as_str()), ("[]", "s"));
        assert!(MessagesRequest::parse_owned("[1]".into()).is_none());
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

//! Each call's part of the conversation, as the model saw it.
//!
//! Claude Code repeats the whole conversation in every request, so a
//! thread (the main loop, or a subagent: same session, same first user
//! message) is followed call by call and each call keeps only the messages
//! that are new since the thread's previous call. The first of those is
//! normally the previous reply sent back, which is not shown twice; a
//! `tool_result` is attached to the `tool_use` it answers. The system
//! prompt and tools are kept once per distinct version (masked as `diff`
//! masks them, so the per-turn billing fingerprint does not count as a
//! change).

use crate::call::request::{Block, Message};
use crate::call::{Call, Endpoint};
use crate::classify::Role;
use crate::mask::Masks;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// One content block, as the page renders it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BlockView {
    /// `text`, `tool_use`, `tool_result`, `thinking`, `image`, …
    pub k: String,
    /// The readable text (a tool use's input as indented JSON); empty
    /// for a tool result shown with its tool use.
    pub t: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A tool result shown under the tool use it answers.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub paired: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
    /// A tool use's result, when the result came in this same call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MessageView {
    pub role: String,
    pub blocks: Vec<BlockView>,
}

/// A tool call of the reply, with the result the next call sent back.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ToolView {
    pub id: String,
    pub name: String,
    pub input: String,
    pub result: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReplyView {
    pub text: String,
    pub thinking: String,
    pub tools: Vec<ToolView>,
    pub stop: Option<String>,
    pub error: Option<String>,
}

/// What expanding a call shows; kept in the page as inert JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Detail {
    /// Messages sent before this call's new ones (shown with earlier turns).
    pub skipped: usize,
    /// The first new message was the previous reply, not repeated.
    pub echo: bool,
    /// The thread's conversation got shorter (compacted): all shown again.
    pub rewritten: bool,
    pub msgs: Vec<MessageView>,
    pub reply: ReplyView,
    /// Request parameters (`max_tokens`, `thinking`, …).
    pub params: Map<String, Value>,
    /// For a call that is not a Messages API call: what it was.
    pub note: Option<String>,
}

/// A system prompt and tool set, kept once.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PromptVersion {
    pub system: Vec<String>,
    pub system_chars: usize,
    pub tools: Vec<ToolDef>,
    pub tools_bytes: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    pub schema: String,
    pub bytes: usize,
}

/// Where a call was placed.
#[derive(Debug, Default)]
pub struct Placed {
    pub detail: Detail,
    pub thread: Option<usize>,
    pub prompt: Option<usize>,
    pub new_prompt: bool,
}

#[derive(Debug, Default)]
struct ThreadState {
    calls: usize,
    messages: usize,
    prompt: Option<usize>,
    /// The previous call's tool uses: id → (call in read order, tool).
    pending: HashMap<String, (usize, usize)>,
    /// The previous reply's text and tool use ids, to recognise it when
    /// it is sent back.
    last_reply: (String, Vec<String>),
}

/// Follows every thread of every session, in read order.
#[derive(Debug)]
pub struct Threads {
    by_key: HashMap<(usize, u64), usize>,
    state: Vec<ThreadState>,
    prompts: HashMap<(u64, u64), usize>,
    masks: Masks,
}

impl Default for Threads {
    fn default() -> Threads {
        Threads {
            by_key: HashMap::new(),
            state: Vec::new(),
            prompts: HashMap::new(),
            masks: Masks::claude_code(),
        }
    }
}

fn hash_of(parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

impl Threads {
    /// Calls in a thread.
    pub fn len(&self, thread: usize) -> usize {
        self.state.get(thread).map_or(0, |s| s.calls)
    }

    /// Places one call; `details` are the calls placed before it, in read
    /// order (a tool result is attached to its tool use there).
    pub fn place(
        &mut self,
        call: &Call,
        role: Role,
        session: usize,
        prompts: &mut Vec<PromptVersion>,
        details: &mut [Detail],
    ) -> Placed {
        let Some(req) = call
            .request
            .as_ref()
            .filter(|_| call.endpoint != Endpoint::Other)
        else {
            let note = format!(
                "{} {}{} → {}",
                call.method, call.host, call.path, call.status
            );
            return Placed {
                detail: Detail {
                    note: Some(note),
                    ..Detail::default()
                },
                ..Placed::default()
            };
        };
        let prompt = self.prompt_of(req, prompts);
        let mut detail = Detail {
            reply: reply_view(call),
            params: req.params.clone(),
            ..Detail::default()
        };
        if role != Role::Main {
            detail.msgs = req.messages_from(0).1.iter().map(message_view).collect();
            return Placed {
                detail,
                prompt: Some(prompt),
                ..Placed::default()
            };
        }
        let key = (
            session,
            hash_of(&[&req.model, &req.first_user_text().unwrap_or_default()]),
        );
        let next = self.state.len();
        let thread = *self.by_key.entry(key).or_insert(next);
        if thread == next {
            self.state.push(ThreadState::default());
        }
        let seq = details.len();
        let st = &mut self.state[thread];
        let (total, mut tail) = req.messages_from(st.messages);
        if total < st.messages {
            detail.rewritten = true;
            tail = req.messages_from(0).1;
        } else {
            detail.skipped = st.messages;
        }
        if st.calls > 0
            && !detail.rewritten
            && tail.first().is_some_and(|m| echoes(m, &st.last_reply))
        {
            detail.echo = true;
            tail.remove(0);
        }
        let pending = std::mem::take(&mut st.pending);
        detail.msgs = tail.iter().map(message_view).collect();
        pair_results(&mut detail.msgs, &pending, details);
        st.last_reply = (
            detail.reply.text.clone(),
            detail.reply.tools.iter().map(|t| t.id.clone()).collect(),
        );
        st.pending = detail
            .reply
            .tools
            .iter()
            .enumerate()
            .map(|(j, t)| (t.id.clone(), (seq, j)))
            .collect();
        st.calls += 1;
        st.messages = total;
        let new_prompt = st.prompt != Some(prompt);
        st.prompt = Some(prompt);
        Placed {
            detail,
            thread: Some(thread),
            prompt: Some(prompt),
            new_prompt,
        }
    }

    /// The index of the call's prompt version, adding it when new.
    fn prompt_of(
        &mut self,
        req: &crate::call::MessagesRequest,
        prompts: &mut Vec<PromptVersion>,
    ) -> usize {
        let system = req.system();
        let masked: Vec<String> = system
            .iter()
            .map(|b| self.masks.apply(&b.text, None))
            .collect();
        let key = (
            hash_of(&masked.iter().map(String::as_str).collect::<Vec<_>>()),
            hash_of(&[req.tools_json()]),
        );
        if let Some(&i) = self.prompts.get(&key) {
            return i;
        }
        let tools: Vec<ToolDef> = req
            .tools()
            .iter()
            .map(|t| ToolDef {
                name: t.name.clone(),
                description: t.description.clone(),
                schema: serde_json::to_string_pretty(&t.input_schema).unwrap_or_default(),
                bytes: t.bytes(),
            })
            .collect();
        let system: Vec<String> = system.into_iter().map(|b| b.text).collect();
        prompts.push(PromptVersion {
            system_chars: system.iter().map(|s| s.chars().count()).sum(),
            tools_bytes: req.tools_json().len(),
            system,
            tools,
        });
        self.prompts.insert(key, prompts.len() - 1);
        prompts.len() - 1
    }
}

/// Whether a message is the previous reply sent back: an assistant
/// message with the reply's text and tool use ids.
fn echoes(m: &Message, (text, ids): &(String, Vec<String>)) -> bool {
    let mut own_text = String::new();
    let mut own_ids = Vec::new();
    for b in &m.blocks {
        match b.kind.as_str() {
            "text" => own_text.push_str(&b.text),
            "tool_use" | "server_tool_use" => own_ids.push(
                b.raw
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ),
            _ => {}
        }
    }
    m.role == "assistant" && own_text.trim() == text.trim() && &own_ids == ids
}

/// Moves each tool result under the tool use it answers: one of the
/// thread's previous reply, or one in an earlier message of this call.
fn pair_results(
    msgs: &mut [MessageView],
    pending: &HashMap<String, (usize, usize)>,
    details: &mut [Detail],
) {
    let mut uses: HashMap<String, (usize, usize)> = HashMap::new();
    for i in 0..msgs.len() {
        for j in 0..msgs[i].blocks.len() {
            let b = &msgs[i].blocks[j];
            let Some(id) = b.id.clone() else { continue };
            if b.k != "tool_result" {
                uses.insert(id, (i, j));
                continue;
            }
            let (text, is_error) = (b.t.clone(), b.is_error);
            let name = if let Some(&(mi, bj)) = uses.get(&id) {
                let used = &mut msgs[mi].blocks[bj];
                used.result = Some(text);
                used.is_error = is_error;
                used.name.clone()
            } else if let Some(tool) = pending
                .get(&id)
                .and_then(|&(seq, t)| details.get_mut(seq)?.reply.tools.get_mut(t))
            {
                tool.result = Some(text);
                tool.is_error = is_error;
                Some(tool.name.clone())
            } else {
                continue;
            };
            let b = &mut msgs[i].blocks[j];
            b.t.clear();
            b.name = name;
            b.paired = true;
        }
    }
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_owned())
}

fn reply_view(call: &Call) -> ReplyView {
    let r = &call.reply;
    ReplyView {
        text: r.text.clone(),
        thinking: r.thinking.clone(),
        tools: r
            .tool_calls
            .iter()
            .map(|t| ToolView {
                id: t.id.clone(),
                name: t.name.clone(),
                input: pretty(&t.input),
                ..ToolView::default()
            })
            .collect(),
        stop: r.stop_reason.clone(),
        error: r.api_error.clone().or_else(|| call.error.clone()),
    }
}

fn message_view(m: &Message) -> MessageView {
    MessageView {
        role: m.role.clone(),
        blocks: m.blocks.iter().map(block_view).collect(),
    }
}

fn block_view(b: &Block) -> BlockView {
    let str_of = |k: &str| b.raw.get(k).and_then(Value::as_str).map(str::to_owned);
    match b.kind.as_str() {
        "tool_use" | "server_tool_use" => BlockView {
            k: b.kind.clone(),
            t: b.raw
                .get("input")
                .and_then(|v| serde_json::to_string_pretty(v).ok())
                .unwrap_or_default(),
            name: str_of("name"),
            id: str_of("id"),
            ..BlockView::default()
        },
        "tool_result" => BlockView {
            k: b.kind.clone(),
            t: b.text.clone(),
            id: str_of("tool_use_id"),
            is_error: b.raw.get("is_error").and_then(Value::as_bool) == Some(true),
            ..BlockView::default()
        },
        "text" | "thinking" => BlockView {
            k: b.kind.clone(),
            t: b.text.clone(),
            ..BlockView::default()
        },
        other => BlockView {
            k: other.to_owned(),
            t: format!("({other} block, {} bytes)", b.raw.to_string().len()),
            ..BlockView::default()
        },
    }
}

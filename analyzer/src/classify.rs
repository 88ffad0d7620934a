//! Naming each call's role in a session: the main agent loop, side calls
//! (Warmup subagents, git-history, topic/title, quota checks),
//! `count_tokens`, and retries of failed attempts.
//!
//! Claude Code starts its requests concurrently, so roles come from
//! content, never from position: the main loop is the call with a
//! non-empty tool set and the largest body (seen in every recording in
//! `fixtures/claude-code/`, whose call order varies run to run).

use crate::call::{Call, Endpoint};
use serde::Serialize;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The agent loop: has tools.
    Main,
    /// A subagent warm-up: user text `Warmup`, no tools.
    Warmup,
    /// The git-history side call (2.0.x, in a git repository).
    GitHistory,
    /// Title generation for the session.
    Title,
    /// The topic check: is this message a new topic (`isNewTopic`)?
    Topic,
    /// A quota check (user text `quota`).
    Quota,
    /// Any other Messages call without tools.
    Side,
    CountTokens,
    /// An OpenAI-style Chat Completions call (its prompt is not taken apart).
    ChatCompletions,
    /// An OpenAI-style Responses API call.
    Responses,
    /// Not a model API call.
    Other,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Main => "main",
            Role::Warmup => "warmup",
            Role::GitHistory => "git-history",
            Role::Title => "title",
            Role::Topic => "topic",
            Role::Quota => "quota",
            Role::Side => "side",
            Role::CountTokens => "count_tokens",
            Role::ChatCompletions => "chat/completions",
            Role::Responses => "responses",
            Role::Other => "other",
        }
    }

    pub fn is_side(self) -> bool {
        matches!(
            self,
            Role::Warmup | Role::GitHistory | Role::Title | Role::Topic | Role::Quota | Role::Side
        )
    }
}

/// The call's role, from its endpoint and content.
pub fn role(call: &Call) -> Role {
    match call.endpoint {
        Endpoint::CountTokens => return Role::CountTokens,
        Endpoint::ChatCompletions => return Role::ChatCompletions,
        Endpoint::Responses => return Role::Responses,
        Endpoint::Other => return Role::Other,
        Endpoint::Messages => {}
    }
    let Some(req) = &call.request else {
        return Role::Other;
    };
    // The first user message is read in pieces, never whole: a 200 MB
    // prompt costs no copy (what follows is `trim`, `eq_ignore_ascii_case`
    // and a lowercased `contains` on it, piece by piece).
    let mut user = Short::default();
    let mut words = Words::default();
    words.feed(&req.system_text());
    words.feed("\n");
    let mut started = false;
    req.first_user_text_pieces(&mut |piece| {
        let piece = if started { piece } else { piece.trim_start() };
        started |= !piece.is_empty();
        user.push(piece);
        words.feed(piece);
    });
    if user.is("warmup") {
        return Role::Warmup;
    }
    if user.is("quota") {
        return Role::Quota;
    }
    if req.tool_count() > 0 {
        return Role::Main;
    }
    side_role(|w| words.found(w))
}

/// A side call's role by the words its prompt (system and first user
/// text, lowercased) holds.
fn side_role(mut has: impl FnMut(&str) -> bool) -> Role {
    if has("git history") || has("commit messages") || has("recent commits") {
        Role::GitHistory
    } else if has("isnewtopic") || has("new conversation topic") {
        // 2.0.x's topic check also asks for a title: it is told apart first.
        Role::Topic
    } else if has("title") {
        Role::Title
    } else if has("topic") {
        Role::Topic
    } else {
        Role::Side
    }
}

/// A text read in pieces (its start already trimmed), kept only while it
/// is short enough to be one of the words a side call is known by.
#[derive(Default)]
struct Short {
    text: String,
    /// Trailing whitespace was left out to stay short: any more text
    /// makes it long.
    dropped: bool,
    long: bool,
}

impl Short {
    const MAX: usize = 64;

    fn push(&mut self, piece: &str) {
        if self.long {
        } else if self.dropped {
            self.long = !piece.trim().is_empty();
        } else if self.text.len() + piece.len() <= Short::MAX {
            self.text.push_str(piece);
        } else if self.text.len() + piece.trim_end().len() <= Short::MAX {
            self.text.push_str(piece.trim_end());
            self.dropped = true;
        } else {
            self.long = true;
        }
    }

    /// Whether the whole text, trimmed, is `word` (ASCII case ignored).
    fn is(&self, word: &str) -> bool {
        !self.long && self.text.trim_end().eq_ignore_ascii_case(word)
    }
}

/// The words that tell side calls apart, looked for in a text read in
/// pieces, ASCII letters lowercased: as in the text's `to_lowercase()`,
/// since no other character lowercases to one of their letters (the
/// Kelvin sign's `k` and `İ`'s `i` + U+0307 cannot complete a match).
#[derive(Default)]
struct Words {
    /// Bytes read and not yet searched, lowercased, after the last bytes
    /// searched (a word may straddle two searches).
    buf: Vec<u8>,
    found: [bool; WORDS.len()],
}

const WORDS: [&str; 7] = [
    "git history",
    "commit messages",
    "recent commits",
    "isnewtopic",
    "new conversation topic",
    "title",
    "topic",
];

impl Words {
    /// Searched in blocks this large: pieces are often a few bytes long.
    const BLOCK: usize = 64 * 1024;

    fn feed(&mut self, text: &str) {
        for chunk in text.as_bytes().chunks(Words::BLOCK) {
            self.buf.extend(chunk.iter().map(u8::to_ascii_lowercase));
            if self.buf.len() >= Words::BLOCK {
                self.search();
            }
        }
    }

    /// Searches what was fed, keeping the tail a word could start in.
    fn search(&mut self) {
        for (found, word) in self.found.iter_mut().zip(WORDS) {
            *found = *found || memchr::memmem::find(&self.buf, word.as_bytes()).is_some();
        }
        let longest = WORDS.iter().map(|w| w.len()).max().unwrap_or(1);
        let searched = self.buf.len().saturating_sub(longest - 1);
        self.buf.drain(..searched);
    }

    /// Whether `word` was in the text (all fed by now).
    fn found(&mut self, word: &str) -> bool {
        self.search();
        WORDS
            .iter()
            .position(|w| *w == word)
            .is_some_and(|i| self.found[i])
    }
}

/// Links retries to the failed attempts before them: the same model and
/// conversation sent again after a failure (the 2.0.x non-streaming
/// fallback changes parameters, not messages).
#[derive(Debug, Default)]
pub struct Retries {
    failed: HashMap<u64, usize>,
}

impl Retries {
    /// Feeds calls in order; returns the index of the failed attempt this
    /// call retries, if any.
    pub fn observe(&mut self, call: &Call) -> Option<usize> {
        let req = call.request.as_ref()?;
        let mut h = DefaultHasher::new();
        req.model.hash(&mut h);
        req.messages_json().hash(&mut h);
        let key = h.finish();
        let earlier = self.failed.get(&key).copied();
        if call.failed() {
            self.failed.insert(key, call.index);
        } else {
            self.failed.remove(&key);
        }
        earlier
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::testkit::*;
    use serde_json::json;

    fn call(i: usize, e: &cctap_archive::Entry) -> Call {
        Call::from_entry(i, e)
    }

    /// The role as it was computed before the first user text was read
    /// in pieces: the whole text, trimmed, lowercased with the system's
    /// (the words' order is [`side_role`]'s either way).
    fn role_whole(call: &Call) -> Role {
        let req = call.request.as_ref().unwrap();
        let user = req.first_user_text().unwrap_or_default();
        let user = user.trim();
        if user.eq_ignore_ascii_case("warmup") {
            return Role::Warmup;
        }
        if user.eq_ignore_ascii_case("quota") {
            return Role::Quota;
        }
        if req.tool_count() > 0 {
            return Role::Main;
        }
        let prompt = format!("{}\n{}", req.system_text(), user).to_lowercase();
        side_role(|w| prompt.contains(w))
    }

    #[test]
    fn roles_read_in_pieces_agree_with_reading_the_text_whole() {
        let pad = " ".repeat(100);
        let long = "x\"y ".repeat(40_000); // pieces of 3 bytes, 160 KB
        let users = [
            "warmup".to_owned(),
            format!("{pad}\n QUOTA \t{pad}"),
            format!("warmu{pad}p"),
            format!("warmup{pad}x"),
            "quota\u{0}".to_owned(),
            format!("{long}Git\nHistory? no: git History"),
            format!("{long}new Conversation TOPIC"),
            format!("{}tit\"le", "a".repeat(64 * 1024 - 3)),
            format!("{}title", "a".repeat(64 * 1024 - 3)),
            format!("KELVIN \u{212A} {long} Ti\u{130}tle IsNewTopic"),
            "t".to_owned(),
            String::new(),
        ];
        for user in &users {
            for system in ["", "you write a title", "topic"] {
                let mut b = warmup_body("h");
                b["system"][0]["text"] = json!(system);
                b["messages"][0]["content"][0]["text"] = json!(user);
                let c = call(0, &streamed(UA_2_0, &b, (1, 1, 0, 0), "x"));
                let short: String = user.chars().take(40).collect();
                assert_eq!(
                    role(&c),
                    role_whole(&c),
                    "system {system:?}, user {short:?}…"
                );
            }
        }
    }

    #[test]
    fn roles_by_content() {
        let main = streamed(UA_2_0, &main_body("s", &["Bash"], "p"), (1, 1, 0, 0), "x");
        let warm = streamed(UA_2_0, &warmup_body("h"), (1, 1, 0, 0), "x");
        let mut git = warmup_body("h");
        git["messages"][0]["content"][0]["text"] = json!("Here is the git history of the repo");
        let git = streamed(UA_2_0, &git, (1, 1, 0, 0), "x");
        assert_eq!(role(&call(0, &main)), Role::Main);
        assert_eq!(role(&call(1, &warm)), Role::Warmup);
        assert_eq!(role(&call(2, &git)), Role::GitHistory);
        let side = |system: &str, user: &str| {
            let mut b = warmup_body("h");
            b["system"][0]["text"] = json!(system);
            b["messages"][0]["content"][0]["text"] = json!(user);
            role(&call(5, &streamed(UA_2_0, &b, (1, 1, 0, 0), "x")))
        };
        let topic = "Analyze if this message indicates a new conversation topic. If it does, \
                     extract a 2-3 word title. Reply as JSON with 'isNewTopic' and 'title'.";
        assert_eq!(
            side(topic, "fix the login bug"),
            Role::Topic,
            "asks for a title too"
        );
        let title =
            "Generate a concise, sentence-case title (3-7 words) that captures the main topic";
        assert_eq!(
            side(title, "fix the login bug"),
            Role::Title,
            "mentions a topic too"
        );
        assert_eq!(side("x", "quota"), Role::Quota);
        let mut count = main.clone();
        count.har.request.url =
            "https://api.anthropic.com/v1/messages/count_tokens?beta=true".into();
        assert_eq!(role(&call(3, &count)), Role::CountTokens);
        let mut other = main;
        other.har.request.url = "https://api.anthropic.com/api/hello".into();
        assert_eq!(role(&call(4, &other)), Role::Other);
    }

    #[test]
    fn a_retry_points_at_the_failed_attempt() {
        let body = main_body("s", &["Bash"], "p");
        let failed = answered_json(
            request("https://h/v1/messages", &[], &body),
            529,
            &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        );
        let mut fallback = body.clone();
        fallback.as_object_mut().unwrap().remove("stream");
        fallback["max_tokens"] = json!(21333);
        let ok = streamed(UA_2_0, &fallback, (1, 1, 0, 0), "x");
        let mut r = Retries::default();
        assert_eq!(r.observe(&call(0, &failed)), None);
        assert_eq!(r.observe(&call(1, &ok)), Some(0));
        assert_eq!(
            r.observe(&call(2, &ok)),
            None,
            "a success clears the attempt"
        );
    }
}

//! The typed model API call derived from one archive entry: where it
//! went, which client sent it, what it asked ([`request`]) and what came
//! back ([`reply`]). Commands read this model, not raw JSON. Anthropic's
//! Messages API is read in full; OpenAI-style calls (Chat Completions,
//! Responses: [`openai`]) for their model, reply and usage.
//!
//! The reply comes from `_sseEvents` when present, else from parsing the
//! raw stream in `content.text` (mitmproxy's HARs), else from a JSON body.

pub mod body;
pub mod openai;
pub mod reply;
pub mod request;
pub mod text;

use cctap_archive::Entry;
pub use reply::{Reply, ReplySource, Usage};
pub use request::MessagesRequest;

/// Which API the entry spoke to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `…/v1/messages` under any base path.
    Messages,
    /// `…/v1/messages/count_tokens`.
    CountTokens,
    /// `POST …/chat/completions` (OpenAI and compatible servers).
    ChatCompletions,
    /// `POST …/responses` (OpenAI's Responses API).
    Responses,
    /// Anything else (telemetry, metrics_enabled, a web page, …).
    Other,
}

impl Endpoint {
    /// By the path alone (any method).
    pub fn of_path(path: &str) -> Endpoint {
        let path = path.trim_end_matches('/');
        if path.ends_with("/v1/messages") {
            Endpoint::Messages
        } else if path.ends_with("/v1/messages/count_tokens") {
            Endpoint::CountTokens
        } else if path.ends_with("/chat/completions") {
            Endpoint::ChatCompletions
        } else if path.ends_with("/responses") {
            Endpoint::Responses
        } else {
            Endpoint::Other
        }
    }

    /// By method and path: OpenAI's paths are model calls only as `POST`
    /// (`GET …/chat/completions` lists stored completions).
    pub fn of(method: &str, path: &str) -> Endpoint {
        match Endpoint::of_path(path) {
            e if e.openai().is_some() && !method.eq_ignore_ascii_case("POST") => Endpoint::Other,
            e => e,
        }
    }

    /// A call a model answers with usage (not count_tokens, not other traffic).
    pub fn is_model_call(self) -> bool {
        matches!(
            self,
            Endpoint::Messages | Endpoint::ChatCompletions | Endpoint::Responses
        )
    }

    /// Which OpenAI API, for OpenAI-style calls.
    pub fn openai(self) -> Option<openai::Api> {
        match self {
            Endpoint::ChatCompletions => Some(openai::Api::Chat),
            Endpoint::Responses => Some(openai::Api::Responses),
            _ => None,
        }
    }

    /// The API's name as `usage --by api` groups and `ls` shows it.
    pub fn api_name(self) -> &'static str {
        match self {
            Endpoint::Messages => "messages",
            Endpoint::CountTokens => "count_tokens",
            Endpoint::ChatCompletions => "chat/completions",
            Endpoint::Responses => "responses",
            Endpoint::Other => "other",
        }
    }
}

/// One exchange as a Messages API call.
#[derive(Clone, Debug)]
pub struct Call {
    /// The entry's position in its file (as `ls` numbers it).
    pub index: usize,
    pub started: String,
    pub method: String,
    pub url: String,
    pub host: String,
    /// The path without the query.
    pub path: String,
    pub endpoint: Endpoint,
    /// HTTP status; 0 when no response head arrived.
    pub status: i64,
    /// From `User-Agent: claude-cli/2.0.50 (…)`: (`claude-cli`, `2.0.50`).
    pub client: Option<(String, String)>,
    pub betas: Vec<String>,
    pub api_version: Option<String>,
    /// 2.1.x's `X-Claude-Code-Session-Id` header.
    pub session_header: Option<String>,
    /// `None` when the body is not a JSON object (or not a Messages API call).
    pub request: Option<MessagesRequest>,
    /// An OpenAI-style call's model and stream options.
    pub openai: Option<openai::RequestFacts>,
    pub reply: Reply,
    /// The entry's `_error`.
    pub error: Option<String>,
    pub duration_ms: f64,
    /// Why the response body could not be decoded (kept as found, and the
    /// reply left empty): a corrupt gzip, bytes that do not match their
    /// `content-encoding`, invalid base64.
    pub body_error: Option<String>,
}

impl Call {
    /// Derives the call. A response body that cannot be decoded leaves the
    /// reply empty and is named in [`Call::body_error`]; the rest is read.
    pub fn from_entry(index: usize, entry: &Entry) -> Call {
        Call::build(index, entry, None)
    }

    /// [`Call::from_entry`] for a caller done with the entry's request
    /// body: a Messages request's body is moved into the call, not copied
    /// (a 200 MB prompt is held once). Other entries keep theirs.
    pub fn taking_body(index: usize, entry: &mut Entry) -> Call {
        let req = &mut entry.har.request;
        let (_, path) = split_url(&req.url);
        let body = match Endpoint::of(&req.method, &path) {
            Endpoint::Messages | Endpoint::CountTokens => {
                req.post_data.as_mut().and_then(|p| p.text.take())
            }
            _ => None,
        };
        Call::build(index, entry, body)
    }

    fn build(index: usize, entry: &Entry, body: Option<String>) -> Call {
        let req = &entry.har.request;
        let (host, path) = split_url(&req.url);
        let endpoint = Endpoint::of(&req.method, &path);
        let (request, openai) = match endpoint {
            Endpoint::Messages | Endpoint::CountTokens => match body {
                Some(body) => (MessagesRequest::parse_owned(body), None),
                None => (entry.request_text().and_then(MessagesRequest::parse), None),
            },
            Endpoint::ChatCompletions | Endpoint::Responses => (
                None,
                entry.request_text().and_then(openai::RequestFacts::parse),
            ),
            Endpoint::Other => (None, None),
        };
        let (reply, body_error) = match reply_of(entry, endpoint) {
            Ok(reply) => (reply, None),
            Err(e) => (Reply::default(), Some(e.to_string())),
        };
        Call {
            index,
            started: entry.har.started_date_time.clone(),
            method: req.method.clone(),
            url: req.url.clone(),
            host,
            path,
            endpoint,
            status: entry.har.response.status,
            client: entry
                .request_header("user-agent")
                .and_then(request::client_of),
            betas: request::betas_of(entry.request_header("anthropic-beta")),
            api_version: entry.request_header("anthropic-version").map(str::to_owned),
            session_header: entry
                .request_header("x-claude-code-session-id")
                .map(str::to_owned),
            request,
            openai,
            reply,
            error: entry.error.clone(),
            duration_ms: entry.har.time,
            body_error,
        }
    }

    /// Warns, once per file, that this entry's body was kept undecoded.
    pub fn warn_body(&self, file: &str) {
        if let Some(why) = &self.body_error {
            crate::report::warn_once(
                file,
                "undecodable body",
                &format!(
                    "entry {} ({}): {why}; the body is kept as found and the reply left unread",
                    self.index, self.url
                ),
            );
        }
    }

    pub fn model(&self) -> &str {
        self.request
            .as_ref()
            .map(|r| r.model.as_str())
            .or(self.openai.as_ref().map(|f| f.model.as_str()))
            .filter(|m| !m.is_empty())
            .or(self.reply.model.as_deref())
            .unwrap_or("")
    }

    /// The session id from `metadata.user_id`, else from 2.1.x's header.
    pub fn session(&self) -> Option<&str> {
        let from_body = self
            .request
            .as_ref()
            .and_then(|r| r.user_id.as_ref()?.session());
        from_body.or(self.session_header.as_deref())
    }

    /// A reply made up by `record -m offline`: its tokens are estimates
    /// and nobody was billed.
    pub fn offline(&self) -> bool {
        self.reply
            .id
            .as_deref()
            .is_some_and(|id| id.starts_with("msg_cctap_offline_"))
    }

    /// An API call that did not produce usage: refused, errored, reset.
    /// (A successful OpenAI-style call whose reply carries no usage is not
    /// failed: see [`Call::usage_not_reported`].)
    pub fn failed(&self) -> bool {
        self.endpoint.is_model_call()
            && (!(200..300).contains(&self.status) || self.reply.usage.is_none())
            && self.usage_not_reported().is_none()
    }

    /// Why an OpenAI-style call that was answered (2xx, a reply, no API
    /// error) has no usage: most often a chat stream whose request did not
    /// set `stream_options.include_usage`, or a stream reset before its
    /// usage. Its tokens are unknown (and were likely billed), not zero.
    pub fn usage_not_reported(&self) -> Option<&'static str> {
        let answered = (200..300).contains(&self.status)
            && self.reply.source != ReplySource::None
            && self.reply.api_error.is_none();
        (self.endpoint.openai().is_some() && answered && self.reply.usage.is_none())
            .then(|| openai::why_no_usage(self.openai.as_ref(), &self.reply))
    }

    /// Start time in Unix nanoseconds, for ordering (0 when unparsable).
    pub fn started_nanos(&self) -> i128 {
        cctap_archive::model::parse_started(&self.started).map_or(0, |t| t.unix_timestamp_nanos())
    }

    /// The UTC day the call started (`2026-11-25`), for grouping.
    pub fn day(&self) -> String {
        cctap_archive::model::parse_started(&self.started)
            .map(|t| t.to_offset(time::UtcOffset::UTC).date().to_string())
            .unwrap_or_else(|| "unknown".into())
    }
}

/// `https://api.x.com:443/a/b?c` → (`api.x.com:443`, `/a/b`).
pub fn split_url(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let path = path.split(['?', '#']).next().unwrap_or("/");
    (authority.to_owned(), path.to_owned())
}

/// The reply, from the best source the entry has, read by its API's rules.
fn reply_of(entry: &Entry, endpoint: Endpoint) -> Result<Reply, body::BodyError> {
    let api = endpoint.openai();
    let from_events = |events: &[cctap_archive::SseEvent], source| match api {
        Some(api) => openai::from_events(api, events, source),
        None => Reply::from_events(events, source),
    };
    if let Some(events) = entry.sse_events.as_deref().filter(|e| !e.is_empty()) {
        return Ok(from_events(events, ReplySource::SseEvents));
    }
    let content = &entry.har.response.content;
    let Some(text) = content.text.as_deref().filter(|t| !t.is_empty()) else {
        return Ok(Reply::default());
    };
    let base64 = content
        .encoding
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case("base64"));
    let mime = content
        .mime_type
        .as_deref()
        .or(entry.response_header("content-type"))
        .unwrap_or("");
    let coding = entry.response_header("content-encoding");
    if base64 && !body::may_hold_reply(text, coding, mime.contains("event-stream"))? {
        return Ok(Reply::default());
    }
    let bytes = body::response_bytes(text, base64, coding)?;
    let text = String::from_utf8_lossy(&bytes);
    let start = text.trim_start();
    // A chat stream has no event names: its lines start `data:`.
    if mime.contains("event-stream")
        || start.starts_with("event:")
        || (api.is_some() && start.starts_with("data:"))
    {
        let events = cctap_archive::sse::parse_all(&text);
        return Ok(from_events(&events, ReplySource::SseText));
    }
    let reply = match api {
        Some(api) => openai::from_json(api, &text),
        None => Reply::from_json(&text),
    };
    Ok(reply.unwrap_or_default())
}

#[cfg(test)]
pub mod testkit;

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn a_streamed_main_loop_call() {
        let e = streamed(
            UA_2_0,
            &main_body("claude-sonnet-4-5-20250929", &["Bash", "Read"], "sys"),
            (10, 20, 300, 4000),
            "hi",
        );
        let c = Call::from_entry(3, &e);
        assert_eq!(c.index, 3);
        assert_eq!(c.endpoint, Endpoint::Messages);
        assert_eq!(c.host, "api.anthropic.com");
        assert_eq!(c.client, Some(("claude-cli".into(), "2.0.50".into())));
        assert_eq!(c.model(), "claude-sonnet-4-5-20250929");
        assert_eq!(c.session(), Some("11111111-2222-4333-8444-555555555555"));
        let u = c.reply.usage.clone().unwrap();
        assert_eq!(
            (
                u.input_tokens,
                u.output_tokens,
                u.cache_creation_input_tokens,
                u.cache_read_input_tokens
            ),
            (10, 20, 300, 4000)
        );
        assert_eq!(c.reply.text, "hi");
        assert_eq!(c.reply.first_token_ms, Some(320.0));
        assert!(!c.failed());
        assert_eq!(c.day(), "2026-11-25");
    }

    #[test]
    fn a_529_is_a_failed_call_and_base64_json_bodies_are_read() {
        let e = request(
            "http://127.0.0.1:9/api/anthropic/v1/messages",
            &[],
            &warmup_body("m"),
        );
        let mut e = answered_json(
            e,
            529,
            &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        );
        e.har.response.content.text = Some("eyJ0eXBlIjoiZXJyb3IiLCJlcnJvciI6eyJ0eXBlIjoib3ZlcmxvYWRlZF9lcnJvciIsIm1lc3NhZ2UiOiJPdmVybG9hZGVkIn19".into());
        e.har.response.content.encoding = Some("base64".into());
        let c = Call::from_entry(0, &e);
        assert_eq!(c.endpoint, Endpoint::Messages, "any base path");
        assert_eq!(c.host, "127.0.0.1:9");
        assert!(c.failed());
        assert_eq!(
            c.reply.api_error.as_deref(),
            Some("overloaded_error: Overloaded")
        );
    }

    #[test]
    fn an_undecodable_body_is_flagged_and_the_rest_read() {
        let mut e = answered_json(
            request("https://h/v1/messages", &[], &json!({})),
            200,
            &json!({}),
        );
        e.har.response.content.text = Some("H4sIAAAAAAAA/wNOT".into());
        e.har.response.content.encoding = Some("base64".into());
        e.har.response.headers.push(cctap_archive::model::Header {
            name: "content-encoding".into(),
            value: "gzip".into(),
            comment: None,
        });
        // Not an error: one bad body must not abort the whole archive.
        let c = Call::from_entry(7, &e);
        let why = c.body_error.as_deref().unwrap();
        assert!(why.contains("base64"), "{why}");
        assert_eq!((c.status, c.url.as_str()), (200, "https://h/v1/messages"));
        assert!(c.reply.usage.is_none());
    }

    #[test]
    fn openai_calls_failed_or_without_usage_and_the_get_that_is_not_one() {
        let url = "https://api.openai.com/v1/chat/completions";
        let body = json!({"model": "gpt-4o-mini", "messages": [], "stream": true,
            "stream_options": {"include_usage": true}});
        // Reset after two chunks: answered, its usage never came.
        let mut e = request(url, &[], &body);
        e.har.response.status = 200;
        e.har.response.content.mime_type = Some("text/event-stream".into());
        e.har.response.content.text = Some(
            "data: {\"id\":\"c\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
                .into(),
        );
        e.error = Some("upstream reset the stream".into());
        let c = Call::from_entry(0, &e);
        assert_eq!(c.endpoint, Endpoint::ChatCompletions);
        assert!(c.reply.cut_off && c.reply.text == "Hi");
        assert_eq!(
            c.usage_not_reported(),
            Some("stream cut off before its usage")
        );
        assert!(!c.failed());
        let refused = answered_json(
            request(url, &[], &body),
            429,
            &json!({"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}),
        );
        let c = Call::from_entry(1, &refused);
        assert!(c.failed() && c.usage_not_reported().is_none());
        assert_eq!(c.reply.api_error.as_deref(), Some("requests: slow down"));
        assert_eq!(c.model(), "gpt-4o-mini", "the request's model");
        assert_eq!(Endpoint::of("GET", "/v1/chat/completions"), Endpoint::Other);
        assert_eq!(
            Endpoint::of("post", "/openai/v1/responses"),
            Endpoint::Responses
        );
        assert_eq!(Endpoint::of("GET", "/v1/messages"), Endpoint::Messages);
    }

    #[test]
    fn endpoints_and_urls() {
        assert_eq!(
            Endpoint::of_path("/v1/messages/count_tokens"),
            Endpoint::CountTokens
        );
        assert_eq!(
            Endpoint::of_path("/api/claude_code/organizations/metrics_enabled"),
            Endpoint::Other
        );
        assert_eq!(
            split_url("https://u:p@h:8443/a?b=1"),
            ("h:8443".to_owned(), "/a".to_owned())
        );
    }
}

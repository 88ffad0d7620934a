//! Helpers for this crate's unit tests: realistic entries and a sink that
//! keeps what was written, to cut archives at any byte.
use crate::model::{Entry, Header, PostData, SseEvent, Timings};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// An entry shaped like a Claude Code streaming exchange; `i` varies it.
pub(crate) fn sample_entry(i: usize) -> Entry {
    let mut e = Entry::default();
    e.har.started_date_time = format!("2026-11-25T12:00:{:02}.123+00:00", i % 60);
    e.har.time = 812.5 + i as f64;
    e.har.server_ip_address = Some("127.0.0.1".into());
    e.har.connection = Some(format!("{}", i / 2));
    let req = &mut e.har.request;
    req.method = "POST".into();
    req.url = "https://api.anthropic.com/v1/messages?beta=true".into();
    req.http_version = "HTTP/1.1".into();
    req.headers = vec![
        header("x-api-key", "redacted:sk-ant-api03:3f9a1c0b27de"),
        header("Content-Type", "application/json"),
        header("User-Agent", "claude-cli/2.1.332 (external, sdk-cli)"),
    ];
    req.headers_size = 412;
    let turns: String = (0..=i)
        .map(|t| {
            format!("{{\"role\":\"user\",\"content\":\"turn {t}: \\\"quoted\\\" ]}} café\"}},")
        })
        .collect();
    let body = format!(
        "{{\"model\":\"claude-sonnet-4-5\",\"messages\":[{}],\"stream\":true}}",
        turns.trim_end_matches(',')
    );
    req.body_size = body.len() as i64;
    req.post_data = Some(PostData {
        mime_type: "application/json".into(),
        text: Some(body),
        ..Default::default()
    });
    let resp = &mut e.har.response;
    resp.status = 200;
    resp.status_text = "OK".into();
    resp.http_version = "HTTP/1.1".into();
    resp.headers = vec![header("content-type", "text/event-stream")];
    let stream = "event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    resp.content.size = stream.len() as i64;
    resp.content.mime_type = Some("text/event-stream".into());
    resp.content.text = Some(stream.into());
    resp.headers_size = 120;
    resp.body_size = stream.len() as i64;
    e.har.timings = Timings {
        blocked: Some(-1.0),
        dns: Some(-1.0),
        connect: Some(if i == 0 { 1.25 } else { -1.0 }),
        ssl: Some(-1.0),
        send: 0.5,
        wait: 300.0,
        receive: 512.0,
        comment: None,
    };
    e.sse_events = Some(crate::sse::parse_all(stream));
    if i % 3 == 2 {
        e.error = Some("upstream reset the stream".into());
        e.sse_events.get_or_insert_with(Vec::new).push(SseEvent {
            time: 700.25,
            event: "ping".into(),
            data: "{}".into(),
            ..Default::default()
        });
    }
    e
}

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
        comment: None,
    }
}

/// A sink whose bytes stay readable while the writer holds it.
#[derive(Clone, Default)]
pub(crate) struct SharedSink(pub Arc<Mutex<Vec<u8>>>);

impl SharedSink {
    pub(crate) fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl Write for SharedSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

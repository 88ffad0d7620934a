//! Turns one logged request and its behaviour into the fake's answer.
//!
//! Streams are produced by a task that sends one body frame per SSE event,
//! so each event leaves the fake as its own chunk; the task is where gates,
//! stalls, pacing and resets happen.

use super::behaviour::Behaviour;
use super::encode::Encoding;
use super::messages::{self, Event, Usage};
use super::Shared;
use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;

/// The body type of every answer.
pub type AnswerBody = BoxBody<Bytes, io::Error>;

/// What the handler knows about the request it answers.
pub struct Asked<'a> {
    pub path: &'a str,
    pub body: &'a Bytes,
    pub content_type: Option<&'a str>,
    pub usage: Usage,
    pub number: u64,
}

/// Builds the answer: error status, echo, binary, or a Messages API reply.
pub fn answer(
    shared: &Arc<Shared>,
    asked: &Asked<'_>,
    behaviour: &Behaviour,
) -> Response<AnswerBody> {
    let id = format!("msg_fake_{:06}", asked.number);
    let response =
        Response::builder().header("request-id", format!("req_fake_{:06}", asked.number));
    let failing = match behaviour.first {
        None => true,
        Some(n) => {
            shared
                .failed
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                < n
        }
    };
    if let (Some(status), true) = (behaviour.status, failing) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return json(
            response.status(status),
            &messages::error_json(status.as_u16()),
            None,
        );
    }
    if behaviour.early {
        let first = serde_json::json!({"first_chunk_bytes": asked.body.len()});
        return json(response, &first, None);
    }
    if behaviour.echo {
        let kind = asked.content_type.unwrap_or("application/octet-stream");
        return full(
            response.header(header::CONTENT_TYPE, kind),
            asked.body.clone(),
        );
    }
    if let Some(n) = behaviour.binary {
        return full(
            response.header(header::CONTENT_TYPE, "application/octet-stream"),
            binary_body(n),
        );
    }
    let path = asked.path.split('?').next().unwrap_or("");
    if path.ends_with("/v1/messages/count_tokens") {
        return json(
            response,
            &messages::count_tokens_json(asked.usage),
            behaviour.encoding,
        );
    }
    if !path.ends_with("/v1/messages") {
        return json(
            response.status(StatusCode::NOT_FOUND),
            &messages::error_json(404),
            None,
        );
    }
    let model = messages::model_of(asked.body);
    if !messages::wants_stream(asked.body) {
        let message = messages::message_json(&id, &model, &shared.reply, asked.usage);
        return json(response, &message, behaviour.encoding);
    }
    let events = messages::stream_events(&id, &model, &shared.reply, behaviour.deltas, asked.usage);
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(produce(events, behaviour.clone(), shared.clone(), tx));
    let response = response
        .header(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache");
    with_body(response, ChannelBody(rx).boxed())
}

/// `n` bytes that are not UTF-8 (every byte value, starting at 0xff).
pub fn binary_body(n: usize) -> Bytes {
    (0..n)
        .map(|i| (255 - (i % 256)) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// Sends the events one frame each, obeying the behaviour's holds.
async fn produce(
    events: Vec<Event>,
    b: Behaviour,
    shared: Arc<Shared>,
    tx: mpsc::Sender<io::Result<Bytes>>,
) {
    for (i, event) in events.iter().enumerate() {
        if b.reset_after == Some(i) {
            settle(&tx).await;
            let reset = io::Error::new(
                io::ErrorKind::ConnectionReset,
                "fake upstream: reset mid-stream",
            );
            let _ = tx.send(Err(reset)).await;
            return;
        }
        if let Some((k, hold)) = b.stall_before {
            if k == i {
                tokio::select! {
                    _ = tokio::time::sleep(hold) => {}
                    _ = tx.closed() => return,
                }
            }
        }
        if b.gate && i == 1 {
            shared.gate_held.notify_one();
            tokio::select! {
                _ = shared.gate.notified() => {}
                _ = tx.closed() => return,
            }
        }
        if let (Some(pace), true) = (b.pace, i > 0) {
            tokio::time::sleep(pace).await;
        }
        if tx.send(Ok(Bytes::from(event.to_wire()))).await.is_err() {
            return;
        }
    }
}

/// Waits until hyper has taken every frame sent and had time to write them:
/// a body error makes hyper drop the connection without flushing, so a
/// reset right after the last event would lose the events before it.
async fn settle(tx: &mpsc::Sender<io::Result<Bytes>>) {
    while tx.capacity() < tx.max_capacity() && !tx.is_closed() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn json(
    response: http::response::Builder,
    value: &serde_json::Value,
    encoding: Option<Encoding>,
) -> Response<AnswerBody> {
    let text = Bytes::from(value.to_string());
    let response = response.header(header::CONTENT_TYPE, "application/json");
    match encoding {
        None => full(response, text),
        Some(e) => full(
            response.header(header::CONTENT_ENCODING, e.name()),
            e.encode(&text).into(),
        ),
    }
}

fn full(response: http::response::Builder, body: Bytes) -> Response<AnswerBody> {
    let body = Full::new(body).map_err(|never| match never {}).boxed();
    with_body(response, body)
}

fn with_body(response: http::response::Builder, body: AnswerBody) -> Response<AnswerBody> {
    // Every header above is a valid constant or formatted ASCII.
    response.body(body).unwrap_or_else(|_| {
        let mut fallback = Response::new(
            Full::new(Bytes::new())
                .map_err(|never| match never {})
                .boxed(),
        );
        *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// A response body fed by the producing task, one frame per message.
struct ChannelBody(mpsc::Receiver<io::Result<Bytes>>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|item| item.map(|r| r.map(Frame::data)))
    }
}

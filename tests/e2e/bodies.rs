//! Compressed, binary and very large bodies: forwarded untouched, archived
//! decoded (text) or base64 (binary), nothing dropped.

use crate::common::*;
use bytes::Bytes;
use cctap_tests::upstream::{binary_body, BEHAVIOUR_HEADER, DEFAULT_REPLY};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::io::Read;
use tokio::net::TcpStream;

/// One request over a fresh hyper connection (no automatic decoding).
async fn hyper_post(
    addr: std::net::SocketAddr,
    behaviour: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> (http::response::Parts, Bytes) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut request = http::Request::post("/v1/messages")
        .header("host", addr.to_string())
        .header(BEHAVIOUR_HEADER, behaviour);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body)).expect("request");
    let response = sender.send_request(request).await.expect("send");
    let (parts, body) = response.into_parts();
    (parts, body.collect().await.expect("body").to_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_answer_passes_untouched_and_is_archived_decoded() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let headers = [
            ("accept-encoding", "gzip, deflate"),
            ("content-type", "application/json"),
        ];
        let (parts, wire) = hyper_post(
            session.recorder.addr(),
            "gzip",
            &headers,
            Bytes::from(messages_body(false)),
        )
        .await;
        assert_eq!(parts.status, 200);
        assert_eq!(
            parts.headers.get("content-encoding").map(|v| v.as_bytes()),
            Some(&b"gzip"[..]),
            "encoding must pass through"
        );
        let mut text = String::new();
        flate2::read::GzDecoder::new(&wire[..])
            .read_to_string(&mut text)
            .expect("the client gets upstream's gzip bytes, not a re-encoding");
        let message: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(message["content"][0]["text"], DEFAULT_REPLY);

        let (entries, _, _dir) = session.finish().await;
        let e = &entries[0];
        assert_eq!(
            e.response_text(),
            Some(text.as_str()),
            "content.text holds the decoded body"
        );
        assert_eq!(e.har.response.content.encoding, None);
        assert_eq!(
            e.har.response.body_size,
            wire.len() as i64,
            "bodySize keeps the wire size"
        );
        assert_eq!(e.response_header("content-encoding"), Some("gzip"));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_bodies_are_forwarded_exactly_and_archived_as_base64() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let sent = binary_body(5000);
        assert!(std::str::from_utf8(&sent).is_err());
        let headers = [("content-type", "application/octet-stream")];
        let (parts, got) =
            hyper_post(session.recorder.addr(), "echo", &headers, sent.clone()).await;
        assert_eq!(parts.status, 200);
        assert_eq!(got, sent, "the client gets the binary answer byte for byte");
        assert_eq!(
            session.upstream.requests()[0].body,
            sent,
            "upstream gets the binary body byte for byte"
        );
        let (entries, _, _dir) = session.finish().await;
        let e = &entries[0];
        assert_eq!(e.har.response.content.encoding.as_deref(), Some("base64"));
        assert_eq!(
            response_bytes(e),
            sent.to_vec(),
            "response archived as base64 of the exact bytes"
        );
        assert_eq!(
            request_bytes(e),
            sent.to_vec(),
            "request archived as base64 of the exact bytes"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_megabytes_each_way() {
    bounded("test", LIMIT, async {
        const SIZE: usize = 20 * 1024 * 1024;
        let session = Session::start().await;
        // Text, so the archive keeps it as text; varied so a dropped or
        // repeated chunk is noticed.
        let mut body = String::with_capacity(SIZE + 64);
        let mut i = 0u64;
        while body.len() < SIZE {
            body.push_str(&format!("line {i:08} of a twenty megabyte body\n"));
            i += 1;
        }
        let body = Bytes::from(body);
        let response = client()
            .post(format!("{}/v1/messages", session.url()))
            .header(BEHAVIOUR_HEADER, "echo")
            .header("content-type", "text/plain")
            .body(body.clone())
            .send()
            .await
            .expect("send 20 MB");
        assert_eq!(response.status(), 200);
        let got = response.bytes().await.expect("receive 20 MB");
        assert_eq!(got.len(), body.len());
        assert!(got == body, "the 20 MB answer differs from what was sent");
        assert!(
            session.upstream.requests()[0].body == body,
            "upstream's copy differs"
        );
        let (entries, _, _dir) = session.finish().await;
        let e = &entries[0];
        assert_eq!(
            e.request_text().map(str::len),
            Some(body.len()),
            "request archived whole"
        );
        assert!(e.request_text().map(str::as_bytes) == Some(&body[..]));
        assert!(
            e.response_text().map(str::as_bytes) == Some(&body[..]),
            "response archived whole"
        );
        assert_eq!(e.har.request.body_size, body.len() as i64);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_encoding_claude_code_accepts_passes_untouched() {
    use cctap_tests::upstream::{messages, Encoding, Usage};
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let body = messages_body(false);
        for (i, encoding) in Encoding::ALL.into_iter().enumerate() {
            let behaviour = format!("encoding={}", encoding.name());
            let headers = [("accept-encoding", "gzip, deflate, br, zstd")];
            let (parts, wire) = hyper_post(
                session.recorder.addr(),
                &behaviour,
                &headers,
                Bytes::from(body.clone()),
            )
            .await;
            assert_eq!(parts.status, 200, "{behaviour}");
            // The fake's answer, encoded here the same deterministic way.
            let usage = Usage::for_request(body.as_bytes(), DEFAULT_REPLY);
            let id = format!("msg_fake_{:06}", i + 1);
            let text = messages::message_json(
                &id,
                &messages::model_of(body.as_bytes()),
                DEFAULT_REPLY,
                usage,
            )
            .to_string();
            assert_eq!(
                wire,
                Bytes::from(encoding.encode(text.as_bytes())),
                "{behaviour}: client must get upstream's bytes"
            );
            assert_eq!(
                parts.headers.get("content-encoding").map(|v| v.as_bytes()),
                Some(encoding.name().as_bytes())
            );
        }
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries.len(), 4);
        for e in &entries {
            let name = e
                .response_header("content-encoding")
                .unwrap_or("?")
                .to_owned();
            let text = e.response_text().unwrap_or("");
            let message: Value = serde_json::from_str(text).unwrap_or_else(|_| {
                panic!("{name}: content.text must be the decoded JSON, got {text:.80}")
            });
            assert_eq!(message["content"][0]["text"], DEFAULT_REPLY, "{name}");
            assert_eq!(
                e.har.response.content.encoding, None,
                "{name}: decoded text needs no encoding"
            );
            assert!(
                e.har.response.body_size > 0
                    && (e.har.response.body_size as usize) < text.len() + 64,
                "{name}: bodySize is the wire size"
            );
        }
    })
    .await
}

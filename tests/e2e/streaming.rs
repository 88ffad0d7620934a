//! Bodies flow through as they arrive (no buffering, proven with a gate, not
//! with timing), and one client connection carries several exchanges.

use crate::common::*;
use bytes::Bytes;
use cctap_tests::upstream::BEHAVIOUR_HEADER;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// How long the test holds the gate after event 0 reached the client, so
/// the archive's arrival stamps must show the gap.
const HOLD: Duration = Duration::from_millis(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_gets_event_0_while_upstream_still_holds_event_1() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let mut response = client()
            .post(format!("{}/v1/messages", session.url()))
            .header(BEHAVIOUR_HEADER, "gate")
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        let mut seen = Vec::new();
        // Upstream will not send event 1 until released: if record buffers
        // (the whole body or even one more event), this never completes.
        tokio::time::timeout(STEP, read_until(&mut response, &mut seen, "event: message_start\n"))
            .await
            .expect("record buffered: event 0 did not reach the client while upstream held event 1");
        let text = String::from_utf8_lossy(&seen).into_owned();
        assert!(!text.contains("content_block_start"), "event 1 arrived although upstream held it: {text}");
        let held_since = Instant::now();
        tokio::time::sleep(HOLD).await;
        session.upstream.release_gate();
        read_until(&mut response, &mut seen, "event: message_stop\n").await;
        let held = held_since.elapsed();

        let (entries, _, _dir) = session.finish().await;
        let events = entries[0].sse_events.as_ref().expect("_sseEvents");
        assert_eq!(events.len(), expected_event_names().len());
        let gap = events[1].time - events[0].time;
        assert!(
            gap >= HOLD.as_secs_f64() * 1000.0 - 1.0,
            "event 1 was stamped {gap} ms after event 0, but upstream held it ≥ {HOLD:?} (client saw {held:?}): stamps must be arrival times"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_exchanges_share_one_connection_id() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let stream = TcpStream::connect(session.recorder.addr())
            .await
            .expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        for stream in [true, false, true] {
            // A client pauses between turns (Claude Code thinks, runs tools);
            // back to back, the upstream connection may still be finishing.
            tokio::time::sleep(Duration::from_millis(100)).await;
            sender
                .ready()
                .await
                .expect("connection still usable: record must keep it alive");
            let request = http::Request::post("/v1/messages?beta=true")
                .header("host", session.recorder.addr().to_string())
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(messages_body(stream))))
                .expect("request");
            let response = sender
                .send_request(request)
                .await
                .expect("send on the kept-alive connection");
            assert_eq!(response.status(), 200);
            response.into_body().collect().await.expect("body");
        }
        assert_eq!(session.upstream.requests().len(), 3);
        assert_eq!(
            session.upstream.connections(),
            1,
            "record should reuse its pooled upstream connection"
        );
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries.len(), 3);
        let ids: Vec<Option<String>> = entries.iter().map(|e| e.har.connection.clone()).collect();
        assert!(
            ids[0].as_deref().is_some_and(|id| !id.is_empty()),
            "entries need a connection id: {ids:?}"
        );
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "one connection, one id: {ids:?}"
        );
        let connects: Vec<f64> = entries
            .iter()
            .map(|e| e.har.timings.connect.unwrap_or(-1.0))
            .collect();
        assert!(
            connects[0] >= 0.0,
            "the first exchange opened the connection: connect {}",
            connects[0]
        );
        assert!(
            connects[1..].iter().all(|c| *c == -1.0),
            "reused connection must have connect -1: {connects:?}"
        );
    })
    .await
}

/// Sends a chunked request whose first chunk upstream answers (`early`),
/// holds the rest until the answer is here, then sends it `after` later.
async fn early_answer_session(after: Duration) -> Session {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let session = Session::start().await;
    let mut stream = TcpStream::connect(session.recorder.addr())
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: {}\r\n{BEHAVIOUR_HEADER}: early\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        session.recorder.addr()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(b"6\r\n{\"a\":1\r\n")
        .await
        .expect("first chunk");
    // A proxy that buffers the request body whole never lets the answer come.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let seen = tokio::time::timeout(STEP, async {
        while !String::from_utf8_lossy(&answer).contains("first_chunk_bytes") {
            let n = stream.read(&mut buf).await.expect("read answer");
            assert!(
                n > 0,
                "record closed the connection: {}",
                String::from_utf8_lossy(&answer)
            );
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(
        seen.is_ok(),
        "record buffered the request body: upstream's answer to the first chunk never came"
    );
    let text = String::from_utf8_lossy(&answer).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("\"first_chunk_bytes\":6"),
        "upstream must get the first chunk alone: {text}"
    );
    tokio::time::sleep(after).await;
    stream
        .write_all(b"1\r\n}\r\n0\r\n\r\n")
        .await
        .expect("rest of the body");
    drop(stream);
    session
        .upstream
        .wait_for_requests(1, STEP)
        .await
        .expect("logged");
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_body_flows_before_the_client_finishes_sending() {
    bounded("test", LIMIT, async {
        let session = early_answer_session(Duration::from_millis(100)).await;
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].request_text(),
            Some("{\"a\":1}"),
            "the archive holds the whole request body"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_before_the_request_ends_keeps_time_the_sum_of_timings() {
    bounded("test", LIMIT, async {
        // The request's last byte comes 100 ms after the answer's: HAR's
        // `time` is the sum of the timings, so it must span both.
        let session = early_answer_session(Duration::from_millis(100)).await;
        let (entries, _, _dir) = session.finish().await;
        assert!(
            entries[0].har.time >= 100.0,
            "time {} ms ends before the request did",
            entries[0].har.time
        );
    })
    .await
}

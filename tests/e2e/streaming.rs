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

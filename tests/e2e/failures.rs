//! Every failure still leaves an entry with `_error`, and the proxy keeps
//! serving: upstream refused, reset mid-stream, client gone, garbage, 529,
//! and a stalled stream at shutdown.

use crate::common::*;
use cctap_tests::archive;
use cctap_tests::upstream::{FakeUpstream, BEHAVIOUR_HEADER};
use cctap_tests::Recorder;
use serde_json::Value;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_upstream_gives_502_and_an_error_entry() {
    bounded("test", LIMIT, async {
        let dead = FakeUpstream::refused_url().await.expect("free port");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("refused.har.zst");
        let recorder = Recorder::reverse(&dead, &path, &[]).expect("start record");
        let body = messages_body(true);
        let response = client()
            .post(format!("{}/v1/messages", recorder.url()))
            .body(body.clone())
            .send()
            .await
            .expect("record must answer even when upstream is down");
        assert_eq!(response.status(), 502);
        let reason = response.text().await.expect("reason");
        assert!(
            !reason.trim().is_empty() && reason.lines().count() <= 2,
            "one-line reason, got {reason:?}"
        );
        recorder.stop().await.expect("stop");
        let (entries, _) = archive::read_entries(&path).expect("read");
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert!(e.error.is_some(), "entry needs _error");
        assert_eq!(
            e.request_text(),
            Some(body.as_str()),
            "the request that could not be delivered is kept"
        );
        assert!(
            matches!(e.har.response.status, 0 | 502),
            "status {} (0: no response head)",
            e.har.response.status
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_reset_mid_stream_keeps_what_arrived() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let response = client()
            .post(format!("{}/v1/messages", session.url()))
            .header(BEHAVIOUR_HEADER, "reset-after=3")
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        let got = response.text().await;
        assert!(
            got.is_err(),
            "the client must see the stream fail, not a clean end: {got:?}"
        );
        let (entries, _, _dir) = session.finish().await;
        let e = &entries[0];
        assert!(
            e.error.is_some(),
            "entry needs _error after an upstream reset"
        );
        let names: Vec<&str> = e
            .sse_events
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|ev| ev.event.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta"
            ],
            "the events that arrived"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_gone_mid_stream_is_archived_with_an_error() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let mut response = client()
            .post(format!("{}/v1/messages", session.url()))
            .header(BEHAVIOUR_HEADER, "pace=50,deltas=400")
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        let mut seen = Vec::new();
        read_until(&mut response, &mut seen, "event: content_block_start\n").await;
        drop(response);
        // The stream would last ~20 s; the entry must come long before.
        let entries = archive::wait_for_entries(&session.archive, 1, Duration::from_secs(10))
            .await
            .expect("record must end the exchange when the client goes away");
        let e = &entries[0];
        assert!(
            e.error.is_some(),
            "entry needs _error when the client went away"
        );
        let events = e.sse_events.as_deref().unwrap_or_default();
        assert!(
            events.len() >= 2 && events.len() < 400,
            "{} events archived",
            events.len()
        );
        session.finish().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_gets_400_while_a_healthy_stream_goes_on() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let mut healthy = client()
            .post(format!("{}/v1/messages", session.url()))
            .header(BEHAVIOUR_HEADER, "gate")
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        let mut seen = Vec::new();
        read_until(&mut healthy, &mut seen, "event: message_start\n").await;

        let answer = raw_exchange(
            session.recorder.addr(),
            b"GARBAGE\x00\x01 {not http}\r\n\r\n",
            STEP,
        )
        .await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 400"),
            "garbage must get 400 and a closed connection, got {answer:?}"
        );

        session.upstream.release_gate();
        read_until(&mut healthy, &mut seen, "event: message_stop\n").await;
        let (entries, _, _dir) = session.finish().await;
        let complete: Vec<_> = entries.iter().filter(|e| e.sse_events.is_some()).collect();
        assert_eq!(complete.len(), 1);
        assert_eq!(complete[0].error, None);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overloaded_529_passes_through_and_is_archived() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let response = client()
            .post(format!("{}/v1/messages", session.url()))
            .header(BEHAVIOUR_HEADER, "status=529")
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 529);
        let error: Value = json_of(response).await;
        assert_eq!(error["error"]["type"], "overloaded_error");
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries[0].har.response.status, 529);
        let archived: Value =
            serde_json::from_str(entries[0].response_text().unwrap_or("")).expect("JSON");
        assert_eq!(archived, error);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_a_stalled_stream_writes_it_cut_off() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let mut response = client()
            .post(format!("{}/v1/messages", session.url()))
            .header(BEHAVIOUR_HEADER, "stall-before=3")
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        let mut seen = Vec::new();
        read_until(&mut response, &mut seen, "event: content_block_delta\n").await;
        // finish() sends SIGINT and requires exit 0 within its limit.
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(
            entries.len(),
            1,
            "the in-flight exchange must be written at shutdown"
        );
        assert!(
            entries[0].error.is_some(),
            "an exchange cut off by shutdown needs _error"
        );
        assert_eq!(entries[0].sse_events.as_ref().map(Vec::len), Some(3));
    })
    .await
}

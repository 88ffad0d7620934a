//! An upstream that goes silent, under `record --upstream-timeout 1`.
//!
//! Silent before its response head: the client gets 504 with a reason, the
//! entry has status 0 and `_error`. Silent mid-stream: the client gets every
//! event that came, then a broken body; the entry keeps those events and
//! has `_error`. Either way record gives up about one second after the
//! upstream's last byte, not at once and not never.
//!
//! The neighbour in flight meanwhile is a paced stream (an event every
//! 300 ms, several seconds in all): it must come through whole, without
//! `_error`, so silence is measured from the last frame, not from the start.
//! The rig's usual gated neighbour would itself be silent past the limit.

use super::raw_upstream::{self, RawUpstream};
use super::rig::{Mode, Rig, FAULT_MARK};
use crate::common::*;
use cctap_archive::Entry;
use cctap_tests::upstream::BEHAVIOUR_HEADER;
use std::time::{Duration, Instant};

/// `--upstream-timeout` for these tests.
const LIMIT_SECS: &str = "1";
const TIMEOUT: Duration = Duration::from_secs(1);

/// A healthy stream with an event every 300 ms: 15 events, about 4 s.
const PACED: &str = "pace=300,deltas=9";

/// Where the faulty upstream goes quiet.
#[derive(Clone, Copy, Debug)]
enum Silence {
    BeforeHead,
    MidStream,
}

/// Runs one stall with its paced neighbour; returns the fault's entry.
async fn stall(mode: Mode, silence: Silence) -> Entry {
    let name = format!("{mode:?} {silence:?}");
    bounded(&name, LIMIT, async {
        let rig = Rig::start_with(mode, &["--upstream-timeout", LIMIT_SECS]).await;
        let (neighbour, seen_so_far) = rig.start_stream(PACED).await;
        let started = Instant::now();
        match silence {
            Silence::BeforeHead => silent_head(&rig).await,
            Silence::MidStream => silent_stream(&rig).await,
        }
        let waited = started.elapsed();
        assert!(
            waited >= TIMEOUT - Duration::from_millis(100) && waited < 8 * TIMEOUT,
            "{name}: record gave up after {waited:?}, not about the limit"
        );
        rig.finish_stream(neighbour, seen_so_far).await;
        rig.fresh_exchange().await;
        let (healthy, mut faulty, stderr) = rig.finish().await;
        assert_eq!(healthy.len(), 2, "{name}: both healthy exchanges archived");
        for e in &healthy {
            assert_eq!(e.error, None, "{name}: a healthy exchange got _error");
            assert_eq!(e.har.response.status, 200);
        }
        let paced = healthy.iter().find_map(|e| e.sse_events.as_ref());
        let paced = paced.unwrap_or_else(|| panic!("{name}: the paced stream is archived"));
        let last = paced.last().map_or(0.0, |e| e.time);
        assert!(
            last > 3.0 * TIMEOUT.as_millis() as f64,
            "{name}: the paced stream lasted {last} ms, outliving the limit"
        );
        assert_eq!(
            faulty.len(),
            1,
            "{name}: one entry for the fault; stderr:\n{stderr}"
        );
        let e = faulty.remove(0);
        assert!(
            e.request_text().unwrap_or("").contains(FAULT_MARK),
            "{name}: the fault's entry holds the fault's request"
        );
        e
    })
    .await
}

/// The faulty upstream takes the request and sends no head: 504.
async fn silent_head(rig: &Rig) {
    let body = Rig::body(FAULT_MARK, true);
    // Forward mode: a target of its own; reverse: the one upstream, told
    // to hold its head far longer than the limit.
    let raw;
    let request = match rig.mode {
        Mode::Forward => {
            raw = RawUpstream::start(raw_upstream::SILENCE).await;
            rig.http.post(format!("{}/v1/messages", raw.url()))
        }
        Mode::Reverse => rig
            .http
            .post(format!("{}/v1/messages", rig.healthy_base()))
            .header(BEHAVIOUR_HEADER, "head-after=15000"),
    };
    let response = bounded(
        "record answers a silent upstream",
        STEP,
        request.body(body).send(),
    )
    .await
    .expect("record answers");
    assert_eq!(response.status(), 504, "no head within the limit: 504");
    let kind = response.headers().get("content-type").cloned();
    let reason = response.text().await.expect("504 body");
    assert_eq!(
        kind.as_ref().and_then(|v| v.to_str().ok()),
        Some("text/plain; charset=utf-8")
    );
    assert!(
        reason.contains("sent no response head within 1 s"),
        "the 504 says why: {reason:?}"
    );
}

/// The faulty upstream sends its head and two events, then nothing: the
/// client gets both events, then a broken body.
async fn silent_stream(rig: &Rig) {
    let mut response = rig
        .http
        .post(format!("{}/v1/messages", rig.healthy_base()))
        .header(BEHAVIOUR_HEADER, "stall-before=2")
        .body(Rig::body(FAULT_MARK, true))
        .send()
        .await
        .expect("the head is forwarded");
    assert_eq!(response.status(), 200);
    let mut seen = Vec::new();
    read_until(&mut response, &mut seen, "event: content_block_start\n").await;
    let rest = bounded("record cuts a silent stream", STEP, async {
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => seen.extend_from_slice(&chunk),
                Ok(None) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&seen);
    assert!(rest.is_err(), "a cut stream must not end cleanly: {text:?}");
    assert!(
        text.contains("event: content_block_start\ndata: ")
            && !text.contains("content_block_delta"),
        "the client got the events that came, and only those: {text:?}"
    );
}

fn assert_silent_head(e: &Entry, name: &str) {
    assert_eq!(e.har.response.status, 0, "{name}: no response head arrived");
    let why = e.error.as_deref().unwrap_or_default();
    assert!(
        why.contains("sent no response head within 1 s"),
        "{name}: _error says why: {why:?}"
    );
}

fn assert_silent_stream(e: &Entry, name: &str) {
    assert_eq!(e.har.response.status, 200, "{name}: the head that came");
    let why = e.error.as_deref().unwrap_or_default();
    assert!(
        why.contains("upstream went silent for 1 s mid-response"),
        "{name}: _error says why: {why:?}"
    );
    let events: Vec<&str> = e
        .sse_events
        .iter()
        .flatten()
        .map(|ev| ev.event.as_str())
        .collect();
    assert_eq!(
        events,
        ["message_start", "content_block_start"],
        "{name}: the events that arrived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_silent_before_its_head_gets_504() {
    let e = stall(Mode::Forward, Silence::BeforeHead).await;
    assert_silent_head(&e, "forward");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverse_upstream_silent_before_its_head_gets_504() {
    let e = stall(Mode::Reverse, Silence::BeforeHead).await;
    assert_silent_head(&e, "reverse");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_stalls() {
    let e = stall(Mode::Forward, Silence::MidStream).await;
    assert_silent_stream(&e, "forward");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverse_upstream_stalls() {
    let e = stall(Mode::Reverse, Silence::MidStream).await;
    assert_silent_stream(&e, "reverse");
}

/// A limit of 0.5 s and a stream of seven events 300 ms apart (1.8 s in
/// all): never silent for the limit, so not cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_with_regular_events_outlives_the_limit() {
    bounded("regular events under a short limit", LIMIT, async {
        let rig = Rig::start_with(Mode::Reverse, &["--upstream-timeout", "0.5"]).await;
        let (response, seen) = rig.start_stream("pace=300,deltas=1").await;
        rig.finish_stream(response, seen).await;
        let (healthy, faulty, stderr) = rig.finish().await;
        assert!(faulty.is_empty(), "{stderr}");
        let e = &healthy[0];
        assert_eq!(e.error, None, "not cut: {:?}", e.error);
        let events = e.sse_events.as_ref().expect("events");
        assert_eq!(events.len(), 7, "every event");
        let last = events.last().map_or(0.0, |ev| ev.time);
        assert!(last >= 1500.0, "the stream lasted {last} ms, 3× the limit");
    })
    .await
}

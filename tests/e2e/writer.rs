//! The archive writer against the real `record` (FORMAT.md, "Written as it
//! happens"): an entry alone reaches the file at once (group commit never
//! waits for company), and a reader slower than the traffic slows new
//! requests down instead of losing their entries, while the exchanges
//! already under way stream on untouched.

use crate::common::*;
use cctap_archive::ArchiveReader;
use cctap_tests::upstream::{FakeUpstream, BEHAVIOUR_HEADER};
use cctap_tests::{archive, Recorder};
use std::io::{Cursor, Read};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How soon a lone entry must be readable in the file: no timer, no batch
/// size, only the time to build, queue and write it (milliseconds), with a
/// wide margin for a loaded machine.
const AT_ONCE: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_alone_is_flushed_at_once_and_kept_by_kill_9() {
    bounded("test", LIMIT, async {
        for extension in ["har.zst", "har", "har.gz"] {
            let session = Session::with(FakeUpstream::builder(), extension, &[]).await;
            let body = messages_body(false).replace("say hi", "alone");
            let answer = client()
                .post(format!("{}/v1/messages", session.url()))
                .body(body.clone())
                .send()
                .await
                .expect("send");
            assert_eq!(answer.status(), 200);
            answer.text().await.expect("answer");
            let answered = Instant::now();
            archive::wait_for_entries(&session.archive, 1, AT_ONCE)
                .await
                .unwrap_or_else(|e| {
                    panic!("{extension}: a lone entry is flushed at once, not batched: {e}")
                });
            eprintln!(
                "{extension}: the lone entry was readable {:?} after its answer",
                answered.elapsed()
            );
            let (entries, cut) = session.kill9_and_read().expect("the reader recovers it");
            assert_eq!(entries.len(), 1, "{extension}");
            assert_eq!(
                entries[0].request_text(),
                Some(body.as_str()),
                "{extension}"
            );
            assert!(cut.is_some(), "{extension}: no tail after kill -9");
        }
    })
    .await
}

/// Big requests sent while the archive's reader is stalled.
const BIG: usize = 100;
/// Each big request's body: 100 of them are ~25 MiB, past the writer's
/// queue (32 MiB, new requests wait past half of it) plus the pipe.
const BIG_BODY: usize = 256 * 1024;
/// At most this many big requests at once, like a busy client.
const CONNECTIONS: usize = 16;
/// How long the reader stalls: well inside record's patience (10 s), so
/// waiting new requests get room rather than give up.
const STALL: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_of_the_archive_slows_new_requests_and_loses_none() {
    bounded("test", LIMIT, async {
        let upstream = FakeUpstream::start().await.expect("fake upstream");
        let mode = format!("reverse:{}", upstream.url());
        let (recorder, stdout) = Recorder::start_to_pipe(&mode, &[]).expect("start record");
        let reading = Arc::new(AtomicBool::new(false));
        let reader = std::thread::spawn({
            let reading = reading.clone();
            move || read_when_told(stdout, &reading)
        });

        // Under way before the disk stalls: a stream paced 100 ms an event.
        let stream = tokio::spawn(paced_stream(recorder.url()));
        upstream
            .wait_for_requests(1, STEP)
            .await
            .expect("the stream started");
        let stalled_at = Instant::now();
        let big = tokio::spawn(big_requests(recorder.url()));
        tokio::time::sleep(STALL).await;

        // The reader is stalled: the queue filled and new requests wait
        // for room before they are forwarded.
        let forwarded = upstream.requests().len() - 1;
        assert!(
            forwarded < BIG,
            "new requests wait for the stalled archive ({forwarded} of {BIG} forwarded)"
        );
        reading.store(true, Relaxed);
        let sent = bounded("big requests", STEP, big)
            .await
            .expect("big requests task");
        let gaps = bounded("the stream", STEP, stream)
            .await
            .expect("stream task");
        let longest = gaps.iter().max().copied().unwrap_or_default();
        assert!(
            longest < Duration::from_secs(1),
            "an exchange under way never waits for the archive: longest gap {longest:?} between \
             events 100 ms apart, while the reader stalled for {:?}",
            stalled_at.elapsed().min(STALL)
        );
        assert_eq!(sent, BIG, "every big request answered");

        let (status, said) = bounded("record exit", STEP, recorder.stop_with_stderr())
            .await
            .expect("stop record");
        assert!(status.success(), "{status}\n{said}");
        let bytes = reader.join().expect("reader thread");
        let mut reader = ArchiveReader::from_reader("-", Box::new(Cursor::new(bytes))).unwrap();
        let entries: Vec<_> = reader.by_ref().map(|e| e.expect("entry")).collect();
        assert!(reader.cut_off().is_none(), "the archive is whole");
        assert_eq!(entries.len(), BIG + 1, "none lost:\n{said}");
        assert!(!said.contains("not archived") && !said.contains("could not be archived"));
        assert!(
            said.contains("waited for the archive's disk"),
            "the summary says requests waited:\n{said}"
        );
    })
    .await
}

/// Reads nothing until `go`, then everything to the end.
fn read_when_told(mut stdout: std::process::ChildStdout, go: &AtomicBool) -> Vec<u8> {
    while !go.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut bytes = Vec::new();
    stdout
        .read_to_end(&mut bytes)
        .expect("read record's stdout");
    bytes
}

/// A stream of ~30 events 100 ms apart; the gaps between its reads.
async fn paced_stream(base: String) -> Vec<Duration> {
    let mut answer = client()
        .post(format!("{base}/v1/messages"))
        .header(BEHAVIOUR_HEADER, "pace=100,deltas=25")
        .body(messages_body(true))
        .send()
        .await
        .expect("send the stream");
    let mut gaps = Vec::new();
    let mut last = Instant::now();
    let mut seen = Vec::new();
    while let Some(chunk) = answer.chunk().await.expect("stream chunk") {
        gaps.push(last.elapsed());
        last = Instant::now();
        seen.extend_from_slice(&chunk);
    }
    assert!(
        String::from_utf8_lossy(&seen).contains("event: message_stop"),
        "the stream completed"
    );
    gaps
}

/// Sends [`BIG`] requests of [`BIG_BODY`] bytes, [`CONNECTIONS`] at a time;
/// how many were answered 200.
async fn big_requests(base: String) -> usize {
    let http = client();
    let filler = "x".repeat(BIG_BODY);
    let mut tasks = tokio::task::JoinSet::new();
    let mut answered = 0;
    for i in 0..BIG {
        if tasks.len() == CONNECTIONS {
            answered += tasks.join_next().await.and_then(Result::ok).unwrap_or(0);
        }
        let body = messages_body(false).replace("say hi", &format!("big {i} {filler}"));
        let request = http.post(format!("{base}/v1/messages")).body(body);
        tasks.spawn(async move {
            let answer = request.send().await.expect("send a big request");
            let ok = answer.status() == 200;
            answer.bytes().await.expect("its answer");
            usize::from(ok)
        });
    }
    while let Some(done) = tasks.join_next().await {
        answered += done.unwrap_or(0);
    }
    answered
}

//! Clients that try to exhaust `record` (slowloris, idle
//! keep-alive connections, more connections than file descriptors) and a
//! request that could smuggle a second one past it (`Content-Length` and
//! `Transfer-Encoding` together). Each test checks that a healthy exchange
//! still completes and that record says what it did.

use crate::bounded::{get, raw_upstream, Canned};
use crate::common::*;
use cctap_tests::upstream::FakeUpstream;
use cctap_tests::Recorder;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A raw upstream answering every GET with a short body.
async fn small_upstream() -> SocketAddr {
    raw_upstream(Canned::whole(
        "content-type: text/plain\r\n",
        b"big".to_vec(),
    ))
    .await
}

/// `record` in reverse mode in front of [`small_upstream`], with `args`;
/// the directory holding its archive lives as long as the caller keeps it.
async fn record_small(name: &str, args: &[&str]) -> (Recorder, tempfile::TempDir) {
    let upstream = small_upstream().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join(name);
    let recorder =
        Recorder::reverse(&format!("http://{upstream}"), &out, args).expect("start record");
    (recorder, dir)
}

/// Waits until the peer closes the connection (or resets it); how long.
async fn closed_within(sock: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((start + limit).into(), sock.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_clients_are_closed_at_the_client_timeout_and_counted() {
    bounded("slowloris", LIMIT, async {
        let (recorder, _dir) = record_small("s.har", &["--client-timeout", "1"]).await;
        let proxy = recorder.addr();
        // 40 clients trickle a request head, one byte every 200 ms: each
        // would take 8 s to finish it.
        const SLOW: usize = 40;
        let mut slow = Vec::new();
        for _ in 0..SLOW {
            slow.push(tokio::spawn(async move {
                let mut sock = TcpStream::connect(proxy).await.expect("connect");
                let head =
                    b"GET /big HTTP/1.1\r\nhost: upstream\r\nx-pad: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
                let start = Instant::now();
                for byte in head {
                    if sock.write_all(&[*byte]).await.is_err() {
                        return start.elapsed(); // Closed by record.
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                // Whole head sent: only if record never closed it.
                let _ = closed_within(&mut sock, Duration::from_secs(5)).await;
                Duration::MAX
            }));
        }
        // A healthy exchange completes while they trickle.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let healthy = bounded("healthy exchange", STEP, get(proxy, "/big")).await;
        assert_eq!(healthy.0, 3);
        for task in slow {
            let held = task.await.expect("slow client");
            assert!(
                held >= Duration::from_millis(900) && held < Duration::from_secs(4),
                "a slowloris client was held {held:?} with --client-timeout 1"
            );
        }
        let (status, stderr) = recorder.stop_with_stderr().await.expect("stop");
        assert!(status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "closed {SLOW} client connections that sent no whole request head within 1 s"
            )),
            "the summary counts them: {stderr}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_client_timeout() {
    bounded("idle keep-alive", LIMIT, async {
        let (recorder, _dir) = record_small("i.har", &["--client-timeout", "1"]).await;
        let mut sock = TcpStream::connect(recorder.addr()).await.expect("connect");
        sock.write_all(b"GET /small HTTP/1.1\r\nhost: upstream\r\n\r\n")
            .await
            .expect("send");
        // The answer comes (11 bytes of JSON), and the connection stays
        // open for the next request...
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(b"{\"ok\":true}") {
            let n = bounded("answer", STEP, sock.read(&mut buf))
                .await
                .expect("read");
            assert!(n > 0, "closed before the answer: {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"HTTP/1.1 200"));
        // ...until it has been idle for the client timeout.
        let idle = closed_within(&mut sock, Duration::from_secs(10))
            .await
            .expect("record closes an idle keep-alive connection");
        assert!(
            idle >= Duration::from_millis(900) && idle < Duration::from_secs(4),
            "closed after {idle:?} idle"
        );
        let (_, stderr) = recorder.stop_with_stderr().await.expect("stop");
        assert!(
            stderr.contains("closed 1 client connection that sent no whole request head"),
            "{stderr}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_clients_get_503_at_once_with_one_warning() {
    bounded("connection cap", LIMIT, async {
        let (recorder, _dir) = record_small("c.har", &["--max-connections", "8"]).await;
        let proxy = recorder.addr();
        let mut idle = Vec::new();
        for _ in 0..8 {
            idle.push(TcpStream::connect(proxy).await.expect("connect"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // 30 more: each answered 503 at once, not left hanging.
        for _ in 0..30 {
            let start = Instant::now();
            let mut sock = TcpStream::connect(proxy).await.expect("connect");
            let _ = sock
                .write_all(b"GET /big HTTP/1.1\r\nhost: upstream\r\n\r\n")
                .await;
            let mut answer = Vec::new();
            bounded("503", STEP, sock.read_to_end(&mut answer))
                .await
                .expect("read");
            let answer = String::from_utf8_lossy(&answer);
            assert!(
                answer.starts_with("HTTP/1.1 503 Service Unavailable"),
                "{answer}"
            );
            assert!(answer.contains("retry-after: 1"), "{answer}");
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "{:?}",
                start.elapsed()
            );
        }
        // One idle client leaves: a healthy exchange gets its place.
        drop(idle.pop());
        let healthy = bounded("healthy exchange after one left", STEP, async {
            loop {
                let mut sock = TcpStream::connect(proxy).await.expect("connect");
                sock.write_all(b"GET /big HTTP/1.1\r\nhost: upstream\r\nconnection: close\r\n\r\n")
                    .await
                    .expect("send");
                let mut answer = Vec::new();
                let _ = sock.read_to_end(&mut answer).await;
                if !answer.starts_with(b"HTTP/1.1 503") {
                    return answer;
                }
                // The place is freed when record sees the close.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(healthy.starts_with(b"HTTP/1.1 200"), "{healthy:?}");
        drop(idle);
        let (_, stderr) = recorder.stop_with_stderr().await.expect("stop");
        let warnings = stderr.matches("the cap: new ones get 503").count();
        assert_eq!(warnings, 1, "one warning, then a count: {stderr}");
        // 30, and any the healthy client met before its place was freed.
        let refused: u64 = stderr
            .split("refused ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            refused >= 30 && stderr.contains("client connections with 503 at the connection cap"),
            "{stderr}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_idle_clients_than_file_descriptors_never_silence_record() {
    bounded("fd exhaustion", LIMIT, async {
        let upstream = small_upstream().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("f.har");
        // `ulimit -n 256` (soft = hard, so record cannot raise it): the cap
        // is derived from it ((256 - 64) / 2 = 96), and idle clients are
        // closed after 5 s.
        let recorder = Recorder::start_with_fd_limit(
            &format!("reverse:http://{upstream}"),
            &out,
            &["--client-timeout", "5"],
            256,
        )
        .expect("start record");
        let proxy = recorder.addr();
        const CLIENTS: usize = 250;
        const CAP: usize = 96;
        let mut socks = Vec::new();
        for _ in 0..CLIENTS {
            socks.push(TcpStream::connect(proxy).await.expect("connect"));
        }
        // A refused one is answered 503 at once, or (past what record
        // answers at once) closed; a served one hears nothing.
        let checks = socks.into_iter().map(|mut sock| {
            tokio::spawn(async move {
                let mut first = [0u8; 12];
                let read = tokio::time::timeout(Duration::from_secs(1), sock.read(&mut first));
                match read.await {
                    Ok(Ok(n)) if first[..n].starts_with(b"HTTP/1.1 503") => None,
                    Ok(Ok(0) | Err(_)) => None,
                    Ok(Ok(n)) => panic!("a held client got {:?}", &first[..n]),
                    Err(_) => Some(sock),
                }
            })
        });
        let mut idle = Vec::new();
        for check in checks.collect::<Vec<_>>() {
            idle.extend(check.await.expect("check"));
        }
        let refused = CLIENTS - idle.len();
        assert!(
            idle.len() <= CAP && refused >= CLIENTS - CAP,
            "{} held, {refused} refused (cap {CAP})",
            idle.len()
        );
        // Once the idle ones time out, a healthy exchange is served.
        let healthy = bounded("healthy exchange", STEP, async {
            loop {
                let mut sock = TcpStream::connect(proxy).await.expect("connect");
                sock.write_all(b"GET /big HTTP/1.1\r\nhost: upstream\r\nconnection: close\r\n\r\n")
                    .await
                    .expect("send");
                let mut answer = Vec::new();
                let _ = sock.read_to_end(&mut answer).await;
                if answer.starts_with(b"HTTP/1.1 200") {
                    return answer;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        assert!(healthy.ends_with(b"big"));
        drop(idle);
        let (_, stderr) = recorder.stop_with_stderr().await.expect("stop");
        assert!(
            !stderr.contains("Too many open files"),
            "record never ran out of descriptors: {stderr}"
        );
        assert_eq!(
            stderr.matches("the cap: new ones get 503").count(),
            1,
            "{stderr}"
        );
    })
    .await
}

/// RFC 9112 §6.3: with both, `Transfer-Encoding` wins; an intermediary
/// that forwards such a request must drop `Content-Length`, and the
/// connection is closed after it, so nothing hidden in or after its body
/// becomes a second request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_with_transfer_encoding_is_one_request_without_content_length() {
    bounded("CL + TE", LIMIT, async {
        let upstream = FakeUpstream::start().await.expect("fake upstream");
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("te.har");
        let recorder = Recorder::reverse(&upstream.url(), &out, &[]).expect("start record");
        let smuggled = "GET /smuggled HTTP/1.1\r\nhost: upstream\r\n\r\n";
        let body = messages_body(false);
        for order in ["cl-first", "te-first"] {
            let framing = match order {
                "cl-first" => "content-length: 4\r\ntransfer-encoding: chunked\r\n",
                _ => "transfer-encoding: chunked\r\ncontent-length: 4\r\n",
            };
            let request = format!(
                "POST /v1/messages HTTP/1.1\r\nhost: upstream\r\ncontent-type: application/json\r\n\
                 {framing}\r\n{:x}\r\n{body}\r\n0\r\n\r\n{smuggled}",
                body.len()
            );
            let mut sock = TcpStream::connect(recorder.addr()).await.expect("connect");
            sock.write_all(request.as_bytes()).await.expect("send");
            let mut answer = Vec::new();
            // Read to the end: record closes the connection after this one.
            bounded("answer, then close", STEP, sock.read_to_end(&mut answer))
                .await
                .expect("read");
            let answer = String::from_utf8_lossy(&answer);
            assert!(answer.starts_with("HTTP/1.1 200"), "{order}: {answer}");
            assert_eq!(
                answer.matches("HTTP/1.1 ").count(),
                1,
                "{order}: one answer only: {answer}"
            );
        }
        let seen = upstream.requests();
        assert_eq!(seen.len(), 2, "one upstream request per client request");
        for r in &seen {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("POST", "/v1/messages")
            );
            assert_eq!(r.header("content-length").filter(|v| *v == "4"), None);
            assert_eq!(&r.body[..], body.as_bytes(), "the chunked body, whole");
        }
        recorder.stop().await.expect("stop");
    })
    .await
}

//! A client that cancels one HTTP/2 stream (RST_STREAM) while others share
//! its connection: forward mode, TLS intercepted, ALPN `h2`. The cancelled
//! exchange is archived with `_error` as soon as it is cancelled; the held
//! neighbour on the same connection completes, and the connection carries
//! a new exchange afterwards.

use super::rig::{Rig, FAULT_MARK, HEALTHY_MARK};
use crate::common::*;
use bytes::Bytes;
use cctap_tests::proxy::{connect_tunnel, tls_over};
use cctap_tests::upstream::BEHAVIOUR_HEADER;
use cctap_tests::{archive, Recorder};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::time::Duration;

/// A POST of `body` to `url` with an optional fake-upstream behaviour.
fn request(url: &str, body: String, behaviour: Option<&str>) -> http::Request<Full<Bytes>> {
    let mut builder = http::Request::post(url).header("content-type", "application/json");
    if let Some(b) = behaviour {
        builder = builder.header(BEHAVIOUR_HEADER, b);
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .expect("build request")
}

/// Sends a request on the shared connection; returns its response body.
async fn send(send: &mut SendRequest<Full<Bytes>>, req: http::Request<Full<Bytes>>) -> Incoming {
    send.ready().await.expect("h2 connection ready");
    let response = send.send_request(req).await.expect("h2 request");
    assert_eq!(response.status(), 200);
    response.into_body()
}

/// Reads data frames until `needle` (or, with None, to the end).
async fn read(body: &mut Incoming, seen: &mut Vec<u8>, needle: Option<&str>) {
    bounded("h2 body", STEP, async {
        loop {
            if needle.is_some_and(|n| String::from_utf8_lossy(seen).contains(n)) {
                return;
            }
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        seen.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => panic!("h2 body failed: {e}"),
                None if needle.is_none() => return,
                None => panic!("h2 body ended before {needle:?}"),
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_h2_stream_is_archived_and_its_neighbours_go_on() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (upstream, upstream_ca) = tls_upstream(dir.path()).await;
        let confdir = dir.path().join("conf");
        let path = dir.path().join("h2.har.zst");
        let (conf, ca) = (
            confdir.display().to_string(),
            upstream_ca.display().to_string(),
        );
        let recorder = Recorder::start(
            "regular",
            &path,
            &["--confdir", &conf, "--upstream-ca", &ca],
        )
        .expect("start record -m regular");

        let authority = upstream.addr().to_string();
        let tunnel = connect_tunnel(recorder.addr(), &authority)
            .await
            .expect("CONNECT");
        let our_ca = confdir.join("cctap-ca-cert.pem");
        let tls = tls_over(tunnel, "127.0.0.1", &[our_ca.as_path()], &[b"h2"])
            .await
            .expect("TLS with record");
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "ALPN h2");
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .expect("h2 handshake");
        tokio::spawn(conn);
        let url = format!("https://{authority}/v1/messages");

        let mut held = send(
            &mut sender,
            request(&url, Rig::body(HEALTHY_MARK, true), Some("gate")),
        )
        .await;
        let mut held_seen = Vec::new();
        read(&mut held, &mut held_seen, Some("event: message_start\n")).await;

        let long = request(
            &url,
            Rig::body(FAULT_MARK, true),
            Some("pace=50,deltas=400"),
        );
        let mut cancelled = send(&mut sender, long).await;
        read(
            &mut cancelled,
            &mut Vec::new(),
            Some("event: content_block_start\n"),
        )
        .await;
        drop(cancelled); // RST_STREAM(CANCEL); the connection stays

        // The stream would last ~20 s: its entry must come long before.
        let entries = archive::wait_for_entries(&path, 1, Duration::from_secs(10))
            .await
            .expect("record ends the cancelled exchange");
        assert!(
            entries[0].error.is_some(),
            "the cancelled exchange has _error"
        );
        assert!(entries[0].request_text().unwrap_or("").contains(FAULT_MARK));

        upstream.release_gate();
        read(&mut held, &mut held_seen, None).await;
        assert!(
            String::from_utf8_lossy(&held_seen).contains("event: message_stop\n"),
            "the neighbour on the same connection completed"
        );
        let mut after = send(
            &mut sender,
            request(&url, Rig::body(HEALTHY_MARK, false), None),
        )
        .await;
        read(&mut after, &mut Vec::new(), None).await;

        let status = bounded("record exit", STEP, recorder.stop())
            .await
            .expect("stop");
        assert!(status.success(), "record exit {status}");
        let (entries, cut) = archive::read_entries(&path).expect("read archive");
        assert_eq!(cut, None);
        assert_eq!(entries.len(), 3, "held, cancelled, after");
        for e in &entries {
            let healthy = e.request_text().unwrap_or("").contains(HEALTHY_MARK);
            assert_eq!(
                e.error.is_none(),
                healthy,
                "only the cancelled one has _error"
            );
            assert_eq!(e.har.request.http_version, "HTTP/2.0");
        }
    })
    .await
}

//! Failures in forward mode: each gets a clear line in record's log, an
//! `_error` entry where an exchange had begun, and the proxy keeps serving.

use super::{need, Forward};
use crate::common::*;
use cctap_tests::proxy::{connect_tunnel, curl};
use cctap_tests::upstream::{FakeUpstream, DEFAULT_REPLY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_rejects_our_certificate_is_logged_and_others_served() {
    if !need("curl") {
        return;
    }
    bounded("test", LIMIT, async {
        let fwd = Forward::tls(&[]).await;
        let url = format!("{}/v1/messages", fwd.upstream.url_by_name());
        let proxy = fwd.proxy();
        let wrong_ca = fwd.upstream_ca.display().to_string();
        let rejected = curl(
            &[
                "-sS", "--proxy", &proxy, "--cacert", &wrong_ca, "-d", "{}", &url,
            ],
            STEP,
        )
        .await
        .expect("curl");
        assert_eq!(
            rejected.status.code(),
            Some(60),
            "curl rejects a certificate it cannot verify"
        );
        let ours = fwd.our_ca();
        let out = fwd
            .curl(&ours, &["--data-binary", &messages_body(false), &url])
            .await;
        assert!(out.contains(DEFAULT_REPLY));
        let (entries, stderr, _dir) = fwd.finish().await;
        assert_eq!(entries.len(), 1, "no exchange began on the rejected tunnel");
        assert!(
            stderr.contains("TLS handshake with the client for localhost failed"),
            "{stderr}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_ports_and_untrusted_upstreams_give_502_and_error_entries() {
    if !need("curl") {
        return;
    }
    bounded("test", LIMIT, async {
        let refused = FakeUpstream::refused_url().await.expect("refused port");
        let refused_port = refused.rsplit(':').next().expect("port").to_owned();
        // No --upstream-ca: the fake upstream's certificate cannot be verified.
        let upstream = FakeUpstream::builder()
            .tls()
            .start()
            .await
            .expect("upstream");
        let fwd = Forward::plain(&[]).await;
        let proxy = fwd.proxy();
        let ca = fwd.our_ca().display().to_string();
        let to_refused = format!("https://127.0.0.1:{refused_port}/v1/messages");
        let untrusted = format!("{}/v1/messages", upstream.url());
        for url in [&to_refused, &untrusted] {
            let out = curl(
                &[
                    "-sS",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "--proxy",
                    &proxy,
                    "--cacert",
                    &ca,
                    "-d",
                    "{}",
                    url,
                ],
                STEP,
            )
            .await
            .expect("curl");
            assert_eq!(String::from_utf8_lossy(&out.stdout), "502", "{url}");
        }
        let (entries, _, _dir) = fwd.finish().await;
        assert_eq!(entries.len(), 2);
        let error = |i: usize| entries[i].error.clone().unwrap_or_default();
        assert_eq!(entries[0].har.request.url, to_refused);
        assert!(error(0).contains("cannot connect"), "{}", error(0));
        assert!(error(1).contains("TLS handshake"), "{}", error(1));
        assert!(upstream.requests().is_empty());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_in_a_tunnel_is_closed_and_others_served() {
    bounded("test", LIMIT, async {
        let fwd = Forward::plain(&[]).await;
        let authority = fwd.upstream.addr().to_string();
        let mut tunnel = connect_tunnel(fwd.recorder.addr(), &authority)
            .await
            .expect("CONNECT");
        tunnel
            .write_all(b"\x00\x01\x02 neither TLS nor HTTP\r\n\r\n")
            .await
            .expect("write");
        let mut rest = Vec::new();
        bounded("close", STEP, tunnel.read_to_end(&mut rest))
            .await
            .expect("read");
        assert!(rest.is_empty(), "closed without an answer: {rest:?}");
        let url = format!("{}/v1/messages", fwd.upstream.url());
        let proxy = fwd.proxy();
        let out = curl(
            &[
                "-sS",
                "--fail-with-body",
                "--proxy",
                &proxy,
                "-d",
                "{}",
                &url,
            ],
            STEP,
        )
        .await
        .expect("curl");
        assert!(out.status.success(), "the proxy still serves others");
        let (entries, stderr, _dir) = fwd.finish().await;
        assert_eq!(entries.len(), 1);
        assert!(stderr.contains("carries neither TLS nor HTTP"), "{stderr}");
        assert!(fwd_requests_ok(&entries));
    })
    .await
}

fn fwd_requests_ok(entries: &[cctap_archive::Entry]) -> bool {
    entries
        .iter()
        .all(|e| e.har.response.status == 200 && e.error.is_none())
}

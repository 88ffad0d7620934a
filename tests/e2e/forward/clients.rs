//! curl and Rust clients through `record -m regular`, trusting only its CA:
//! SNI name and IP literal, HTTP/2 by ALPN and HTTP/1.1, several requests on
//! one tunnel.

use super::{need, Forward};
use crate::common::*;
use cctap_tests::archive::sse_text;
use cctap_tests::proxy::{connect_tunnel, tls_over, Sender};
use cctap_tests::upstream::DEFAULT_REPLY;
use std::os::unix::fs::PermissionsExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_by_name_and_by_ip_over_http11_and_http2() {
    if !need("curl") {
        return;
    }
    bounded("test", LIMIT, async {
        let fwd = Forward::tls(&[]).await;
        let ca = fwd.our_ca();
        let key_header = format!("x-api-key: {FAKE_API_KEY}");
        let by_name = format!("{}/v1/messages?beta=true", fwd.upstream.url_by_name());
        let streamed = messages_body(true);
        let out = fwd
            .curl(
                &ca,
                &[
                    "--http1.1",
                    "-H",
                    &key_header,
                    "--data-binary",
                    &streamed,
                    &by_name,
                ],
            )
            .await;
        assert!(out.contains("event: message_stop"), "{out}");
        // An IP literal: curl sends no SNI, the leaf carries an IP SAN.
        let by_ip = format!("{}/v1/messages", fwd.upstream.url());
        let out = fwd
            .curl(
                &ca,
                &[
                    "--http2",
                    "-H",
                    &key_header,
                    "--data-binary",
                    &messages_body(false),
                    &by_ip,
                ],
            )
            .await;
        assert!(out.contains(DEFAULT_REPLY), "{out}");

        let seen = fwd.upstream.requests();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            seen[0].header("x-api-key"),
            Some(FAKE_API_KEY),
            "forwarded verbatim"
        );
        let confdir = fwd.confdir.clone();
        let (entries, _, _dir) = fwd.finish().await;
        assert_eq!(entries.len(), 2);
        let (h1, h2) = (&entries[0], &entries[1]);
        assert_eq!(h1.har.request.url, by_name);
        assert_eq!(h1.har.request.http_version, "HTTP/1.1");
        assert_eq!(sse_text(h1), DEFAULT_REPLY, "SSE events recorded");
        let key = req_header(h1, "x-api-key").expect("x-api-key recorded");
        assert!(key.starts_with("redacted:sk-ant-api03:"), "{key}");
        assert_eq!(h2.har.request.url, by_ip);
        assert_eq!(
            h2.har.request.http_version, "HTTP/2.0",
            "curl negotiated h2 by ALPN"
        );
        assert_eq!(h2.har.response.status, 200);
        assert!(h2.error.is_none(), "{:?}", h2.error);

        let mode =
            |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&confdir), 0o700, "confdir");
        assert_eq!(mode(&confdir.join("cctap-ca.pem")), 0o600, "CA key file");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_over_connect_h2_and_http11_several_requests_per_tunnel() {
    bounded("test", LIMIT, async {
        let fwd = Forward::tls(&[]).await;
        let ca = fwd.our_ca();
        let port = fwd.upstream.addr().port();
        let proxy = fwd.recorder.addr();

        let tunnel = connect_tunnel(proxy, &format!("localhost:{port}"))
            .await
            .expect("CONNECT");
        let tls = tls_over(tunnel, "localhost", &[&ca], &[b"h2", b"http/1.1"])
            .await
            .expect("TLS with our CA");
        assert_eq!(
            tls.get_ref().1.alpn_protocol(),
            Some(&b"h2"[..]),
            "h2 offered, h2 chosen"
        );
        let mut h2 = Sender::http2(tls).await.expect("h2 handshake");
        let by_name = format!("{}/v1/messages", fwd.upstream.url_by_name());
        for _ in 0..3 {
            let (status, body) = h2
                .post(
                    &by_name,
                    &messages_body(true),
                    &[("x-api-key", FAKE_API_KEY)],
                )
                .await
                .expect("h2 POST");
            assert_eq!(status, 200);
            assert!(body.contains("event: message_stop"));
        }

        // IP literal, no SNI, HTTP/1.1 only.
        let tunnel = connect_tunnel(proxy, &format!("127.0.0.1:{port}"))
            .await
            .expect("CONNECT");
        let tls = tls_over(tunnel, "127.0.0.1", &[&ca], &[b"http/1.1"])
            .await
            .expect("TLS to an IP");
        let mut h1 = Sender::http1(tls).await.expect("h1 handshake");
        let by_ip = format!("{}/v1/messages", fwd.upstream.url());
        for _ in 0..2 {
            let (status, _) = h1
                .post(&by_ip, &messages_body(false), &[])
                .await
                .expect("h1 POST");
            assert_eq!(status, 200);
        }

        // reqwest with the proxy and our CA as its only root.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cert =
            reqwest::Certificate::from_pem(&std::fs::read(&ca).expect("read CA")).expect("pem");
        let client = reqwest::Client::builder()
            .proxy(reqwest::Proxy::all(fwd.proxy()).expect("proxy"))
            .tls_certs_only([cert])
            .build()
            .expect("reqwest client");
        let response = client
            .post(&by_name)
            .body(messages_body(false))
            .send()
            .await
            .expect("reqwest through record");
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), reqwest::Version::HTTP_2);

        let (entries, _, _dir) = fwd.finish().await;
        assert_eq!(entries.len(), 6);
        let conn = |e: &cctap_archive::Entry| e.har.connection.clone().expect("connection id");
        for e in &entries[..3] {
            assert_eq!(e.har.request.http_version, "HTTP/2.0");
            assert_eq!(e.har.request.url, by_name);
            assert_eq!(
                conn(e),
                conn(&entries[0]),
                "one tunnel, one upstream connection"
            );
            assert_eq!(sse_text(e), DEFAULT_REPLY);
        }
        for e in &entries[3..5] {
            assert_eq!(e.har.request.http_version, "HTTP/1.1");
            assert_eq!(e.har.request.url, by_ip);
            assert_eq!(conn(e), conn(&entries[3]));
        }
        assert_ne!(
            conn(&entries[0]),
            conn(&entries[3]),
            "another origin, another connection"
        );
        assert_eq!(entries[5].har.request.http_version, "HTTP/2.0");
        assert!(entries.iter().all(|e| e.error.is_none()));
    })
    .await
}

//! What else a forward proxy carries: plain HTTP inside a CONNECT tunnel,
//! absolute-form requests, tunnels to ignored hosts (bytes untouched, not
//! recorded), and `-m upstream:URL` chained through a second `record`.

use super::{finish_recorder, need, Forward};
use crate::common::*;
use cctap_tests::proxy::{connect_tunnel, curl, ProxyClientError, Sender};
use cctap_tests::upstream::{FakeUpstream, DEFAULT_REPLY};
use cctap_tests::Recorder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_in_a_tunnel_and_absolute_form() {
    bounded("test", LIMIT, async {
        let fwd = Forward::plain(&[]).await;
        let url = format!("{}/v1/messages", fwd.upstream.url());
        let authority = fwd.upstream.addr().to_string();
        // Claude Code with an http:// base URL: CONNECT, then plain HTTP.
        let tunnel = connect_tunnel(fwd.recorder.addr(), &authority)
            .await
            .expect("CONNECT");
        let mut h1 = Sender::http1(tunnel).await.expect("h1 in the tunnel");
        for _ in 0..2 {
            let (status, body) = h1
                .post(&url, &messages_body(true), &[])
                .await
                .expect("POST in tunnel");
            assert_eq!(status, 200);
            assert!(body.contains(DEFAULT_REPLY) || body.contains("message_stop"));
        }
        // Absolute-form: GET/POST http://host/… straight to the proxy.
        let absolute = format!("{url}?absolute=1");
        let proxy = fwd.proxy();
        let out = curl(
            &[
                "-sS",
                "--fail-with-body",
                "--proxy",
                &proxy,
                "--data-binary",
                &messages_body(false),
                &absolute,
            ],
            STEP,
        )
        .await
        .expect("curl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Origin-form to a forward proxy: refused, not recorded.
        let refused = raw_exchange(
            fwd.recorder.addr(),
            b"GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            STEP,
        )
        .await;
        let refused = String::from_utf8_lossy(&refused);
        assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
        assert!(refused.contains("forward proxy"), "{refused}");

        let (entries, _, _dir) = fwd.finish().await;
        assert_eq!(entries.len(), 3, "two in the tunnel, one absolute-form");
        assert_eq!(entries[0].har.request.url, url);
        assert_eq!(
            entries[0].har.connection, entries[1].har.connection,
            "keep-alive in the tunnel"
        );
        assert_eq!(entries[2].har.request.url, absolute);
        assert!(entries
            .iter()
            .all(|e| e.har.response.status == 200 && e.error.is_none()));
    })
    .await
}

/// A loopback server that echoes every byte back.
async fn echo_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind echo");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = sock.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_hosts_pass_through_untouched_and_unrecorded() {
    if !need("curl") {
        return;
    }
    bounded("test", LIMIT, async {
        let echo = echo_server().await;
        let refused = FakeUpstream::refused_url().await.expect("refused port");
        let refused_port = refused.rsplit(':').next().expect("port").to_owned();
        let echo_pattern = format!(r"^127\.0\.0\.1:({}|{refused_port})$", echo.port());
        let fwd = Forward::tls(&["--ignore-hosts", "^localhost:", "--ignore-hosts", &echo_pattern]).await;
        // Trusting only the upstream's own CA works only if nothing was intercepted.
        let upstream_ca = fwd.upstream_ca.clone();
        let by_name = format!("{}/v1/messages", fwd.upstream.url_by_name());
        let out = fwd.curl(&upstream_ca, &["--data-binary", &messages_body(false), &by_name]).await;
        assert!(out.contains(DEFAULT_REPLY), "{out}");

        let mut tunnel = connect_tunnel(fwd.recorder.addr(), &echo.to_string()).await.expect("CONNECT to echo");
        let bytes: Vec<u8> = (0..=255u8).chain(*b"\r\n\r\nnot HTTP, not TLS").collect();
        tunnel.write_all(&bytes).await.expect("write");
        let mut back = vec![0u8; bytes.len()];
        bounded("echo", STEP, tunnel.read_exact(&mut back)).await.expect("read echo");
        assert_eq!(back, bytes, "bytes through an ignored tunnel are untouched");

        let err = connect_tunnel(fwd.recorder.addr(), &format!("127.0.0.1:{refused_port}")).await.err();
        assert!(
            matches!(&err, Some(ProxyClientError::Refused(line)) if line.starts_with("HTTP/1.1 502")),
            "an ignored host that refuses gets a 502 to the CONNECT: {err:?}"
        );

        // Hosts not ignored are still intercepted.
        let ours = fwd.our_ca();
        let by_ip = format!("{}/v1/messages", fwd.upstream.url());
        fwd.curl(&ours, &["--data-binary", &messages_body(false), &by_ip]).await;
        let (entries, stderr, _dir) = fwd.finish().await;
        assert_eq!(entries.len(), 1, "only the intercepted exchange is recorded");
        assert_eq!(entries[0].har.request.url, by_ip);
        assert!(stderr.contains("answered 502 to the CONNECT"), "{stderr}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_mode_chains_through_a_second_record() {
    if !need("curl") {
        return;
    }
    bounded("test", LIMIT, async {
        // The far proxy: an ordinary forward-mode record.
        let far = Forward::tls(&[]).await;
        let near_dir = tempfile::tempdir().expect("temp dir");
        let near_conf = near_dir.path().join("confdir");
        let near_archive = near_dir.path().join("near.har");
        let mode = format!("upstream:{}", far.proxy());
        let far_ca = far.our_ca().display().to_string();
        let near_conf_arg = near_conf.display().to_string();
        let near = Recorder::start(
            &mode,
            &near_archive,
            &[
                "--confdir",
                &near_conf_arg,
                "--upstream-ca",
                &far_ca,
                "--ignore-hosts",
                r"^127\.0\.0\.1:",
            ],
        )
        .expect("start record -m upstream:URL");
        let url = format!("{}/v1/messages", far.upstream.url_by_name());
        let ca = near_conf.join("cctap-ca-cert.pem").display().to_string();
        let proxy = near.url();
        let out = curl(
            &[
                "-sS",
                "--fail-with-body",
                "--proxy",
                &proxy,
                "--cacert",
                &ca,
                "--data-binary",
                &messages_body(true),
                &url,
            ],
            STEP,
        )
        .await
        .expect("curl");
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            near.stderr()
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("message_stop"));
        // Ignored by the near one: passed through the far one, which
        // intercepts it, so only the far CA verifies it.
        let by_ip = format!("{}/v1/messages", far.upstream.url());
        let out = curl(
            &[
                "-sS",
                "--fail-with-body",
                "--proxy",
                &proxy,
                "--cacert",
                &far_ca,
                "-d",
                "{}",
                &by_ip,
            ],
            STEP,
        )
        .await
        .expect("curl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let (near_entries, near_said, _d) = finish_recorder(near, &near_archive, near_dir).await;
        assert!(
            near_said.contains(&format!("through {}", far.proxy())),
            "{near_said}"
        );
        let (far_entries, _, _d2) = far.finish().await;
        assert_eq!(
            far_entries.len(),
            2,
            "the far one saw the passed-through tunnel too"
        );
        assert_eq!(far_entries[1].har.request.url, by_ip);
        for entries in [&near_entries, &far_entries[..1].to_vec()] {
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].har.request.url, url);
            assert_eq!(entries[0].har.response.status, 200);
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_hosts_intercepts_only_those() {
    if !need("curl") {
        return;
    }
    bounded("test", LIMIT, async {
        let fwd = Forward::tls(&["--allow-hosts", r"^localhost:"]).await;
        let body = messages_body(false);
        let by_name = format!("{}/v1/messages", fwd.upstream.url_by_name());
        let by_ip = format!("{}/v1/messages", fwd.upstream.url());
        // Allowed: intercepted, so only our CA verifies it.
        let ours = fwd.our_ca();
        fwd.curl(&ours, &["--data-binary", &body, &by_name]).await;
        // Not allowed: passed through, so only the upstream's CA verifies it.
        let theirs = fwd.upstream_ca.clone();
        fwd.curl(&theirs, &["--data-binary", &body, &by_ip]).await;
        let (entries, _, _dir) = fwd.finish().await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].har.request.url, by_name);
    })
    .await
}

//! HTTPS upstreams: trusted through `--upstream-ca`, rejected without it
//! (502 + `_error`), accepted with `--ssl-insecure`.

use crate::common::*;
use cctap_tests::archive::sse_text;
use cctap_tests::upstream::{FakeUpstream, DEFAULT_REPLY};

async fn stream_through(session: &Session) -> reqwest::Response {
    client()
        .post(format!("{}/v1/messages", session.url()))
        .body(messages_body(true))
        .send()
        .await
        .expect("send")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_trusted_with_upstream_ca() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (upstream, ca) = tls_upstream(dir.path()).await;
        let archive = dir.path().join("tls.har.zst");
        let ca_arg = ca.display().to_string();
        let recorder =
            cctap_tests::Recorder::reverse(&upstream.url(), &archive, &["--upstream-ca", &ca_arg])
                .expect("record");
        let session = Session {
            dir,
            upstream,
            recorder,
            archive,
        };
        let response = stream_through(&session).await;
        assert_eq!(response.status(), 200);
        assert!(response
            .text()
            .await
            .expect("stream")
            .contains("event: message_stop"));
        let url = session.upstream.url();
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries[0].har.request.url, format!("{url}/v1/messages"));
        assert_eq!(sse_text(&entries[0]), DEFAULT_REPLY);
        let ssl = entries[0].har.timings.ssl.unwrap_or(-1.0);
        assert!(
            ssl >= 0.0,
            "a new TLS connection has an ssl time, got {ssl}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_https_upstream_gives_502_and_error_entry() {
    bounded("test", LIMIT, async {
        let session = Session::with(FakeUpstream::builder().tls(), "har", &[]).await;
        let response = stream_through(&session).await;
        assert_eq!(
            response.status(),
            502,
            "an unverifiable upstream must be refused"
        );
        // A second refusal: the hint that names the fix comes once.
        assert_eq!(stream_through(&session).await.status(), 502);
        let stderr = session.recorder.stderr();
        assert_eq!(
            stderr.matches("--upstream-ca").count(),
            1,
            "one hint naming the flags:\n{stderr}"
        );
        assert!(stderr.contains("--ssl-insecure"), "{stderr}");
        assert!(
            session.upstream.requests().is_empty(),
            "no request may reach an unverified upstream"
        );
        let (entries, _, _dir) = session.finish().await;
        let error = entries[0].error.clone().unwrap_or_default().to_lowercase();
        assert!(
            error.contains("tls") || error.contains("certificate"),
            "_error should name the TLS failure: {error:?}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_insecure_accepts_any_upstream_certificate() {
    bounded("test", LIMIT, async {
        let session =
            Session::with(FakeUpstream::builder().tls(), "har", &["--ssl-insecure"]).await;
        let response = stream_through(&session).await;
        assert_eq!(response.status(), 200);
        response.text().await.expect("stream");
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries[0].error, None);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_by_name_verifies_the_dns_name() {
    use std::net::ToSocketAddrs;
    let first = ("localhost", 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next());
    if first.map(|a| a.ip().to_string()) != Some("127.0.0.1".to_owned()) {
        eprintln!("localhost does not resolve to 127.0.0.1 first ({first:?}): test skipped");
        return;
    }
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (upstream, ca) = tls_upstream(dir.path()).await;
        let archive = dir.path().join("byname.har");
        let ca_arg = ca.display().to_string();
        let base = upstream.url_by_name();
        let recorder = cctap_tests::Recorder::reverse(&base, &archive, &["--upstream-ca", &ca_arg])
            .expect("record");
        let session = Session {
            dir,
            upstream,
            recorder,
            archive,
        };
        let response = stream_through(&session).await;
        assert_eq!(response.status(), 200);
        response.text().await.expect("stream");
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries[0].har.request.url, format!("{base}/v1/messages"));
        assert_eq!(entries[0].error, None);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_stream_is_not_buffered() {
    use cctap_tests::upstream::BEHAVIOUR_HEADER;
    bounded("test", LIMIT, async {
        let session = Session::with(
            FakeUpstream::builder().tls(),
            "har.zst",
            &["--ssl-insecure"],
        )
        .await;
        let mut response = client()
            .post(format!("{}/v1/messages", session.url()))
            .header(BEHAVIOUR_HEADER, "gate")
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        let mut seen = Vec::new();
        tokio::time::timeout(
            STEP,
            read_until(&mut response, &mut seen, "event: message_start\n"),
        )
        .await
        .expect("record buffered the TLS upstream's stream: event 0 never reached the client");
        session.upstream.release_gate();
        read_until(&mut response, &mut seen, "event: message_stop\n").await;
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(sse_text(&entries[0]), DEFAULT_REPLY);
    })
    .await
}

/// `openssl req -x509 …` as people run it for a test server: self-signed,
/// marked CA:TRUE, served as the server's own certificate. `curl --cacert`
/// accepts it, and so must `--upstream-ca` (WebPKI alone says
/// CaUsedAsEndEntity); for a name it does not carry it is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openssl_self_signed_certificate_is_trusted_as_curl_trusts_it() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let Some(good) = openssl_self_signed(dir.path(), "good", "DNS:localhost,IP:127.0.0.1")
        else {
            return;
        };
        let bad = openssl_self_signed(dir.path(), "bad", "DNS:elsewhere.test").expect("openssl");
        for ((cert, key), trusted) in [(good, true), (bad, false)] {
            let pem = std::fs::read_to_string(&cert).expect("cert");
            let text = command_output("openssl", &["x509", "-noout", "-text", "-in", &cert]);
            assert!(
                text.contains("CA:TRUE"),
                "the premise: openssl marks it a CA\n{text}"
            );
            let own = cctap_tests::upstream::TestCa::self_signed(
                &pem,
                &std::fs::read_to_string(&key).expect("key"),
            )
            .expect("server config");
            let upstream = FakeUpstream::builder()
                .tls_with(own)
                .start()
                .await
                .expect("upstream");
            // The reference: curl --cacert with the same file.
            let curl = std::process::Command::new("curl")
                .args([
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "--cacert",
                    &cert,
                ])
                .arg(format!("{}/v1/models", upstream.url()))
                .output()
                .expect("curl runs");
            let curl_code = String::from_utf8_lossy(&curl.stdout).into_owned();
            assert_eq!(curl_code != "000", trusted, "curl --cacert: {curl_code}");
            let archive = dir.path().join(format!("self-signed-{trusted}.har"));
            let recorder = cctap_tests::Recorder::reverse(
                &upstream.url(),
                &archive,
                &["--upstream-ca", &cert],
            )
            .expect("record");
            let session = Session {
                dir: tempfile::tempdir().expect("temp dir"),
                upstream,
                recorder,
                archive,
            };
            let response = stream_through(&session).await;
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            if trusted {
                assert_eq!(status, 200, "{body}");
            } else {
                assert_eq!(status, 502, "{body}");
                assert!(body.to_lowercase().contains("certificate"), "{body}");
            }
            let (entries, _, _dir) = session.finish().await;
            assert_eq!(
                entries[0].error.is_none(),
                trusted,
                "{:?}",
                entries[0].error
            );
        }
    })
    .await
}

/// A certificate and key as `openssl req -x509` makes them (its default
/// config marks the certificate CA:TRUE); `None` when openssl is missing.
fn openssl_self_signed(dir: &std::path::Path, name: &str, alt: &str) -> Option<(String, String)> {
    let cert = dir.join(format!("{name}.pem")).display().to_string();
    let key = dir.join(format!("{name}.key")).display().to_string();
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", &format!("subjectAltName={alt}")])
        .args(["-keyout", &key, "-out", &cert])
        .output();
    match out {
        Ok(out) if out.status.success() => Some((cert, key)),
        Ok(out) => panic!(
            "openssl req failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            eprintln!("openssl not found ({e}): self-signed certificate test skipped");
            None
        }
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .expect("runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

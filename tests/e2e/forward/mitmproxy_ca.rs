//! One CA for cctap and the real mitmproxy, each time
//! with a real handshake through the proxy: curl trusting only mitmproxy's
//! CA talks through `record --ca ~/.mitmproxy/mitmproxy-ca.pem`, and curl
//! trusting only cctap's CA talks through `mitmdump --set confdir=~/.cctap`.
//!
//! Needs `MITMDUMP` (`source .ci/mitmproxy.sh CACHE_DIR`); without it each
//! test prints a notice and passes without checking.

use super::{need, Forward};
use crate::common::*;
use crate::mitmproxy::run::mitmdump;
use cctap_tests::upstream::DEFAULT_REPLY;
use std::path::Path;
use std::time::Duration;

/// Starts mitmdump in regular mode on a free port with this confdir.
async fn start_mitmdump(
    bin: &Path,
    confdir: &Path,
    extra: &[&str],
) -> (tokio::process::Child, u16) {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        probe.local_addr().expect("addr").port()
    };
    let child = tokio::process::Command::new(bin)
        .arg("--set")
        .arg(format!("confdir={}", confdir.display()))
        .args([
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            &port.to_string(),
            "-q",
        ])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start mitmdump");
    let up = async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    bounded("mitmdump listening", Duration::from_secs(60), up).await;
    (child, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trusting_only_mitmproxys_ca_talks_through_record() {
    let Some(bin) = mitmdump("mitmproxy CA in record") else {
        return;
    };
    if !need("curl") {
        return;
    }
    bounded("test", LIMIT, async {
        let scratch = tempfile::tempdir().expect("temp dir");
        let mitm_conf = scratch.path().join("dot-mitmproxy");
        // mitmdump creates its CA on start.
        let (mut mitm, _) = start_mitmdump(&bin, &mitm_conf, &[]).await;
        let _ = mitm.kill().await;
        let ca_file = mitm_conf.join("mitmproxy-ca.pem").display().to_string();
        let fwd = Forward::tls(&["--ca", &ca_file]).await;
        let url = format!("{}/v1/messages", fwd.upstream.url_by_name());
        let theirs = mitm_conf.join("mitmproxy-ca-cert.pem");
        let out = fwd
            .curl(&theirs, &["--data-binary", &messages_body(false), &url])
            .await;
        assert!(out.contains(DEFAULT_REPLY), "{out}");
        let (entries, _, _dir) = fwd.finish().await;
        assert_eq!(entries.len(), 1);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trusting_only_our_ca_talks_through_mitmdump() {
    let Some(bin) = mitmdump("our CA in mitmdump") else {
        return;
    };
    if !need("curl") {
        return;
    }
    bounded("test", LIMIT, async {
        let scratch = tempfile::tempdir().expect("temp dir");
        let (upstream, up_ca) = tls_upstream(scratch.path()).await;
        let ours = scratch.path().join("dot-cctap");
        let init = tokio::process::Command::new(cctap_tests::binaries::record().expect("record"))
            .args(["ca", "init", "--confdir"])
            .arg(&ours)
            .kill_on_drop(true)
            .output();
        assert!(bounded("record ca init", STEP, init)
            .await
            .expect("run")
            .status
            .success());
        let trusted = format!("ssl_verify_upstream_trusted_ca={}", up_ca.display());
        let (_mitm, port) = start_mitmdump(&bin, &ours, &["--set", &trusted]).await;
        let proxy = format!("http://127.0.0.1:{port}");
        let ca = ours.join("cctap-ca-cert.pem").display().to_string();
        let url = format!("{}/v1/messages", upstream.url_by_name());
        let args = [
            "-sS",
            "--fail-with-body",
            "--proxy",
            &proxy,
            "--cacert",
            &ca,
            "--data-binary",
            "{\"stream\":false}",
            &url,
        ];
        let out = cctap_tests::proxy::curl(&args, STEP).await.expect("curl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(DEFAULT_REPLY));
        assert_eq!(upstream.requests().len(), 1);
    })
    .await
}

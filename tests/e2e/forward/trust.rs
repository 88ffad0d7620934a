//! Trust: a CA made by openssl in mitmproxy's layout used with `--ca`,
//! `record ca init|path|export`, what a wrapped command gets (proxy
//! variables, trust files, NO_PROXY), the lines to paste, and offline
//! mode's fake key.

use super::{need, Forward};
use crate::common::*;
use cctap_tests::binaries;
use cctap_tests::proxy::openssl_ca;
use cctap_tests::upstream::DEFAULT_REPLY;
use std::os::unix::fs::PermissionsExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_made_by_openssl_in_mitmproxys_layout_works_with_dash_ca() {
    if !need("curl") || !need("openssl") {
        return;
    }
    bounded("test", LIMIT, async {
        let scratch = tempfile::tempdir().expect("temp dir");
        let (both, cert) = openssl_ca(scratch.path()).expect("openssl CA");
        let fwd = Forward::tls(&["--ca", &both.display().to_string()]).await;
        let url = format!("{}/v1/messages", fwd.upstream.url_by_name());
        let out = fwd
            .curl(&cert, &["--data-binary", &messages_body(false), &url])
            .await;
        assert!(out.contains(DEFAULT_REPLY), "{out}");
        assert!(
            !fwd.confdir.exists(),
            "--ca uses the file as is and creates no confdir"
        );
        let (entries, _, _dir) = fwd.finish().await;
        assert_eq!(entries.len(), 1);
    })
    .await
}

async fn record_ca(args: &[&str]) -> std::process::Output {
    let out = tokio::process::Command::new(binaries::record().expect("record binary"))
        .arg("ca")
        .args(args)
        .kill_on_drop(true)
        .output();
    bounded("record ca", STEP, out)
        .await
        .expect("run record ca")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_init_path_export() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = dir.path().join("fresh");
        let conf_arg = conf.display().to_string();
        let path = record_ca(&["path", "--confdir", &conf_arg]).await;
        assert!(path.status.success());
        assert!(!conf.exists(), "path creates nothing");
        let init = record_ca(&["init", "--confdir", &conf_arg]).await;
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&conf), 0o700);
        assert_eq!(mode(&conf.join("cctap-ca.pem")), 0o600);
        assert!(
            conf.join("mitmproxy-ca.pem").exists(),
            "mitmproxy's names point at ours"
        );
        let cert_path = String::from_utf8_lossy(&path.stdout).trim().to_owned();
        let export = record_ca(&["export", "--confdir", &conf_arg]).await;
        assert!(export.status.success());
        assert_eq!(
            std::fs::read(&cert_path).expect("certificate file"),
            export.stdout
        );
        assert!(String::from_utf8_lossy(&export.stdout).starts_with("-----BEGIN CERTIFICATE-----"));
        let bad = record_ca(&[
            "export",
            "--ca",
            &dir.path().join("missing.pem").display().to_string(),
        ])
        .await;
        assert_eq!(bad.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("missing.pem"));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrapped_command_goes_through_the_proxy_and_trusts_the_ca() {
    if !need("curl") {
        return;
    }
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (upstream, up_ca) = tls_upstream(dir.path()).await;
        let archive = dir.path().join("wrapped.har");
        // The user's own NODE_EXTRA_CA_CERTS must survive, combined with ours.
        let user_extra = dir.path().join("corp.pem");
        std::fs::copy(&up_ca, &user_extra).expect("copy");
        let url = format!("{}/v1/messages", upstream.url_by_name());
        let script = format!(
            "curl -sS --fail-with-body -H 'x-api-key: {FAKE_API_KEY}' --data-binary '{{\"stream\":false}}' {url} && echo && \
             echo \"node=$NODE_EXTRA_CA_CERTS certs=$(grep -c 'BEGIN CERTIFICATE' \"$NODE_EXTRA_CA_CERTS\")\" && \
             echo \"no_proxy=$NO_PROXY|$no_proxy| https_proxy=$https_proxy\" && test -s \"$SSL_CERT_FILE\" && test -s \"$REQUESTS_CA_BUNDLE\""
        );
        let output = tokio::process::Command::new(binaries::record().expect("record binary"))
            .kill_on_drop(true)
            .arg("-o")
            .arg(&archive)
            .arg("--confdir")
            .arg(dir.path().join("conf"))
            .arg("--upstream-ca")
            .arg(&up_ca)
            .args(["--ignore-hosts", r"example\.test", "--", "sh", "-c", &script])
            .env("NO_PROXY", "localhost,example.test")
            .env("no_proxy", "localhost")
            .env("NODE_EXTRA_CA_CERTS", &user_extra)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("CURL_CA_BUNDLE")
            .env_remove("SSL_CERT_FILE")
            .stdin(std::process::Stdio::null())
            .output();
        let output = bounded("record -- sh", STEP, output).await.expect("run record -- sh");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stdout.contains(DEFAULT_REPLY), "{stdout}");
        assert!(stdout.contains("certs=2"), "the user's CA and ours: {stdout}");
        assert!(stdout.contains("no_proxy=example.test||"), "recorded hosts leave NO_PROXY: {stdout}");
        assert!(stdout.contains("https_proxy=http://127.0.0.1:"), "{stdout}");
        let node_file = stdout
            .split("node=")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .expect("node= line");
        assert!(!std::path::Path::new(node_file).exists(), "trust files removed at exit");
        let (entries, _) = cctap_tests::archive::read_entries(&archive).expect("read");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].har.request.url, url);
        let key = req_header(&entries[0], "x-api-key").expect("key header");
        assert!(key.starts_with("redacted:"), "{key}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_command_it_prints_the_exports() {
    bounded("test", LIMIT, async {
        let fwd = Forward::plain(&[]).await;
        let want = format!("export HTTPS_PROXY={} ", fwd.proxy());
        let deadline = tokio::time::Instant::now() + STEP;
        while !fwd.recorder.stderr().contains("NODE_EXTRA_CA_CERTS=")
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let said = fwd.recorder.stderr();
        assert!(said.contains(&want), "{said}");
        assert!(said.contains("export NODE_EXTRA_CA_CERTS=/"), "{said}");
        assert!(
            said.contains("CURL_CA_BUNDLE=/") && said.contains("REQUESTS_CA_BUNDLE=/"),
            "{said}"
        );
        // The pasted lines go on working after this run: they name files in
        // the confdir, beside the CA, not in a directory removed at exit.
        let named: Vec<std::path::PathBuf> = said
            .split_whitespace()
            .filter_map(|w| w.split_once('='))
            .filter(|(k, _)| {
                k.ends_with("CA_CERTS") || k.ends_with("CA_BUNDLE") || *k == "SSL_CERT_FILE"
            })
            .map(|(_, v)| std::path::PathBuf::from(v.trim_matches('\'')))
            .collect();
        assert_eq!(named.len(), 4, "{said}");
        let confdir = fwd.confdir.clone();
        let (_, _, _dir) = fwd.finish().await;
        for path in named {
            assert!(
                path.starts_with(&confdir),
                "{} is not in {}",
                path.display(),
                confdir.display()
            );
            let pem = std::fs::read_to_string(&path).expect("trust file still there after exit");
            assert!(pem.contains("BEGIN CERTIFICATE"), "{}", path.display());
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_gives_a_command_without_a_key_a_fake_one() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let run = |token: Option<&str>| {
            let mut cmd = tokio::process::Command::new(binaries::record().expect("record binary"));
            cmd.kill_on_drop(true)
                .args(["-m", "offline", "-q", "-o"])
                .arg(dir.path().join("offline.har"))
                .args(["--", "sh", "-c", "echo \"key=$ANTHROPIC_API_KEY traffic=$CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC\""])
                .env_remove("ANTHROPIC_API_KEY")
                .env_remove("ANTHROPIC_AUTH_TOKEN")
                .env_remove("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC")
                .stdin(std::process::Stdio::null());
            if let Some(token) = token {
                cmd.env("ANTHROPIC_AUTH_TOKEN", token);
            }
            cmd.output()
        };
        let out = bounded("record -m offline", STEP, run(None)).await.expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("key=sk-ant-api03-OFFLINE-FAKE-KEY-cctap traffic=1"), "{stdout}");
        let out = bounded("record -m offline", STEP, run(Some(FAKE_OAUTH_TOKEN))).await.expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("key= traffic=1"), "a user with a token keeps it alone: {stdout}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrapped_python_trusts_the_ca_through_ssl_cert_file() {
    if !need("python3") {
        return;
    }
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (upstream, up_ca) = tls_upstream(dir.path()).await;
        let archive = dir.path().join("python.har");
        let url = format!("{}/v1/messages", upstream.url_by_name());
        // urllib takes https_proxy from the environment, OpenSSL SSL_CERT_FILE.
        let script = format!(
            "import urllib.request\n\
             r = urllib.request.urlopen(urllib.request.Request('{url}', data=b'{{\"stream\":false}}'), timeout=20)\n\
             print(r.read().decode())"
        );
        let output = tokio::process::Command::new(binaries::record().expect("record binary"))
            .kill_on_drop(true)
            .arg("-o")
            .arg(&archive)
            .arg("--confdir")
            .arg(dir.path().join("conf"))
            .arg("--upstream-ca")
            .arg(&up_ca)
            .args(["-q", "--", "python3", "-c", &script])
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .stdin(std::process::Stdio::null())
            .output();
        let output = bounded("record -- python3", STEP, output).await.expect("run");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains(DEFAULT_REPLY), "{stdout}");
        let (entries, _) = cctap_tests::archive::read_entries(&archive).expect("read");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].har.request.url, url);
    })
    .await
}

//! Forward mode through the real `record`: clients that send
//! CONNECT or absolute-form requests to `record -m regular` and trust only
//! its CA, against the fake upstream over HTTPS and HTTP.
//!
//! - `clients`: curl and Rust clients, SNI name and IP literal, HTTP/2 and
//!   HTTP/1.1, several requests per tunnel.
//! - `tunnels`: plain HTTP inside a tunnel, absolute-form, `--ignore-hosts`,
//!   `upstream:URL` through a second `record`.
//! - `trust`: the CA (`--ca` from openssl in mitmproxy's layout, `record ca`,
//!   file modes), a wrapped command's environment, offline's fake key.
//! - `failures`: rejected certificates, refused ports, upstream TLS, garbage.
//! - `mitmproxy_ca`: one CA with the real mitmdump, both ways (`MITMDUMP`).
//! - `fixtures`: fixtures/claude-code-forward (the real Claude Code) read back.

mod clients;
mod failures;
mod fixtures;
mod mitmproxy_ca;
mod trust;
mod tunnels;

use crate::common::*;
use cctap_archive::Entry;
use cctap_tests::upstream::{Builder, FakeUpstream};
use cctap_tests::{archive, Recorder};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one curl run may take.
const CURL_LIMIT: Duration = Duration::from_secs(30);

/// A fake upstream, `record -m regular` with its own confdir, and the archive.
pub struct Forward {
    pub dir: tempfile::TempDir,
    pub upstream: FakeUpstream,
    pub recorder: Recorder,
    pub archive: PathBuf,
    pub confdir: PathBuf,
    /// The fake upstream's CA certificate (HTTPS upstreams).
    pub upstream_ca: PathBuf,
}

impl Forward {
    /// An HTTPS fake upstream, `record` trusting it through `--upstream-ca`.
    pub async fn tls(extra: &[&str]) -> Forward {
        Forward::with(FakeUpstream::builder().tls(), true, extra).await
    }

    /// A plain HTTP fake upstream.
    pub async fn plain(extra: &[&str]) -> Forward {
        Forward::with(FakeUpstream::builder(), false, extra).await
    }

    async fn with(builder: Builder, tls: bool, extra: &[&str]) -> Forward {
        let upstream = builder.start().await.expect("start fake upstream");
        let dir = tempfile::tempdir().expect("temp dir");
        let confdir = dir.path().join("confdir");
        let upstream_ca = dir.path().join("upstream-ca.pem");
        let archive = dir.path().join("forward.har");
        let mut args = vec!["--confdir".to_owned(), confdir.display().to_string()];
        if tls {
            upstream.write_ca(&upstream_ca).expect("write upstream CA");
            args.extend([
                "--upstream-ca".to_owned(),
                upstream_ca.display().to_string(),
            ]);
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let recorder =
            Recorder::start("regular", &archive, &args).expect("start record -m regular");
        Forward {
            dir,
            upstream,
            recorder,
            archive,
            confdir,
            upstream_ca,
        }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn proxy(&self) -> String {
        self.recorder.url()
    }

    /// The CA certificate record created in its confdir.
    pub fn our_ca(&self) -> PathBuf {
        self.confdir.join("cctap-ca-cert.pem")
    }

    /// curl through the proxy, trusting only `ca`; returns stdout, or panics
    /// with curl's stderr.
    pub async fn curl(&self, ca: &Path, args: &[&str]) -> String {
        let ca = ca.display().to_string();
        let proxy = self.proxy();
        let mut all = vec![
            "-sS",
            "--fail-with-body",
            "--proxy",
            &proxy,
            "--cacert",
            &ca,
        ];
        all.extend_from_slice(args);
        let out = cctap_tests::proxy::curl(&all, CURL_LIMIT)
            .await
            .expect("run curl");
        assert!(
            out.status.success(),
            "curl {all:?} failed: {}{}\nrecord said:\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
            self.recorder.stderr()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Stops `record` (exit 0), checks the HAR, returns entries in start
    /// order and what record printed.
    pub async fn finish(self) -> (Vec<Entry>, String, tempfile::TempDir) {
        finish_recorder(self.recorder, &self.archive, self.dir).await
    }
}

/// Stops a recorder with SIGINT and reads its sound archive.
pub async fn finish_recorder(
    recorder: Recorder,
    path: &Path,
    dir: tempfile::TempDir,
) -> (Vec<Entry>, String, tempfile::TempDir) {
    let stderr = recorder.stderr();
    let status = bounded("record exit after SIGINT", STEP, recorder.stop())
        .await
        .expect("stop record");
    assert!(
        status.success(),
        "record exited {status}; stderr:\n{stderr}"
    );
    let doc = archive::document(path).expect("one complete JSON document");
    assert_eq!(
        archive::har_problems(&doc),
        Vec::<String>::new(),
        "sound HAR 1.2"
    );
    har_validator(&doc, dir.path());
    let (mut entries, cut) = archive::read_entries(path).expect("read archive");
    assert_eq!(cut, None);
    entries.sort_by(|a, b| a.har.started_date_time.cmp(&b.har.started_date_time));
    (entries, stderr, dir)
}

/// Skips a test (with a line saying so) when a program is missing.
pub fn need(program: &str) -> bool {
    let there = cctap_tests::proxy::have(program);
    if !there {
        eprintln!("{program} not installed: test skipped");
    }
    there
}

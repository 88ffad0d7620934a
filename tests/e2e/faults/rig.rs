//! One `record`, a healthy fake upstream, and a client of the proxy.
//!
//! [`Mode::Forward`] (`record -m regular`): every request names its own
//! target, so one proxy faces the healthy upstream and a faulty one at once.
//! [`Mode::Reverse`] (`record -m reverse:URL`, how Claude Code is pointed at
//! it with `ANTHROPIC_BASE_URL`): one upstream, so only faults of the
//! upstream's behaviour or of the client apply.

use crate::common::*;
use cctap_archive::Entry;
use cctap_tests::upstream::{FakeUpstream, BEHAVIOUR_HEADER};
use cctap_tests::{archive, Recorder};
use std::path::PathBuf;

/// Marks the request bodies of the faulty exchange, to find its entry.
pub const FAULT_MARK: &str = "fault case request";

/// Marks the healthy exchanges' bodies.
pub const HEALTHY_MARK: &str = "healthy neighbour request";

/// How the client reaches record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Forward,
    Reverse,
}

pub struct Rig {
    pub mode: Mode,
    /// Holds the archive and confdir until the rig is dropped.
    _dir: tempfile::TempDir,
    pub healthy: FakeUpstream,
    pub recorder: Recorder,
    pub archive: PathBuf,
    pub confdir: PathBuf,
    /// reqwest through the proxy (absolute-form HTTP requests).
    pub http: reqwest::Client,
}

impl Rig {
    pub async fn start(mode: Mode) -> Rig {
        Rig::start_with(mode, &[]).await
    }

    /// A rig whose `record` also gets `extra` flags.
    pub async fn start_with(mode: Mode, extra: &[&str]) -> Rig {
        let healthy = FakeUpstream::builder()
            .start()
            .await
            .expect("start fake upstream");
        let dir = tempfile::tempdir().expect("temp dir");
        let confdir = dir.path().join("confdir");
        let archive = dir.path().join("faults.har.zst");
        let conf = confdir.display().to_string();
        let (recorder, http) = match mode {
            Mode::Forward => {
                let flags: Vec<&str> = ["--confdir", conf.as_str()]
                    .into_iter()
                    .chain(extra.iter().copied())
                    .collect();
                let recorder =
                    Recorder::start("regular", &archive, &flags).expect("start record -m regular");
                let _ = rustls::crypto::ring::default_provider().install_default();
                let proxy = reqwest::Proxy::all(recorder.url()).expect("proxy URL");
                let http = reqwest::Client::builder()
                    .proxy(proxy)
                    .no_gzip()
                    .build()
                    .expect("build client");
                (recorder, http)
            }
            Mode::Reverse => {
                let recorder =
                    Recorder::reverse(&healthy.url(), &archive, extra).expect("start record");
                (recorder, client())
            }
        };
        Rig {
            mode,
            _dir: dir,
            healthy,
            recorder,
            archive,
            confdir,
            http,
        }
    }

    /// The base URL the client sends healthy-upstream requests to.
    pub fn healthy_base(&self) -> String {
        match self.mode {
            Mode::Forward => self.healthy.url(),
            Mode::Reverse => self.recorder.url(),
        }
    }

    /// The CA `record` intercepts TLS with (created in its confdir).
    pub fn our_ca(&self) -> PathBuf {
        self.confdir.join("cctap-ca-cert.pem")
    }

    /// A request body carrying `mark`.
    pub fn body(mark: &str, stream: bool) -> String {
        messages_body(stream).replace("say hi", mark)
    }

    /// Starts a healthy stream held at event 1 by the upstream's gate, and
    /// reads its first event: it is in flight while the fault happens.
    pub async fn start_healthy(&self) -> (reqwest::Response, Vec<u8>) {
        self.start_stream("gate").await
    }

    /// Starts a healthy stream with this fake-upstream behaviour and reads
    /// its first event.
    pub async fn start_stream(&self, behaviour: &str) -> (reqwest::Response, Vec<u8>) {
        let mut response = self
            .http
            .post(format!("{}/v1/messages", self.healthy_base()))
            .header(BEHAVIOUR_HEADER, behaviour)
            .body(Rig::body(HEALTHY_MARK, true))
            .send()
            .await
            .expect("healthy stream through record");
        assert_eq!(response.status(), 200, "healthy stream status");
        let mut seen = Vec::new();
        read_until(&mut response, &mut seen, "event: message_start\n").await;
        (response, seen)
    }

    /// Lets the held healthy stream finish and checks it did, then checks a
    /// new exchange on a new connection is served too.
    pub async fn finish_healthy(&self, response: reqwest::Response, seen: Vec<u8>) {
        self.healthy.release_gate();
        self.finish_stream(response, seen).await;
        self.fresh_exchange().await;
    }

    /// Reads a healthy stream to its end and checks it is whole.
    pub async fn finish_stream(&self, mut response: reqwest::Response, mut seen: Vec<u8>) {
        // Read to the very end: a client that drops the response after
        // `event: message_stop` but before its data line went away early,
        // and record rightly archives that with `_error`.
        bounded("healthy stream after the fault", STEP, async {
            while let Some(chunk) = response.chunk().await.expect("healthy stream") {
                seen.extend_from_slice(&chunk);
            }
        })
        .await;
        let text = String::from_utf8_lossy(&seen);
        assert!(
            text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            "healthy stream whole after the fault: {text:?}"
        );
    }

    /// A new exchange on a new connection, after the fault: served.
    pub async fn fresh_exchange(&self) {
        let fresh = self
            .http
            .post(format!("{}/v1/messages", self.healthy_base()))
            .body(Rig::body(HEALTHY_MARK, false))
            .send()
            .await
            .expect("a new exchange after the fault");
        assert_eq!(fresh.status(), 200, "a new exchange after the fault");
        fresh.text().await.expect("new exchange body");
    }

    /// Stops record (exit 0, clean archive) and splits the entries into the
    /// healthy ones and the faulty exchange's.
    pub async fn finish(self) -> (Vec<Entry>, Vec<Entry>, String) {
        let stderr = self.recorder.stderr();
        let status = bounded("record exit after SIGINT", STEP, self.recorder.stop())
            .await
            .expect("stop record");
        assert!(
            status.success(),
            "record exited {status}; stderr:\n{stderr}"
        );
        let (entries, cut) = archive::read_entries(&self.archive).expect("read archive");
        assert_eq!(cut, None, "a cleanly stopped archive is whole");
        let (healthy, faulty): (Vec<Entry>, Vec<Entry>) = entries
            .into_iter()
            .partition(|e| e.request_text().unwrap_or("").contains(HEALTHY_MARK));
        (healthy, faulty, stderr)
    }
}

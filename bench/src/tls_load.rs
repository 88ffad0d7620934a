//! The load generator for rows wrk cannot drive: N connections, each a
//! `CONNECT` tunnel through a forward proxy (or straight to the TLS upstream)
//! with TLS inside, sending `bench/lua/post.lua`'s 1 KiB JSON POSTs keep-alive
//! over HTTP/1.1 for a fixed time, timing every request.
//!
//! [`generate`] runs in the `tls_load` binary (one current-thread runtime, as
//! `wrk -t1`) and prints a `RESULT` line; [`run`] starts that binary from
//! `bench_run` and reads the line into a [`Report`], with the
//! generator's own CPU from `wait4`, so both clients are measured alike.
//! Errors are counted by kind, never dropped: a broken connection is counted
//! and replaced.

use crate::procs::{result_field, run_measured};
use crate::stats;
use crate::tls::{self, OpenError};
use crate::wrk::Report;
use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to run: the TLS server, the proxy in front (if any), whom to trust.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Port of the TLS server on 127.0.0.1 (the upstream).
    pub target_port: u16,
    /// A forward proxy on 127.0.0.1 to `CONNECT` through; `None`: direct.
    pub proxy_port: Option<u16>,
    /// PEM certificates the client trusts (the proxy's CA, or the upstream's).
    pub ca: PathBuf,
    pub connections: u32,
    pub seconds: u32,
    pub body_bytes: usize,
}

/// Failures by kind; every one is shown in the row's note.
#[derive(Clone, Copy, Debug, Default)]
pub struct Errors {
    pub connect: u64,
    pub tunnel: u64,
    pub handshake: u64,
    /// Responses other than 200.
    pub status: u64,
    /// Resets and other I/O errors in the middle of an exchange.
    pub io: u64,
    /// No complete response within 10 s.
    pub timeout: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.connect + self.tunnel + self.handshake + self.status + self.io + self.timeout
    }

    fn add(&mut self, o: &Errors) {
        self.connect += o.connect;
        self.tunnel += o.tunnel;
        self.handshake += o.handshake;
        self.status += o.status;
        self.io += o.io;
        self.timeout += o.timeout;
    }
}

/// What one connection (and then all of them) did.
#[derive(Debug, Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    errors: Errors,
    /// The first error's text, so that a failing row says why.
    first_error: Option<String>,
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The same JSON POST body as `bench/lua/post.lua`, `size` bytes.
pub fn post_body(size: usize) -> Vec<u8> {
    let head =
        r#"{"model":"claude-opus-5-5","max_tokens":1024,"messages":[{"role":"user","content":""#;
    let tail = r#""}]}"#;
    let pad = size.saturating_sub(head.len() + tail.len());
    let unit = b"lorem ipsum dolor sit amet ";
    let mut body = Vec::with_capacity(size.max(head.len() + tail.len()));
    body.extend_from_slice(head.as_bytes());
    body.extend((0..pad).map(|i| unit[i % unit.len()]));
    body.extend_from_slice(tail.as_bytes());
    body
}

/// Runs the load on a current-thread runtime; returns the report to print
/// (a readable summary, then the `RESULT` line) and the requests that
/// succeeded.
pub fn generate(plan: &Plan) -> anyhow::Result<(String, usize)> {
    let config = Arc::new(tls::client_config(&plan.ca)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let started = Instant::now();
    let tally = runtime.block_on(drive(plan, config))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((summary(plan, &tally, seconds), tally.latencies_ms.len()))
}

async fn drive(plan: &Plan, config: Arc<rustls::ClientConfig>) -> anyhow::Result<Tally> {
    let connector = tokio_rustls::TlsConnector::from(config);
    let body = Bytes::from(post_body(plan.body_bytes));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(plan.seconds));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..plan.connections.max(1) {
        let conn = Connection {
            connector: connector.clone(),
            proxy_port: plan.proxy_port,
            target_port: plan.target_port,
            body: body.clone(),
        };
        tasks.spawn(async move { conn.run(deadline).await });
    }
    let mut all = Tally::default();
    while let Some(done) = tasks.join_next().await {
        let t = done.context("a connection task panicked")?;
        all.latencies_ms.extend(t.latencies_ms);
        all.errors.add(&t.errors);
        all.first_error = all.first_error.or(t.first_error);
    }
    Ok(all)
}

/// One client connection, reopened after any error until the deadline.
struct Connection {
    connector: tokio_rustls::TlsConnector,
    proxy_port: Option<u16>,
    target_port: u16,
    body: Bytes,
}

impl Connection {
    async fn run(self, deadline: tokio::time::Instant) -> Tally {
        let mut tally = Tally::default();
        let host = format!("127.0.0.1:{}", self.target_port);
        while tokio::time::Instant::now() < deadline {
            let mut sender = match self.open().await {
                Ok(s) => s,
                Err(e) => {
                    note(&mut tally, e.to_string(), |x| match e {
                        OpenError::Connect(..) => x.connect += 1,
                        OpenError::Tunnel(_) => x.tunnel += 1,
                        OpenError::Handshake(_) => x.handshake += 1,
                    });
                    // A refused connection must not spin the client.
                    tokio::time::sleep_until(
                        deadline.min(tokio::time::Instant::now() + Duration::from_millis(50)),
                    )
                    .await;
                    continue;
                }
            };
            while tokio::time::Instant::now() < deadline {
                if !self.exchange(&mut sender, &host, &mut tally).await {
                    break; // connection broken: count it, open another
                }
            }
        }
        tally
    }

    async fn open(&self) -> Result<SendRequest<Full<Bytes>>, OpenError> {
        let tls = tls::open(&self.connector, self.proxy_port, self.target_port).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| OpenError::Handshake(std::io::Error::other(e)))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// One POST and its whole reply; false when the connection is unusable.
    async fn exchange(
        &self,
        sender: &mut SendRequest<Full<Bytes>>,
        host: &str,
        tally: &mut Tally,
    ) -> bool {
        let req = hyper::Request::post("/v1/messages")
            .header(http::header::HOST, host)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("anthropic-version", "2023-06-01")
            .header(
                "x-api-key",
                "sk-ant-api03-FAKE-bench-000000000000000000000000000000000000",
            )
            .body(Full::new(self.body.clone()));
        let Ok(req) = req else {
            return false;
        };
        let start = Instant::now();
        let result = tokio::time::timeout(REQUEST_TIMEOUT, async {
            sender.ready().await?;
            let res = sender.send_request(req).await?;
            let status = res.status();
            res.into_body().collect().await?;
            Ok::<_, hyper::Error>(status)
        })
        .await;
        match result {
            Ok(Ok(status)) if status == http::StatusCode::OK => {
                tally.latencies_ms.push(start.elapsed().as_secs_f64() * 1e3);
                true
            }
            Ok(Ok(status)) => {
                note(tally, format!("upstream or proxy answered {status}"), |x| {
                    x.status += 1
                });
                true
            }
            Ok(Err(e)) => {
                note(tally, format!("exchange failed: {e}"), |x| x.io += 1);
                false
            }
            Err(_) => {
                note(tally, "no reply within 10 s".into(), |x| x.timeout += 1);
                false
            }
        }
    }
}

fn note(tally: &mut Tally, text: String, count: impl FnOnce(&mut Errors)) {
    count(&mut tally.errors);
    tally.first_error.get_or_insert(text);
}

/// A readable summary, then `RESULT key=value …` for [`run`] to read.
fn summary(plan: &Plan, tally: &Tally, seconds: f64) -> String {
    let mut lat = tally.latencies_ms.clone();
    stats::sort(&mut lat);
    let p = |q| stats::percentile(&lat, q).unwrap_or(f64::NAN);
    let requests = lat.len();
    let rps = requests as f64 / seconds;
    let e = &tally.errors;
    let via = plan.proxy_port.map_or("direct".to_owned(), |p| {
        format!("CONNECT via 127.0.0.1:{p}")
    });
    let mut out = format!(
        "{} connections, TLS to 127.0.0.1:{} ({via}), {:.2} s: {requests} requests, {rps:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, {} errors\n",
        plan.connections, plan.target_port, seconds, p(50.0), p(99.0), e.total()
    );
    if let Some(first) = &tally.first_error {
        out.push_str(&format!("first error: {first}\n"));
    }
    out.push_str(&format!(
        "RESULT requests={requests} seconds={seconds:.3} rps={rps:.1} p50_ms={:.4} p99_ms={:.4} errors={} connect={} tunnel={} handshake={} status={} io={} timeout={}\n",
        p(50.0), p(99.0), e.total(), e.connect, e.tunnel, e.handshake, e.status, e.io, e.timeout
    ));
    out
}

/// Runs the `tls_load` binary in `bin_dir` and reads its report; its CPU is
/// the child's own (`wait4`), as for wrk. Errors land in `failures` and
/// `failure_kinds`; a run with no successful request is an error.
pub fn run(bin_dir: &Path, plan: &Plan) -> anyhow::Result<Report> {
    let mut cmd = Command::new(bin_dir.join("tls_load"));
    cmd.arg("--target-port")
        .arg(plan.target_port.to_string())
        .arg("--ca")
        .arg(&plan.ca)
        .arg("-c")
        .arg(plan.connections.to_string())
        .arg("-d")
        .arg(plan.seconds.to_string())
        .arg("--body-bytes")
        .arg(plan.body_bytes.to_string());
    if let Some(port) = plan.proxy_port {
        cmd.arg("--proxy-port").arg(port.to_string());
    }
    let limit = Duration::from_secs(u64::from(plan.seconds) + 30);
    let run = run_measured(&mut cmd, limit)?;
    let field = |k| result_field(&run.stdout, k);
    let requests = field("requests").unwrap_or(0.0) as u64;
    if !run.status.success() || requests == 0 {
        bail!(
            "tls_load failed ({}), no request succeeded:\n{}",
            run.status,
            run.stdout.trim()
        );
    }
    let kinds = ["connect", "tunnel", "handshake", "status", "io", "timeout"]
        .iter()
        .filter_map(|k| {
            let n = field(k).unwrap_or(0.0) as u64;
            (n > 0).then(|| format!("{k} {n}"))
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Report {
        requests,
        rps: field("rps").unwrap_or(f64::NAN),
        p50_ms: field("p50_ms").unwrap_or(f64::NAN),
        p99_ms: field("p99_ms").unwrap_or(f64::NAN),
        failures: field("errors").unwrap_or(0.0) as u64,
        failure_kinds: kinds,
        cpu_s: run.cpu_s,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn body_is_the_lua_scripts() {
        let body = super::post_body(1024);
        assert_eq!(body.len(), 1024);
        let json: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
        assert_eq!(json["model"], "claude-opus-5-5");
        assert!(json["messages"][0]["content"]
            .as_str()
            .is_some_and(|c| c.starts_with("lorem ipsum dolor sit amet lorem")));
    }
}

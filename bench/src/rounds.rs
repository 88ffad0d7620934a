//! One round of one setup, and the medians over rounds that make a table row.
//!
//! A round starts the setup's proxy fresh, warms it up, then measures
//! 16-connection throughput (with CPU per process), for the rows with a
//! throughput target back-to-back pairs with their direct base
//! (`Bench::pairs`), 1-connection latency and (plain HTTP only) SSE
//! first-event lag; then stops the proxy and sizes what it recorded. wrk
//! drives the plain-HTTP setups, `tls_load` the CONNECT+TLS ones; both
//! report the same [`Report`].

use crate::phases;
use crate::procs::{result_field, run_measured, Proc};
use crate::setups::{self, Setup, Tools};
use crate::stats;
use crate::table::Row;
use crate::tls_load::{self, Plan};
use crate::wrk::{self, Load, Report};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A running upstream: the process (for its CPU) and its port.
pub struct Upstream {
    pub proc: Proc,
    pub port: u16,
    /// Its self-signed certificate (PEM), for the TLS upstream.
    pub cert: Option<PathBuf>,
}

/// What every round needs.
pub struct Bench {
    pub tools: Tools,
    pub plain: Upstream,
    /// The `--tls` upstream; `None` skips the CONNECT+TLS rows.
    pub tls: Option<Upstream>,
    /// Seconds per load.
    pub secs: u32,
    pub quick: bool,
}

/// One setup's figures in one round.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub sse_p50_ms: Option<f64>,
    pub sse_p99_ms: Option<f64>,
    pub cpu_us: [Option<f64>; 3],
    pub bytes_per_req: Option<f64>,
    /// Exchanges record said it could not archive (its own count).
    pub lost: Option<u64>,
    /// Paired rows only: each back-to-back pair's share of direct, %.
    pub pair_shares: Vec<f64>,
    /// "entries/requests" for record, failures otherwise.
    pub note: String,
}

/// Back-to-back pairs per round of a paired row, and seconds per load.
const PAIRS: u32 = 4;
const PAIR_SECS: u32 = 2;

impl Bench {
    /// One round of `setup`, its scratch files in `dir`.
    pub fn measure(&self, setup: Setup, dir: &Path) -> anyhow::Result<Sample> {
        let upstream = if setup.is_tls() {
            self.tls.as_ref().context("no TLS upstream")?
        } else {
            &self.plain
        };
        let proxy = setups::start(setup, &self.tools, upstream.port, dir)?;
        let load =
            |connections, seconds| self.load(setup, upstream, proxy.as_ref(), connections, seconds);
        let warm = load(16, 1)?;
        let cpu0 = (
            upstream.proc.cpu_s(),
            proxy.as_ref().map(|p| p.proc.cpu_s()),
        );
        let thr = load(16, self.secs)?;
        let cpu1 = (
            upstream.proc.cpu_s(),
            proxy.as_ref().map(|p| p.proc.cpu_s()),
        );
        let (pair_shares, paired) = match setup.is_paired() {
            true => self.pairs(setup, upstream, proxy.as_ref())?,
            false => (Vec::new(), Vec::new()),
        };
        let lat = load(1, self.secs)?;
        let per_req = |s: f64| Some(s * 1e6 / thr.requests as f64);
        let mut sample = Sample {
            rps: thr.rps,
            p50_ms: lat.p50_ms,
            p99_ms: lat.p99_ms,
            cpu_us: [
                per_req(cpu1.0 - cpu0.0),
                cpu1.1.zip(cpu0.1).and_then(|(a, b)| per_req(a - b)),
                per_req(thr.cpu_s),
            ],
            pair_shares,
            ..Sample::default()
        };
        let mut runs = vec![&warm, &thr, &lat];
        runs.extend(&paired);
        sample.note = failures(&runs);
        let mut requests: u64 = runs.iter().map(|r| r.requests).sum();
        if !setup.is_forward() && !setup.is_tls() {
            let port = proxy.as_ref().map_or(upstream.port, |p| p.port);
            requests += self.sse(port, &mut sample)?;
        }
        if let Some(proxy) = proxy {
            let status = proxy.proc.stop(Duration::from_secs(30))?;
            // None for a proxy that records nothing (no file).
            sample.bytes_per_req = std::fs::metadata(&proxy.archive)
                .ok()
                .map(|m| m.len() as f64 / requests as f64);
            if setup.is_record() {
                let entries = phases::archive_entries(&proxy.archive).unwrap_or(0);
                let lost = phases::not_archived(&dir.join("record.log"));
                sample.lost = Some(lost);
                let code = status.code().map_or("signal".into(), |c| c.to_string());
                sample.note = format!(
                    "{entries} entries for ~{requests} requests, {lost} not archived, exit {code}; {}",
                    sample.note
                );
            }
        }
        eprintln!(
            "  {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, SSE {:?} ms {}",
            sample.rps, sample.p50_ms, sample.p99_ms, sample.sse_p50_ms, sample.note
        );
        Ok(sample)
    }

    /// The row's load and its direct base's, back to back, [`PAIRS`] times:
    /// each pair's share of direct (%), and the proxied runs. This
    /// machine's speed changes within seconds (bench/README.md, "a machine
    /// with two speeds"): a round's proxied and direct loads, half a minute
    /// apart, can meet different speeds, while the two halves of a pair
    /// mostly meet the same one.
    fn pairs(
        &self,
        setup: Setup,
        upstream: &Upstream,
        proxy: Option<&setups::Proxy>,
    ) -> anyhow::Result<(Vec<f64>, Vec<Report>)> {
        let (direct, _) = setup.bases();
        let (pairs, secs) = if self.quick {
            (1, 1)
        } else {
            (PAIRS, PAIR_SECS)
        };
        let mut shares = Vec::new();
        let mut proxied = Vec::new();
        for _ in 0..pairs {
            let d = self.load(direct, upstream, None, 16, secs)?;
            let r = self.load(setup, upstream, proxy, 16, secs)?;
            if d.rps > 0.0 && d.failures == 0 && r.failures == 0 {
                shares.push(r.rps / d.rps * 100.0);
            }
            proxied.push(r);
        }
        Ok((shares, proxied))
    }

    /// One load run: wrk for plain HTTP, `tls_load` for the TLS setups.
    fn load(
        &self,
        setup: Setup,
        upstream: &Upstream,
        proxy: Option<&setups::Proxy>,
        connections: u32,
        seconds: u32,
    ) -> anyhow::Result<Report> {
        if setup.is_tls() {
            let ca = proxy
                .and_then(|p| p.ca.clone())
                .or_else(|| upstream.cert.clone())
                .context("no CA to trust for the TLS client")?;
            let plan = Plan {
                target_port: upstream.port,
                proxy_port: proxy.map(|p| p.port),
                ca,
                connections,
                seconds,
                body_bytes: 1024,
            };
            return tls_load::run(&self.tools.bin_dir, &plan);
        }
        let port = proxy.map_or(upstream.port, |p| p.port);
        let url = format!("http://127.0.0.1:{port}/v1/messages");
        let forward = format!("http://127.0.0.1:{}/v1/messages", upstream.port);
        let load = Load {
            url: &url,
            connections,
            seconds,
            body_bytes: 1024,
            path: setup.is_forward().then_some(forward.as_str()),
        };
        wrk::run(&PathBuf::from("bench/lua/post.lua"), &load)
    }

    /// SSE first-event lag through `port`; returns the streams sent.
    fn sse(&self, port: u16, sample: &mut Sample) -> anyhow::Result<u64> {
        let streams = if self.quick { 4 } else { 12 };
        let mut cmd = Command::new(self.tools.bin("sse_probe"));
        cmd.arg(format!("http://127.0.0.1:{port}")).args([
            "--streams",
            &streams.to_string(),
            "--events",
            "10",
            "--gap-ms",
            "50",
        ]);
        let probe = run_measured(&mut cmd, Duration::from_secs(60))?;
        if !probe.status.success() {
            eprintln!("  sse_probe failed: {}", probe.stdout.trim());
            return Ok(0);
        }
        sample.sse_p50_ms = result_field(&probe.stdout, "first_p50_ms");
        sample.sse_p99_ms = result_field(&probe.stdout, "first_p99_ms");
        Ok(streams)
    }
}

/// "N failed requests (kinds)" over a round's runs; empty without failures.
fn failures(runs: &[&Report]) -> String {
    let total: u64 = runs.iter().map(|r| r.failures).sum();
    if total == 0 {
        return String::new();
    }
    let kinds: Vec<&str> = runs
        .iter()
        .map(|r| r.failure_kinds.as_str())
        .filter(|k| !k.is_empty())
        .collect();
    if kinds.is_empty() {
        format!("{total} failed requests")
    } else {
        format!("{total} failed requests ({})", kinds.join("; "))
    }
}

/// Medians of a setup's samples.
pub fn row(setup: Setup, samples: &[Sample]) -> Row {
    let med = |f: &dyn Fn(&Sample) -> Option<f64>| stats::median(samples.iter().filter_map(f));
    let (d, m) = setup.bases();
    Row {
        setup: setup.name().to_owned(),
        bases: Some((d.name().to_owned(), m.name().to_owned())),
        rps: med(&|s| Some(s.rps)),
        rps_rounds: samples.iter().map(|s| s.rps).collect(),
        pair_shares: samples.iter().flat_map(|s| s.pair_shares.clone()).collect(),
        p50_ms: med(&|s| Some(s.p50_ms)),
        p99_ms: med(&|s| Some(s.p99_ms)),
        sse_p50_ms: med(&|s| s.sse_p50_ms),
        sse_p99_ms: med(&|s| s.sse_p99_ms),
        cpu_us: [0, 1, 2].map(|i| med(&|s| s.cpu_us[i])),
        bytes_per_req: med(&|s| s.bytes_per_req),
        lost: samples.iter().filter_map(|s| s.lost).reduce(|a, b| a + b),
        note: samples
            .iter()
            .map(|s| s.note.trim_end_matches("; ").to_owned())
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

//! Running wrk (one thread, as in the reference figures) with
//! `bench/lua/post.lua` and reading its report: requests, req/s, latency
//! percentiles (`--latency`), non-2xx responses and socket errors.

use crate::procs::{run_measured, Measured};
use anyhow::{bail, Context};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// One wrk run, as wrk reported it.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Non-2xx/3xx responses plus socket errors: must be 0 for a valid row.
    pub failures: u64,
    /// The failures by kind, when the client tells them apart (tls_load).
    pub failure_kinds: String,
    /// The load generator's own CPU seconds.
    pub cpu_s: f64,
}

/// What to run.
pub struct Load<'a> {
    pub url: &'a str,
    pub connections: u32,
    pub seconds: u32,
    pub body_bytes: usize,
    /// Request target override (absolute URL for a forward proxy).
    pub path: Option<&'a str>,
}

/// Runs wrk against `load.url` with the Lua script.
pub fn run(script: &Path, load: &Load) -> anyhow::Result<Report> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "--latency", "--timeout", "10s"])
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.seconds))
        .arg("-s")
        .arg(script)
        .arg(load.url)
        .env("BENCH_BODY_BYTES", load.body_bytes.to_string());
    if let Some(path) = load.path {
        cmd.env("BENCH_PATH", path);
    }
    let limit = Duration::from_secs(u64::from(load.seconds) + 30);
    let Measured {
        status,
        stdout,
        cpu_s,
        ..
    } = run_measured(&mut cmd, limit)?;
    if !status.success() {
        bail!("wrk failed ({status}) against {}:\n{stdout}", load.url);
    }
    let mut report =
        parse(&stdout).with_context(|| format!("cannot read wrk's report:\n{stdout}"))?;
    report.cpu_s = cpu_s;
    Ok(report)
}

/// Reads wrk's text report.
pub fn parse(out: &str) -> anyhow::Result<Report> {
    let mut r = Report::default();
    for line in out.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => r.p50_ms = duration_ms(v)?,
            ["99%", v] => r.p99_ms = duration_ms(v)?,
            ["Requests/sec:", v] => r.rps = v.parse()?,
            [n, "requests", "in", ..] => r.requests = n.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => r.failures += n.parse::<u64>()?,
            ["Socket", "errors:", rest @ ..] => {
                r.failures += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    if r.requests == 0 {
        bail!("wrk reported no requests");
    }
    Ok(r)
}

/// wrk's durations: `89.00us`, `1.20ms`, `2.00s`, `1.00m`.
fn duration_ms(v: &str) -> anyhow::Result<f64> {
    let split = v
        .find(|c: char| c.is_ascii_alphabetic())
        .context("no unit")?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse()?;
    Ok(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        other => bail!("unknown unit {other:?} in {v:?}"),
    })
}

#[cfg(test)]
mod tests {
    const SAMPLE: &str = "Running 2s test @ http://127.0.0.1:1/v1/messages
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   101.49us   20.00us   1.00ms   90.00%
  Latency Distribution
     50%   89.00us
     75%  100.00us
     90%  120.00us
     99%    1.20ms
  300000 requests in 2.00s, 400.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 150000.50
Transfer/sec:    200.00MB
";

    #[test]
    fn reads_a_report() {
        let r = super::parse(SAMPLE).unwrap();
        assert_eq!(r.requests, 300_000);
        assert!((r.p50_ms - 0.089).abs() < 1e-9);
        assert!((r.p99_ms - 1.2).abs() < 1e-9);
        assert_eq!(r.failures, 7);
        assert!((r.rps - 150_000.5).abs() < 1e-6);
    }
}

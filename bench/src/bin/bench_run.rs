//! bench_run: the benchmark orchestrator behind `bench/run.sh`.
//!
//! Starts one `bench_upstream`, then interleaves rounds of every setup
//! (direct, record, mitmdump reverse and regular), each round measuring
//! 16-connection throughput, 1-connection latency and SSE first-event lag
//! with CPU per process; then the memory, archive-size and reading phases
//! (`cctap_bench::phases`). Prints one table and issue 7's targets.

use anyhow::Context;
use cctap_bench::phases::{self, Findings};
use cctap_bench::procs::{result_field, run_measured, Proc};
use cctap_bench::setups::{self, Setup, Tools};
use cctap_bench::table::{print_checks, print_rows, Row};
use cctap_bench::wrk::{self, Load};
use clap::Parser;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Measures record against a direct connection and mitmdump.
#[derive(Debug, Parser)]
struct Args {
    /// Short run: 1 round, 2 s per load, smaller memory and reading phases.
    #[arg(long)]
    quick: bool,
    /// Rounds of every setup, interleaved.
    #[arg(long)]
    rounds: Option<usize>,
    /// Where the release binaries are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// mitmdump to compare with (11.0.2); rows are skipped without it.
    #[arg(long)]
    mitmdump: Option<PathBuf>,
    /// Scratch directory for archives and logs.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// The Claude Code fixture the session phases are built from.
    #[arg(long, default_value = "fixtures/claude-code/2.1.332-reverse.har")]
    fixture: PathBuf,
    /// Only the rounds (skip memory, archive-size and reading phases).
    #[arg(long)]
    rounds_only: bool,
}

/// One setup's figures in one round.
#[derive(Clone, Debug, Default)]
struct Sample {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    sse_p50_ms: Option<f64>,
    sse_p99_ms: Option<f64>,
    cpu_us: [Option<f64>; 3],
    bytes_per_req: Option<f64>,
    /// Exchanges record said it could not archive (its own count).
    lost: Option<u64>,
    /// "entries/requests" for record, failures otherwise.
    note: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tools = Tools {
        bin_dir: args.bin_dir.clone(),
        mitmdump: args.mitmdump.clone(),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let rounds = args.rounds.unwrap_or(if args.quick { 1 } else { 3 });
    let secs = if args.quick { 2 } else { 5 };
    let mut up_cmd = Command::new(tools.bin("bench_upstream"));
    let (upstream, up) = Proc::spawn_listening("bench_upstream", &mut up_cmd)?;
    let mut setups = vec![Setup::Direct, Setup::RecordReverse, Setup::RecordRegular];
    if tools.mitmdump.is_some() {
        setups.extend([Setup::MitmReverse, Setup::MitmRegular]);
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); setups.len()];
    for round in 0..rounds {
        // Rotate the order so that no setup always runs first or last.
        for k in 0..setups.len() {
            let i = (k + round) % setups.len();
            let dir = args.out.join(format!("round{round}-{i}"));
            std::fs::create_dir_all(&dir)?;
            eprintln!("round {}/{rounds}: {}", round + 1, setups[i].name());
            match measure(setups[i], &tools, &upstream, up, secs, &dir, args.quick) {
                Ok(s) => samples[i].push(s),
                Err(e) => eprintln!("  {} failed: {e:#}", setups[i].name()),
            }
        }
    }
    let mut rows: Vec<Row> = setups
        .iter()
        .zip(&samples)
        .map(|(s, v)| row(s.name(), v))
        .collect();
    rows.insert(
        3,
        Row {
            setup: "record regular (CONNECT+TLS)".into(),
            note: "TODO: needs a load client that CONNECTs and speaks TLS (wrk cannot); plain-HTTP regular mode is the row above".into(),
            ..Row::default()
        },
    );
    let findings = if args.rounds_only {
        Findings::default()
    } else {
        phases::run_all(&tools, &upstream, up, &args.out, &args.fixture, args.quick)
    };
    drop(upstream);
    println!();
    print_rows(&rows, Setup::Direct.name(), Setup::MitmReverse.name());
    for line in &findings.lines {
        println!("{line}");
    }
    println!();
    print_checks(&cctap_bench::verdict::checks(&rows, &findings));
    Ok(())
}

/// One round of one setup: fresh proxy, warm-up, 16-connection throughput,
/// 1-connection latency, SSE lag; then the proxy stops and its file is sized.
fn measure(
    setup: Setup,
    tools: &Tools,
    upstream: &Proc,
    up: u16,
    secs: u32,
    dir: &std::path::Path,
    quick: bool,
) -> anyhow::Result<Sample> {
    let proxy = setups::start(setup, tools, up, dir)?;
    let port = proxy.as_ref().map_or(up, |p| p.port);
    let url = format!("http://127.0.0.1:{port}/v1/messages");
    let forward = format!("http://127.0.0.1:{up}/v1/messages");
    let path = setup.is_forward().then_some(forward.as_str());
    let script = PathBuf::from("bench/lua/post.lua");
    let load = |connections, seconds| Load {
        url: &url,
        connections,
        seconds,
        body_bytes: 1024,
        path,
    };
    let warm = wrk::run(&script, &load(16, 1))?;
    let cpu0 = (upstream.cpu_s(), proxy.as_ref().map(|p| p.proc.cpu_s()));
    let thr = wrk::run(&script, &load(16, secs))?;
    let cpu1 = (upstream.cpu_s(), proxy.as_ref().map(|p| p.proc.cpu_s()));
    let lat = wrk::run(&script, &load(1, secs))?;
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
        ..Sample::default()
    };
    let failures = warm.failures + thr.failures + lat.failures;
    let mut requests = warm.requests + thr.requests + lat.requests;
    if !setup.is_forward() {
        let streams = if quick { 4 } else { 12 };
        let mut cmd = Command::new(tools.bin("sse_probe"));
        cmd.arg(format!("http://127.0.0.1:{port}")).args([
            "--streams",
            &streams.to_string(),
            "--events",
            "10",
            "--gap-ms",
            "50",
        ]);
        let probe = run_measured(&mut cmd, Duration::from_secs(60))?;
        if probe.status.success() {
            sample.sse_p50_ms = result_field(&probe.stdout, "first_p50_ms");
            sample.sse_p99_ms = result_field(&probe.stdout, "first_p99_ms");
            requests += streams;
        } else {
            eprintln!("  sse_probe failed: {}", probe.stdout.trim());
        }
    }
    sample.note = if failures > 0 {
        format!("{failures} failed requests")
    } else {
        String::new()
    };
    if let Some(proxy) = proxy {
        let status = proxy.proc.stop(Duration::from_secs(30))?;
        let size = std::fs::metadata(&proxy.archive)
            .map(|m| m.len())
            .unwrap_or(0);
        sample.bytes_per_req = Some(size as f64 / requests as f64);
        if matches!(setup, Setup::RecordReverse | Setup::RecordRegular) {
            let entries = phases::archive_entries(tools, &proxy.archive).unwrap_or(0);
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

/// Medians of a setup's samples.
fn row(name: &str, samples: &[Sample]) -> Row {
    let med = |f: &dyn Fn(&Sample) -> Option<f64>| {
        let mut v: Vec<f64> = samples
            .iter()
            .filter_map(f)
            .filter(|x| x.is_finite())
            .collect();
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| v[v.len() / 2])
    };
    Row {
        setup: name.to_owned(),
        rps: med(&|s| Some(s.rps)),
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

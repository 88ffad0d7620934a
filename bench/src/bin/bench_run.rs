//! bench_run: the benchmark orchestrator behind `bench/run.sh`.
//!
//! Starts two `bench_upstream`s (plain HTTP, and `--tls` for the CONNECT+TLS
//! rows), then interleaves rounds of every setup (direct, record and
//! mitmdump in reverse mode, regular mode with absolute-form HTTP, and
//! regular mode with CONNECT + TLS driven by `tls_load`), each round
//! measuring 16-connection throughput, 1-connection latency and SSE
//! first-event lag with CPU per process, and for record's two throughput
//! targets back-to-back pairs with direct (`cctap_bench::rounds`); then the
//! memory, archive-size and reading phases (`cctap_bench::phases`). Prints
//! one table and the targets.

use anyhow::Context;
use cctap_bench::phases::{self, Findings};
use cctap_bench::procs::Proc;
use cctap_bench::rounds::{self, Bench, Sample, Upstream};
use cctap_bench::setups::{Setup, Tools};
use cctap_bench::table::{print_checks, print_rows, Row};
use clap::Parser;
use std::path::PathBuf;
use std::process::Command;

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
    /// Skip the CONNECT+TLS rows (direct TLS, record and mitmdump regular).
    #[arg(long)]
    no_tls: bool,
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
    let bench = Bench {
        plain: upstream(&tools, None)?,
        tls: if args.no_tls {
            None
        } else {
            Some(upstream(&tools, Some(args.out.join("upstream-cert.pem")))?)
        },
        tools,
        secs: if args.quick { 2 } else { 5 },
        quick: args.quick,
    };
    let setups = setups(&bench);
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); setups.len()];
    for round in 0..rounds {
        // Rotate the order so that no setup always runs first or last.
        for k in 0..setups.len() {
            let i = (k + round) % setups.len();
            let dir = args.out.join(format!("round{round}-{i}"));
            std::fs::create_dir_all(&dir)?;
            eprintln!("round {}/{rounds}: {}", round + 1, setups[i].name());
            match bench.measure(setups[i], &dir) {
                Ok(s) => samples[i].push(s),
                Err(e) => eprintln!("  {} failed: {e:#}", setups[i].name()),
            }
        }
    }
    let rows: Vec<Row> = setups
        .iter()
        .zip(&samples)
        .map(|(s, v)| rounds::row(*s, v))
        .collect();
    let findings = if args.rounds_only {
        Findings::default()
    } else {
        let up = &bench.plain;
        phases::run_all(
            &bench.tools,
            &up.proc,
            up.port,
            &args.out,
            &args.fixture,
            args.quick,
        )
    };
    // Upstreams stop before the table is printed.
    drop(bench);
    println!();
    print_rows(&rows, Setup::Direct.name(), Setup::MitmReverse.name());
    for line in &findings.lines {
        println!("{line}");
    }
    println!();
    print_checks(&cctap_bench::verdict::checks(&rows, &findings));
    Ok(())
}

/// Starts a `bench_upstream`; with `cert`, the `--tls` one writing its
/// certificate there.
fn upstream(tools: &Tools, cert: Option<PathBuf>) -> anyhow::Result<Upstream> {
    let mut cmd = Command::new(tools.bin("bench_upstream"));
    if let Some(cert) = &cert {
        cmd.arg("--tls").arg("--tls-cert").arg(cert);
    }
    let name = if cert.is_some() {
        "bench_upstream --tls"
    } else {
        "bench_upstream"
    };
    let (proc, port) = Proc::spawn_listening(name, &mut cmd)?;
    Ok(Upstream { proc, port, cert })
}

/// Every setup, in table order: plain HTTP first, then the CONNECT+TLS rows.
fn setups(bench: &Bench) -> Vec<Setup> {
    let mitm = bench.tools.mitmdump.is_some();
    let mut setups = vec![
        Setup::Direct,
        Setup::BareProxy,
        Setup::RecordReverse,
        Setup::RecordRegular,
    ];
    if mitm {
        setups.extend([Setup::MitmReverse, Setup::MitmRegular]);
    }
    if bench.tls.is_some() {
        setups.extend([Setup::DirectTls, Setup::RecordTls]);
        if mitm {
            setups.push(Setup::MitmTls);
        }
    }
    setups
}

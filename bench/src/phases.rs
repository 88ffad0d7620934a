//! The phases after the interleaved rounds: memory under load, archive size
//! of a Claude Code-shaped session, and `analyze usage` reading speed; and
//! where each one's figures go (`Findings`).

use crate::procs::{result_field, run_measured, Proc};
use crate::setups::{self, Setup, Tools};
use crate::wrk::{self, Load};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// RSS of a proxy through the memory phase, MiB.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    pub requests: u64,
    /// Seconds the 300 KiB load took (a disk slower than the traffic slows
    /// record's new requests: this shows by how much).
    pub seconds: f64,
    /// Entries in the archive afterwards (record only).
    pub archived: Option<u64>,
    /// Exchanges record said it could not archive (record only).
    pub lost: Option<u64>,
    /// Median RSS over the first half of the 300 KiB load, and over its
    /// second half (sampled every 100 ms: single samples swung by ±15 MiB
    /// from one second to the next), and the highest sample.
    pub rss_half: f64,
    pub rss_end: f64,
    pub rss_max: f64,
    pub sse_peak: f64,
    pub sse_after: f64,
    pub streams_ok: bool,
}

/// One `analyze usage` run over a generated archive.
#[derive(Clone, Debug, Default)]
pub struct Reading {
    pub mb: f64,
    pub mb_per_s: f64,
    pub max_rss_mib: f64,
}

/// Everything the phases found, with lines to print under the table.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    pub lines: Vec<String>,
    pub record_mem: Option<Memory>,
    /// The same for record writing plain `.har` (no zstd window).
    pub record_mem_plain: Option<Memory>,
    pub archive_ratio: Option<f64>,
    pub reading: Vec<Reading>,
}

/// Runs every phase; a phase that fails is reported and the others go on.
pub fn run_all(
    tools: &Tools,
    upstream: &Proc,
    up: u16,
    out: &Path,
    fixture: &Path,
    quick: bool,
) -> Findings {
    let _ = upstream;
    let mut f = Findings::default();
    let mut setups = vec![Setup::RecordReverse, Setup::RecordReversePlain];
    if tools.mitmdump.is_some() {
        setups.push(Setup::MitmReverse);
    }
    for setup in setups {
        eprintln!("memory phase: {}", setup.name());
        let slug: String = setup
            .name()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let dir = out.join(format!("memory-{slug}"));
        let limit = if setup.is_record() {
            120
        } else if quick {
            10
        } else {
            30
        };
        match memory(setup, tools, up, &dir, limit) {
            Ok(m) => {
                let archived = m.archived.map_or(String::new(), |a| {
                    let lost = m.lost.unwrap_or(0);
                    format!("; archive: {a} entries, record: {lost} exchanges not archived")
                });
                f.lines.push(format!(
                    "memory, {}: RSS median {:.1} MiB in the first half, {:.1} MiB in the second (highest sample {:.1}) of {} exchanges of 300 KiB (16 conn, {:.0} req/s); 1,000 concurrent SSE streams {}: peak {:.1} MiB, {:.1} MiB 2 s after they ended{archived}",
                    setup.name(), m.rss_half, m.rss_end, m.rss_max, m.requests,
                    m.requests as f64 / m.seconds.max(0.001),
                    if m.streams_ok { "all complete" } else { "NOT all complete" }, m.sse_peak, m.sse_after
                ));
                match setup {
                    Setup::RecordReverse => f.record_mem = Some(m),
                    Setup::RecordReversePlain => f.record_mem_plain = Some(m),
                    _ => {}
                }
            }
            Err(e) => f
                .lines
                .push(format!("memory, {}: failed: {e:#}", setup.name())),
        }
    }
    eprintln!("archive-size phase");
    match archive_ratio(tools, up, &out.join("session"), fixture) {
        Ok((zst, har)) => {
            let ratio = zst as f64 / har as f64 * 100.0;
            f.lines.push(format!("archive size, 100-turn Claude Code 2.1.x session: .har.zst {zst} B, .har {har} B: {ratio:.2}%"));
            f.archive_ratio = Some(ratio);
        }
        Err(e) => f.lines.push(format!("archive size: failed: {e:#}")),
    }
    let sizes: [u64; 2] = if quick { [256, 64] } else { [1024, 256] };
    for mb in sizes {
        eprintln!("reading phase: {mb} MB");
        match reading(tools, out, fixture, mb) {
            Ok(r) => {
                f.lines.push(format!(
                    "reading, analyze usage --json over {:.0} MB of HAR (.har.zst): {:.0} MB/s, peak RSS {:.1} MiB",
                    r.mb, r.mb_per_s, r.max_rss_mib
                ));
                f.reading.push(r);
            }
            Err(e) => f.lines.push(format!("reading {mb} MB: failed: {e:#}")),
        }
    }
    f
}

/// Complete entries in an archive (a cut-off tail is not counted), read
/// in-process: `analyze usage` would also warn about every unpriced model.
pub fn archive_entries(archive: &Path) -> anyhow::Result<u64> {
    let reader = cctap_archive::AnyReader::open(archive)?;
    let mut entries = 0;
    for entry in reader {
        entry.with_context(|| format!("reading {}", archive.display()))?;
        entries += 1;
    }
    Ok(entries)
}

/// Exchanges `record` reported it could not archive, from its stderr line
/// `record: error: N exchanges could not be archived`; 0 without that line.
pub fn not_archived(log: &Path) -> u64 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("record: error: "))
        .filter_map(|l| {
            l.strip_suffix(" exchanges could not be archived (see above)")
                .or_else(|| l.split(" exchanges could not be archived").next())
        })
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .sum()
}

/// 10,000 exchanges of 300 KiB at 16 connections (bounded by `limit_s`),
/// then 1,000 concurrent SSE streams; RSS along the way.
fn memory(
    setup: Setup,
    tools: &Tools,
    up: u16,
    dir: &Path,
    limit_s: u64,
) -> anyhow::Result<Memory> {
    std::fs::create_dir_all(dir)?;
    let proxy = setups::start(setup, tools, up, dir)?.context("no proxy")?;
    let url = format!("http://127.0.0.1:{}/v1/messages", proxy.port);
    let script = PathBuf::from("bench/lua/post.lua");
    let mut m = Memory::default();
    let sampler = RssSampler::start(proxy.proc.pid());
    let start = Instant::now();
    while m.requests < 10_000 && start.elapsed().as_secs() < limit_s {
        let load = Load {
            url: &url,
            connections: 16,
            seconds: 1,
            body_bytes: 300 * 1024,
            path: None,
        };
        let r = wrk::run(&script, &load)?;
        m.requests += r.requests;
    }
    m.seconds = start.elapsed().as_secs_f64();
    let samples = sampler.stop();
    let (first, second) = samples.split_at(samples.len() / 2);
    m.rss_half = median(first);
    m.rss_end = median(second);
    m.rss_max = samples.iter().copied().fold(0.0, f64::max);
    let mut probe = Command::new(tools.bin("sse_probe"));
    probe
        .arg(format!("http://127.0.0.1:{}", proxy.port))
        .args([
            "--concurrent",
            "1000",
            "--events",
            "10",
            "--gap-ms",
            "200",
            "--timeout-s",
            "60",
        ])
        .stdout(Stdio::null());
    let mut child = probe.spawn().context("cannot start sse_probe")?;
    let status = loop {
        m.sse_peak = m.sse_peak.max(proxy.proc.rss_mib());
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    m.streams_ok = status.success();
    std::thread::sleep(Duration::from_secs(2));
    m.sse_after = proxy.proc.rss_mib();
    proxy.proc.stop(Duration::from_secs(60))?;
    if setup.is_record() {
        m.archived = archive_entries(&proxy.archive).ok();
        m.lost = Some(not_archived(&dir.join("record.log")));
    }
    // Gigabytes of 300 KiB bodies (mitmdump's flows are uncompressed).
    let _ = std::fs::remove_file(&proxy.archive);
    Ok(m)
}

/// Samples a process's RSS (MiB) every 100 ms on a thread of its own.
struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<f64>>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kib) = crate::procs::status_kib(pid, "VmRSS:") {
                    samples.push(kib as f64 / 1024.0);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            samples
        });
        RssSampler { stop, thread }
    }

    fn stop(self) -> Vec<f64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// The median of `values` (0 for none).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// A 100-turn session through record; returns (.har.zst bytes, .har bytes).
fn archive_ratio(tools: &Tools, up: u16, dir: &Path, fixture: &Path) -> anyhow::Result<(u64, u64)> {
    std::fs::create_dir_all(dir)?;
    let proxy = setups::start(Setup::RecordReverse, tools, up, dir)?.context("no proxy")?;
    let mut cmd = Command::new(tools.bin("session_gen"));
    cmd.arg("--fixture")
        .arg(fixture)
        .arg("drive")
        .arg(format!("http://127.0.0.1:{}", proxy.port));
    let run = run_measured(&mut cmd, Duration::from_secs(180))?;
    if !run.status.success() {
        bail!("session_gen drive failed: {}", run.stdout.trim());
    }
    proxy.proc.stop(Duration::from_secs(30))?;
    let zst = std::fs::metadata(&proxy.archive)?.len();
    Ok((zst, decompressed_bytes(&proxy.archive)?))
}

/// Generates an archive of `mb` MB and times `analyze usage` over it.
fn reading(tools: &Tools, out: &Path, fixture: &Path, mb: u64) -> anyhow::Result<Reading> {
    let file = out.join(format!("big-{mb}MB.har.zst"));
    let mut gen = Command::new(tools.bin("session_gen"));
    gen.arg("--fixture")
        .arg(fixture)
        .arg("big")
        .arg("-o")
        .arg(&file)
        .arg("--mb")
        .arg(mb.to_string());
    let made = run_measured(&mut gen, Duration::from_secs(600))?;
    if !made.status.success() || result_field(&made.stdout, "entries").is_none() {
        bail!("session_gen big failed: {}", made.stdout.trim());
    }
    let bytes = decompressed_bytes(&file)?;
    let mut cmd = Command::new(tools.bin("analyze"));
    cmd.arg("usage").arg(&file).arg("--json");
    let run = run_measured(&mut cmd, Duration::from_secs(600))?;
    if !run.status.success() {
        bail!("analyze usage failed ({})", run.status);
    }
    let _ = std::fs::remove_file(&file);
    Ok(Reading {
        mb: bytes as f64 / 1e6,
        mb_per_s: bytes as f64 / 1e6 / run.wall_s,
        max_rss_mib: run.max_rss_mib,
    })
}

fn decompressed_bytes(file: &Path) -> anyhow::Result<u64> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("zstd -dc -- \"$1\" | wc -c")
        .arg("sh")
        .arg(file)
        .output()
        .context("cannot run zstd")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("zstd -dc | wc -c printed no number")
}

//! writer_probe: how fast the archive writer's per-entry work (serialise an
//! entry, compress it, flush a zstd block) goes, through the writer's own
//! code (`cctap_archive::ArchiveWriter::tuned`), on three workloads: a Claude
//! Code session (growing conversation, bodies full of `"`), 300 KiB request
//! bodies and 1 KiB JSON exchanges (both as wrk sends them). Evidence for
//! whether `record`'s writer thread keeps up with the traffic.
//!
//! Prints MB/s of HAR JSON in, µs per entry and the compressed size as a %
//! of the JSON, per setting. `--setting` and `--workload` pick rows by a
//! piece of their label, so one row can run alone under
//! `valgrind --tool=callgrind` (instruction counts are stable on a busy
//! machine, wall time is not).

use cctap_archive::writer::{json, Escaping, Tuning};
use cctap_archive::{ArchiveWriter, Entry, Format, LogHead};
use cctap_bench::session::{Conversation, Template};
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Times the archive writer's per-entry work under several settings.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "fixtures/claude-code/2.1.332-reverse.har")]
    fixture: PathBuf,
    /// Entries per workload (the 1 KiB workload has 20 times as many).
    #[arg(long, default_value_t = 300)]
    entries: usize,
    /// Only the settings whose label contains this text.
    #[arg(long)]
    setting: Option<String>,
    /// Only the workloads whose label contains this text.
    #[arg(long)]
    workload: Option<String>,
    /// Runs of each row; the fastest is printed.
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

/// How a row writes: serialising alone, or the whole writer.
#[derive(Clone, Copy)]
enum Work {
    /// `serde_json::to_writer` into a reused `Vec`: the old escaping alone.
    SerialiseSerdeJson,
    /// `cctap_archive::writer::json::write_json` into a reused `Vec`.
    SerialiseWords,
    /// `ArchiveWriter` (`.har.zst`) with these settings.
    Writer(Tuning),
}

fn settings() -> Vec<(&'static str, Work)> {
    // What record writes: window 8 MiB, level 3, no long-distance matching.
    let record = Tuning::default();
    let ldm = Tuning {
        ldm_bucket_size_log: Some(1),
        ..record
    };
    let window = |log: u32, ldm: Option<u32>| {
        Work::Writer(Tuning {
            zstd_window_log: log,
            ldm_bucket_size_log: ldm,
            ..record
        })
    };
    vec![
        (
            "serialise only, serde_json::to_writer",
            Work::SerialiseSerdeJson,
        ),
        ("serialise only, writer::json", Work::SerialiseWords),
        (
            "serde_json escaping, window 8 MiB, L3, no LDM",
            Work::Writer(Tuning {
                escaping: Escaping::SerdeJson,
                ..record
            }),
        ),
        (
            "record now: writer::json, window 8 MiB, L3, no LDM",
            Work::Writer(record),
        ),
        (
            "writer::json, L3 + LDM bucket log 1, hash rate log 10",
            Work::Writer(Tuning {
                ldm_hash_rate_log: Some(10),
                ..ldm
            }),
        ),
        (
            "writer::json, L3 + LDM zstd default buckets",
            Work::Writer(Tuning {
                ldm_bucket_size_log: Some(0),
                ..record
            }),
        ),
        ("window 8 MiB, L3 + LDM bucket log 1", window(23, Some(1))),
        ("window 8 MiB, L3, no LDM", window(23, None)),
        ("window 16 MiB, L3 + LDM bucket log 1", window(24, Some(1))),
        ("window 16 MiB, L3, no LDM", window(24, None)),
        ("window 64 MiB, L3 + LDM bucket log 1", window(26, Some(1))),
        ("window 64 MiB, L3, no LDM", window(26, None)),
        (
            "writer::json, L1 + LDM bucket log 1",
            Work::Writer(Tuning {
                zstd_level: 1,
                ..ldm
            }),
        ),
    ]
}

/// Counts what the writer writes; keeps nothing.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicU64>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let template = Template::load(&args.fixture)?;
    let workloads = [
        (
            "Claude Code session (100-turn cycles)",
            session(&template, args.entries),
        ),
        (
            "300 KiB request bodies",
            wrk_bodies(&template, args.entries, 300),
        ),
        (
            "1 KiB JSON exchanges",
            wrk_bodies(&template, args.entries * 20, 1),
        ),
    ];
    let picked = |label: &str, filter: &Option<String>| {
        filter.as_ref().is_none_or(|f| label.contains(f.as_str()))
    };
    println!("| workload | setting | MB/s | us/entry | size % of JSON |");
    println!("|---|---|---|---|---|");
    for (name, entries) in workloads.iter().filter(|(n, _)| picked(n, &args.workload)) {
        let json: u64 = entries
            .iter()
            .map(|e| serde_json::to_vec(e).map_or(0, |v| v.len() as u64))
            .sum();
        for (label, work) in settings()
            .into_iter()
            .filter(|(l, _)| picked(l, &args.setting))
        {
            let mut best = f64::INFINITY;
            let mut out = 0;
            for _ in 0..args.runs.max(1) {
                let (secs, bytes) = run(entries, work)?;
                (best, out) = (best.min(secs), bytes);
            }
            let size = match work {
                Work::Writer(_) => format!("{:.3}", out as f64 / json as f64 * 100.0),
                _ => "-".to_owned(),
            };
            println!(
                "| {name} | {label} | {:.0} | {:.1} | {size} |",
                json as f64 / 1e6 / best,
                best * 1e6 / entries.len() as f64
            );
        }
    }
    Ok(())
}

/// Seconds for one pass over the entries, and the bytes it wrote.
fn run(entries: &[Entry], work: Work) -> anyhow::Result<(f64, u64)> {
    let started = Instant::now();
    let mut buf = Vec::new();
    let bytes = match work {
        Work::SerialiseSerdeJson | Work::SerialiseWords => {
            let mut n = 0;
            for entry in entries {
                buf.clear();
                match work {
                    Work::SerialiseSerdeJson => serde_json::to_writer(&mut buf, entry)?,
                    _ => json::write_json(&mut buf, entry)?,
                }
                n += buf.len() as u64;
            }
            n
        }
        Work::Writer(tuning) => {
            let counter = Counter::default();
            let head = LogHead::new("writer_probe", "0");
            let mut writer = ArchiveWriter::tuned(
                "probe",
                Box::new(counter.clone()),
                Format::HarZst,
                &head,
                &tuning,
            )?;
            for entry in entries {
                writer.append(entry)?;
            }
            writer.finish()?;
            counter.0.load(Ordering::Relaxed)
        }
    };
    Ok((started.elapsed().as_secs_f64(), bytes))
}

/// Entries of 100-turn sessions, each request repeating the conversation.
fn session(template: &Template, n: usize) -> Vec<Entry> {
    let mut out = Vec::with_capacity(n);
    let mut conversation = Conversation::new(template, 1);
    for i in 0..n {
        if i % 100 == 0 {
            conversation = Conversation::new(template, i as u64 + 1);
        }
        out.push(with_body(template, conversation.body()));
        conversation.advance(i);
    }
    out
}

/// Entries whose request body is `kib` KiB of JSON, as wrk sends them, with
/// the JSON reply bench_upstream sends.
fn wrk_bodies(template: &Template, n: usize, kib: usize) -> Vec<Entry> {
    let filler = "lorem ipsum dolor sit amet ".repeat(kib * 1024 / 27);
    let body = format!("{{\"model\":\"claude-opus-5-5\",\"max_tokens\":1024,\"messages\":[{{\"role\":\"user\",\"content\":\"{filler}\"}}]}}");
    (0..n)
        .map(|_| {
            let mut e = with_body(template, body.clone());
            e.sse_events = None;
            e.har.response.content.text = Some(r#"{"id":"msg_bench_0001","type":"message","role":"assistant","content":[{"type":"text","text":"lorem ipsum"}],"usage":{"input_tokens":120,"output_tokens":40}}"#.repeat(6));
            e
        })
        .collect()
}

fn with_body(template: &Template, body: String) -> Entry {
    let mut entry = template.entry.clone();
    if let Some(post) = entry.har.request.post_data.as_mut() {
        post.text = Some(body);
    }
    entry
}

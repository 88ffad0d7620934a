//! writer_probe: how fast the archive writer's work (serialise an entry,
//! compress it, flush a zstd block) goes with different zstd settings, on
//! the two shapes the benchmarks send: a Claude Code session (growing
//! conversation) and 300 KiB request bodies. Evidence for issue 7's profile:
//! `record`'s writer thread drops entries when it cannot keep up.
//!
//! Prints MB/s of HAR JSON in, µs per entry and the compressed size as a %
//! of the JSON, per setting.

use cctap_archive::Entry;
use cctap_bench::session::{Conversation, Template};
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Times the archive writer's per-entry work under several zstd settings.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "fixtures/claude-code/2.1.332-reverse.har")]
    fixture: PathBuf,
    /// Entries per workload.
    #[arg(long, default_value_t = 300)]
    entries: usize,
}

/// A zstd setting to try: level, long-distance matching, window log.
struct Setting {
    label: &'static str,
    level: i32,
    ldm: bool,
    window_log: u32,
}

const SETTINGS: [Setting; 4] = [
    Setting {
        label: "level 3 + LDM, window 2^26 (record today)",
        level: 3,
        ldm: true,
        window_log: 26,
    },
    Setting {
        label: "level 3, no LDM, window 2^26",
        level: 3,
        ldm: false,
        window_log: 26,
    },
    Setting {
        label: "level 1 + LDM, window 2^26",
        level: 1,
        ldm: true,
        window_log: 26,
    },
    Setting {
        label: "level 1, no LDM, window 2^26",
        level: 1,
        ldm: false,
        window_log: 26,
    },
];

/// Counts what the encoder writes; keeps nothing.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
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
    println!("| workload | zstd setting | serialise+compress MB/s | us/entry | size % of JSON |");
    println!("|---|---|---|---|---|");
    for (name, entries) in &workloads {
        let started = Instant::now();
        let json: u64 = entries
            .iter()
            .map(|e| serde_json::to_vec(e).map_or(0, |v| v.len() as u64))
            .sum();
        let serialise_s = started.elapsed().as_secs_f64();
        println!(
            "| {name} | serialise only | {:.0} | {:.1} | - |",
            json as f64 / 1e6 / serialise_s,
            serialise_s * 1e6 / entries.len() as f64
        );
        for setting in &SETTINGS {
            let (secs, out) = write_all(entries, setting)?;
            println!(
                "| {name} | {} | {:.0} | {:.1} | {:.2} |",
                setting.label,
                json as f64 / 1e6 / secs,
                secs * 1e6 / entries.len() as f64,
                out as f64 / json as f64 * 100.0
            );
        }
    }
    Ok(())
}

/// What the writer thread does per entry: serialise, write, flush a block.
fn write_all(entries: &[Entry], s: &Setting) -> anyhow::Result<(f64, u64)> {
    let started = Instant::now();
    let mut encoder = zstd::stream::write::Encoder::new(Counter(0), s.level)?;
    encoder.long_distance_matching(s.ldm)?;
    encoder.window_log(s.window_log)?;
    for entry in entries {
        let bytes = serde_json::to_vec(entry)?;
        encoder.write_all(&bytes)?;
        encoder.flush()?;
    }
    let out = encoder.finish()?.0;
    Ok((started.elapsed().as_secs_f64(), out))
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

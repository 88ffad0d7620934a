//! session_gen: Claude Code-shaped sessions for the archive benchmarks.
//!
//! - `drive URL`: plays a `--turns`-turn session (2.1.x body shape, each
//!   request repeating the growing conversation) against URL, normally
//!   `record` in front of `bench_upstream`, so that the archive it writes
//!   can be compared with its plain `.har` size.
//! - `big --out FILE --mb N`: writes an archive of at least N MB of
//!   decompressed HAR straight through `cctap_archive::ArchiveWriter`
//!   (sessions of `--turns` turns, 100 by default, built from the fixture),
//!   for the `analyze usage` reading benchmark; `--entries N` stops at N
//!   entries (`analyze report`'s 1,000-call session).
//!
//! The last line is machine-readable: `RESULT key=value …`.

use anyhow::{bail, Context};
use bytes::Bytes;
use cctap_archive::{ArchiveWriter, Entry, LogHead};
use cctap_bench::session::{Conversation, Template};
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Claude Code-shaped sessions for cctap's archive benchmarks.
#[derive(Debug, Parser)]
struct Args {
    /// The recorded fixture whose main-loop call every turn is built from.
    #[arg(
        long,
        global = true,
        default_value = "fixtures/claude-code/2.1.332-reverse.har"
    )]
    fixture: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Play a session against URL (a proxy in front of bench_upstream).
    Drive {
        /// Base URL (e.g. http://127.0.0.1:8080).
        url: String,
        /// Turns (requests) in the session.
        #[arg(long, default_value_t = 100)]
        turns: usize,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout_s: u64,
    },
    /// Write an archive of at least --mb MB decompressed (.har.zst or .har).
    Big {
        #[arg(short = 'o', long)]
        out: PathBuf,
        /// Decompressed size to reach, in MB (10^6 bytes).
        #[arg(long, default_value_t = 1024)]
        mb: u64,
        /// Turns per session.
        #[arg(long, default_value_t = 100)]
        turns: usize,
        /// Stop after this many entries, even below --mb.
        #[arg(long)]
        entries: Option<u64>,
    },
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let template = Template::load(&args.fixture)?;
    match args.command {
        Command::Drive {
            url,
            turns,
            timeout_s,
        } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let run = drive(&template, &url, turns);
            runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(timeout_s), run).await })
                .context("the session did not finish in --timeout-s")?
        }
        Command::Big {
            out,
            mb,
            turns,
            entries,
        } => big(&template, &out, mb * 1_000_000, turns, entries),
    }
}

/// Sends every turn in order on one keep-alive connection, reading each
/// reply to its end, as Claude Code does.
async fn drive(template: &Template, url: &str, turns: usize) -> anyhow::Result<()> {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let target = format!("{}/v1/messages?beta=true", url.trim_end_matches('/'));
    let headers = template.headers();
    let mut conversation = Conversation::new(template, 1);
    let (mut sent, mut received) = (0usize, 0usize);
    for turn in 0..turns {
        let body = conversation.body();
        sent += body.len();
        let mut req = hyper::Request::post(&target);
        for (name, value) in &headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let res = client
            .request(req.body(Full::new(Bytes::from(body)))?)
            .await
            .with_context(|| format!("turn {turn}: cannot reach {target}"))?;
        if !res.status().is_success() {
            bail!("turn {turn}: {target} answered {}", res.status());
        }
        received += res.into_body().collect().await?.to_bytes().len();
        conversation.advance(turn);
    }
    println!("{turns} turns sent: {sent} request bytes, {received} response bytes");
    println!("RESULT turns={turns} request_bytes={sent} response_bytes={received}");
    Ok(())
}

/// Writes sessions of `turns` turns until `target` decompressed bytes or
/// `max_entries` entries.
fn big(
    template: &Template,
    out: &PathBuf,
    target: u64,
    turns: usize,
    max_entries: Option<u64>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let head = LogHead::new("cctap-bench session_gen", env!("CARGO_PKG_VERSION"));
    let mut writer = ArchiveWriter::create(out, &head)?;
    let template_body_len = template
        .entry
        .har
        .request
        .post_data
        .as_ref()
        .and_then(|p| p.text.as_ref())
        .map_or(0, |t| t.len());
    let overhead = serde_json::to_vec(&template.entry)?
        .len()
        .saturating_sub(template_body_len);
    let session_id = template
        .entry
        .request_header("X-Claude-Code-Session-Id")
        .unwrap_or("")
        .to_owned();
    let (mut written, mut entries) = (0u64, 0u64);
    'sessions: for session in 0u64.. {
        let mut conversation = Conversation::new(template, session + 1);
        let new_id = format!("0000bench-0000-4000-8000-{session:012x}");
        for turn in 0..turns {
            let mut body = conversation.body();
            if !session_id.is_empty() {
                body = body.replace(&session_id, &new_id);
            }
            let entry = varied_entry(template, entries, body, &session_id, &new_id);
            let body_len = entry
                .har
                .request
                .post_data
                .as_ref()
                .and_then(|p| p.text.as_ref())
                .map_or(0, |t| t.len());
            written += (overhead + body_len) as u64;
            writer.append(&entry)?;
            entries += 1;
            conversation.advance(turn);
            if written >= target || max_entries.is_some_and(|n| entries >= n) {
                break 'sessions;
            }
        }
    }
    writer.finish()?;
    let secs = started.elapsed().as_secs_f64();
    let file = std::fs::metadata(out)?.len();
    println!(
        "{} entries, about {} MB decompressed, {} MB on disk, in {secs:.1} s",
        entries,
        written / 1_000_000,
        file / 1_000_000
    );
    println!("RESULT entries={entries} approx_bytes={written} file_bytes={file}");
    Ok(())
}

/// The template entry with this turn's body, its own time and session, and
/// usage that follows the body's size (so `analyze usage` has sums to do).
fn varied_entry(
    template: &Template,
    index: u64,
    body: String,
    old_id: &str,
    new_id: &str,
) -> Entry {
    let mut entry = template.entry.clone();
    entry.har.started_date_time = timestamp(index);
    let tokens = body.len() / 4;
    if let Some(post) = entry.har.request.post_data.as_mut() {
        post.text = Some(body);
    }
    for header in &mut entry.har.request.headers {
        if !old_id.is_empty() && header.value == old_id {
            header.value = new_id.to_owned();
        }
    }
    if let Some(events) = entry.sse_events.as_mut() {
        for event in events.iter_mut().filter(|e| e.event == "message_start") {
            event.data = replace_number(&event.data, "\"input_tokens\":", tokens);
        }
    }
    entry
}

/// `key<digits>` → `key<value>`, first occurrence.
fn replace_number(text: &str, key: &str, value: usize) -> String {
    let Some(at) = text.find(key) else {
        return text.to_owned();
    };
    let start = at + key.len();
    let end = text[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(text.len(), |e| start + e);
    format!("{}{value}{}", &text[..start], &text[end..])
}

/// RFC 3339 with milliseconds: one entry a second from 2026-11-20 00:00 UTC.
fn timestamp(index: u64) -> String {
    let day = 20 + (index / 86_400) % 10;
    let s = index % 86_400;
    format!(
        "2026-11-{day:02}T{:02}:{:02}:{:02}.000+00:00",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

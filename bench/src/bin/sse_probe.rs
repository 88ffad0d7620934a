//! sse_probe: opens Messages API streams (directly at `bench_upstream` or
//! through a proxy) and measures how late each event arrives: arrival time
//! minus the `sent_us` the upstream stamped into it.
//!
//! - Lag mode (default): `--streams N` streams one after another; prints p50
//!   and p99 of the first event's lag and of every event's lag.
//! - Load mode (`--concurrent K`): K streams at once; checks that every one
//!   delivers all its events and `message_stop`, prints how many were open
//!   at the same time; exits 1 if any stream failed.
//!
//! The last line is machine-readable: `RESULT key=value …`.

use anyhow::{bail, Context};
use bytes::Bytes;
use cctap_bench::stamp::{now_us, sent_us};
use cctap_bench::stats::{percentile, sort};
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Measures SSE event lag through a proxy, or checks many streams at once.
#[derive(Clone, Debug, Parser)]
struct Args {
    /// Base URL: the upstream itself or a reverse proxy in front of it.
    url: String,
    /// Streams to open one after another (lag mode).
    #[arg(long, default_value_t = 10)]
    streams: usize,
    /// Events per stream (asked of the upstream per request).
    #[arg(long, default_value_t = 10)]
    events: usize,
    /// Milliseconds between events (asked of the upstream per request).
    #[arg(long, default_value_t = 50)]
    gap_ms: u64,
    /// Lag mode: stop opening streams after this many seconds (0: after
    /// `--streams`), and print what was measured.
    #[arg(long, default_value_t = 0)]
    for_s: u64,
    /// Open this many streams at once instead (load mode).
    #[arg(long)]
    concurrent: Option<usize>,
    /// Give up on the whole run after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// What one stream delivered.
#[derive(Debug, Default)]
struct StreamResult {
    /// Lag of each event in ms, in arrival order.
    lags_ms: Vec<f64>,
    saw_stop: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(connector);
    let limit = Duration::from_secs(args.timeout_s);
    match args.concurrent {
        Some(k) => tokio::time::timeout(limit, load(&client, &args, k))
            .await
            .context("the streams did not all finish in --timeout-s")?,
        None => tokio::time::timeout(limit, lag(&client, &args))
            .await
            .context("the streams did not finish in --timeout-s")?,
    }
}

/// Streams one after another; prints first-event and per-event lag.
async fn lag(client: &HttpClient, args: &Args) -> anyhow::Result<()> {
    let (mut first, mut all, mut later) = (Vec::new(), Vec::new(), Vec::new());
    let until =
        (args.for_s > 0).then(|| std::time::Instant::now() + Duration::from_secs(args.for_s));
    for _ in 0..args.streams {
        if until.is_some_and(|t| std::time::Instant::now() >= t) {
            break;
        }
        let r = one_stream(client, args, None).await?;
        if !r.saw_stop || r.lags_ms.len() != args.events.max(2) {
            bail!(
                "a stream ended after {} events without message_stop",
                r.lags_ms.len()
            );
        }
        first.push(r.lags_ms[0]);
        later.extend_from_slice(&r.lags_ms[1..]);
        all.extend(r.lags_ms);
    }
    sort(&mut first);
    sort(&mut all);
    sort(&mut later);
    let p = |s: &[f64], q| percentile(s, q).unwrap_or(f64::NAN);
    println!(
        "first event lag: p50 {:.3} ms, p99 {:.3} ms ({} streams); every event: p50 {:.3} ms, p99 {:.3} ms ({} events)",
        p(&first, 50.0), p(&first, 99.0), first.len(), p(&all, 50.0), p(&all, 99.0), all.len()
    );
    // An event after the first is late only if a stream under way was held.
    println!(
        "events after the first: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        p(&later, 50.0),
        p(&later, 99.0),
        later.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "RESULT first_p50_ms={:.4} first_p99_ms={:.4} event_p50_ms={:.4} event_p99_ms={:.4} streams={} events={}",
        p(&first, 50.0), p(&first, 99.0), p(&all, 50.0), p(&all, 99.0), first.len(), all.len()
    );
    Ok(())
}

/// K streams at once; every one must deliver all its events.
async fn load(client: &HttpClient, args: &Args, k: usize) -> anyhow::Result<()> {
    let open = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..k)
        .map(|_| {
            let (client, args) = (client.clone(), args.clone());
            let gauge = (open.clone(), peak.clone());
            tokio::spawn(async move { one_stream(&client, &args, Some(gauge)).await })
        })
        .collect();
    let (mut ok, mut failed, mut first_error) = (0usize, 0usize, None);
    for task in tasks {
        match task.await {
            Ok(Ok(r)) if r.saw_stop && r.lags_ms.len() == args.events.max(2) => ok += 1,
            Ok(Ok(r)) => {
                failed += 1;
                first_error.get_or_insert(format!("stream ended after {} events", r.lags_ms.len()));
            }
            Ok(Err(e)) => {
                failed += 1;
                first_error.get_or_insert(format!("{e:#}"));
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let peak = peak.load(Ordering::Relaxed);
    println!("{ok} of {k} streams complete, {failed} failed, at most {peak} open at once");
    if let Some(e) = &first_error {
        println!("first failure: {e}");
    }
    println!("RESULT streams={k} ok={ok} failed={failed} peak_open={peak}");
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// Opens one stream and reads it to its end, timing every event.
async fn one_stream(
    client: &HttpClient,
    args: &Args,
    gauge: Option<(Arc<AtomicUsize>, Arc<AtomicUsize>)>,
) -> anyhow::Result<StreamResult> {
    let url = format!(
        "{}/v1/messages?beta=true&events={}&gap_ms={}",
        args.url.trim_end_matches('/'),
        args.events,
        args.gap_ms
    );
    let body = r#"{"model":"claude-opus-5-5","max_tokens":1024,"messages":[{"role":"user","content":"say hi"}],"stream":true}"#;
    let req = hyper::Request::post(&url)
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .header(
            "x-api-key",
            "sk-ant-api03-FAKE-bench-0000000000000000000000000000",
        )
        .body(Full::new(Bytes::from_static(body.as_bytes())))?;
    let res = client
        .request(req)
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    if !res.status().is_success() {
        bail!("{url} answered {}", res.status());
    }
    if let Some((open, peak)) = &gauge {
        let now_open = open.fetch_add(1, Ordering::Relaxed) + 1;
        peak.fetch_max(now_open, Ordering::Relaxed);
    }
    let mut result = StreamResult::default();
    let mut body = res.into_body();
    let mut pending = String::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.context("the stream broke")?;
        let arrived = now_us();
        let Some(data) = frame.data_ref() else {
            continue;
        };
        pending.push_str(&String::from_utf8_lossy(data));
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if let Some(sent) = sent_us(&event) {
                result
                    .lags_ms
                    .push(arrived.saturating_sub(sent) as f64 / 1000.0);
            }
            result.saw_stop |= event.starts_with("event: message_stop");
        }
    }
    if let Some((open, _)) = &gauge {
        open.fetch_sub(1, Ordering::Relaxed);
    }
    Ok(result)
}

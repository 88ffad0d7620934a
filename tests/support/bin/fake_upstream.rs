//! `fake-upstream`: the test suite's fake Anthropic Messages API as a
//! program, for scripts that drive the real Claude Code CLI.
//!
//! Prints `listening on http(s)://127.0.0.1:PORT` on stdout once it accepts
//! connections, then serves until killed.

use anyhow::Context;
use cctap_tests::upstream::{Behaviour, FakeUpstream, RecordedRequest};
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// The fake Anthropic Messages API (SSE, JSON, count_tokens) on 127.0.0.1.
#[derive(Parser)]
#[command(name = "fake-upstream", version)]
struct Args {
    /// Serve HTTPS with a fresh throwaway CA (see --ca-out).
    #[arg(long)]
    tls: bool,
    /// Port to listen on; 0 picks a free one.
    #[arg(short = 'p', long, value_name = "PORT", default_value_t = 0)]
    port: u16,
    /// Write the CA certificate (PEM) here, for `record --upstream-ca`.
    #[arg(long, value_name = "FILE", requires = "tls")]
    ca_out: Option<PathBuf>,
    /// The assistant's reply text.
    #[arg(long, value_name = "TEXT")]
    reply: Option<String>,
    /// Default behaviour, e.g. `status=529` or `pace=20` (see behaviour.rs).
    #[arg(long, value_name = "DIRECTIVES", default_value = "")]
    behaviour: String,
    /// Append each request as a JSON line (method, path, headers, body).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let behaviour = Behaviour::parse(&args.behaviour)?;
    let mut builder = FakeUpstream::builder().port(args.port).behaviour(behaviour);
    if args.tls {
        builder = builder.tls();
    }
    if let Some(reply) = &args.reply {
        builder = builder.reply(reply);
    }
    if let Some(path) = &args.log {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the request log {}", path.display()))?;
        let file = Mutex::new(file);
        builder = builder.on_request(Box::new(move |request| {
            if let Ok(mut file) = file.lock() {
                let _ = writeln!(file, "{}", log_line(request));
            }
        }));
    }
    let upstream = builder.start().await?;
    if let Some(path) = &args.ca_out {
        upstream.write_ca(path)?;
    }
    let scheme = if args.tls { "https" } else { "http" };
    println!("listening on {scheme}://{}", upstream.addr());
    std::io::stdout()
        .flush()
        .context("cannot write to stdout")?;
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for a signal")?;
    Ok(())
}

/// One request as a JSON line; a non-UTF-8 body is written as base64-free
/// lossy text with `body_utf8: false`.
fn log_line(request: &RecordedRequest) -> serde_json::Value {
    let body_utf8 = std::str::from_utf8(&request.body).is_ok();
    serde_json::json!({
        "number": request.number,
        "connection": request.connection,
        "method": request.method,
        "path": request.path,
        "version": request.version,
        "headers": request.headers,
        "body": String::from_utf8_lossy(&request.body),
        "body_utf8": body_utf8,
        "usage": request.usage,
    })
}

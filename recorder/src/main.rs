//! `record`: an intercepting proxy that writes what an AI coding client
//! sends to its model API as a HAR archive.
//!
//! # Layout: the folders follow one exchange
//! 1. [`front`]: clients come in: accept, serve HTTP/1 per connection,
//!    forward mode's CONNECT and TLS interception, graceful shutdown.
//! 2. [`route`]: where each request goes (the door it came through and its
//!    target): an upstream [`route::Target`], or offline's answer.
//! 3. [`exchange`]: one request and its response: forward, tee, record;
//!    what is forwarded of the headers; offline's canned answers.
//! 4. [`upstream`]: pooled upstream connections with timings, TLS trust,
//!    an upstream proxy, silence limits.
//! 5. [`io`]: the byte-level adapters on the way: head tap (header names as
//!    on the wire), rewind, write-through, tee, body types.
//! 6. [`entry`]: what an exchange saw → a HAR entry (the archive crate's
//!    wire builder, SSE events with arrival times, timings).
//! 7. [`output`]: the writer thread behind a bounded queue, feeding the HAR
//!    (`-o`) and the mitmproxy flow file (`-w`).
//!
//! Around them: [`cli`] (flags → [`cli::Config`]), [`app`] (start, wait,
//! shut down in order), [`status`] (counters, live line), [`wrap`]
//! (`record -- COMMAND` and its environment), [`tls`] (the local CA, leaf
//! certificates, `record ca`).

mod alarm;
mod alloc;
mod app;
mod cli;
mod entry;
mod exchange;
mod front;
mod io;
mod output;
mod route;
mod status;
mod tls;
mod upstream;
mod wrap;

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// A file-size limit (`ulimit -f`) must not kill the proxy mid-stream: with
/// SIGXFSZ ignored, an archive write past the limit fails with EFBIG and is
/// handled like a full disk (reported once, traffic keeps flowing).
/// `wrap` restores the default for the wrapped command.
fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN before any thread
    // that could depend on it starts.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if tls::command::wanted(&args[1.min(args.len())..]) {
        return tls::command::run(args[1..].to_vec());
    }
    let cli = cli::Cli::parse_from(args);
    let env_base = std::env::var("ANTHROPIC_BASE_URL").ok();
    let config = match cli.into_config(env_base, time::OffsetDateTime::now_utc()) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    init_tracing();
    ignore_file_size_signal();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .on_thread_park(alloc::on_worker_park)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("record: error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.spawn(alloc::wake_workers(workers));
    let result = runtime.block_on(app::run(config));
    // Connections still open must not hold the exit up.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<cli::UsageError>() {
            Some(usage) => usage_error(usage),
            None => {
                eprintln!("record: error: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}

fn usage_error(e: &cli::UsageError) -> ExitCode {
    eprintln!("record: error: {e}");
    eprintln!("Try 'record --help' for more information.");
    ExitCode::from(2)
}

/// `RUST_LOG` decides; by default only warnings and errors, so the status
/// line stays readable.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| status::LogWriter)
        .with_ansi(color_on_stderr())
        .with_target(false)
        .init();
}

/// Colour only on a terminal, never with `NO_COLOR` or `TERM=dumb`.
fn color_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none()
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

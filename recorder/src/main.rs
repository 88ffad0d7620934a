//! `record`: an intercepting proxy that writes what an AI coding client
//! sends to its model API as a HAR archive.
//!
//! # Layout (modules follow the bytes)
//! - [`cli`]: flags → [`cli::Config`]; [`app`]: start, wait, shut down in order.
//! - [`listener`]: the front door: accept, serve HTTP/1 per connection,
//!   route each request ([`route`]), graceful [`shutdown`].
//! - [`headtap`]: header names and order as they were on the wire.
//! - [`exchange`]: one request/response: forward, tee ([`tee`]), record;
//!   [`headers`]: what is forwarded and recorded of the headers.
//! - [`upstream`]: pooled upstream connections with timings; TLS trust in
//!   [`upstream_tls`]. [`offline`]: canned answers instead of an upstream.
//! - [`entry`]: what an exchange saw → a HAR entry; [`archive`]: the writer
//!   thread behind a bounded channel, feeding the HAR (`-o`) and the
//!   mitmproxy flow file (`-w`); [`status`]: counters and live line.
//! - [`forward`]: forward mode's door (CONNECT, TLS interception, HTTP/2,
//!   absolute-form requests, ignored hosts); [`rewind`] replays bytes read
//!   ahead; [`upstream_proxy`] chains through another proxy; [`tls`]: the
//!   local CA and leaf certificates.
//! - [`wrap`]: running a command against the proxy, with [`child_env`];
//!   [`body`]: body types. [`ca_command`]: `record ca init|path|export`.
//!   [`write_through`]: the write half shared by the read-side adapters.

mod app;
mod archive;
mod body;
mod ca_command;
mod child_env;
mod cli;
mod entry;
mod exchange;
mod forward;
mod headers;
mod headtap;
mod listener;
mod offline;
#[cfg(test)]
mod pipeline_tests;
mod rewind;
mod route;
mod shutdown;
mod status;
mod tee;
mod tls;
mod upstream;
mod upstream_proxy;
mod upstream_tls;
mod wrap;
mod write_through;

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
    if ca_command::wanted(&args[1.min(args.len())..]) {
        return ca_command::run(args[1..].to_vec());
    }
    let cli = cli::Cli::parse_from(args);
    let env_base = std::env::var("ANTHROPIC_BASE_URL").ok();
    let config = match cli.into_config(env_base, time::OffsetDateTime::now_utc()) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    init_tracing();
    ignore_file_size_signal();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("record: error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
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

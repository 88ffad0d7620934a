//! `analyze`: reads cctap, mitmproxy and browser HAR archives and
//! mitmproxy flow files offline.
//!
//! # Layout
//! - [`cli`]: flags and subcommands (clap derive).
//! - [`input`]: opens archives (HAR or mitmproxy flow file, sniffed), files
//!   or directories, one entry at a time, and warns about cut-off files.
//! - [`call`]: the typed Messages API call derived from one entry;
//!   [`classify`] names its role (main loop, side call, retry, …).
//! - [`mask`]: the per-run parts of Claude Code's prompt, masked for diffing.
//! - Commands, one module each: [`diff`], [`usage`] (+ [`prices`];
//!   [`against`]: `usage --against`, the wire vs Claude Code's own logs),
//!   [`leaks`], [`ls`], [`show`], [`export`] (+ [`warehouse`]: Parquet), [`redact`].
//! - [`html`]: `analyze report`, one self-contained HTML file.
//! - [`report`]: tables, JSON, colour and the exit outcome they share.
//!
//! This file only parses the command line and maps the outcome to an exit
//! code: 0 ok, 1 found something, 2 error; a closed pipe exits 0.

mod against;
mod call;
mod classify;
mod cli;
mod diff;
mod export;
mod html;
mod input;
mod layout;
mod leaks;
mod ls;
mod mask;
mod prices;
mod redact;
mod report;
mod show;
mod usage;
mod warehouse;

use clap::Parser;
use cli::{Cli, Command};
use report::{Outcome, Style};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli);
    if let (Ok(_), Some(skipped)) = (&result, input::skipped()) {
        eprintln!("analyze: error: {skipped}");
        return ExitCode::from(2);
    }
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Found) => ExitCode::from(1),
        Err(e) if report::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("analyze: error: {}", report::one_line(&e));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let style = Style::detect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let outcome = match cli.command {
        Command::Diff(args) => diff::run(&args, cli.json, style, &mut out)?,
        Command::Usage(args) if args.against.is_some() => {
            against::run(&args, cli.json, style, &mut out)?
        }
        Command::Usage(args) => usage::run(&args, cli.json, style, &mut out)?,
        Command::Leaks(args) => {
            leaks::run(&args.files.files, args.strict, cli.json, style, &mut out)?
        }
        Command::Ls(args) => ls::run(&args, cli.json, style, &mut out)?,
        Command::Show(args) => show::run(&args, cli.json, style, &mut out)?,
        Command::Export(args) => warehouse::export(&args, cli.json, &mut out)?,
        Command::Redact(args) => redact::run(&args, cli.json, &mut out)?,
        Command::Report(args) => html::run(&args, &mut out)?,
    };
    out.flush()?;
    Ok(outcome)
}

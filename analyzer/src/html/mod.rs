//! `analyze report ARCHIVE… [-o report.html]`: one self-contained HTML
//! file (inline CSS, script and SVG; a Content-Security-Policy that allows
//! nothing else, so the page makes no network request at all).
//!
//! - [`collect`]: reads the archives once into rows, events and totals.
//! - [`detail`]: each call's part of the conversation (new messages only).
//! - [`svg`]: the charts and the waterfall.
//! - [`sidebyside`]: two archives' `diff` in two columns.
//! - [`page`]: the minijinja template, the inert JSON blocks, the CSP.
//!
//! Large texts stay out of the DOM: each call's conversation and events
//! sit in `<script type="application/json">` blocks that the page parses
//! only when the call is expanded or hovered.

pub mod collect;
pub mod detail;
pub mod page;
pub mod sidebyside;
pub mod svg;

use crate::cli::ReportArgs;
use crate::input;
use crate::prices::Prices;
use crate::report::{self, Outcome};
use anyhow::Context;
use std::io::Write;
use std::path::Path;

pub fn run(args: &ReportArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let prices = Prices::load(args.prices.as_deref())?;
    let masks = crate::diff::masks_from(args.no_mask, &args.mask)?;
    let sources = input::expand(&args.files)?;
    let model = collect::read(&sources, &prices, args.include_offline)?;
    let compare = match args.files.as_slice() {
        [old, new] => Some(sidebyside::build(old, new, &masks).map_err(|e| report::one_line(&e))),
        _ => None,
    };
    let html = page::render(&model, &prices, compare.as_ref())?;
    if args.output == Path::new("-") {
        out.write_all(html.as_bytes())?;
    } else {
        write_atomic(&args.output, html.as_bytes())?;
        let archives: u64 = model.files.iter().map(|f| f.bytes).sum();
        eprintln!(
            "analyze: wrote {} ({}, {} calls; archives {}, ratio {:.2})",
            args.output.display(),
            report::bytes(html.len()),
            model.calls.len(),
            report::bytes(archives as usize),
            html.len() as f64 / archives.max(1) as f64
        );
    }
    Ok(Outcome::Clean)
}

/// Writes beside the target and renames into place: a failed run leaves
/// no half-written report (archive/FORMAT.md).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let what = || {
        format!(
            "cannot write {}: check the directory exists and is writable",
            path.display()
        )
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".report-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(what)?;
    tmp.write_all(bytes).with_context(what)?;
    tmp.as_file().sync_all().with_context(what)?;
    // A report is for reading, like any file the user writes (tempfile
    // makes its files private).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path).map_err(|e| e.error).with_context(what)?;
    Ok(())
}

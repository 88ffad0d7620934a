//! `analyze leaks`: judges archives by FORMAT.md's redaction rules, with
//! the archive crate's scanner (`cctap_archive::redact::scan_entry`, the
//! one `record` and `analyze redact` redact with): what it finds here,
//! redaction removes. A credential (by fingerprint, also from markers) sent
//! to a host other than the session's API host is reported as a warning;
//! vendors' documented example keys are listed as examples. Findings never
//! hold the secret: only its kind, fingerprint and a masked excerpt.
//!
//! The `log` object's pages, comment and custom `_fields` are judged too
//! (`cctap_archive::redact::scan_log_head`, what `redact` cleans them
//! with): such a finding has no entry and names its JSON path
//! (`log.pages[0].title`).
//!
//! Findings are printed as they are found (in tables of at most
//! [`TABLE_ROWS`] rows, or one element of the `--json` document's
//! `findings` array each), so memory does not grow with their number.
//! [`scan`] does the checking.

pub mod scan;

use crate::input;
use crate::report::{self, Outcome, Style};
use comfy_table::Cell;
use scan::{Finding, Scan, Severity};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

/// Findings held for one table at most: a table needs its rows to size
/// its columns, and this bounds what it holds.
const TABLE_ROWS: usize = 256;

/// Counts per severity, and where findings go.
struct Sink<'a> {
    out: &'a mut dyn Write,
    json: bool,
    style: Style,
    rows: Vec<Finding>,
    leaks: usize,
    warnings: usize,
    examples: usize,
}

impl Sink<'_> {
    fn emit(&mut self, f: &Finding) -> std::io::Result<()> {
        match f.severity {
            Severity::Leak => self.leaks += 1,
            Severity::Warning => self.warnings += 1,
            Severity::Example => self.examples += 1,
        }
        if self.json {
            if self.leaks + self.warnings + self.examples > 1 {
                write!(self.out, ",")?;
            }
            write!(self.out, "\n    ")?;
            return serde_json::to_writer(&mut *self.out, f).map_err(std::io::Error::from);
        }
        self.rows.push(f.clone());
        if self.rows.len() == TABLE_ROWS {
            self.table()?;
        }
        Ok(())
    }

    /// Prints the rows held, as one table.
    fn table(&mut self) -> std::io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut t = self.style.table([
            "file",
            "entry",
            "url",
            "place",
            "kind",
            "fingerprint",
            "excerpt",
        ]);
        for f in self.rows.drain(..) {
            let kind = match f.severity {
                Severity::Leak => self.style.red_cell(&f.kind),
                Severity::Warning => Cell::new(&f.kind),
                Severity::Example => Cell::new(format!("{} (documented example)", f.kind)),
            };
            let mut place = f.place;
            for also in &f.also {
                place.push_str(&format!("\n{also}"));
            }
            t.add_row(vec![
                Cell::new(&f.file),
                Cell::new(f.entry.map_or_else(|| "log".to_owned(), |i| i.to_string())),
                Cell::new(&f.url),
                Cell::new(place),
                kind,
                Cell::new(&f.fingerprint),
                Cell::new(&f.excerpt),
            ]);
        }
        report::write_table(self.out, &t)
    }
}

pub fn run(
    files: &[PathBuf],
    strict: bool,
    json_out: bool,
    style: Style,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let sources = input::expand(files)?;
    if json_out {
        write!(out, "{{\n  \"findings\": [")?;
    }
    let mut sink = Sink {
        out,
        json: json_out,
        style,
        rows: Vec::new(),
        leaks: 0,
        warnings: 0,
        examples: 0,
    };
    let mut checked = Vec::new();
    let mut failed = None;
    for source in &sources {
        let mut scan = Scan::new(&source.name());
        let read = input::read_entries(source, |i, e| {
            for f in scan.entry(i, e) {
                sink.emit(&f)?;
            }
            Ok(())
        });
        let head = match read {
            Ok(summary) => summary.head,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        // The log's pages, comment and custom fields, read wherever the
        // file had them (before or after the entries).
        let log = head.map(|h| scan.log(&h)).unwrap_or_default();
        for f in log.iter().chain(&scan.finish()) {
            sink.emit(f)?;
        }
        checked.push(json!({"file": source.name(), "entries": scan.entries}));
    }
    let entries: u64 = checked.iter().filter_map(|c| c["entries"].as_u64()).sum();
    sink.table()?;
    let Sink {
        out,
        leaks,
        warnings,
        examples,
        ..
    } = sink;
    if json_out {
        // The document is closed even when a file failed, so it stays JSON.
        let mut tail = json!({
            "leaks": leaks,
            "warnings": warnings,
            "examples": examples,
            "files": checked,
        });
        if let Some(e) = &failed {
            tail["error"] = format!("{e:#}").into();
        }
        let tail = serde_json::to_string_pretty(&tail)?;
        writeln!(out, "\n  ],\n  {}", &tail[1..].trim_start())?;
    } else if failed.is_none() {
        let summary = format!(
            "{leaks} leak(s), {warnings} warning(s){} in {entries} entries of {} file(s)",
            if examples > 0 {
                format!(", {examples} documented example key(s) left as they are")
            } else {
                String::new()
            },
            checked.len()
        );
        let summary = if leaks > 0 {
            style.red(&summary)
        } else {
            style.green(&summary)
        };
        writeln!(out, "{summary}")?;
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let fail = leaks > 0 || (strict && warnings > 0);
    Ok(if fail { Outcome::Found } else { Outcome::Clean })
}

//! `analyze leaks`: judges archives by FORMAT.md's redaction rules. Every
//! header, URL, cookie, body (decoded) and stream event of every entry is
//! checked: a sensitive header holding anything but a redaction marker is a
//! leak, and a credential-pattern match anywhere is a leak. A credential
//! (by fingerprint, also from markers) sent to a host other than the
//! session's API host is reported as a warning. Findings never hold the
//! secret: only its kind, fingerprint and a masked excerpt.
//!
//! [`scan`] does the checking; this module runs it over files and prints.

pub mod scan;

use crate::input::{self, Source};
use crate::report::{self, Outcome, Style};
use scan::{Finding, Scan, Severity};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

pub fn run(
    files: &[PathBuf],
    strict: bool,
    json_out: bool,
    style: Style,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let sources = input::expand(files)?;
    let mut findings = Vec::new();
    let mut checked = Vec::new();
    for source in &sources {
        let mut scan = Scan::new(&source.name());
        input::read_entries(source, |i, e| {
            scan.entry(i, &e);
            Ok(())
        })?;
        scan.finish();
        checked.push((source.clone(), scan.entries));
        findings.extend(scan.findings);
    }
    let leaks = findings
        .iter()
        .filter(|f| f.severity == Severity::Leak)
        .count();
    if json_out {
        let files: Vec<_> = checked
            .iter()
            .map(|(s, n)| json!({"file": s.name(), "entries": n}))
            .collect();
        report::write_json(
            out,
            &json!({
                "leaks": leaks,
                "warnings": findings.len() - leaks,
                "files": files,
                "findings": findings,
            }),
        )?;
    } else {
        write_human(out, &findings, &checked, leaks, style)?;
    }
    let fail = leaks > 0 || (strict && !findings.is_empty());
    Ok(if fail { Outcome::Found } else { Outcome::Clean })
}

fn write_human(
    out: &mut dyn Write,
    findings: &[Finding],
    checked: &[(Source, usize)],
    leaks: usize,
    style: Style,
) -> std::io::Result<()> {
    let entries: usize = checked.iter().map(|(_, n)| n).sum();
    if !findings.is_empty() {
        let mut t = style.table([
            "file",
            "entry",
            "url",
            "place",
            "kind",
            "fingerprint",
            "excerpt",
        ]);
        for f in findings {
            let kind = match f.severity {
                Severity::Leak => style.red_cell(&f.kind),
                Severity::Warning => comfy_table::Cell::new(&f.kind),
            };
            t.add_row(vec![
                comfy_table::Cell::new(&f.file),
                comfy_table::Cell::new(f.entry),
                comfy_table::Cell::new(&f.url),
                comfy_table::Cell::new(&f.place),
                kind,
                comfy_table::Cell::new(&f.fingerprint),
                comfy_table::Cell::new(&f.excerpt),
            ]);
        }
        report::write_table(out, &t)?;
    }
    let warnings = findings.len() - leaks;
    let summary = format!(
        "{leaks} leak(s), {warnings} warning(s) in {entries} entries of {} file(s)",
        checked.len()
    );
    let summary = if leaks > 0 {
        style.red(&summary)
    } else {
        style.green(&summary)
    };
    writeln!(out, "{summary}")
}

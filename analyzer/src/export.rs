//! `analyze export IN -o OUT`: converts between `.har`, `.har.zst` and
//! `.har.gz`; the output format comes from its name (`-` is stdout, plain
//! `.har`). Entries are copied one at a time.

use crate::cli::ConvertArgs;
use crate::input::{self, Source};
use crate::report::Outcome;
use anyhow::Context;
use cctap_archive::{ArchiveWriter, Entry};
use std::io::Write;

/// Copies every entry of `args.input` to `args.output`, passing each
/// through `change` on the way; returns how many were written.
pub fn copy(args: &ConvertArgs, mut change: impl FnMut(&mut Entry)) -> anyhow::Result<usize> {
    let source = Source {
        path: args.input.clone(),
    };
    if source.path == args.output && !source.is_stdin() {
        anyhow::bail!(
            "input and output are the same file {}: write to another name",
            args.output.display()
        );
    }
    let mut reader = input::open(&source)?;
    let head = reader.head().clone();
    let mut writer = ArchiveWriter::create(&args.output, &head).with_context(|| {
        format!(
            "cannot create {}: check the directory exists and is writable",
            args.output.display()
        )
    })?;
    let mut n = 0;
    for item in reader.by_ref() {
        let mut entry = item.with_context(|| format!("reading {}", source.name()))?;
        change(&mut entry);
        writer
            .append(&entry)
            .with_context(|| format!("writing {}", args.output.display()))?;
        n += 1;
    }
    if let Some(cut) = reader.cut_off() {
        crate::report::warn(&format!(
            "{} was cut off (at byte {}); recovered {} entries, written as a complete archive",
            source.name(),
            cut.offset,
            cut.entries
        ));
    }
    writer
        .finish()
        .with_context(|| format!("finishing {}", args.output.display()))?;
    Ok(n)
}

pub fn run(args: &ConvertArgs, json_out: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let n = copy(args, |_| {})?;
    summary(args, json_out, out, n, None)?;
    Ok(Outcome::Clean)
}

/// What was written: JSON on stdout with `--json` (unless the archive
/// itself went to stdout), else one line on stderr.
pub fn summary(
    args: &ConvertArgs,
    json_out: bool,
    out: &mut dyn Write,
    entries: usize,
    redacted: Option<usize>,
) -> std::io::Result<()> {
    let to_stdout = args.output.as_os_str() == "-";
    if json_out && !to_stdout {
        let mut v = serde_json::json!({
            "input": args.input.display().to_string(),
            "output": args.output.display().to_string(),
            "format": format!("{:?}", cctap_archive::Format::from_path(&args.output)),
            "entries": entries,
        });
        if let Some(r) = redacted {
            v["redacted_entries"] = r.into();
        }
        return crate::report::write_json(out, &v);
    }
    let extra = redacted
        .map(|r| format!(" ({r} redacted)"))
        .unwrap_or_default();
    eprintln!(
        "analyze: wrote {entries} entries to {}{extra}",
        args.output.display()
    );
    Ok(())
}

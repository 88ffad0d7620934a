//! `analyze export IN -o OUT`: converts between `.har`, `.har.zst`,
//! `.har.gz` and mitmproxy flow files (`.flows`, `.flow`, `.mitm`), either
//! way; the input's kind is sniffed, the output's comes from its name (`-`
//! is stdout, plain `.har`). Entries are copied one at a time.

use crate::cli::ConvertArgs;
use crate::input::{self, Source};
use crate::report::Outcome;
use anyhow::Context;
use cctap_archive::{AnyWriter, Entry, Kind, LogHead};
use std::io::Write;
use std::path::Path;

/// Creates the output, its kind by `path`'s name. A HAR keeps the input's
/// `log` head; a flow file as input has none, so the head names `analyze`.
fn create(path: &Path, head: Option<&LogHead>) -> anyhow::Result<AnyWriter> {
    let own = LogHead::new("cctap analyze", env!("CARGO_PKG_VERSION"));
    AnyWriter::create_atomic(path, head.unwrap_or(&own)).with_context(|| {
        format!(
            "cannot create {}: check the directory exists and is writable",
            path.display()
        )
    })
}

/// Writes one entry. `Ok(false)`: this entry cannot be a flow (warned,
/// skipped); the next ones are still written.
fn append(output: &mut AnyWriter, entry: Entry, path: &Path) -> anyhow::Result<bool> {
    // Owned: a flow takes the bodies over rather than copying them.
    match output.append_owned(entry) {
        Ok(()) => Ok(true),
        Err(e) if e.is_entry_skipped() => {
            crate::report::warn(&format!("{e}; skipped it"));
            Ok(false)
        }
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}

/// How many entries a copy read and wrote.
#[derive(Clone, Copy, Debug, Default)]
pub struct Copied {
    pub written: usize,
    /// Entries that could not be written as flows (warned one by one).
    pub skipped: usize,
    /// Entries that could not be read (warned one by one; the run exits 2).
    pub unreadable: usize,
}

/// Copies every entry of `args.input` to `args.output`, passing each
/// through `change` on the way (an error stops the copy: nothing is
/// written).
pub fn copy(
    args: &ConvertArgs,
    mut change: impl FnMut(&mut Entry) -> Result<(), String>,
    change_head: impl Fn(&mut LogHead),
) -> anyhow::Result<Copied> {
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
    // A body past the reading cap is copied whole from a temporary file.
    reader.spill_long_strings();
    let head = reader.head().cloned().map(|mut head| {
        change_head(&mut head);
        head
    });
    let mut output = create(&args.output, head.as_ref())?;
    let mut copied = Copied::default();
    let name = source.name();
    for (index, item) in reader.by_ref().enumerate() {
        let Some(mut entry) = input::readable(&name, index, item) else {
            copied.unreadable += 1;
            continue;
        };
        refuse_cut_strings(&entry, index, &name)?;
        change(&mut entry).map_err(|why| {
            anyhow::anyhow!("{name}: entries[{index}]: {why}: nothing was written")
        })?;
        if append(&mut output, entry, &args.output)? {
            copied.written += 1;
        } else {
            copied.skipped += 1;
        }
    }
    crate::report::repeated_warnings(&name);
    input::warn_if_cut_off(&source, &reader, ", written as a complete file");
    input::warn_not_http(&source, &reader);
    // Keys of `log` found after the entries (a browser's `pages`, custom
    // `_fields`) go in the copy's tail.
    let mut head = reader.head().cloned().unwrap_or_default();
    change_head(&mut head);
    output
        .finish_with(&head)
        .with_context(|| format!("finishing {}", args.output.display()))?;
    Ok(copied)
}

/// A copy must not lose the end of a string longer than analyze reads
/// whole: a body's is copied from a temporary file
/// ([`cctap_archive::AnyReader::spill_long_strings`]); any other (a header
/// value, a comment) is still cut, and the command fails instead (its
/// output is written beside the target and never put in place).
fn refuse_cut_strings(entry: &Entry, index: usize, file: &str) -> anyhow::Result<()> {
    if let Some(w) = entry.warnings.iter().find(|w| w.is_cut_string()) {
        let why = match w.found.as_str() {
            "" => String::new(),
            found => format!(" {found}"),
        };
        anyhow::bail!(
            "{file}: entries[{index}] holds a string longer than {} MiB{why}, which analyze does \
             not hold whole: only a body's text is copied whole, so nothing was written (the \
             archive itself is whole; `zstd -d` or `jq` can copy it)",
            cctap_archive::reader::MAX_STRING >> 20
        );
    }
    Ok(())
}

pub fn run(args: &ConvertArgs, json_out: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let copied = copy(args, |_| Ok(()), |_| {})?;
    summary(args, json_out, out, copied, None)?;
    Ok(Outcome::Clean)
}

/// What was written: JSON on stdout with `--json` (unless the archive
/// itself went to stdout), else one line on stderr.
pub fn summary(
    args: &ConvertArgs,
    json_out: bool,
    out: &mut dyn Write,
    copied: Copied,
    redacted: Option<usize>,
) -> std::io::Result<()> {
    let to_stdout = args.output.as_os_str() == "-";
    if json_out && !to_stdout {
        let mut v = serde_json::json!({
            "input": args.input.display().to_string(),
            "output": args.output.display().to_string(),
            "format": Kind::from_path(&args.output).label(),
            "entries": copied.written,
            "skipped": copied.skipped,
        });
        if let Some(r) = redacted {
            v["redacted_entries"] = r.into();
        }
        return crate::report::write_json(out, &v);
    }
    let extra = redacted
        .map(|r| format!(" ({r} redacted)"))
        .unwrap_or_default();
    let skipped = match copied.skipped {
        0 => String::new(),
        n => format!("; skipped {n} that cannot be flows"),
    };
    eprintln!(
        "analyze: wrote {} to {}{extra}{skipped}",
        crate::report::count(copied.written, "entry", "entries"),
        args.output.display()
    );
    Ok(())
}

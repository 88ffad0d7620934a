//! `analyze export IN -o OUT`: converts between `.har`, `.har.zst`,
//! `.har.gz` and mitmproxy flow files (`.flows`, `.flow`, `.mitm`), either
//! way; the input's kind is sniffed, the output's comes from its name (`-`
//! is stdout, plain `.har`). Entries are copied one at a time.

use crate::cli::ConvertArgs;
use crate::input::{self, Source};
use crate::report::Outcome;
use anyhow::Context;
use cctap_archive::{ArchiveWriter, Entry, FlowWriteError, FlowWriter, Format, LogHead};
use std::io::Write;
use std::path::Path;

/// Where the copy goes: a HAR writer or a flow file writer.
enum Output {
    Har(ArchiveWriter),
    Flows(FlowWriter),
}

impl Output {
    /// Picks the format by `path`'s name. A HAR keeps the input's `log`
    /// head; a flow file as input has none, so the head names `analyze`.
    fn create(path: &Path, head: Option<&LogHead>) -> anyhow::Result<Output> {
        let hint = || {
            format!(
                "cannot create {}: check the directory exists and is writable",
                path.display()
            )
        };
        if input::is_flow_name(&path.display().to_string()) {
            return Ok(Output::Flows(FlowWriter::create(path).with_context(hint)?));
        }
        let own = LogHead::new("cctap analyze", env!("CARGO_PKG_VERSION"));
        let head = head.unwrap_or(&own);
        Ok(Output::Har(
            ArchiveWriter::create(path, head).with_context(hint)?,
        ))
    }

    /// Writes one entry. `Ok(false)`: this entry cannot be a flow (warned,
    /// skipped); the next ones are still written.
    fn append(&mut self, entry: &Entry, path: &Path) -> anyhow::Result<bool> {
        let written = match self {
            Output::Har(w) => w.append(entry).map_err(anyhow::Error::from),
            Output::Flows(w) => match w.append(entry) {
                Err(e @ FlowWriteError::Entry { .. }) => {
                    crate::report::warn(&format!("{e}; skipped it"));
                    return Ok(false);
                }
                other => other.map_err(anyhow::Error::from),
            },
        };
        written.with_context(|| format!("writing {}", path.display()))?;
        Ok(true)
    }

    fn finish(self, path: &Path) -> anyhow::Result<()> {
        match self {
            Output::Har(w) => w.finish().map_err(anyhow::Error::from),
            Output::Flows(w) => w.finish().map_err(anyhow::Error::from),
        }
        .with_context(|| format!("finishing {}", path.display()))
    }
}

/// The output format's name, for `--json`.
fn format_name(path: &Path) -> String {
    if input::is_flow_name(&path.display().to_string()) {
        "Flows".to_owned()
    } else {
        format!("{:?}", Format::from_path(path))
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
/// through `change` on the way.
pub fn copy(args: &ConvertArgs, mut change: impl FnMut(&mut Entry)) -> anyhow::Result<Copied> {
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
    let mut output = Output::create(&args.output, reader.head())?;
    let mut copied = Copied::default();
    let name = source.name();
    for (index, item) in reader.by_ref().enumerate() {
        let Some(mut entry) = input::readable(&name, index, item) else {
            copied.unreadable += 1;
            continue;
        };
        change(&mut entry);
        if output.append(&entry, &args.output)? {
            copied.written += 1;
        } else {
            copied.skipped += 1;
        }
    }
    crate::report::repeated_warnings(&name);
    input::warn_if_cut_off(&source, &reader, ", written as a complete file");
    output.finish(&args.output)?;
    Ok(copied)
}

pub fn run(args: &ConvertArgs, json_out: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let copied = copy(args, |_| {})?;
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
            "format": format_name(&args.output),
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
        "analyze: wrote {} entries to {}{extra}{skipped}",
        copied.written,
        args.output.display()
    );
    Ok(())
}

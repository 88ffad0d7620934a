//! `analyze redact IN -o OUT`: a copy with FORMAT.md's redaction applied
//! (for HARs recorded by other tools). Uses the archive crate's
//! `redact_entry`, the same code `record` redacts with, so the result
//! leaves `analyze leaks` clean. Writes HAR or a mitmproxy flow file, by
//! the output's name, as `export` does.

use crate::cli::ConvertArgs;
use crate::export;
use crate::report::Outcome;
use cctap_archive::redact::{redact_entry, redact_log_head};
use std::io::Write;

pub fn run(args: &ConvertArgs, json_out: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let mut changed = 0usize;
    let mut streamed = 0usize;
    // The log's pages, comment and custom fields are redacted too (a page
    // title is often a URL, query string and all).
    let copied = export::copy(
        args,
        |entry| {
            let before = entry.redacted.len();
            redact_entry(entry);
            changed += usize::from(entry.redacted.len() > before);
            // A body too long to hold is redacted as it is copied.
            streamed += cctap_archive::spill::redact_spilled(entry)?;
            Ok(())
        },
        |head| {
            redact_log_head(head);
        },
    )?;
    export::summary(args, json_out, out, copied, Some(changed))?;
    if streamed > 0 {
        // Their secrets are replaced as they are written, after the count.
        crate::report::warn(&format!(
            "{} past {} MiB redacted as copied (not in the count above)",
            crate::report::count(streamed, "body", "bodies"),
            cctap_archive::reader::MAX_STRING >> 20
        ));
    }
    Ok(Outcome::Clean)
}

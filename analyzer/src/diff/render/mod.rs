//! Printing a comparison: text (coloured words on a terminal), markdown
//! for a pull-request comment, JSON; each with `--stat`, the summary alone.
//!
//! - [`summary`]: one line per section, shared by all three.
//! - [`text`], [`markdown`]: the two readable formats; [`details`]: the
//!   markdown's collapsed sections, cut to fit a comment.

pub mod details;
pub mod markdown;
pub mod summary;
pub mod text;

use super::compare::Sections;
use super::side::SideInfo;
use serde_json::json;
use std::io::{self, Write};

/// `--format json`: the summary (`stat`) and, unless `stat_only`, every
/// section's changes.
pub fn json(
    out: &mut dyn Write,
    s: &Sections,
    old: &SideInfo,
    new: &SideInfo,
    stat_only: bool,
) -> io::Result<()> {
    let mut v = json!({
        "equal": s.is_empty(),
        "old": old.to_json(),
        "new": new.to_json(),
        "stat": summary::json(s),
    });
    if !stat_only {
        v["sections"] = super::compare::to_json(s);
    }
    crate::report::write_json(out, &v)
}

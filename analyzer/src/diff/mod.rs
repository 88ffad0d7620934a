//! `analyze diff OLD NEW`: what changed between two sessions, typically two
//! Claude Code versions.
//!
//! Each side is one call: by default its session's first main-loop request
//! (turn 1 has the same shape in every session; later turns carry the
//! conversation), or `--entry N`. Besides that call, the set of side calls
//! of the whole side is compared. A side may be a directory of archives.
//!
//! - [`side`]: reads a side (its main-loop call, side calls, one call of
//!   each side-call kind).
//! - [`shape`]: the masked prompt, tools and parameters of one call.
//! - [`structural`]: JSON structural diff with dotted paths.
//! - [`compare`]: section-by-section changes; [`tools`]: the tool sets.
//! - [`words`]: hunks, and the words that changed in a line.
//! - [`render`]: text, markdown, JSON, each with `--stat`.

pub mod compare;
pub mod render;
pub mod shape;
pub mod side;
pub mod structural;
pub mod tools;
pub mod words;

use crate::cli::{DiffArgs, DiffFormat, DiffSection};
use crate::mask::Masks;
use crate::report::{Outcome, Style};
use anyhow::bail;
use compare::{CallChange, Sections, SetChange};
use shape::Shape;
use side::Side;
use std::io::Write;

/// Builds the masks the flags ask for.
pub fn masks_of(args: &DiffArgs) -> anyhow::Result<Masks> {
    masks_from(args.no_mask, &args.mask)
}

/// `--no-mask` and `--mask REGEX…` as masks (also `report`'s).
pub fn masks_from(no_mask: bool, extra: &[String]) -> anyhow::Result<Masks> {
    let mut masks = if no_mask {
        Masks::none()
    } else {
        Masks::claude_code()
    };
    for m in extra {
        if let Err(e) = masks.add(m) {
            // regex errors span lines; the last one says what is wrong.
            let why = e.to_string().lines().last().unwrap_or("").trim().to_owned();
            bail!("--mask {m:?} is not a valid regular expression ({why}): fix the pattern");
        }
    }
    Ok(masks)
}

/// Compares the selected sections of two sides. Side-call sections are
/// compared when both sides make that call, or when asked for by name.
pub fn compare_sides(
    old: &Side,
    new: &Side,
    masks: &Masks,
    only: &[DiffSection],
    context: usize,
) -> Sections {
    let want = |s: DiffSection| only.is_empty() || only.contains(&s);
    let (a, b) = (Shape::of(&old.call, masks), Shape::of(&new.call, masks));
    let calls = DiffSection::SIDE_CALLS
        .into_iter()
        .filter(|&s| want(s))
        .filter_map(|s| {
            let (x, y) = (old.sample(s, new), new.sample(s, old));
            let asked = only.contains(&s);
            (asked || (x.is_some() && y.is_some())).then(|| CallChange::of(s, x, y, masks, context))
        })
        .collect();
    Sections {
        prompt: want(DiffSection::Prompt).then(|| compare::prompt(&a, &b, context)),
        tools: want(DiffSection::Tools).then(|| tools::tools(&a, &b, context)),
        params: want(DiffSection::Params).then(|| compare::params(&a, &b)),
        side_calls: want(DiffSection::SideCalls)
            .then(|| SetChange::of(&old.side_calls, &new.side_calls)),
        calls,
    }
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The command that prints `section` (or everything) whole: the same
/// sides and flags, no size limit.
fn full_command(args: &DiffArgs, section: Option<DiffSection>) -> String {
    let mut w: Vec<String> = vec!["analyze".into(), "diff".into()];
    match section {
        Some(s) => w.extend(["--only".into(), s.name().into()]),
        None => w.extend(["--format", "markdown", "--max-chars", "0"].map(String::from)),
    }
    if let Some(e) = &args.entry {
        w.extend(["--entry".into(), e.clone()]);
    }
    if args.no_mask {
        w.push("--no-mask".into());
    }
    for m in &args.mask {
        w.extend(["--mask".into(), m.clone()]);
    }
    if args.context != 3 {
        w.extend(["--context".into(), args.context.to_string()]);
    }
    w.push(args.old.display().to_string());
    w.push(args.new.display().to_string());
    w.iter()
        .map(|x| shell_word(x))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(
    args: &DiffArgs,
    json_out: bool,
    style: Style,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let masks = masks_of(args)?;
    let (old_entry, new_entry) = side::entries_of(args.entry.as_deref())?;
    let old = side::load_side(&args.old, old_entry)?;
    let new = side::load_side(&args.new, new_entry)?;
    let sections = compare_sides(&old, &new, &masks, &args.only, args.context);
    let format = if json_out {
        DiffFormat::Json
    } else {
        args.format
    };
    let (o, n) = (&old.info, &new.info);
    let command = |s: Option<DiffSection>| full_command(args, s);
    match (format, args.stat) {
        (DiffFormat::Json, stat) => render::json(out, &sections, o, n, stat)?,
        (DiffFormat::Markdown, true) => render::markdown::stat(out, &sections, o, n)?,
        (DiffFormat::Markdown, false) => {
            render::markdown::markdown(out, &sections, o, n, args.max_chars, &command)?
        }
        (DiffFormat::Text, true) => render::text::stat(out, &sections, style)?,
        (DiffFormat::Text, false) => render::text::text(out, &sections, o, n, style)?,
    }
    Ok(if sections.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Found
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_what_a_shell_would_split() {
        assert_eq!(shell_word("a/b-1.har"), "a/b-1.har");
        assert_eq!(shell_word("my dir/x.har"), "'my dir/x.har'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}

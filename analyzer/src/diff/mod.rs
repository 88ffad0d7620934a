//! `analyze diff OLD NEW`: what changed between two sessions, typically two
//! Claude Code versions.
//!
//! Each side is one call: by default its session's first main-loop request
//! (turn 1 has the same shape in every session; later turns carry the
//! conversation), or `--entry N`. Besides that call, the set of side calls
//! of the whole side is compared. A side may be a directory of archives.
//!
//! - [`shape`]: the masked prompt, tools and parameters of one call.
//! - [`structural`]: JSON structural diff with dotted paths.
//! - [`compare`]: section-by-section changes.
//! - [`render`]: text, markdown, JSON, `--stat`.

pub mod compare;
pub mod render;
pub mod shape;
pub mod structural;

use crate::call::Call;
use crate::classify::{self, Role};
use crate::cli::{DiffArgs, DiffFormat, DiffSection};
use crate::input::{self, Source};
use crate::mask::Masks;
use crate::report::{Outcome, Style};
use anyhow::{bail, Context};
use compare::{Sections, SetChange};
use serde_json::{json, Value};
use shape::Shape;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

/// One side: the call it is represented by, and what else it holds.
#[derive(Debug)]
pub struct Side {
    pub info: SideInfo,
    pub call: Call,
    /// `role model` of every side call (`warmup claude-haiku-4-5-20251001`).
    pub side_calls: BTreeSet<String>,
}

/// Where a side's call came from, for headers and JSON.
#[derive(Clone, Debug)]
pub struct SideInfo {
    pub path: String,
    pub file: String,
    pub entry: usize,
    pub client: Option<String>,
    pub model: String,
}

impl SideInfo {
    pub fn label(&self) -> String {
        let client = self.client.as_deref().unwrap_or("unknown client");
        format!(
            "{} entry {} ({client}, {})",
            self.file, self.entry, self.model
        )
    }

    pub fn to_json(&self) -> Value {
        json!({"path": self.path, "file": self.file, "entry": self.entry, "client": self.client, "model": self.model})
    }
}

/// `--entry N` or `--entry N:M`.
fn entries_of(spec: Option<&str>) -> anyhow::Result<(Option<usize>, Option<usize>)> {
    let Some(spec) = spec else {
        return Ok((None, None));
    };
    let parse = |s: &str| {
        s.trim().parse::<usize>().with_context(|| {
            format!(
                "--entry {spec}: expected N or N:M with entry numbers as `analyze ls` prints them"
            )
        })
    };
    match spec.split_once(':') {
        Some((a, b)) => Ok((Some(parse(a)?), Some(parse(b)?))),
        None => {
            let n = parse(spec)?;
            Ok((Some(n), Some(n)))
        }
    }
}

/// Reads one side: every entry, keeping only the best candidate call.
pub fn load_side(path: &Path, entry: Option<usize>) -> anyhow::Result<Side> {
    let sources = input::expand(&[path.to_path_buf()])?;
    if entry.is_some() && sources.len() > 1 {
        bail!(
            "--entry needs a single archive, but {} is a directory of {} archives",
            path.display(),
            sources.len()
        );
    }
    let mut best: Option<(Source, Call, (usize, i128))> = None;
    let mut side_calls = BTreeSet::new();
    for source in &sources {
        input::read_entries(source, |i, e| {
            let call = Call::from_entry(i, &e);
            call.warn_body(&source.name());
            let role = classify::role(&call);
            if role.is_side() {
                side_calls.insert(format!("{} {}", role.name(), call.model()));
            }
            let wanted = match entry {
                Some(n) => i == n,
                None => role == Role::Main,
            };
            if wanted {
                // More tools first (the agent loop, not a subagent), then earliest.
                let tools = call.request.as_ref().map_or(0, |r| r.tool_count());
                let rank = (usize::MAX - tools, call.started_nanos());
                if best.as_ref().is_none_or(|(_, _, r)| rank < *r) {
                    best = Some((source.clone(), call, rank));
                }
            }
            Ok(())
        })?;
    }
    let Some((source, call, _)) = best else {
        match entry {
            Some(n) => bail!("{} has no entry {n}: `analyze ls {}` lists its entries", path.display(), path.display()),
            None => bail!(
                "{} has no main-loop request (a Messages API call with tools): pick one with --entry N (see `analyze ls`)",
                path.display()
            ),
        }
    };
    if call.request.is_none() {
        // Comparing two empty prompts would say "equal": say what it is.
        bail!(
            "{}: entry {} is not a Messages API request ({} {}, status {}): diff compares \
             Messages requests; `analyze ls {}` shows which entries are",
            source.name(),
            call.index,
            call.method,
            call.url,
            call.status,
            source.name()
        );
    }
    let info = SideInfo {
        path: path.display().to_string(),
        file: source.name(),
        entry: call.index,
        client: call.client.as_ref().map(|(n, v)| format!("{n}/{v}")),
        model: call.model().to_owned(),
    };
    Ok(Side {
        info,
        call,
        side_calls,
    })
}

/// Builds the masks the flags ask for.
pub fn masks_of(args: &DiffArgs) -> anyhow::Result<Masks> {
    let mut masks = if args.no_mask {
        Masks::none()
    } else {
        Masks::claude_code()
    };
    for m in &args.mask {
        if let Err(e) = masks.add(m) {
            // regex errors span lines; the last one says what is wrong.
            let why = e.to_string().lines().last().unwrap_or("").trim().to_owned();
            bail!("--mask {m:?} is not a valid regular expression ({why}): fix the pattern");
        }
    }
    Ok(masks)
}

/// Compares the selected sections of two sides.
pub fn compare_sides(
    old: &Side,
    new: &Side,
    masks: &Masks,
    only: &[DiffSection],
    context: usize,
) -> Sections {
    let want = |s: DiffSection| only.is_empty() || only.contains(&s);
    let (a, b) = (Shape::of(&old.call, masks), Shape::of(&new.call, masks));
    Sections {
        prompt: want(DiffSection::System).then(|| compare::prompt(&a, &b, context)),
        tools: want(DiffSection::Tools).then(|| compare::tools(&a, &b, context)),
        params: want(DiffSection::Params).then(|| compare::params(&a, &b)),
        side_calls: want(DiffSection::Params)
            .then(|| SetChange::of(&old.side_calls, &new.side_calls)),
    }
}

pub fn run(
    args: &DiffArgs,
    json_out: bool,
    style: Style,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let masks = masks_of(args)?;
    let (old_entry, new_entry) = entries_of(args.entry.as_deref())?;
    let old = load_side(&args.old, old_entry)?;
    let new = load_side(&args.new, new_entry)?;
    let sections = compare_sides(&old, &new, &masks, &args.only, args.context);
    let format = if json_out {
        DiffFormat::Json
    } else {
        args.format
    };
    match (format, args.stat) {
        (DiffFormat::Json, _) => render::json(out, &sections, &old.info, &new.info)?,
        (_, true) => render::stat(out, &sections, style)?,
        (DiffFormat::Markdown, false) => render::markdown(out, &sections, &old.info, &new.info)?,
        (DiffFormat::Text, false) => render::text(out, &sections, &old.info, &new.info, style)?,
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
    fn entry_specs() {
        assert_eq!(entries_of(None).unwrap(), (None, None));
        assert_eq!(entries_of(Some("3")).unwrap(), (Some(3), Some(3)));
        assert_eq!(entries_of(Some("1:4")).unwrap(), (Some(1), Some(4)));
        assert!(entries_of(Some("x")).is_err());
    }
}

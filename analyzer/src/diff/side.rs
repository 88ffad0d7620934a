//! Reading one side of a diff: the main-loop call it is represented by,
//! the side calls it makes, and one call of each side-call kind to compare.

use crate::call::Call;
use crate::classify::{self, Role};
use crate::cli::DiffSection;
use crate::input::{self, Source};
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One side: the call it is represented by, and what else it holds.
#[derive(Debug)]
pub struct Side {
    pub info: SideInfo,
    pub call: Call,
    /// `role model` of every side call (`warmup claude-haiku-4-5-20251001`).
    pub side_calls: BTreeSet<String>,
    /// The earliest call of each side-call section and model.
    pub samples: BTreeMap<(DiffSection, String), Call>,
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

    /// The client's version alone (`2.1.332`), for titles.
    pub fn version(&self) -> Option<&str> {
        self.client.as_deref()?.rsplit_once('/').map(|(_, v)| v)
    }

    pub fn to_json(&self) -> Value {
        json!({"path": self.path, "file": self.file, "entry": self.entry, "client": self.client, "model": self.model})
    }
}

impl Side {
    /// The call of side-call section `section` to compare against `other`'s:
    /// the same model when both sides have one, else the first model by name.
    pub fn sample<'a>(&'a self, section: DiffSection, other: &Side) -> Option<&'a Call> {
        let mine = self.samples.range((section, String::new())..);
        let mine: Vec<(&String, &Call)> = mine
            .take_while(|((s, _), _)| *s == section)
            .map(|((_, m), c)| (m, c))
            .collect();
        mine.iter()
            .find(|(m, _)| other.samples.contains_key(&(section, (*m).clone())))
            .or(mine.first())
            .map(|(_, c)| *c)
    }
}

/// The section comparing calls of this role, if any.
fn section_of(role: Role) -> Option<DiffSection> {
    match role {
        Role::Warmup => Some(DiffSection::Warmup),
        Role::GitHistory => Some(DiffSection::GitHistory),
        Role::Title => Some(DiffSection::Title),
        Role::Topic => Some(DiffSection::Topic),
        Role::Quota => Some(DiffSection::Quota),
        _ => None,
    }
}

/// The tool that starts a subagent: 2.0.x's `Task`, 2.1.x's `Agent`.
fn starts_subagents(tools: &[String]) -> bool {
    tools.iter().any(|t| t == "Task" || t == "Agent")
}

/// What reading a side keeps while it goes through the entries.
#[derive(Default)]
struct Reading {
    best: Option<(Source, Call, (usize, i128))>,
    side_calls: BTreeSet<String>,
    samples: BTreeMap<(DiffSection, String), Call>,
    /// The earliest call with tools but no Task/Agent tool: a subagent's,
    /// if the main loop turns out to have one.
    subagent: Option<Call>,
}

impl Reading {
    fn keep_sample(&mut self, section: DiffSection, call: &Call) {
        let key = (section, call.model().to_owned());
        let earlier = self
            .samples
            .get(&key)
            .is_some_and(|c| c.started_nanos() <= call.started_nanos());
        if !earlier {
            self.samples.insert(key, call.clone());
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
    let mut r = Reading::default();
    for source in &sources {
        input::read_entries(source, |i, e| {
            let call = Call::from_entry(i, &e);
            call.warn_body(&source.name());
            let role = classify::role(&call);
            if role.is_side() {
                r.side_calls
                    .insert(format!("{} {}", role.name(), call.model()));
            }
            if let Some(section) = section_of(role) {
                r.keep_sample(section, &call);
            }
            let tools = match (&call.request, role) {
                (Some(req), Role::Main) => req.tool_names(),
                _ => Vec::new(),
            };
            if !tools.is_empty()
                && !starts_subagents(&tools)
                && r.subagent
                    .as_ref()
                    .is_none_or(|s| s.started_nanos() > call.started_nanos())
            {
                r.subagent = Some(call.clone());
            }
            let wanted = match entry {
                Some(n) => i == n,
                None => role == Role::Main,
            };
            if wanted {
                // More tools first (the agent loop, not a subagent), then earliest.
                let rank = (usize::MAX - tools.len(), call.started_nanos());
                if r.best.as_ref().is_none_or(|(_, _, b)| rank < *b) {
                    r.best = Some((source.clone(), call, rank));
                }
            }
            Ok(())
        })?;
    }
    let Some((source, call, _)) = r.best else {
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
    let main_tools = call
        .request
        .as_ref()
        .map(|q| q.tool_names())
        .unwrap_or_default();
    if let Some(sub) = r.subagent.filter(|s| {
        starts_subagents(&main_tools)
            && (s.index, s.started_nanos()) != (call.index, call.started_nanos())
    }) {
        r.side_calls
            .insert(format!("{} {}", DiffSection::Subagent.name(), sub.model()));
        r.samples
            .insert((DiffSection::Subagent, sub.model().to_owned()), sub);
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
        side_calls: r.side_calls,
        samples: r.samples,
    })
}

/// `--entry N` or `--entry N:M`.
pub fn entries_of(spec: Option<&str>) -> anyhow::Result<(Option<usize>, Option<usize>)> {
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

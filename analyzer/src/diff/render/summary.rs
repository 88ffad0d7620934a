//! One line per section saying what changed, read in seconds: the
//! `--stat` table, the top of the markdown, and `stat` in JSON.

use crate::cli::DiffSection;
use crate::diff::compare::{CallChange, Sections, SetChange, TextChange};
use crate::diff::structural::Change;
use crate::diff::tools::ToolsChange;
use serde_json::{json, Value};

/// How names are written: as is (text) or as markdown code; `None`
/// leaves them out (counts only, for a `<summary>` line).
pub type Code<'a> = Option<&'a dyn Fn(&str) -> String>;

/// At most this many names in a line; the `<details>` list them all.
const NAMES: usize = 12;

/// One section's line.
pub struct Headline {
    pub section: DiffSection,
    pub same: bool,
    pub text: String,
}

/// `A, B, C and 4 more`.
fn list(names: &[String], code: &dyn Fn(&str) -> String) -> String {
    let mut out: Vec<String> = names.iter().take(NAMES).map(|n| code(n)).collect();
    if names.len() > NAMES {
        let more = names.len() - NAMES;
        out.push(format!("and {more} more"));
    }
    out.join(", ")
}

fn counted(n: usize, what: &str, names: &[String], code: Code) -> Option<String> {
    (n > 0).then(|| match code {
        Some(code) => format!("{n} {what} ({})", list(names, code)),
        None => format!("{n} {what}"),
    })
}

pub fn tools_line(t: &ToolsChange, code: Code) -> String {
    let renamed = match code {
        Some(code) => {
            let pairs: Vec<String> = t
                .renamed
                .iter()
                .map(|r| format!("{} → {}", code(&r.old), code(&r.new)))
                .collect();
            format!("renamed {}", pairs.join(", "))
        }
        None => format!("{} renamed", t.renamed.len()),
    };
    let changed: Vec<String> = t.changed.iter().map(|c| c.name.clone()).collect();
    let mut parts: Vec<String> = [
        counted(t.added.len(), "added", &t.added, code),
        counted(t.removed.len(), "removed", &t.removed, code),
        (!t.renamed.is_empty()).then_some(renamed),
        counted(changed.len(), "changed", &changed, code),
    ]
    .into_iter()
    .flatten()
    .collect();
    if t.reordered {
        parts.push("sent in another order".into());
    }
    parts.join(", ")
}

pub fn lines_line(p: &TextChange) -> String {
    format!("+{} -{} lines", p.added_lines, p.removed_lines)
}

/// Paths in order, once each, with how they changed: `~model`,
/// `+thinking`, `-temperature`, `anthropic-beta[] (+6 -1)`.
fn params_marks(changes: &[Change]) -> Vec<String> {
    let mut paths: Vec<(&str, usize, usize, usize)> = Vec::new();
    for c in changes {
        let at = match paths.iter().position(|p| p.0 == c.path) {
            Some(i) => i,
            None => {
                paths.push((&c.path, 0, 0, 0));
                paths.len() - 1
            }
        };
        match c.sign() {
            '+' => paths[at].1 += 1,
            '-' => paths[at].2 += 1,
            _ => paths[at].3 += 1,
        }
    }
    paths
        .into_iter()
        .map(|(p, add, rem, chg)| match (add, rem, chg) {
            (1, 0, 0) => format!("+{p}"),
            (0, 1, 0) => format!("-{p}"),
            (0, 0, 1) => format!("~{p}"),
            _ => format!("{p} (+{add} -{rem})"),
        })
        .collect()
}

pub fn params_line(changes: &[Change], code: Code) -> String {
    let marks = params_marks(changes);
    match code {
        Some(code) => format!("{} changed: {}", marks.len(), list(&marks, code)),
        None => format!("{} changed", marks.len()),
    }
}

fn set_line(c: &SetChange, code: Code) -> String {
    [
        counted(c.added.len(), "added", &c.added, code),
        counted(c.removed.len(), "removed", &c.removed, code),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

fn call_line(c: &CallChange, code: Code) -> String {
    match (&c.old, &c.new) {
        (None, None) => return "on neither side".into(),
        (Some(o), None) => return format!("only in old: {o}"),
        (None, Some(n)) => return format!("only in new: {n}"),
        _ => {}
    }
    let mut parts = Vec::new();
    if !c.prompt.is_empty() {
        parts.push(format!("prompt {}", lines_line(&c.prompt)));
    }
    if !c.tools.is_empty() {
        parts.push(format!("tools {}", tools_line(&c.tools, code)));
    }
    if !c.params.is_empty() {
        parts.push(format!("params {}", params_line(&c.params, code)));
    }
    parts.join("; ")
}

/// A line per compared section, in the order printed.
pub fn headlines(s: &Sections, code: Code) -> Vec<Headline> {
    let mut out = Vec::new();
    let mut push = |section, same: bool, text: String| {
        let text = if same { "same".to_owned() } else { text };
        out.push(Headline {
            section,
            same,
            text,
        })
    };
    if let Some(p) = &s.prompt {
        push(DiffSection::Prompt, p.is_empty(), lines_line(p));
    }
    if let Some(t) = &s.tools {
        push(DiffSection::Tools, t.is_empty(), tools_line(t, code));
    }
    if let Some(p) = &s.params {
        push(DiffSection::Params, p.is_empty(), params_line(p, code));
    }
    if let Some(c) = &s.side_calls {
        push(DiffSection::SideCalls, c.is_empty(), set_line(c, code));
    }
    for c in &s.calls {
        let same = c.is_empty() && c.old.is_some();
        push(c.section, same, call_line(c, code));
    }
    out
}

fn tools_json(t: &ToolsChange) -> Value {
    json!({
        "added": t.added,
        "removed": t.removed,
        "renamed": t.renamed.iter().map(|r| json!({"old": r.old, "new": r.new})).collect::<Vec<_>>(),
        "changed": t.changed.iter().map(|c| &c.name).collect::<Vec<_>>(),
        "reordered": t.reordered,
    })
}

fn params_json(p: &[Change]) -> Value {
    json!({"changes": p.len(), "paths": params_marks(p)})
}

/// `stat` in JSON: counts and names per section, no diff text.
pub fn json(s: &Sections) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(p) = &s.prompt {
        m.insert(
            "prompt".into(),
            json!({"added_lines": p.added_lines, "removed_lines": p.removed_lines}),
        );
    }
    if let Some(t) = &s.tools {
        m.insert("tools".into(), tools_json(t));
    }
    if let Some(p) = &s.params {
        m.insert("params".into(), params_json(p));
    }
    if let Some(c) = &s.side_calls {
        m.insert(
            "side_calls".into(),
            json!({"added": c.added, "removed": c.removed}),
        );
    }
    for c in &s.calls {
        m.insert(
            c.section.name().into(),
            json!({
                "old": c.old,
                "new": c.new,
                "prompt": {"added_lines": c.prompt.added_lines, "removed_lines": c.prompt.removed_lines},
                "tools": tools_json(&c.tools),
                "params": params_json(&c.params),
            }),
        );
    }
    Value::Object(m)
}

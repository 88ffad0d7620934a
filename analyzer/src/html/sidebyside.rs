//! The two-archive view: `analyze diff`'s comparison (same sides, same
//! masks, same sections) laid out side by side, old left, new right.

use crate::diff::compare::{Sections, TextChange};
use crate::diff::render::summary::headlines;
use crate::diff::tools::{ToolDelta, ToolsChange};
use crate::diff::{self, structural::Change};
use crate::mask::Masks;
use serde::Serialize;
use std::path::Path;

/// One line of a side-by-side diff.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Row {
    /// `ctx`, `del` (old only), `add` (new only), `chg` (both), `hunk`.
    pub kind: &'static str,
    pub old_no: Option<usize>,
    pub old: Option<String>,
    pub new_no: Option<usize>,
    pub new: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ToolRows {
    pub name: String,
    pub description: Vec<Row>,
    /// Structural changes of the input schema and other fields, one line each.
    pub fields: Vec<String>,
}

/// One side call (title, topic check, git history, …) compared: the same
/// kind of call on each side, as `analyze diff` compares it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CallRows {
    pub name: String,
    /// `entry N (model)` on each side; one of them is absent when only one
    /// side made this call.
    pub old: Option<String>,
    pub new: Option<String>,
    pub prompt: Vec<Row>,
    /// Tool and parameter changes, one line each.
    pub lines: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CompareView {
    pub old: String,
    pub new: String,
    pub equal: bool,
    /// `(section, what changed)` lines, as `diff --stat` words them.
    pub summary: Vec<(String, String)>,
    pub prompt: Vec<Row>,
    pub tools_added: Vec<String>,
    pub tools_removed: Vec<String>,
    pub tools_replaced: Vec<String>,
    pub tools_reordered: bool,
    pub tools_changed: Vec<ToolRows>,
    pub params: Vec<String>,
    pub side_added: Vec<String>,
    pub side_removed: Vec<String>,
    pub calls: Vec<CallRows>,
}

/// Loads both sides as `analyze diff OLD NEW` does and compares them.
pub fn build(old: &Path, new: &Path, masks: &Masks) -> anyhow::Result<CompareView> {
    let a = diff::side::load_side(old, None)?;
    let b = diff::side::load_side(new, None)?;
    let s = diff::compare_sides(&a, &b, masks, &[], 3);
    Ok(view(&s, a.info.label(), b.info.label()))
}

fn lines(changes: &[Change]) -> Vec<String> {
    changes.iter().map(Change::line).collect()
}

pub fn view(s: &Sections, old: String, new: String) -> CompareView {
    let mut v = CompareView {
        old,
        new,
        equal: s.is_empty(),
        // `analyze diff --stat`'s lines, word for word.
        summary: headlines(s, Some(&|name: &str| name.to_owned()))
            .into_iter()
            .map(|h| (h.section.name().to_owned(), h.text))
            .collect(),
        ..CompareView::default()
    };
    if let Some(p) = &s.prompt {
        v.prompt = rows(p);
    }
    if let Some(t) = &s.tools {
        v.tools_added = t.added.clone();
        v.tools_removed = t.removed.clone();
        v.tools_reordered = t.reordered;
        v.tools_replaced = t
            .renamed
            .iter()
            .map(|r| {
                format!(
                    "{} → {} (renamed: shares {})",
                    r.old,
                    r.new,
                    r.shared_fields.join(", ")
                )
            })
            .collect();
        let renamed = t
            .renamed
            .iter()
            .filter(|r| !r.delta.is_empty())
            .map(|r| tool_rows(format!("{} → {}", r.old, r.new), &r.delta));
        let changed = t
            .changed
            .iter()
            .map(|c| tool_rows(c.name.clone(), &c.delta));
        v.tools_changed = renamed.chain(changed).collect();
    }
    if let Some(p) = &s.params {
        v.params = lines(p);
    }
    if let Some(c) = &s.side_calls {
        v.side_added = c.added.clone();
        v.side_removed = c.removed.clone();
    }
    for c in s.calls.iter().filter(|c| !c.is_empty()) {
        v.calls.push(CallRows {
            name: c.section.name().to_owned(),
            old: c.old.clone(),
            new: c.new.clone(),
            prompt: rows(&c.prompt),
            lines: tool_lines(&c.tools).chain(lines(&c.params)).collect(),
        });
    }
    v
}

fn tool_rows(name: String, d: &ToolDelta) -> ToolRows {
    ToolRows {
        name,
        description: d.description.as_ref().map(rows).unwrap_or_default(),
        fields: lines(&d.input_schema)
            .into_iter()
            .chain(lines(&d.other))
            .collect(),
    }
}

/// A side call's tool changes, one line each.
fn tool_lines(t: &ToolsChange) -> impl Iterator<Item = String> + '_ {
    let added = t.added.iter().map(|n| format!("tool + {n}"));
    let removed = t.removed.iter().map(|n| format!("tool − {n}"));
    let renamed = t
        .renamed
        .iter()
        .map(|r| format!("tool {} → {}", r.old, r.new));
    let changed = t.changed.iter().map(|c| format!("tool ~ {}", c.name));
    added.chain(removed).chain(renamed).chain(changed)
}

/// `@@ -a,b +c,d @@` → (a, c).
fn hunk_starts(line: &str) -> (usize, usize) {
    let num = |p: Option<&str>| {
        p.and_then(|s| s[1..].split(',').next()?.parse().ok())
            .unwrap_or(1)
    };
    let mut parts = line.split_whitespace().skip(1);
    (num(parts.next()), num(parts.next()))
}

/// A unified diff laid out in two columns: runs of removed and added
/// lines are paired row by row, context lines stand on both sides.
pub fn rows(change: &TextChange) -> Vec<Row> {
    let mut out = Vec::new();
    let (mut o, mut n) = (1, 1);
    let (mut dels, mut adds): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let flush = |out: &mut Vec<Row>,
                 dels: &mut Vec<String>,
                 adds: &mut Vec<String>,
                 o: &mut usize,
                 n: &mut usize| {
        for i in 0..dels.len().max(adds.len()) {
            let (d, a) = (dels.get(i).cloned(), adds.get(i).cloned());
            let kind = match (&d, &a) {
                (Some(_), Some(_)) => "chg",
                (Some(_), None) => "del",
                _ => "add",
            };
            let row = Row {
                kind,
                old_no: d.as_ref().map(|_| *o),
                new_no: a.as_ref().map(|_| *n),
                old: d,
                new: a,
            };
            *o += usize::from(row.old.is_some());
            *n += usize::from(row.new.is_some());
            out.push(row);
        }
        dels.clear();
        adds.clear();
    };
    for line in change.unified.lines() {
        if line.starts_with("---") || line.starts_with("+++") {
            continue;
        }
        if line.starts_with("@@") {
            flush(&mut out, &mut dels, &mut adds, &mut o, &mut n);
            (o, n) = hunk_starts(line);
            out.push(Row {
                kind: "hunk",
                old: Some(line.to_owned()),
                ..Row::default()
            });
        } else if let Some(l) = line.strip_prefix('-') {
            dels.push(l.to_owned());
        } else if let Some(l) = line.strip_prefix('+') {
            adds.push(l.to_owned());
        } else if !line.starts_with('\\') {
            flush(&mut out, &mut dels, &mut adds, &mut o, &mut n);
            let l = line.strip_prefix(' ').unwrap_or(line).to_owned();
            out.push(Row {
                kind: "ctx",
                old_no: Some(o),
                new_no: Some(n),
                old: Some(l.clone()),
                new: Some(l),
            });
            o += 1;
            n += 1;
        }
    }
    flush(&mut out, &mut dels, &mut adds, &mut o, &mut n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_and_added_lines_pair_up_beside_their_context() {
        let c = TextChange::of("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n", 3, ("old", "new"));
        let r = rows(&c);
        let kinds: Vec<&str> = r.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, ["hunk", "ctx", "chg", "ctx", "ctx", "add"]);
        assert_eq!(r[2].old.as_deref(), Some("b"));
        assert_eq!(r[2].new.as_deref(), Some("B"));
        assert_eq!((r[2].old_no, r[2].new_no), (Some(2), Some(2)));
        assert_eq!((r[5].old_no, r[5].new_no), (None, Some(5)));
        assert_eq!(r[5].new.as_deref(), Some("e"));
    }
}

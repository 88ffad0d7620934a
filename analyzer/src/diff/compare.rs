//! Comparing two [`Shape`]s section by section: the prompt as a unified
//! text diff, tools as added/removed/changed (description text diff and
//! input_schema structural diff), parameters structurally, side calls as
//! sets.

use super::shape::Shape;
use super::structural::{self, Change};
use serde::Serialize;
use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeSet;

/// A text diff: unified, with counts; empty when equal.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TextChange {
    pub added_lines: usize,
    pub removed_lines: usize,
    pub unified: String,
}

impl TextChange {
    pub fn of(old: &str, new: &str, context: usize, names: (&str, &str)) -> TextChange {
        if old == new {
            return TextChange::default();
        }
        // Both sides end in a newline, so a last line is not reported as
        // "no newline at end of file" only because text was appended.
        let (old, new) = (with_newline(old), with_newline(new));
        let d = TextDiff::from_lines(&old, &new);
        let (mut added, mut removed) = (0, 0);
        for c in d.iter_all_changes() {
            match c.tag() {
                ChangeTag::Insert => added += 1,
                ChangeTag::Delete => removed += 1,
                ChangeTag::Equal => {}
            }
        }
        let mut unified = d
            .unified_diff()
            .context_radius(context)
            .header(names.0, names.1)
            .to_string();
        if !unified.ends_with('\n') {
            unified.push('\n');
        }
        TextChange {
            added_lines: added,
            removed_lines: removed,
            unified,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added_lines == 0 && self.removed_lines == 0
    }
}

fn with_newline(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_empty() || s.ends_with('\n') {
        s.into()
    } else {
        format!("{s}\n").into()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolChange {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<TextChange>,
    pub input_schema: Vec<Change>,
    /// Changes to the tool's other fields (`defer_loading`, …).
    pub other: Vec<Change>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ToolsChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<ToolChange>,
    /// Whether the same tools are sent in a different order.
    pub reordered: bool,
    /// Removed and added tools that take the same input: likely one tool
    /// renamed (2.1.x's `Agent` for `Task`).
    pub replaced: Vec<Replaced>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Replaced {
    pub old: String,
    pub new: String,
    pub shared_fields: Vec<String>,
    /// How the new tool's input schema differs from the old one's.
    pub input_schema: Vec<Change>,
}

/// The names under an input schema's `properties`.
fn fields(schema: &Value) -> BTreeSet<String> {
    schema["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Pairs each added tool with the removed tool whose input fields it
/// shares most: at least two, and three quarters of the smaller set
/// (Claude Code 2.1.x's `Agent` keeps 4 of `Task`'s 5 fields).
fn replacements(old: &Shape, new: &Shape, added: &[String], removed: &[String]) -> Vec<Replaced> {
    let mut out: Vec<Replaced> = Vec::new();
    for a in added {
        let fa = fields(&new.tools[a].input_schema);
        let best = removed
            .iter()
            .filter(|r| !out.iter().any(|x| &x.old == *r))
            .map(|r| {
                let fr = fields(&old.tools[r].input_schema);
                let shared: Vec<String> = fa.intersection(&fr).cloned().collect();
                let smaller = fa.len().min(fr.len()).max(1);
                (r, shared.len() as f64 / smaller as f64, shared)
            })
            .filter(|(_, score, shared)| shared.len() >= 2 && *score >= 0.75)
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((r, _, shared)) = best {
            let input_schema =
                structural::diff(&old.tools[r].input_schema, &new.tools[a].input_schema);
            out.push(Replaced {
                old: r.clone(),
                new: a.clone(),
                shared_fields: shared,
                input_schema,
            });
        }
    }
    out
}

impl ToolsChange {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && !self.reordered
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SetChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl SetChange {
    pub fn of(old: &BTreeSet<String>, new: &BTreeSet<String>) -> SetChange {
        SetChange {
            added: new.difference(old).cloned().collect(),
            removed: old.difference(new).cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Each selected section's changes; `None` for sections not compared.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Sections {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<TextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<ToolsChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<Change>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side_calls: Option<SetChange>,
}

impl Sections {
    pub fn is_empty(&self) -> bool {
        self.prompt.as_ref().is_none_or(TextChange::is_empty)
            && self.tools.as_ref().is_none_or(ToolsChange::is_empty)
            && self.params.as_ref().is_none_or(Vec::is_empty)
            && self.side_calls.as_ref().is_none_or(SetChange::is_empty)
    }
}

pub fn prompt(old: &Shape, new: &Shape, context: usize) -> TextChange {
    TextChange::of(
        &old.prompt,
        &new.prompt,
        context,
        ("old/prompt", "new/prompt"),
    )
}

pub fn tools(old: &Shape, new: &Shape, context: usize) -> ToolsChange {
    let added: Vec<String> = new
        .tool_order
        .iter()
        .filter(|n| !old.tools.contains_key(*n))
        .cloned()
        .collect();
    let removed: Vec<String> = old
        .tool_order
        .iter()
        .filter(|n| !new.tools.contains_key(*n))
        .cloned()
        .collect();
    let mut changed = Vec::new();
    for name in old.tool_order.iter().filter(|n| new.tools.contains_key(*n)) {
        let (a, b) = (&old.tools[name], &new.tools[name]);
        let description = (a.description != b.description).then(|| {
            let names = (
                format!("old/{name}.description"),
                format!("new/{name}.description"),
            );
            TextChange::of(
                &a.description,
                &b.description,
                context,
                (&names.0, &names.1),
            )
        });
        let input_schema = structural::diff(&a.input_schema, &b.input_schema);
        let other = structural::diff(&a.other, &b.other);
        if description.is_some() || !input_schema.is_empty() || !other.is_empty() {
            changed.push(ToolChange {
                name: name.clone(),
                description,
                input_schema,
                other,
            });
        }
    }
    let common = |s: &Shape, o: &Shape| -> Vec<String> {
        s.tool_order
            .iter()
            .filter(|n| o.tools.contains_key(*n))
            .cloned()
            .collect()
    };
    let reordered = common(old, new) != common(new, old);
    let replaced = replacements(old, new, &added, &removed);
    ToolsChange {
        added,
        removed,
        changed,
        reordered,
        replaced,
    }
}

pub fn params(old: &Shape, new: &Shape) -> Vec<Change> {
    structural::diff(&old.params, &new.params)
}

/// A JSON object of the sections, for `--format json`.
pub fn to_json(s: &Sections) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::testkit::*;
    use crate::call::Call;
    use crate::mask::Masks;

    fn shape(body: serde_json::Value, ua: &str) -> Shape {
        Shape::of(
            &Call::from_entry(0, &streamed(ua, &body, (1, 1, 0, 0), "x")),
            &Masks::claude_code(),
        )
    }

    #[test]
    fn an_added_tool_and_a_changed_schema() {
        let old = main_body("claude-sonnet-4-5-20250929", &["Task", "Bash"], "p");
        let mut new = main_body(
            "claude-sonnet-4-5-20250929",
            &["Task", "Bash", "Skill"],
            "p",
        );
        new["tools"][0]["input_schema"]["properties"]["x"]["type"] = serde_json::json!("number");
        new["tools"][0]["description"] = serde_json::json!("The Task tool.\nNow with agents.");
        let t = tools(&shape(old, UA_2_0), &shape(new, UA_2_0), 3);
        assert_eq!(t.added, ["Skill"]);
        assert!(t.removed.is_empty());
        assert_eq!(t.changed.len(), 1);
        assert_eq!(t.changed[0].name, "Task");
        assert_eq!(
            t.changed[0].input_schema[0].line(),
            r#"~ properties.x.type: "string" → "number""#
        );
        let d = t.changed[0].description.as_ref().unwrap();
        assert_eq!(
            (d.added_lines, d.removed_lines),
            (1, 0),
            "an appended line only"
        );
        assert!(d.unified.contains("+Now with agents."), "{}", d.unified);
    }

    #[test]
    fn params_show_new_fields_and_betas_as_sets() {
        let old = shape(main_body("m", &["Bash"], "p"), UA_2_0);
        let mut body = main_body("m", &["Bash"], "p");
        body["thinking"] = serde_json::json!({"type": "adaptive"});
        let new = shape(body, UA_2_1);
        let lines: Vec<String> = params(&old, &new).iter().map(Change::line).collect();
        assert_eq!(
            lines,
            [
                r#"~ client_version: "2.0.50" → "2.1.332""#,
                r#"+ thinking: {"type":"adaptive"}"#
            ]
        );
    }

    #[test]
    fn equal_shapes_are_empty_sections() {
        let a = shape(main_body("m", &["Bash"], "p"), UA_2_0);
        let s = Sections {
            prompt: Some(prompt(&a, &a, 3)),
            tools: Some(tools(&a, &a, 3)),
            params: Some(params(&a, &a)),
            side_calls: Some(SetChange::default()),
        };
        assert!(s.is_empty());
    }
}

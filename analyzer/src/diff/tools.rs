//! Comparing two tool sets: added, removed, renamed and changed tools.
//!
//! A removed tool and an added one that take the same input are one tool
//! renamed (2.1.x's `Agent` for `Task`): reported once, as a rename with
//! its description and schema changes, and in neither added nor removed.

use super::compare::TextChange;
use super::shape::{Shape, ToolShape};
use super::structural::{self, Change};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// How one tool differs between the sides.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ToolDelta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<TextChange>,
    pub input_schema: Vec<Change>,
    /// Changes to the tool's other fields (`defer_loading`, …).
    pub other: Vec<Change>,
}

impl ToolDelta {
    fn of(old: &ToolShape, new: &ToolShape, names: (&str, &str), context: usize) -> ToolDelta {
        let description = (old.description != new.description).then(|| {
            let (a, b) = (
                format!("old/{}.description", names.0),
                format!("new/{}.description", names.1),
            );
            TextChange::of(&old.description, &new.description, context, (&a, &b))
        });
        ToolDelta {
            description,
            input_schema: structural::diff(&old.input_schema, &new.input_schema),
            other: structural::diff(&old.other, &new.other),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.input_schema.is_empty() && self.other.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolChange {
    pub name: String,
    #[serde(flatten)]
    pub delta: ToolDelta,
}

/// A tool sent under a new name: `old` → `new`, with what else changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Renamed {
    pub old: String,
    pub new: String,
    /// The input fields both names take (why it counts as a rename).
    pub shared_fields: Vec<String>,
    #[serde(flatten)]
    pub delta: ToolDelta,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ToolsChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub renamed: Vec<Renamed>,
    pub changed: Vec<ToolChange>,
    /// Whether the same tools are sent in a different order.
    pub reordered: bool,
}

impl ToolsChange {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.renamed.is_empty()
            && self.changed.is_empty()
            && !self.reordered
    }
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
fn renames(
    old: &Shape,
    new: &Shape,
    added: &[String],
    removed: &[String],
) -> Vec<(String, String, Vec<String>)> {
    let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
    for a in added {
        let fa = fields(&new.tools[a].input_schema);
        let best = removed
            .iter()
            .filter(|r| !out.iter().any(|x| &x.0 == *r))
            .map(|r| {
                let fr = fields(&old.tools[r].input_schema);
                let shared: Vec<String> = fa.intersection(&fr).cloned().collect();
                let smaller = fa.len().min(fr.len()).max(1);
                (r, shared.len() as f64 / smaller as f64, shared)
            })
            .filter(|(_, score, shared)| shared.len() >= 2 && *score >= 0.75)
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((r, _, shared)) = best {
            out.push((r.clone(), a.clone(), shared));
        }
    }
    out
}

pub fn tools(old: &Shape, new: &Shape, context: usize) -> ToolsChange {
    let only_in = |s: &Shape, o: &Shape| -> Vec<String> {
        s.tool_order
            .iter()
            .filter(|n| !o.tools.contains_key(*n))
            .cloned()
            .collect()
    };
    let (mut added, mut removed) = (only_in(new, old), only_in(old, new));
    let renamed: Vec<Renamed> = renames(old, new, &added, &removed)
        .into_iter()
        .map(|(o, n, shared_fields)| Renamed {
            delta: ToolDelta::of(&old.tools[&o], &new.tools[&n], (&o, &n), context),
            old: o,
            new: n,
            shared_fields,
        })
        .collect();
    added.retain(|a| !renamed.iter().any(|r| &r.new == a));
    removed.retain(|a| !renamed.iter().any(|r| &r.old == a));
    let changed = old
        .tool_order
        .iter()
        .filter(|n| new.tools.contains_key(*n))
        .map(|name| ToolChange {
            name: name.clone(),
            delta: ToolDelta::of(&old.tools[name], &new.tools[name], (name, name), context),
        })
        .filter(|c| !c.delta.is_empty())
        .collect();
    let common = |s: &Shape, o: &Shape| -> Vec<String> {
        s.tool_order
            .iter()
            .filter(|n| o.tools.contains_key(*n))
            .cloned()
            .collect()
    };
    ToolsChange {
        added,
        removed,
        renamed,
        changed,
        reordered: common(old, new) != common(new, old),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::testkit::*;

    use crate::diff::shape::of_body as shape;

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
        assert!(t.removed.is_empty() && t.renamed.is_empty());
        assert_eq!(t.changed.len(), 1);
        assert_eq!(t.changed[0].name, "Task");
        assert_eq!(
            t.changed[0].delta.input_schema[0].line(),
            r#"~ properties.x.type: "string" → "number""#
        );
        let d = t.changed[0].delta.description.as_ref().unwrap();
        assert_eq!(
            (d.added_lines, d.removed_lines),
            (1, 0),
            "an appended line only"
        );
        assert!(d.unified.contains("+Now with agents."), "{}", d.unified);
    }

    #[test]
    fn a_renamed_tool_is_reported_once_with_its_changes() {
        let mut old = main_body("m", &["Task", "Bash"], "p");
        let mut new = main_body("m", &["Agent", "Bash"], "p");
        for body in [&mut old, &mut new] {
            body["tools"][0]["input_schema"]["properties"]["z"] =
                serde_json::json!({"type": "string"});
        }
        new["tools"][0]["description"] = serde_json::json!("The Agent tool.\nStarts a subagent.");
        new["tools"][0]["input_schema"]["properties"]["y"] = serde_json::json!({"type": "string"});
        let t = tools(&shape(old, UA_2_0), &shape(new, UA_2_1), 3);
        assert!(t.added.is_empty(), "{:?}", t.added);
        assert!(t.removed.is_empty(), "{:?}", t.removed);
        assert!(t.changed.is_empty());
        assert_eq!(t.renamed.len(), 1);
        let r = &t.renamed[0];
        assert_eq!((r.old.as_str(), r.new.as_str()), ("Task", "Agent"));
        assert_eq!(
            r.delta.input_schema[0].line(),
            r#"+ properties.y: {"type":"string"}"#
        );
        let d = r.delta.description.as_ref().unwrap();
        assert!(
            d.unified.contains("--- old/Task.description"),
            "{}",
            d.unified
        );
        assert!(d.unified.contains("+Starts a subagent."), "{}", d.unified);
    }
}

//! Comparing two [`Shape`]s section by section: the prompt as a unified
//! text diff, tools ([`super::tools`]), parameters structurally, side calls
//! as sets, and one call of each side-call kind as a whole.

use super::shape::Shape;
use super::structural::{self, Change};
use super::tools::{self, ToolsChange};
use crate::call::Call;
use crate::cli::DiffSection;
use crate::mask::Masks;
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

/// One side call compared: the same kind of call on each side (or on one
/// side only, when that is all there is).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallChange {
    #[serde(skip)]
    pub section: DiffSection,
    /// `entry N (model)` of the call compared on each side.
    pub old: Option<String>,
    pub new: Option<String>,
    pub prompt: TextChange,
    pub tools: ToolsChange,
    pub params: Vec<Change>,
}

impl CallChange {
    pub fn of(
        section: DiffSection,
        old: Option<&Call>,
        new: Option<&Call>,
        masks: &Masks,
        context: usize,
    ) -> CallChange {
        let label = |c: &Call| format!("entry {} ({})", c.index, c.model());
        let mut change = CallChange {
            section,
            old: old.map(label),
            new: new.map(label),
            prompt: TextChange::default(),
            tools: ToolsChange::default(),
            params: Vec::new(),
        };
        if let (Some(a), Some(b)) = (old, new) {
            let (a, b) = (Shape::of(a, masks), Shape::of(b, masks));
            let name = section.name();
            change.prompt = TextChange::of(
                &a.prompt,
                &b.prompt,
                context,
                (&format!("old/{name}/prompt"), &format!("new/{name}/prompt")),
            );
            change.tools = tools::tools(&a, &b, context);
            change.params = params(&a, &b);
        }
        change
    }

    /// Present on one side only.
    pub fn one_sided(&self) -> bool {
        self.old.is_none() != self.new.is_none()
    }

    pub fn is_empty(&self) -> bool {
        !self.one_sided()
            && self.prompt.is_empty()
            && self.tools.is_empty()
            && self.params.is_empty()
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
    /// The side-call sections compared, in [`DiffSection::SIDE_CALLS`] order.
    #[serde(skip)]
    pub calls: Vec<CallChange>,
}

impl Sections {
    pub fn is_empty(&self) -> bool {
        self.prompt.as_ref().is_none_or(TextChange::is_empty)
            && self.tools.as_ref().is_none_or(ToolsChange::is_empty)
            && self.params.as_ref().is_none_or(Vec::is_empty)
            && self.side_calls.as_ref().is_none_or(SetChange::is_empty)
            && self.calls.iter().all(CallChange::is_empty)
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

pub fn params(old: &Shape, new: &Shape) -> Vec<Change> {
    structural::diff(&old.params, &new.params)
}

/// A JSON object of the sections, for `--format json`: side-call
/// sections under their names (`title`, `git-history`, …).
pub fn to_json(s: &Sections) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        for c in &s.calls {
            m.insert(
                c.section.name().to_owned(),
                serde_json::to_value(c).unwrap_or(Value::Null),
            );
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::testkit::*;

    use crate::diff::shape::of_body as shape;

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
            tools: Some(tools::tools(&a, &a, 3)),
            params: Some(params(&a, &a)),
            side_calls: Some(SetChange::default()),
            calls: vec![],
        };
        assert!(s.is_empty());
    }
}

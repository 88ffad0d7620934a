//! Structural diff of two JSON values: a list of changes, each at a path
//! like `properties.foo.type`. Arrays of scalars compare as sets (`required`,
//! `anthropic-beta`); other arrays compare element by element (`items[0]`).

use serde::Serialize;
use serde_json::Value;

/// One difference. `old` is absent for an addition, `new` for a removal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

impl Change {
    /// `+`, `-` or `~`.
    pub fn sign(&self) -> char {
        match (&self.old, &self.new) {
            (None, _) => '+',
            (_, None) => '-',
            _ => '~',
        }
    }

    /// One line: `~ properties.x.type: "string" → "number"`.
    pub fn line(&self) -> String {
        let show = |v: &Option<Value>| v.as_ref().map(short).unwrap_or_default();
        match self.sign() {
            '+' => format!("+ {}: {}", self.path, show(&self.new)),
            '-' => format!("- {}: {}", self.path, show(&self.old)),
            _ => format!("~ {}: {} → {}", self.path, show(&self.old), show(&self.new)),
        }
    }
}

/// Compact JSON, long values cut in the middle so a line stays readable.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 160 {
        return s;
    }
    let head: String = s.chars().take(100).collect();
    let tail: String = s
        .chars()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head} … {tail} ({} chars)", s.chars().count())
}

/// Every difference between `old` and `new`.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                match b.get(k) {
                    Some(vb) => walk(&join(path, k), va, vb, out),
                    None => out.push(Change {
                        path: join(path, k),
                        old: Some(va.clone()),
                        new: None,
                    }),
                }
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                out.push(Change {
                    path: join(path, k),
                    old: None,
                    new: Some(vb.clone()),
                });
            }
        }
        (Value::Array(a), Value::Array(b)) if all_scalars(a) && all_scalars(b) => {
            let p = format!("{path}[]");
            for v in a.iter().filter(|v| !b.contains(v)) {
                out.push(Change {
                    path: p.clone(),
                    old: Some(v.clone()),
                    new: None,
                });
            }
            for v in b.iter().filter(|v| !a.contains(v)) {
                out.push(Change {
                    path: p.clone(),
                    old: None,
                    new: Some(v.clone()),
                });
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let p = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => walk(&p, x, y, out),
                    (Some(x), None) => out.push(Change {
                        path: p,
                        old: Some(x.clone()),
                        new: None,
                    }),
                    (None, Some(y)) => out.push(Change {
                        path: p,
                        old: None,
                        new: Some(y.clone()),
                    }),
                    (None, None) => {}
                }
            }
        }
        (a, b) if a != b => out.push(Change {
            path: path.to_owned(),
            old: Some(a.clone()),
            new: Some(b.clone()),
        }),
        _ => {}
    }
}

fn all_scalars(items: &[Value]) -> bool {
    items.iter().all(|v| !v.is_object() && !v.is_array())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_changes_have_dotted_paths() {
        let old = json!({"type": "object", "properties": {"a": {"type": "string"}, "gone": {"type": "number"}}, "required": ["a", "gone"]});
        let new = json!({"type": "object", "properties": {"a": {"type": "number"}, "added": {"type": "boolean"}}, "required": ["a", "added"]});
        let lines: Vec<String> = diff(&old, &new).iter().map(Change::line).collect();
        assert_eq!(
            lines,
            [
                r#"~ properties.a.type: "string" → "number""#,
                r#"- properties.gone: {"type":"number"}"#,
                r#"+ properties.added: {"type":"boolean"}"#,
                r#"- required[]: "gone""#,
                r#"+ required[]: "added""#,
            ]
        );
    }

    #[test]
    fn equal_values_and_reordered_sets_have_no_changes() {
        assert!(diff(
            &json!({"a": [1, 2], "b": {"c": null}}),
            &json!({"b": {"c": null}, "a": [2, 1]})
        )
        .is_empty());
    }

    #[test]
    fn object_arrays_compare_by_index_and_long_values_are_cut() {
        let c = diff(
            &json!({"edits": [{"type": "a"}]}),
            &json!({"edits": [{"type": "b"}, {"type": "c"}]}),
        );
        assert_eq!(c[0].path, "edits[0].type");
        assert_eq!(c[1].line(), r#"+ edits[1]: {"type":"c"}"#);
        let long = Change {
            path: "d".into(),
            old: None,
            new: Some(json!("x".repeat(500))),
        };
        assert!(long.line().ends_with("(502 chars)"), "{}", long.line());
    }
}

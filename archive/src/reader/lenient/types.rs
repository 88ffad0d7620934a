//! Bringing one JSON field to the type the model wants, noting what was
//! changed.
use serde_json::{Map, Number, Value};

/// One field of one entry that was not as HAR 1.2 has it, and what the
/// reader made of it. Shown as `entries[17].response.content.size:
/// expected number, found string "12"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldWarning {
    /// The JSON path inside the entry: `response.content.size`.
    pub path: String,
    /// What was wrong and what was done: `expected number, found string`.
    pub problem: String,
    /// The value found, shortened (may be empty).
    pub found: String,
}

impl FieldWarning {
    /// Whether it says a string of the entry was cut while reading (longer
    /// than [`crate::reader::MAX_STRING`]): a copy of the entry would lose
    /// the string's end.
    pub fn is_cut_string(&self) -> bool {
        self.path.is_empty() && self.problem.starts_with(crate::reader::cap::CUT_PROBLEM)
    }

    /// The same path and problem in another entry (array indexes left
    /// out) is the same kind: warned about once per file.
    pub fn kind(&self) -> String {
        let mut kind = String::with_capacity(self.path.len() + self.problem.len() + 2);
        let mut in_index = false;
        for c in self.path.chars() {
            match c {
                '[' => in_index = true,
                ']' => in_index = false,
                _ if !in_index => kind.push(c),
                _ => {}
            }
        }
        kind.push_str(": ");
        kind.push_str(&self.problem);
        kind
    }

    /// The message for the entry at `index`.
    pub fn message(&self, index: usize) -> String {
        let sep = if self.path.is_empty() { "" } else { "." };
        let found = if self.found.is_empty() {
            String::new()
        } else {
            format!(" {}", self.found)
        };
        format!(
            "entries[{index}]{sep}{}: {}{found}",
            self.path, self.problem
        )
    }
}

/// What to do with a field that is absent or `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Need {
    /// Leave it out (the model has an `Option`).
    Optional,
    /// Fill the default silently (browser HARs routinely omit it).
    Fill,
    /// Fill the default and warn: something a reader needs is missing.
    Warn,
}

/// The warnings gathered over one entry.
#[derive(Default)]
pub(super) struct Fix {
    pub(super) warnings: Vec<FieldWarning>,
}

impl Fix {
    pub(super) fn note(&mut self, path: &str, key: &str, problem: &str, found: &str) {
        let path = match (path.is_empty(), key.is_empty()) {
            (true, _) => key.to_owned(),
            (false, true) => path.to_owned(),
            (false, false) => format!("{path}.{key}"),
        };
        self.warnings.push(FieldWarning {
            path,
            problem: problem.to_owned(),
            found: found.to_owned(),
        });
    }

    /// Handles an absent or null field; `Some` when it holds a value to
    /// check.
    fn present<'a>(
        &mut self,
        map: &'a mut Map<String, Value>,
        path: &str,
        key: &str,
        need: Need,
        default: impl FnOnce() -> Value,
    ) -> Option<&'a mut Value> {
        if map.get(key).is_none_or(Value::is_null) {
            match need {
                Need::Optional => {
                    map.remove(key);
                }
                Need::Warn => {
                    self.note(path, key, "missing, left empty", "");
                    map.insert(key.to_owned(), default());
                }
                Need::Fill => {
                    map.insert(key.to_owned(), default());
                }
            }
            return None;
        }
        map.get_mut(key)
    }

    /// A string; numbers and booleans are written out, an array of
    /// strings is joined with `, ` (a header sent twice), an object is
    /// kept as its JSON text.
    pub(super) fn string(
        &mut self,
        map: &mut Map<String, Value>,
        path: &str,
        key: &str,
        need: Need,
    ) {
        let Some(v) = self.present(map, path, key, need, || Value::from("")) else {
            return;
        };
        let text = match v {
            Value::String(_) => return,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            Value::Object(_) => v.to_string(),
            Value::Null => String::new(),
        };
        let problem = format!("expected string, found {}", type_name(v));
        let found = sample(v);
        *v = Value::String(text);
        self.note(path, key, &problem, &found);
    }

    /// An integer: `12.0` is taken silently, `"12"` and `12.5` with a
    /// warning; anything else becomes `default`.
    pub(super) fn integer(
        &mut self,
        map: &mut Map<String, Value>,
        path: &str,
        key: &str,
        need: Need,
        default: i64,
    ) {
        let Some(v) = self.present(map, path, key, need, || Value::from(default)) else {
            return;
        };
        if v.is_i64() || v.is_u64() && v.as_u64().is_some_and(|n| n <= i64::MAX as u64) {
            return;
        }
        if let Some(f) = v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
            *v = Value::from(f as i64);
            return;
        }
        let parsed = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|f| f.is_finite() && f.abs() < 9.0e15);
        let (problem, new) = match parsed {
            Some(f) => (
                format!("expected integer, found {}", type_name(v)),
                f.round() as i64,
            ),
            None => (
                format!(
                    "expected integer, found {}, read as {default}",
                    type_name(v)
                ),
                default,
            ),
        };
        let found = sample(v);
        *v = Value::from(new);
        self.note(path, key, &problem, &found);
    }

    /// A number; `"12.5"` is read with a warning, anything else that is
    /// not a number becomes `default`.
    pub(super) fn number(
        &mut self,
        map: &mut Map<String, Value>,
        path: &str,
        key: &str,
        need: Need,
        default: f64,
    ) {
        let Some(v) = self.present(map, path, key, need, || Value::from(default)) else {
            return;
        };
        if v.is_number() {
            return;
        }
        let parsed = v
            .as_str()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .and_then(Number::from_f64);
        let (problem, new) = match parsed {
            Some(n) => (format!("expected number, found {}", type_name(v)), n),
            None => (
                format!("expected number, found {}, read as {default}", type_name(v)),
                Number::from_f64(default).unwrap_or_else(|| Number::from(0)),
            ),
        };
        let found = sample(v);
        *v = Value::Number(new);
        self.note(path, key, &problem, &found);
    }

    /// An optional boolean: `"true"`/`"false"` and `0`/`1` are read with a
    /// warning; anything else is dropped with one.
    pub(super) fn boolean(&mut self, map: &mut Map<String, Value>, path: &str, key: &str) {
        let Some(v) = self.present(map, path, key, Need::Optional, || Value::Null) else {
            return;
        };
        if v.is_boolean() {
            return;
        }
        let parsed = match v {
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
            Value::Number(n) if n.as_f64() == Some(1.0) => Some(true),
            Value::Number(n) if n.as_f64() == Some(0.0) => Some(false),
            _ => None,
        };
        let found = sample(v);
        let problem = format!("expected boolean, found {}", type_name(v));
        match parsed {
            Some(b) => {
                *v = Value::Bool(b);
                self.note(path, key, &problem, &found);
            }
            None => {
                map.remove(key);
                self.note(path, key, &format!("{problem}, left out"), &found);
            }
        }
    }

    /// An object; anything else (`cache: []`) is replaced by an empty one.
    pub(super) fn object<'a>(
        &mut self,
        map: &'a mut Map<String, Value>,
        path: &str,
        key: &str,
        need: Need,
    ) -> Option<&'a mut Map<String, Value>> {
        let default = || Value::Object(Map::new());
        if self.present(map, path, key, need, default).is_none() && need == Need::Optional {
            return None;
        }
        let v = map.get_mut(key)?;
        if !v.is_object() {
            let problem = format!("expected object, found {}, left empty", type_name(v));
            let found = sample(v);
            *v = default();
            self.note(path, key, &problem, &found);
        }
        v.as_object_mut()
    }

    /// An array; anything else is replaced by an empty one.
    pub(super) fn array<'a>(
        &mut self,
        map: &'a mut Map<String, Value>,
        path: &str,
        key: &str,
        need: Need,
    ) -> Option<&'a mut Vec<Value>> {
        let default = || Value::Array(Vec::new());
        if self.present(map, path, key, need, default).is_none() && need == Need::Optional {
            return None;
        }
        let v = map.get_mut(key)?;
        if !v.is_array() {
            let problem = format!("expected array, found {}, left empty", type_name(v));
            let found = sample(v);
            *v = default();
            self.note(path, key, &problem, &found);
        }
        v.as_array_mut()
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The value as JSON, cut to a readable length.
pub(super) fn sample(v: &Value) -> String {
    const MAX: usize = 40;
    let text = v.to_string();
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

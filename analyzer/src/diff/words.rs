//! Inside a unified diff: its hunks, and the words that changed where a
//! line changed only a little (a removed line followed by the added line
//! that replaces it, sharing at least half their words).

use similar::{ChangeTag, TextDiff};

/// A hunk of a unified diff: its `@@` line and its lines (each starting
/// with ` `, `-` or `+`).
#[derive(Debug, PartialEq)]
pub struct Hunk<'a> {
    pub header: &'a str,
    pub lines: Vec<&'a str>,
}

/// The hunks of a unified diff as [`super::compare::TextChange`] holds it
/// (the `---`/`+++` lines are left out: the section names the sides).
pub fn hunks(unified: &str) -> Vec<Hunk<'_>> {
    let mut out: Vec<Hunk> = Vec::new();
    for line in unified.lines() {
        if line.starts_with("@@") {
            out.push(Hunk {
                header: line,
                lines: Vec::new(),
            });
        } else if let Some(h) = out.last_mut() {
            h.lines.push(line);
        }
    }
    out
}

/// A run of a line's text, and whether it changed.
pub type Piece = (bool, String);

/// How much of two lines' words must be the same for a word-level view.
const SIMILAR: f64 = 0.6;

/// The word-level diff of two lines, or `None` when they share too
/// little for one to help (a rewrite reads better as two lines).
fn word_diff(old: &str, new: &str) -> Option<Vec<(ChangeTag, String)>> {
    let d = TextDiff::from_words(old, new);
    // Words only: shared spaces would make any two sentences look alike.
    let (mut same, mut other) = (0usize, 0usize);
    for c in d
        .iter_all_changes()
        .filter(|c| !c.value().trim().is_empty())
    {
        match c.tag() {
            ChangeTag::Equal => same += 2,
            _ => other += 1,
        }
    }
    if same == 0 || (same as f64) < SIMILAR * (same + other) as f64 {
        return None;
    }
    let mut out: Vec<(ChangeTag, String)> = Vec::new();
    for c in d.iter_all_changes() {
        match out.last_mut() {
            Some((tag, text)) if *tag == c.tag() => text.push_str(c.value()),
            _ => out.push((c.tag(), c.value().to_owned())),
        }
    }
    Some(out)
}

/// For each line of a hunk, its pieces when it is one of a pair that
/// changed a little (else `None`: print it whole).
pub fn marks(lines: &[&str]) -> Vec<Option<Vec<Piece>>> {
    let mut out: Vec<Option<Vec<Piece>>> = vec![None; lines.len()];
    for (old_at, new_at) in pairs(lines) {
        let Some(diff) = word_diff(&lines[old_at][1..], &lines[new_at][1..]) else {
            continue;
        };
        let side = |skip: ChangeTag| -> Vec<Piece> {
            diff.iter()
                .filter(|(t, _)| *t != skip)
                .map(|(t, s)| (*t != ChangeTag::Equal, s.clone()))
                .collect()
        };
        out[old_at] = Some(side(ChangeTag::Insert));
        out[new_at] = Some(side(ChangeTag::Delete));
    }
    out
}

/// `(removed, added)` line indexes: the i-th line of a run of removals
/// with the i-th line of the additions right after it.
pub fn pairs(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        while i < lines.len() && lines[i].starts_with('-') {
            i += 1;
        }
        let removed = start..i;
        let added_start = i;
        while i < lines.len() && lines[i].starts_with('+') {
            i += 1;
        }
        out.extend(removed.zip(added_start..i));
        if i == start {
            i += 1;
        }
    }
    out
}

/// Backslash-escapes what markdown would read as markup.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\`*_~[]<>#|&!$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Words of context kept around a change in [`md_line`].
const CONTEXT_WORDS: usize = 6;

/// One changed line for markdown: unchanged text (cut to a few words
/// around each change), `~~removed~~` and `**added**`.
pub fn md_line(old: &str, new: &str) -> Option<String> {
    let diff = word_diff(old, new)?;
    let last = diff.len().saturating_sub(1);
    let mut out = String::new();

    for (i, (tag, text)) in diff.iter().enumerate() {
        match tag {
            ChangeTag::Equal => out.push_str(&md_escape(&context(text, i == 0, i == last))),
            ChangeTag::Delete => out.push_str(&emphasis("~~", text)),
            ChangeTag::Insert => {
                // `~~old~~ **new**`, not `~~old~~**new**`.
                if i > 0 && diff[i - 1].0 == ChangeTag::Delete {
                    out.push(' ');
                }
                out.push_str(&emphasis("**", text));
            }
        }
    }
    // A line starting `- ` or `1. ` would open a list inside the list.
    let digits = out.len() - out.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if out.starts_with(['-', '+']) || (digits > 0 && out[digits..].starts_with(['.', ')'])) {
        out.insert(0, '\\');
    }
    Some(out)
}

/// Unchanged text between changes, shortened to a few words each side.
fn context(text: &str, first: bool, last: bool) -> String {
    let words: Vec<&str> = text.split_inclusive(char::is_whitespace).collect();
    if words.len() <= 2 * CONTEXT_WORDS {
        return text.to_owned();
    }
    let head: String = words[..CONTEXT_WORDS].concat();
    let tail: String = words[words.len() - CONTEXT_WORDS..].concat();
    match (first, last) {
        (true, true) => text.to_owned(),
        (true, false) => format!("…{tail}"),
        (false, true) => format!("{head}…"),
        (false, false) => format!("{head}… {tail}"),
    }
}

/// `**word**` with the whitespace around the word kept outside the
/// markers (markdown ignores `** word**`); whitespace-only is shown as is.
fn emphasis(marker: &str, text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return text.to_owned();
    }
    let start = text.len() - text.trim_start().len();
    let end = start + trimmed.len();
    format!(
        "{}{marker}{}{marker}{}",
        &text[..start],
        md_escape(trimmed),
        &text[end..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_changed_a_little_has_its_words_marked() {
        let lines = [
            " same",
            "-Use the Task tool to start an agent.",
            "+Use the Agent tool to start an agent.",
            "-Completely different old text here",
            "+Nothing alike at all, truly",
        ];
        let m = marks(&lines);
        assert_eq!(m[0], None);
        let old = m[1].as_ref().unwrap();
        assert!(old.contains(&(true, "Task".to_owned())), "{old:?}");
        assert!(!old.iter().any(|(c, s)| *c && s == "Agent"), "{old:?}");
        let new = m[2].as_ref().unwrap();
        assert!(new.contains(&(true, "Agent".to_owned())), "{new:?}");
        assert_eq!(
            new.iter().map(|p| p.1.as_str()).collect::<String>(),
            &lines[2][1..],
            "the pieces spell the line"
        );
        assert_eq!((&m[3], &m[4]), (&None, &None), "a rewrite is shown whole");
    }

    #[test]
    fn markdown_words_are_escaped_and_cut_to_their_context() {
        let old =
            "one two three four five six seven eight nine ten eleven twelve thirteen Task *x* end";
        let new =
            "one two three four five six seven eight nine ten eleven twelve thirteen Agent *x* end";
        let md = md_line(old, new).unwrap();
        assert_eq!(
            md,
            "…eight nine ten eleven twelve thirteen ~~Task~~ **Agent** \\*x\\* end"
        );
        assert_eq!(md_line("a b", "x y z w"), None);
        let listy = md_line("- If there are no changes", "- If there are no edits").unwrap();
        assert!(listy.starts_with("\\- If there"), "{listy}");
    }

    #[test]
    fn hunks_leave_out_the_file_header() {
        let u = "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n@@ -9 +9 @@\n z\n";
        let h = hunks(u);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].header, "@@ -1 +1 @@");
        assert_eq!(h[0].lines, ["-x", "+y"]);
        assert_eq!(h[1].lines, [" z"]);
    }
}

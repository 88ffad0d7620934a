//! Printing a comparison: unified text (coloured on a terminal), markdown
//! for a PR comment, JSON, or a `--stat` summary.

use super::compare::{Sections, SetChange, ToolsChange};
use super::structural::Change;
use super::SideInfo;
use crate::report::Style;
use serde_json::json;
use std::io::{self, Write};

/// Colours one diff line by its first character.
fn paint(style: Style, line: &str) -> String {
    if line.starts_with("+++") || line.starts_with("---") {
        style.bold(line)
    } else if line.starts_with('+') {
        style.green(line)
    } else if line.starts_with('-') {
        style.red(line)
    } else if line.starts_with("@@") || line.starts_with('~') {
        style.cyan(line)
    } else {
        line.to_owned()
    }
}

fn lines(out: &mut dyn Write, style: Style, text: &str, indent: &str) -> io::Result<()> {
    for l in text.lines() {
        writeln!(out, "{indent}{}", paint(style, l))?;
    }
    Ok(())
}

pub fn text(
    out: &mut dyn Write,
    s: &Sections,
    old: &SideInfo,
    new: &SideInfo,
    style: Style,
) -> io::Result<()> {
    if s.is_empty() {
        return Ok(());
    }
    writeln!(out, "{}", style.bold(&format!("--- {}", old.label())))?;
    writeln!(out, "{}", style.bold(&format!("+++ {}", new.label())))?;
    if let Some(p) = s.prompt.as_ref().filter(|p| !p.is_empty()) {
        writeln!(
            out,
            "\n{}",
            style.bold("== prompt (system and messages, masked) ==")
        )?;
        lines(out, style, &p.unified, "")?;
    }
    if let Some(t) = s.tools.as_ref().filter(|t| !t.is_empty()) {
        writeln!(out, "\n{}", style.bold("== tools =="))?;
        tools_text(out, t, style)?;
    }
    if let Some(p) = s.params.as_ref().filter(|p| !p.is_empty()) {
        writeln!(out, "\n{}", style.bold("== params =="))?;
        for c in p {
            writeln!(out, "{}", paint(style, &c.line()))?;
        }
    }
    if let Some(c) = s.side_calls.as_ref().filter(|c| !c.is_empty()) {
        writeln!(out, "\n{}", style.bold("== side calls =="))?;
        set_text(out, c, style)?;
    }
    Ok(())
}

fn tools_text(out: &mut dyn Write, t: &ToolsChange, style: Style) -> io::Result<()> {
    for name in &t.added {
        writeln!(out, "{}", style.green(&format!("+ tool {name} (added)")))?;
    }
    for name in &t.removed {
        writeln!(out, "{}", style.red(&format!("- tool {name} (removed)")))?;
    }
    for r in &t.replaced {
        let line = format!(
            "~ tool {} → {} (likely replaced: shares input fields {})",
            r.old,
            r.new,
            r.shared_fields.join(", ")
        );
        writeln!(out, "{}", style.cyan(&line))?;
        change_lines(out, &r.input_schema, style, "    ")?;
    }
    if t.reordered {
        writeln!(out, "{}", style.cyan("~ tools sent in a different order"))?;
    }
    for c in &t.changed {
        writeln!(
            out,
            "{}",
            style.cyan(&format!("~ tool {} (changed)", c.name))
        )?;
        if let Some(d) = &c.description {
            writeln!(out, "  description:")?;
            lines(out, style, &d.unified, "  ")?;
        }
        if !c.input_schema.is_empty() {
            writeln!(out, "  input_schema:")?;
            change_lines(out, &c.input_schema, style, "    ")?;
        }
        if !c.other.is_empty() {
            writeln!(out, "  fields:")?;
            change_lines(out, &c.other, style, "    ")?;
        }
    }
    Ok(())
}

fn change_lines(
    out: &mut dyn Write,
    changes: &[Change],
    style: Style,
    indent: &str,
) -> io::Result<()> {
    for c in changes {
        writeln!(out, "{indent}{}", paint(style, &c.line()))?;
    }
    Ok(())
}

fn set_text(out: &mut dyn Write, c: &SetChange, style: Style) -> io::Result<()> {
    for a in &c.added {
        writeln!(out, "{}", style.green(&format!("+ {a}")))?;
    }
    for r in &c.removed {
        writeln!(out, "{}", style.red(&format!("- {r}")))?;
    }
    Ok(())
}

/// Markdown for a pull-request comment: headings, lists and ```diff blocks.
pub fn markdown(
    out: &mut dyn Write,
    s: &Sections,
    old: &SideInfo,
    new: &SideInfo,
) -> io::Result<()> {
    writeln!(out, "## Claude Code request diff\n")?;
    writeln!(out, "- old: `{}`\n- new: `{}`\n", old.label(), new.label())?;
    if s.is_empty() {
        return writeln!(out, "No differences (per-run parts masked).");
    }
    if let Some(p) = s.prompt.as_ref().filter(|p| !p.is_empty()) {
        writeln!(
            out,
            "### Prompt (+{} −{} lines)\n",
            p.added_lines, p.removed_lines
        )?;
        fenced(out, &p.unified)?;
    }
    if let Some(t) = s.tools.as_ref().filter(|t| !t.is_empty()) {
        writeln!(out, "### Tools\n")?;
        for n in &t.added {
            writeln!(out, "- **added** `{n}`")?;
        }
        for n in &t.removed {
            writeln!(out, "- **removed** `{n}`")?;
        }
        for c in &t.changed {
            writeln!(out, "- **changed** `{}`", c.name)?;
        }
        for r in &t.replaced {
            writeln!(out, "- **likely replaced** `{}` → `{}`", r.old, r.new)?;
        }
        writeln!(out)?;
        for c in &t.changed {
            writeln!(out, "#### `{}`\n", c.name)?;
            let mut body = String::new();
            if let Some(d) = &c.description {
                body.push_str(&d.unified);
            }
            for ch in c.input_schema.iter().chain(&c.other) {
                body.push_str(&ch.line().replacen('~', "!", 1));
                body.push('\n');
            }
            fenced(out, &body)?;
        }
    }
    if let Some(p) = s.params.as_ref().filter(|p| !p.is_empty()) {
        writeln!(out, "### Parameters\n")?;
        let body: String = p
            .iter()
            .map(|c| c.line().replacen('~', "!", 1) + "\n")
            .collect();
        fenced(out, &body)?;
    }
    if let Some(c) = s.side_calls.as_ref().filter(|c| !c.is_empty()) {
        writeln!(out, "### Side calls\n")?;
        let body: String = c
            .added
            .iter()
            .map(|a| format!("+ {a}\n"))
            .chain(c.removed.iter().map(|r| format!("- {r}\n")))
            .collect();
        fenced(out, &body)?;
    }
    Ok(())
}

fn fenced(out: &mut dyn Write, body: &str) -> io::Result<()> {
    // A fence longer than any backtick run inside keeps the block intact.
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    writeln!(
        out,
        "{fence}diff\n{}{fence}\n",
        if body.ends_with('\n') {
            body.to_owned()
        } else {
            format!("{body}\n")
        }
    )
}

pub fn json(out: &mut dyn Write, s: &Sections, old: &SideInfo, new: &SideInfo) -> io::Result<()> {
    let v = json!({
        "equal": s.is_empty(),
        "old": old.to_json(),
        "new": new.to_json(),
        "sections": super::compare::to_json(s),
    });
    crate::report::write_json(out, &v)
}

pub fn stat(out: &mut dyn Write, s: &Sections, style: Style) -> io::Result<()> {
    let mut t = style.table(["section", "changes"]);
    if let Some(p) = &s.prompt {
        t.add_row(vec![
            "prompt".to_owned(),
            format!("+{} -{} lines", p.added_lines, p.removed_lines),
        ]);
    }
    if let Some(tools) = &s.tools {
        let names: Vec<&str> = tools.changed.iter().map(|c| c.name.as_str()).collect();
        t.add_row(vec![
            "tools".to_owned(),
            format!(
                "+{} -{} ~{}{}",
                tools.added.len(),
                tools.removed.len(),
                tools.changed.len(),
                if names.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", names.join(", "))
                }
            ),
        ]);
    }
    if let Some(p) = &s.params {
        t.add_row(vec!["params".to_owned(), format!("{} changed", p.len())]);
    }
    if let Some(c) = &s.side_calls {
        t.add_row(vec![
            "side calls".to_owned(),
            format!("+{} -{}", c.added.len(), c.removed.len()),
        ]);
    }
    crate::report::write_table(out, &t)
}

//! The diff as text for a terminal or a log: one `== NAME ==` heading per
//! section with its summary line, unified diffs and change lines under it;
//! on a colour terminal, the words that changed in a line are marked.

use super::summary;
use crate::diff::compare::{CallChange, Sections, SetChange};
use crate::diff::side::SideInfo;
use crate::diff::structural::Change;
use crate::diff::tools::{ToolDelta, ToolsChange};
use crate::diff::words;
use crate::report::Style;
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

/// A `-`/`+` line with its changed words in reverse video.
fn paint_words(style: Style, line: &str, pieces: &[words::Piece]) -> String {
    let colour = if line.starts_with('-') { "31" } else { "32" };
    let mut out = style.paint(colour, &line[..1]);
    for (changed, text) in pieces {
        let code = if *changed {
            format!("7;{colour}")
        } else {
            colour.to_owned()
        };
        out.push_str(&style.paint(&code, text));
    }
    out
}

/// A unified diff, indented; words marked only where colour shows them.
fn unified(out: &mut dyn Write, style: Style, text: &str, indent: &str) -> io::Result<()> {
    if !style.color {
        for l in text.lines() {
            writeln!(out, "{indent}{l}")?;
        }
        return Ok(());
    }
    for l in text.lines().take_while(|l| !l.starts_with("@@")) {
        writeln!(out, "{indent}{}", paint(style, l))?;
    }
    for hunk in words::hunks(text) {
        writeln!(out, "{indent}{}", paint(style, hunk.header))?;
        for (line, marks) in hunk.lines.iter().zip(words::marks(&hunk.lines)) {
            let shown = match marks {
                Some(pieces) => paint_words(style, line, &pieces),
                None => paint(style, line),
            };
            writeln!(out, "{indent}{shown}")?;
        }
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
    let plain = |n: &str| n.to_owned();
    let heads = summary::headlines(s, Some(&plain));
    let heading = |out: &mut dyn Write, name: &str| -> io::Result<()> {
        let line = heads
            .iter()
            .find(|h| h.section.name() == name)
            .map_or("", |h| h.text.as_str());
        writeln!(out, "\n{} {line}", style.bold(&format!("== {name} ==")))
    };
    if let Some(p) = s.prompt.as_ref().filter(|p| !p.is_empty()) {
        heading(out, "prompt")?;
        writeln!(out, "{}", style.dim("system and message blocks, masked"))?;
        unified(out, style, &p.unified, "")?;
    }
    if let Some(t) = s.tools.as_ref().filter(|t| !t.is_empty()) {
        heading(out, "tools")?;
        tools_text(out, t, style, "")?;
    }
    if let Some(p) = s.params.as_ref().filter(|p| !p.is_empty()) {
        heading(out, "params")?;
        change_lines(out, p, style, "")?;
    }
    if let Some(c) = s.side_calls.as_ref().filter(|c| !c.is_empty()) {
        heading(out, "side-calls")?;
        set_text(out, c, style)?;
    }
    for c in s.calls.iter().filter(|c| !c.is_empty()) {
        heading(out, c.section.name())?;
        call_text(out, c, style)?;
    }
    Ok(())
}

fn call_text(out: &mut dyn Write, c: &CallChange, style: Style) -> io::Result<()> {
    if c.one_sided() {
        return Ok(());
    }
    let (old, new) = (
        c.old.as_deref().unwrap_or(""),
        c.new.as_deref().unwrap_or(""),
    );
    writeln!(out, "{}", style.dim(&format!("old {old}, new {new}")))?;
    if !c.prompt.is_empty() {
        writeln!(out, "prompt:")?;
        unified(out, style, &c.prompt.unified, "  ")?;
    }
    if !c.tools.is_empty() {
        writeln!(out, "tools:")?;
        tools_text(out, &c.tools, style, "  ")?;
    }
    if !c.params.is_empty() {
        writeln!(out, "params:")?;
        change_lines(out, &c.params, style, "  ")?;
    }
    Ok(())
}

fn tools_text(out: &mut dyn Write, t: &ToolsChange, style: Style, indent: &str) -> io::Result<()> {
    for name in &t.added {
        writeln!(
            out,
            "{indent}{}",
            style.green(&format!("+ tool {name} (added)"))
        )?;
    }
    for name in &t.removed {
        writeln!(
            out,
            "{indent}{}",
            style.red(&format!("- tool {name} (removed)"))
        )?;
    }
    if t.reordered {
        writeln!(
            out,
            "{indent}{}",
            style.cyan("~ tools sent in a different order")
        )?;
    }
    for r in &t.renamed {
        let line = format!(
            "~ tool {} → {} (renamed: takes the same input fields {})",
            r.old,
            r.new,
            r.shared_fields.join(", ")
        );
        writeln!(out, "{indent}{}", style.cyan(&line))?;
        delta_text(out, &r.delta, style, indent)?;
    }
    for c in &t.changed {
        let line = format!("~ tool {} (changed)", c.name);
        writeln!(out, "{indent}{}", style.cyan(&line))?;
        delta_text(out, &c.delta, style, indent)?;
    }
    Ok(())
}

fn delta_text(out: &mut dyn Write, d: &ToolDelta, style: Style, indent: &str) -> io::Result<()> {
    let deeper = format!("{indent}  ");
    let deepest = format!("{indent}    ");
    if let Some(d) = &d.description {
        writeln!(out, "{deeper}description:")?;
        unified(out, style, &d.unified, &deeper)?;
    }
    if !d.input_schema.is_empty() {
        writeln!(out, "{deeper}input_schema:")?;
        change_lines(out, &d.input_schema, style, &deepest)?;
    }
    if !d.other.is_empty() {
        writeln!(out, "{deeper}fields:")?;
        change_lines(out, &d.other, style, &deepest)?;
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

/// `--stat` as text: a table of the summary lines.
pub fn stat(out: &mut dyn Write, s: &Sections, style: Style) -> io::Result<()> {
    let mut t = style.table(["section", "changes"]);
    let plain = |n: &str| n.to_owned();
    for h in summary::headlines(s, Some(&plain)) {
        t.add_row(vec![h.section.name().to_owned(), h.text]);
    }
    crate::report::write_table(out, &t)
}

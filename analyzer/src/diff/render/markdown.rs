//! Markdown for a pull-request comment: a title, the summary a reviewer
//! reads first, then one collapsed `<details>` per section holding a
//! ```diff block per hunk (and the words that changed in lines that
//! changed a little).
//! It stays under `--max-chars` ([`super::details`] cuts the longest
//! sections first).

use super::details::{cut_note, fit, Chunk, Command, Fit, Part};
use super::summary;
use crate::cli::DiffSection;
use crate::diff::compare::{CallChange, Sections, TextChange};
use crate::diff::side::SideInfo;
use crate::diff::structural::Change;
use crate::diff::tools::{ToolDelta, ToolsChange};
use crate::diff::words;
use std::io::{self, Write};

fn code(s: &str) -> String {
    let ticks = if s.contains('`') { "``" } else { "`" };
    format!("{ticks}{s}{ticks}")
}

/// `lines 3–2508` (on the new side) from `@@ -3,2506 +3,2506 @@`.
fn lines_of(header: &str) -> String {
    let new = header.split(' ').find_map(|w| w.strip_prefix('+'));
    let (start, len) = match new.map(|n| n.split_once(',').unwrap_or((n, "1"))) {
        Some((a, b)) => (a.parse().unwrap_or(0usize), b.parse().unwrap_or(1usize)),
        None => return header.to_owned(),
    };
    match len {
        0 | 1 => format!("line {start}"),
        _ => format!("lines {start}–{}", start + len - 1),
    }
}

/// Word lines shown under one hunk; more are counted, not shown.
const WORD_LINES: usize = 6;

/// The chunks of a text diff: a ```diff block per hunk.
fn text_chunks(t: &TextChange, label: Option<String>, about: &str) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = words::hunks(&t.unified)
        .into_iter()
        .map(|h| {
            let mut words: Vec<String> = words::pairs(&h.lines)
                .into_iter()
                .filter_map(|(a, b)| words::md_line(&h.lines[a][1..], &h.lines[b][1..]))
                .collect();
            if words.len() > WORD_LINES {
                let more = words.len() - WORD_LINES;
                words.truncate(WORD_LINES);
                words.push(format!("… and {more} more lines changed a little"));
            }
            let mut lines = vec![h.header.to_owned()];
            lines.extend(h.lines.iter().map(|l| l.to_string()));
            Chunk {
                about: format!("{about} {}", lines_of(h.header)),
                label: None,
                lines,
                words,
            }
        })
        .collect();
    if let Some(first) = out.first_mut() {
        first.label = label;
    }
    out
}

/// Structural changes as diff lines (`!` is a changed line in GitHub's colours).
fn change_chunk(changes: &[Change], label: Option<String>, about: String) -> Chunk {
    Chunk {
        about,
        label,
        lines: changes
            .iter()
            .map(|c| c.line().replacen('~', "!", 1))
            .collect(),
        words: vec![],
    }
}

fn delta_chunks(d: &ToolDelta, name: &str, out: &mut Vec<Chunk>) {
    if let Some(t) = &d.description {
        let about = format!("{name} description");
        out.extend(text_chunks(
            t,
            Some(format!("**{name}** description")),
            &about,
        ));
    }
    if !d.input_schema.is_empty() {
        out.push(change_chunk(
            &d.input_schema,
            Some(format!("**{name}** input_schema")),
            format!("{name} input_schema"),
        ));
    }
    if !d.other.is_empty() {
        out.push(change_chunk(
            &d.other,
            Some(format!("**{name}** fields")),
            format!("{name} fields"),
        ));
    }
}

fn tools_chunks(t: &ToolsChange, out: &mut Vec<Chunk>) {
    let mut list: Vec<String> = t.added.iter().map(|n| format!("+ {n} (added)")).collect();
    list.extend(t.removed.iter().map(|n| format!("- {n} (removed)")));
    list.extend(t.renamed.iter().map(|r| {
        format!(
            "! {} → {} (renamed: takes the same input fields {})",
            r.old,
            r.new,
            r.shared_fields.join(", ")
        )
    }));
    list.extend(t.changed.iter().map(|c| format!("! {} (changed)", c.name)));
    if t.reordered {
        list.push("! tools sent in a different order".into());
    }
    out.push(Chunk {
        about: "the list of tools".into(),
        lines: list,
        ..Chunk::default()
    });
    for r in &t.renamed {
        delta_chunks(
            &r.delta,
            &format!("{} → {}", code(&r.old), code(&r.new)),
            out,
        );
    }
    for c in &t.changed {
        delta_chunks(&c.delta, &code(&c.name), out);
    }
}

fn call_chunks(c: &CallChange) -> Vec<Chunk> {
    let mut out = Vec::new();
    if c.one_sided() {
        return out;
    }
    let sides = format!(
        "old {}, new {}",
        c.old.as_deref().unwrap_or("-"),
        c.new.as_deref().unwrap_or("-")
    );
    if !c.prompt.is_empty() {
        out.extend(text_chunks(
            &c.prompt,
            Some(format!("{sides}: **prompt**")),
            "prompt",
        ));
    }
    if !c.tools.is_empty() {
        tools_chunks(&c.tools, &mut out);
    }
    if !c.params.is_empty() {
        out.push(change_chunk(
            &c.params,
            Some("**params**".into()),
            "params".into(),
        ));
    }
    if let Some(first) = out.first_mut().filter(|f| f.label.is_none()) {
        first.label = Some(sides);
    }
    out
}

fn parts(s: &Sections) -> Vec<Part> {
    let heads = summary::headlines(s, None);
    let headline = |sec: DiffSection| {
        heads
            .iter()
            .find(|h| h.section == sec)
            .map_or(String::new(), |h| h.text.clone())
    };
    let mut out = Vec::new();
    let mut push = |section, chunks: Vec<Chunk>| {
        out.push(Part {
            section,
            headline: headline(section),
            chunks,
        })
    };
    if let Some(p) = s.prompt.as_ref().filter(|p| !p.is_empty()) {
        push(DiffSection::Prompt, text_chunks(p, None, "prompt"));
    }
    if let Some(t) = s.tools.as_ref().filter(|t| !t.is_empty()) {
        let mut chunks = Vec::new();
        tools_chunks(t, &mut chunks);
        push(DiffSection::Tools, chunks);
    }
    if let Some(p) = s.params.as_ref().filter(|p| !p.is_empty()) {
        push(
            DiffSection::Params,
            vec![change_chunk(p, None, "params".into())],
        );
    }
    if let Some(c) = s.side_calls.as_ref().filter(|c| !c.is_empty()) {
        let mut lines: Vec<String> = c.added.iter().map(|a| format!("+ {a}")).collect();
        lines.extend(c.removed.iter().map(|r| format!("- {r}")));
        let about = "side calls".into();
        push(
            DiffSection::SideCalls,
            vec![Chunk {
                about,
                lines,
                ..Chunk::default()
            }],
        );
    }
    for c in s.calls.iter().filter(|c| !c.is_empty()) {
        push(c.section, call_chunks(c));
    }
    out
}

/// The title, the sides and the summary.
fn head(s: &Sections, old: &SideInfo, new: &SideInfo) -> String {
    let mut h = String::from("## Claude Code request diff");
    if let (Some(a), Some(b)) = (old.version(), new.version()) {
        h.push_str(&format!(": {a} → {b}"));
    }
    // A hard line break (`\` at the end), not a list: a list here would
    // run into the summary's list below and loosen both.
    h.push_str(&format!(
        "\n\nold: {}\\\nnew: {}\n\n",
        code(&old.label()),
        code(&new.label())
    ));
    if s.is_empty() {
        h.push_str("No differences (per-run parts masked).\n");
        return h;
    }
    let heads = summary::headlines(s, Some(&code));
    for x in heads.iter().filter(|x| !x.same) {
        h.push_str(&format!("- **{}**: {}\n", x.section.name(), x.text));
    }
    let same: Vec<&str> = heads
        .iter()
        .filter(|x| x.same)
        .map(|x| x.section.name())
        .collect();
    if !same.is_empty() {
        h.push_str(&format!("- same: {}\n", same.join(", ")));
    }
    h.push('\n');
    h
}

/// `--stat --format markdown`: the title, the sides and the summary only.
pub fn stat(out: &mut dyn Write, s: &Sections, old: &SideInfo, new: &SideInfo) -> io::Result<()> {
    out.write_all(head(s, old, new).as_bytes())
}

pub fn markdown(
    out: &mut dyn Write,
    s: &Sections,
    old: &SideInfo,
    new: &SideInfo,
    max_chars: usize,
    command: Command,
) -> io::Result<()> {
    let head = head(s, old, new);
    let parts = parts(s);
    let fits = fit(&head, &parts, max_chars, command);
    out.write_all(head.as_bytes())?;
    if fits.iter().any(|f| *f != Fit::Whole) {
        out.write_all(cut_note(&parts, &fits, max_chars, command).as_bytes())?;
    }
    for (p, f) in parts.iter().zip(&fits) {
        out.write_all(p.render(*f, command).as_bytes())?;
    }
    Ok(())
}

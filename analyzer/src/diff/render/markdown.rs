//! Markdown for a pull-request comment: a title, the summary a reviewer
//! reads first, then one collapsed `<details>` per section holding a
//! ```diff block per hunk (and the words that changed in lines that
//! changed a little).
//!
//! GitHub refuses comments over 65,536 characters. Over the limit, the
//! shortest sections stay whole and the longest are cut (at a hunk, else
//! at a line); the output says what was cut and the command that prints
//! it all.

use super::summary;
use crate::cli::DiffSection;
use crate::diff::compare::{CallChange, Sections, TextChange};
use crate::diff::side::SideInfo;
use crate::diff::structural::Change;
use crate::diff::tools::{ToolDelta, ToolsChange};
use crate::diff::words;
use std::io::{self, Write};

/// The command that prints a section (`None`: everything) in full.
pub type Command<'a> = &'a dyn Fn(Option<DiffSection>) -> String;

/// A piece of a section: a line of text, then a ```diff block, then the
/// words that changed in it. Cuts fall between chunks or between lines.
#[derive(Default)]
struct Chunk {
    /// What it shows, for saying what was cut (`Bash description`).
    about: String,
    label: Option<String>,
    lines: Vec<String>,
    words: Vec<String>,
}

impl Chunk {
    fn render(&self, keep: usize) -> String {
        let mut s = String::new();
        if let Some(l) = &self.label {
            s.push_str(l);
            s.push_str("\n\n");
        }
        if self.lines.is_empty() {
            return s;
        }
        let longest = self
            .lines
            .iter()
            .flat_map(|l| l.split(|c| c != '`'))
            .map(str::len)
            .max()
            .unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        s.push_str(&format!("{fence}diff\n"));
        for l in self.lines.iter().take(keep) {
            s.push_str(l);
            s.push('\n');
        }
        if keep < self.lines.len() {
            let cut = self.lines.len() - keep;
            s.push_str(&format!("… {cut} more line{} cut here\n", plural(cut)));
        }
        s.push_str(&format!("{fence}\n\n"));
        if keep >= self.lines.len() && !self.words.is_empty() {
            s.push_str("Words changed:\n\n");
            for w in &self.words {
                s.push_str(&format!("- {w}\n"));
            }
            s.push('\n');
        }
        s
    }

    fn size(&self) -> usize {
        chars(&self.render(self.lines.len()))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn code(s: &str) -> String {
    let ticks = if s.contains('`') { "``" } else { "`" };
    format!("{ticks}{s}{ticks}")
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One `<details>`: its name, summary line and chunks.
struct Part {
    section: DiffSection,
    headline: String,
    chunks: Vec<Chunk>,
}

/// How much of a part is printed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fit {
    Whole,
    /// The first `chunks` chunks, then `lines` lines of the next.
    Cut {
        chunks: usize,
        lines: usize,
    },
}

impl Part {
    fn open(&self, note: &str) -> String {
        format!(
            "<details>\n<summary><b>{}</b>: {}{note}</summary>\n\n",
            self.section.name(),
            html(&self.headline)
        )
    }

    const CLOSE: &'static str = "</details>\n\n";

    fn render(&self, fit: Fit, command: Command) -> String {
        let (chunks, lines) = match fit {
            Fit::Whole => return self.whole(),
            Fit::Cut { chunks, lines } => (chunks, lines),
        };
        let mut s = self.open(" (cut to fit)");
        for c in &self.chunks[..chunks] {
            s.push_str(&c.render(c.lines.len()));
        }
        if lines > 0 {
            s.push_str(&self.chunks[chunks].render(lines));
        }
        s.push_str(&format!(
            "✂ Cut here to fit the comment; not shown: {}. All of it: `{}`\n\n",
            self.not_shown(chunks, lines),
            command(Some(self.section))
        ));
        s.push_str(Self::CLOSE);
        s
    }

    /// What is not shown when cut at `from` chunks and `lines` lines of
    /// the next: each chunk named once, at most 8.
    fn not_shown(&self, from: usize, lines: usize) -> String {
        let mut about: Vec<String> = Vec::new();
        for (i, c) in self.chunks[from..].iter().enumerate() {
            let name = if i == 0 && lines > 0 {
                format!(
                    "the rest of {} (after {lines} of {} lines)",
                    c.about,
                    c.lines.len()
                )
            } else {
                c.about.clone()
            };
            if !about.contains(&name) {
                about.push(name);
            }
        }
        let more = about.len().saturating_sub(8);
        about.truncate(8);
        let mut s = about.join(", ");
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
        s
    }

    fn whole(&self) -> String {
        let mut s = self.open("");
        for c in &self.chunks {
            s.push_str(&c.render(c.lines.len()));
        }
        s.push_str(Self::CLOSE);
        s
    }
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
    h.push_str(&format!(
        "\n\n- old: {}\n- new: {}\n\n",
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

fn cut_note(parts: &[Part], fits: &[Fit], max_chars: usize, command: Command) -> String {
    let cut: Vec<String> = parts
        .iter()
        .zip(fits)
        .filter_map(|(p, f)| match f {
            Fit::Whole => None,
            Fit::Cut {
                chunks: 0,
                lines: 0,
            } => Some(format!("**{}** (all of it)", p.section.name())),
            Fit::Cut { chunks, lines } => Some(format!(
                "**{}** ({})",
                p.section.name(),
                p.not_shown(*chunks, *lines)
            )),
        })
        .collect();
    format!(
        "> ✂ Cut to stay under {max_chars} characters (GitHub's comment limit is 65,536): {}. \
         Everything: `{}`\n\n",
        cut.join(", "),
        command(None)
    )
}

/// How much of each part fits in `max_chars` with the head: the shortest
/// parts whole, then as much of the next as fits, the rest cut.
fn fit(head: &str, parts: &[Part], max_chars: usize, command: Command) -> Vec<Fit> {
    let whole = vec![Fit::Whole; parts.len()];
    let total = |fits: &[Fit]| -> usize {
        let mut n = chars(head);
        if fits.iter().any(|f| *f != Fit::Whole) {
            n += chars(&cut_note(parts, fits, max_chars, command));
        }
        n + parts
            .iter()
            .zip(fits)
            .map(|(p, f)| chars(&p.render(*f, command)))
            .sum::<usize>()
    };
    if max_chars == 0 || total(&whole) <= max_chars {
        return whole;
    }
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| chars(&parts[i].whole()));
    // Plan against a budget; if the result is still too long (the notes
    // are estimated), plan again with less.
    let mut budget = max_chars;
    loop {
        let fits = plan(head, parts, &order, budget, command);
        let over = total(&fits).saturating_sub(max_chars);
        if over == 0 || budget == 0 {
            return fits;
        }
        budget = budget.saturating_sub(over.max(64));
    }
}

fn plan(head: &str, parts: &[Part], order: &[usize], budget: usize, command: Command) -> Vec<Fit> {
    let nothing = Fit::Cut {
        chunks: 0,
        lines: 0,
    };
    let mut fits = vec![nothing; parts.len()];
    // Room for the head, the note and every part cut to nothing.
    let reserved = chars(head)
        + 200
        + parts.len() * 40
        + parts
            .iter()
            .map(|p| chars(&p.render(nothing, command)))
            .sum::<usize>();
    let mut room = budget.saturating_sub(reserved);
    for &i in order {
        let p = &parts[i];
        let base = chars(&p.render(nothing, command));
        let extra = chars(&p.whole()).saturating_sub(base);
        if extra <= room {
            fits[i] = Fit::Whole;
            room -= extra;
            continue;
        }
        // As many whole chunks as fit, then lines of the next.
        let mut chunks = 0;
        for c in &p.chunks {
            let n = c.size();
            if n > room {
                break;
            }
            room -= n;
            chunks += 1;
        }
        let mut lines = 0;
        if let Some(c) = p.chunks.get(chunks) {
            let fixed = chars(&c.render(0)) + 40;
            let mut used = fixed;
            for l in &c.lines {
                used += chars(l) + 1;
                if used > room {
                    break;
                }
                lines += 1;
            }
        }
        fits[i] = Fit::Cut { chunks, lines };
        break;
    }
    fits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(lines: usize, width: usize) -> Part {
        let line = format!("+{}", "x".repeat(width));
        Part {
            section: DiffSection::Prompt,
            headline: "h".into(),
            chunks: (0..lines)
                .map(|_| Chunk {
                    about: "hunk".into(),
                    lines: vec!["@@ -1 +1 @@".into(), line.clone()],
                    ..Chunk::default()
                })
                .collect(),
        }
    }

    #[test]
    fn the_longest_part_is_cut_and_the_result_fits() {
        let cmd = |s: Option<DiffSection>| format!("analyze diff --only {s:?} a b");
        let mut parts = vec![part(3, 10), part(400, 100), part(2, 10)];
        parts[1].section = DiffSection::Tools;
        let head = "## t\n\n";
        for max in [2_000, 10_000, 30_000] {
            let fits = fit(head, &parts, max, &cmd);
            assert_eq!(fits[0], Fit::Whole);
            assert_eq!(fits[2], Fit::Whole);
            assert!(matches!(fits[1], Fit::Cut { .. }), "{fits:?}");
            let mut out = head.to_owned() + &cut_note(&parts, &fits, max, &cmd);
            for (p, f) in parts.iter().zip(&fits) {
                out += &p.render(*f, &cmd);
            }
            assert!(chars(&out) <= max, "{} > {max}", chars(&out));
            assert!(
                chars(&out) > max - 400,
                "{} leaves room unused at {max}",
                chars(&out)
            );
        }
        assert_eq!(fit(head, &parts, 0, &cmd), vec![Fit::Whole; 3]);
    }
}

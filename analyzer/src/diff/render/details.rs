//! A section as a collapsed `<details>` block of chunks (a line of text,
//! a ```diff block, the words that changed), and cutting sections to fit
//! a size: GitHub refuses comments over 65,536 characters. The shortest
//! sections stay whole, the longest are cut (at a chunk, else at a line),
//! and the output says what was cut and the command that prints it all.

use crate::cli::DiffSection;

/// The command that prints a section (`None`: everything) in full.
pub type Command<'a> = &'a dyn Fn(Option<DiffSection>) -> String;

/// A piece of a section: a line of text, then a ```diff block, then the
/// words that changed in it. Cuts fall between chunks or between lines.
#[derive(Default)]
pub(super) struct Chunk {
    /// What it shows, for saying what was cut (`Bash description`).
    pub(super) about: String,
    pub(super) label: Option<String>,
    pub(super) lines: Vec<String>,
    pub(super) words: Vec<String>,
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

pub(super) fn chars(s: &str) -> usize {
    s.chars().count()
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One `<details>`: its name, summary line and chunks.
pub(super) struct Part {
    pub(super) section: DiffSection,
    pub(super) headline: String,
    pub(super) chunks: Vec<Chunk>,
}

/// How much of a part is printed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Fit {
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

    pub(super) fn render(&self, fit: Fit, command: Command) -> String {
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

    pub(super) fn whole(&self) -> String {
        let mut s = self.open("");
        for c in &self.chunks {
            s.push_str(&c.render(c.lines.len()));
        }
        s.push_str(Self::CLOSE);
        s
    }
}

pub(super) fn cut_note(parts: &[Part], fits: &[Fit], max_chars: usize, command: Command) -> String {
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
pub(super) fn fit(head: &str, parts: &[Part], max_chars: usize, command: Command) -> Vec<Fit> {
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

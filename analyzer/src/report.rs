//! Output helpers every command shares: the outcome that becomes the exit
//! code, terminal detection and colour, tables, JSON and number formatting.
//!
//! Data goes to stdout, diagnostics to stderr. Colour only on a terminal,
//! never with `NO_COLOR` or `TERM=dumb`.

use crate::layout::{self, Column};
use comfy_table::{presets, ContentArrangement, Table};
use std::io::{IsTerminal, Write};

/// What a command found; `main` maps it to the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 1: the command's "found something" (a difference, a leak).
    Found,
}

/// How stdout looks: a terminal gets borders and colour, a pipe plain text.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub tty: bool,
    pub color: bool,
    /// The terminal's columns (`None` in a pipe): tables are laid out to it.
    pub width: Option<usize>,
}

impl Style {
    /// Looks at stdout and the environment.
    pub fn detect() -> Style {
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
            || std::env::var("TERM").is_ok_and(|t| t == "dumb");
        // A pseudo-terminal that reports no size (0 columns) is treated
        // as a pipe: nothing to fit to.
        let width = tty
            .then(|| Table::new().width())
            .flatten()
            .map(usize::from)
            .filter(|w| *w >= 20);
        Style {
            tty,
            color: tty && !no_color,
            width,
        }
    }

    /// A table laid out for the terminal ([`layout`]): columns left out
    /// or text shortened with `…` to fit its width, never wrapped; in a
    /// pipe every value in full. `cell` makes each cell (to colour it) from
    /// its column's name and text.
    pub fn fitted_table(
        &self,
        columns: &[Column],
        rows: &[Vec<String>],
        cell: &dyn Fn(&str, String) -> comfy_table::Cell,
    ) -> Table {
        let plan = layout::plan(columns, rows, self.width);
        let mut t = self.table(plan.iter().map(|(i, _)| columns[*i].name));
        t.set_content_arrangement(ContentArrangement::Disabled);
        for row in rows {
            t.add_row(plan.iter().map(|&(i, w)| {
                let text = row.get(i).map_or("", String::as_str);
                cell(columns[i].name, layout::shorten(text, w, columns[i].kind))
            }));
        }
        align_numbers_right(&mut t);
        t
    }

    /// `s` in the SGR attributes `code` (`31`, `7;32`) on a colour terminal.
    pub fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }

    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }

    pub fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }

    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }

    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }

    /// A table cell, red on a colour terminal. Colour goes through
    /// comfy-table (not escape codes in the text) so columns stay aligned.
    pub fn red_cell(&self, s: &str) -> comfy_table::Cell {
        let cell = comfy_table::Cell::new(s);
        if self.color {
            cell.fg(comfy_table::Color::Red)
        } else {
            cell
        }
    }

    /// A bold table cell on a colour terminal.
    pub fn bold_cell(&self, s: &str) -> comfy_table::Cell {
        let cell = comfy_table::Cell::new(s);
        if self.color {
            cell.add_attribute(comfy_table::Attribute::Bold)
        } else {
            cell
        }
    }

    /// A table with the given header: bordered on a terminal, aligned
    /// columns without borders in a pipe (easy to grep and cut).
    pub fn table<I, S>(&self, header: I) -> Table
    where
        I: IntoIterator<Item = S>,
        S: Into<comfy_table::Cell>,
    {
        let mut t = Table::new();
        if self.tty {
            t.load_preset(presets::UTF8_FULL_CONDENSED);
            // Wrap to the terminal, unless it reports no usable width
            // (a pseudo-terminal without a size squeezes every column).
            if t.width().is_some_and(|w| w >= 60) {
                t.set_content_arrangement(ContentArrangement::Dynamic);
            }
        } else {
            t.load_preset(presets::NOTHING);
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
        if !self.color {
            t.force_no_tty();
        }
        t.set_header(header);
        t
    }
}

/// Writes a table followed by a newline, trimming the trailing blanks the
/// border-less preset leaves.
pub fn write_table(out: &mut dyn Write, table: &Table) -> std::io::Result<()> {
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A dim note under a table, wrapped at spaces to the terminal's width
/// (a URL is never split).
pub fn write_note(out: &mut dyn Write, style: Style, text: &str) -> std::io::Result<()> {
    let width = style.width.unwrap_or(usize::MAX);
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            writeln!(out, "{}", style.dim(&line))?;
            line = format!("  {word}");
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    writeln!(out, "{}", style.dim(&line))
}

/// Pretty JSON and a newline.
pub fn write_json(out: &mut dyn Write, value: &serde_json::Value) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// A warning on stderr, never on stdout (where data goes).
pub fn warn(message: &str) {
    eprintln!("analyze: warning: {message}");
}

/// How many warnings of each kind each file had: the first is printed,
/// the rest counted ([`warn_once`], [`repeated_warnings`]).
static WARNED: std::sync::Mutex<Vec<(String, String, usize)>> = std::sync::Mutex::new(Vec::new());

/// A warning printed once per `file` and `kind` (the first occurrence,
/// naming its entry); later ones of the kind are only counted.
pub fn warn_once(file: &str, kind: &str, message: &str) {
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(seen) = warned.iter_mut().find(|(f, k, _)| f == file && k == kind) {
        seen.2 += 1;
        return;
    }
    warned.push((file.to_owned(), kind.to_owned(), 1));
    drop(warned);
    warn(&format!("{file}: {message}"));
}

/// After a file: one line for the warnings [`warn_once`] held back.
pub fn repeated_warnings(file: &str) {
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    let more: usize = warned
        .iter()
        .filter(|(f, _, _)| f == file)
        .map(|(_, _, n)| n - 1)
        .sum();
    warned.retain(|(f, _, _)| f != file);
    drop(warned);
    if more > 0 {
        warn(&format!(
            "{file}: {more} more like the warnings above (one is shown per kind)"
        ));
    }
}

/// Whether an error is a closed stdout (`analyze ls x | head`): exit 0.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
    })
}

/// An error and its causes on one line. A cause already quoted in the
/// message before it (errors that print their source) is not repeated.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// `12345678` → `12,345,678`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        // A comma before every group of three digits counted from the right.
        if i > 0 && i % 3 == s.len() % 3 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds for humans: `850 ms`, `12.3 s`; `-` when unknown.
pub fn millis(ms: Option<f64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 0.0 || ms.is_nan() => "-".into(),
        // `abs`: -0.0 (a zero timing some tools write) is not "-0 ms".
        Some(ms) if ms < 1000.0 => format!("{:.0} ms", ms.abs()),
        Some(ms) => format!("{:.1} s", ms / 1000.0),
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// `1 entry`, `2 entries`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Right-aligns every column whose cells are all numbers, money, times or
/// `-` (after the header): digits line up and are read right to left.
pub fn align_numbers_right(t: &mut Table) {
    let columns = t.column_count();
    for i in 0..columns {
        let numeric = t.column_cells_iter(i).count() > 0
            && t.column_cells_iter(i)
                .all(|c| c.is_none_or(|c| is_numeric(&c.content())));
        if let Some(col) = t.column_mut(i) {
            if numeric {
                col.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
    }
}

/// A cell that reads as a quantity: `1,234`, `$0.0123`, `850 ms`, `-`.
fn is_numeric(s: &str) -> bool {
    let s = s.trim();
    let unit = ["ms", "s", "B", "KB", "MB", "tokens/s"];
    let head = s.split(' ').next().unwrap_or("");
    let rest_ok = s.split(' ').skip(1).all(|w| unit.contains(&w));
    s == "-"
        || (!head.is_empty()
            && rest_ok
            && head
                .trim_start_matches('$')
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '/' | '-')))
}

/// Bytes for humans: `812 B`, `48.2 KB`, `1.5 MB`.
pub fn bytes(n: usize) -> String {
    let n = n as f64;
    if n < 1000.0 {
        format!("{n} B")
    } else if n < 1_000_000.0 {
        format!("{:.1} KB", n / 1000.0)
    } else {
        format!("{:.1} MB", n / 1_000_000.0)
    }
}

/// Dollars: `$0.0123`, or `unpriced` when the model has no price.
pub fn dollars(cost: Option<f64>) -> String {
    match cost {
        Some(c) if c < 1.0 => format!("${c:.4}"),
        Some(c) => format!("${c:.2}"),
        None => "unpriced".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12345678), "12,345,678");
        assert_eq!(millis(Some(850.2)), "850 ms");
        assert_eq!(millis(Some(12345.0)), "12.3 s");
        assert_eq!(millis(Some(-1.0)), "-");
        assert_eq!(millis(Some(-0.0)), "0 ms", "never -0 ms");
        assert_eq!(millis(Some(-0.4)), "-");
        assert_eq!(bytes(61921), "61.9 KB");
        assert_eq!(dollars(None), "unpriced");
        assert_eq!(dollars(Some(0.01234)), "$0.0123");
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed");
        let e = anyhow::Error::new(io).context("writing the table");
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn one_line_errors_do_not_repeat_their_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(io)
            .context("cannot open x: no such file")
            .context("reading x");
        assert_eq!(one_line(&e), "reading x: cannot open x: no such file");
        let multi = anyhow::anyhow!("regex parse error:\n    (\nerror: unclosed group");
        assert_eq!(one_line(&multi).lines().count(), 1);
    }

    #[test]
    fn plain_style_never_paints() {
        let s = Style {
            tty: false,
            color: false,
            width: None,
        };
        assert_eq!(s.red("x"), "x");
        let c = Style {
            tty: true,
            color: true,
            width: None,
        };
        assert_eq!(c.red("x"), "\x1b[31mx\x1b[0m");
    }
}

//! Tables laid out for the terminal's width: numbers are never cut or
//! wrapped, long text (URL, model, session, note) is shortened with `…`
//! so it stays recognisable, and when even that does not fit, the least
//! needed columns are left out. A wider terminal shows more; a pipe (no
//! width) gets every column at full length.

/// What a column holds, which decides how it may shrink.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// Never shortened.
    Fixed,
    /// Shortened at the end (`claude-sonnet-4-5…`, a session id's start).
    TextEnd,
    /// Shortened in the middle, keeping both ends (`https://api.x…/messages`).
    TextMiddle,
    /// A model id: its date suffix goes first (`claude-haiku-4-5…`), so
    /// the family and version stay whole; then as `TextEnd`.
    Model,
}

#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// Text columns shrink no narrower than this.
    pub min: usize,
    /// Columns are left out highest rank first when even their minimum
    /// widths do not fit; 0 is never left out.
    pub drop_rank: u8,
}

impl Column {
    pub const fn fixed(name: &'static str, drop_rank: u8) -> Column {
        Column {
            name,
            kind: Kind::Fixed,
            min: 0,
            drop_rank,
        }
    }

    pub const fn text(name: &'static str, kind: Kind, min: usize, drop_rank: u8) -> Column {
        Column {
            name,
            kind,
            min,
            drop_rank,
        }
    }
}

/// Border and padding of a bordered table: `│ a │ b │` is 3 per column + 1.
fn chrome(columns: usize) -> usize {
    3 * columns + 1
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Which columns to show and how wide each may be, for rows of plain
/// text and a terminal `width` (`None`: a pipe, everything at full length).
pub fn plan(columns: &[Column], rows: &[Vec<String>], width: Option<usize>) -> Vec<(usize, usize)> {
    let natural: Vec<usize> = (0..columns.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| chars(c)))
                .chain([chars(columns[i].name)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let Some(width) = width else {
        return shown.iter().map(|&i| (i, natural[i])).collect();
    };
    let min_of = |i: usize| match columns[i].kind {
        Kind::Fixed => natural[i],
        _ => natural[i].min(columns[i].min.max(chars(columns[i].name))),
    };
    // Leave out columns until their minimum widths fit.
    loop {
        let need: usize = shown.iter().map(|&i| min_of(i)).sum::<usize>() + chrome(shown.len());
        if need <= width {
            break;
        }
        let Some(pos) = shown
            .iter()
            .enumerate()
            .filter(|(_, &i)| columns[i].drop_rank > 0)
            .max_by_key(|(_, &i)| columns[i].drop_rank)
            .map(|(p, _)| p)
        else {
            break;
        };
        shown.remove(pos);
    }
    // Shrink the text column with the most to spare, one character at a time.
    let mut widths: Vec<usize> = shown.iter().map(|&i| natural[i]).collect();
    let budget = width.saturating_sub(chrome(shown.len()));
    while widths.iter().sum::<usize>() > budget {
        let spare = |k: usize| widths[k].saturating_sub(min_of(shown[k]));
        let Some(k) = (0..shown.len())
            .filter(|&k| spare(k) > 0)
            .max_by_key(|&k| spare(k))
        else {
            break;
        };
        widths[k] -= 1;
    }
    shown.into_iter().zip(widths).collect()
}

/// `text` in at most `width` characters, `…` marking what was cut.
pub fn shorten(text: &str, width: usize, kind: Kind) -> String {
    let n = chars(text);
    if n <= width || kind == Kind::Fixed || width == 0 {
        return text.to_owned();
    }
    let keep = width - 1;
    match kind {
        Kind::TextMiddle => {
            let head = keep.div_ceil(2);
            let tail = keep - head;
            let start: String = text.chars().take(head).collect();
            let end: String = text.chars().skip(n - tail).collect();
            format!("{start}…{end}")
        }
        Kind::Model => match text.rsplit_once('-') {
            Some((family, date)) if date.len() >= 6 && date.bytes().all(|b| b.is_ascii_digit()) => {
                shorten(&format!("{family}…"), width, Kind::TextEnd)
            }
            _ => shorten(text, width, Kind::TextEnd),
        },
        _ => format!("{}…", text.chars().take(keep).collect::<String>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: [Column; 4] = [
        Column::fixed("#", 0),
        Column::text("model", Kind::TextEnd, 12, 0),
        Column::fixed("tokens", 0),
        Column::text("url", Kind::TextMiddle, 16, 1),
    ];

    fn rows() -> Vec<Vec<String>> {
        vec![vec![
            "12".into(),
            "claude-sonnet-4-5-20250929".into(),
            "1,234,567".into(),
            "https://api.anthropic.com/v1/messages?beta=true".into(),
        ]]
    }

    #[test]
    fn a_pipe_gets_everything_and_a_wide_terminal_too() {
        let full = plan(&COLS, &rows(), None);
        assert_eq!(full, [(0, 2), (1, 26), (2, 9), (3, 47)]);
        assert_eq!(plan(&COLS, &rows(), Some(200)), full);
    }

    #[test]
    fn text_shrinks_before_columns_go_and_numbers_never_shrink() {
        let p = plan(&COLS, &rows(), Some(80));
        let total: usize = p.iter().map(|(_, w)| w).sum::<usize>() + chrome(p.len());
        assert_eq!(total, 80);
        assert_eq!(p[2], (2, 9), "numbers keep their width");
        let narrow = plan(&COLS, &rows(), Some(40));
        assert_eq!(
            narrow.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [0, 1, 2],
            "url left out"
        );
        assert_eq!(narrow[1].1, 40 - chrome(3) - 2 - 9);
    }

    #[test]
    fn shortened_text_stays_recognisable() {
        assert_eq!(
            shorten("claude-sonnet-4-5-20250929", 18, Kind::TextEnd),
            "claude-sonnet-4-5…"
        );
        assert_eq!(
            shorten(
                "https://api.anthropic.com/v1/messages",
                20,
                Kind::TextMiddle
            ),
            "https://ap…/messages"
        );
        assert_eq!(shorten("1,234", 2, Kind::Fixed), "1,234");
        assert_eq!(
            shorten("claude-haiku-4-5-20251001", 18, Kind::Model),
            "claude-haiku-4-5…"
        );
        assert_eq!(
            shorten("claude-haiku-4-5-20251001", 12, Kind::Model),
            "claude-haik…"
        );
        assert_eq!(shorten("short", 10, Kind::TextEnd), "short");
    }
}

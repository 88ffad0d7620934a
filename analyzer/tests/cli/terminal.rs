//! Tables on a real terminal: `ls` and `usage` run in a pseudo-terminal of
//! 80, 100, 120 and 200 columns (Python's `pty`, the size set with
//! TIOCSWINSZ before `analyze` starts). No line is wider than the
//! terminal, no row wraps, numbers appear whole, model names whole or
//! shortened at their end with `…`.

use crate::{analyze_json, handmade};
use std::process::Command;

/// Runs `analyze ARGS…` on a pseudo-terminal `cols` wide; its output with
/// colour codes removed.
fn on_terminal(cols: u16, args: &[&str]) -> Option<String> {
    let text = on_terminal_raw(cols, args)?;
    let ansi = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    Some(ansi.replace_all(&text, "").into_owned())
}

/// Runs `analyze ARGS…` on a pseudo-terminal `cols` wide; its output as
/// the terminal got it (colour codes and all, `\n` line ends).
pub fn on_terminal_raw(cols: u16, args: &[&str]) -> Option<String> {
    const PTY: &str = r#"
import fcntl, os, pty, struct, sys, termios
cols = int(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
    os.execv(sys.argv[2], sys.argv[2:])
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
"#;
    let mut cmd = Command::new("python3");
    cmd.args(["-c", PTY, &cols.to_string(), env!("CARGO_BIN_EXE_analyze")])
        .args(args)
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    let out = match cmd.output() {
        Ok(o) if o.status.success() => o,
        _ => {
            eprintln!("skipped: python3 with the pty module is needed for the terminal tests");
            return None;
        }
    };
    Some(String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"))
}

fn check_width(cols: u16, text: &str, rows: usize) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= usize::from(cols),
            "{cols} columns, a line of {}:\n{text}",
            line.chars().count()
        );
    }
    // Top border, header, separator, rows, bottom border: nothing wrapped.
    let table: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("prices:"))
        .collect();
    assert_eq!(
        table.iter().filter(|l| l.starts_with('│')).count(),
        rows + 1,
        "{cols}:\n{text}"
    );
}

fn model_shown(text: &str, model: &str) -> bool {
    text.contains(model) || (12..model.len()).any(|n| text.contains(&format!("{}…", &model[..n])))
}

#[test]
fn ls_fits_every_terminal_width_and_wider_shows_more() {
    let file = handmade("cc-2.0.50-a.har");
    let rows = analyze_json(&["ls", &file], 0);
    let rows = rows.as_array().unwrap();
    let mut shown_columns = Vec::new();
    for cols in [80u16, 100, 120, 200] {
        let Some(text) = on_terminal(cols, &["ls", &file]) else {
            return;
        };
        check_width(cols, &text, rows.len());
        for r in rows {
            let model = r["model"].as_str().unwrap();
            assert!(model_shown(&text, model), "{cols}: {model} in\n{text}");
            let input = r["input_tokens"].as_u64().unwrap();
            let input = format!(" {} ", thousands(input));
            assert!(text.contains(&input), "{cols}: {input} whole in\n{text}");
        }
        shown_columns.push(text.lines().nth(1).unwrap().matches('┆').count() + 1);
    }
    assert!(
        shown_columns.windows(2).all(|w| w[0] <= w[1]) && shown_columns[0] < shown_columns[3],
        "wider terminals show more columns: {shown_columns:?}"
    );
    let wide = on_terminal(200, &["ls", &file]).unwrap();
    assert!(wide.contains(rows[0]["url"].as_str().unwrap()), "{wide}");
}

#[test]
fn usage_fits_every_terminal_width() {
    let files = [handmade("cc-2.0.50-a.har"), handmade("cc-2.1.332.har")];
    for by in ["model", "session", "request"] {
        let u = analyze_json(&["usage", "--by", by, &files[0], &files[1]], 0);
        let groups = u["groups"].as_array().unwrap();
        for cols in [80u16, 100, 120, 200] {
            let Some(text) = on_terminal(cols, &["usage", "--by", by, &files[0], &files[1]]) else {
                return;
            };
            check_width(cols, &text, groups.len() + 1);
            for g in groups {
                let input = format!(" {} ", thousands(g["input_tokens"].as_u64().unwrap()));
                assert!(text.contains(&input), "{by} {cols}: {input} in\n{text}");
                if by == "model" {
                    let key = g["key"].as_str().unwrap();
                    assert!(model_shown(&text, key), "{cols}: {key} in\n{text}");
                }
            }
        }
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The README shows `usage` at 80 columns as text: it must be what the tool
/// prints (regenerate the block when prices or fixtures change).
#[test]
fn the_readme_capture_of_usage_at_80_columns_is_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = [
        "fixtures/claude-code/2.1.332-reverse.har",
        "fixtures/claude-code/2.0.50-reverse.har",
        "fixtures/handmade/cc-2.1.332.har",
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|f| root.join(f).display().to_string())
        .collect();
    let mut args = vec!["usage"];
    args.extend(paths.iter().map(String::as_str));
    let Some(printed) = on_terminal(80, &args) else {
        return;
    };
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let command = format!("$ analyze usage {}\n", files.join(" "));
    let start = readme.find(&command).expect("README has the usage capture") + command.len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    assert_eq!(
        block, printed,
        "README.md's usage capture is stale; paste:\n{printed}"
    );
}

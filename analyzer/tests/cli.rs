//! CLI tests: run the built `analyze` binary on the hand-made archives in
//! `fixtures/handmade/` (regenerate with `python3 fixtures/handmade/make.py`)
//! and assert the numbers and findings, not only exit codes.
//!
//! The golden table in `cli/golden.rs` lists each archive with the totals
//! it must produce; real recordings from `fixtures/` join it with one row.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[path = "cli/diff.rs"]
mod diff;
#[path = "cli/diff_pr.rs"]
mod diff_pr;
#[path = "cli/diff_side.rs"]
mod diff_side;
#[path = "cli/golden.rs"]
mod golden;
#[path = "cli/leaks.rs"]
mod leaks;
#[path = "cli/lenient.rs"]
mod lenient;
#[path = "cli/misc.rs"]
mod misc;
#[path = "cli/mitmproxy.rs"]
mod mitmproxy;
#[path = "cli/openai.rs"]
mod openai;
#[path = "cli/real.rs"]
mod real;
#[path = "cli/report.rs"]
mod report;
#[path = "cli/terminal.rs"]
mod terminal;
#[path = "cli/usage.rs"]
mod usage;
#[path = "cli/warehouse.rs"]
mod warehouse;

/// An archive under `fixtures/` (e.g. `handmade/cc-2.0.50-a.har`).
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

pub fn handmade(name: &str) -> String {
    fixture(&format!("handmade/{name}")).display().to_string()
}

/// What a run printed and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_analyze"));
    c.env_remove("NO_COLOR").stdin(Stdio::null());
    c
}

/// Runs `analyze ARGS…`.
pub fn analyze(args: &[&str]) -> Run {
    finish(command().args(args).output().expect("analyze runs"))
}

/// Runs `analyze ARGS…` with `input` on stdin.
pub fn analyze_stdin(args: &[&str], input: &[u8]) -> Run {
    use std::io::Write;
    let mut child = command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("analyze starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("stdin written");
    finish(child.wait_with_output().expect("analyze ends"))
}

/// `analyze ARGS… --json`, asserting the exit code.
pub fn analyze_json(args: &[&str], code: i32) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let r = analyze(&all);
    assert_eq!(
        r.code, code,
        "exit code of {all:?}\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    r.json()
}

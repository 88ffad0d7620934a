//! Finds the workspace's built programs (`record`, `analyze`) for tests.
//!
//! Cargo builds an integration test into `target/<profile>/deps/`, and the
//! workspace's binaries into `target/<profile>/`; CI runs
//! `cargo build --workspace` before the tests, so they sit one level up.

use std::path::PathBuf;

/// A program the tests need was not built.
#[derive(Debug, thiserror::Error)]
#[error("cannot find the `{name}` binary (looked in {looked}): run `cargo build --workspace` before the tests")]
pub struct MissingBinary {
    pub name: String,
    pub looked: String,
}

/// The path of a workspace binary built in the same profile as this test.
pub fn binary(name: &str) -> Result<PathBuf, MissingBinary> {
    let exe = std::env::current_exe().unwrap_or_default();
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(name))
        .collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| MissingBinary {
            name: name.to_owned(),
            looked: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The `record` binary.
pub fn record() -> Result<PathBuf, MissingBinary> {
    binary("record")
}

/// The `analyze` binary.
pub fn analyze() -> Result<PathBuf, MissingBinary> {
    binary("analyze")
}

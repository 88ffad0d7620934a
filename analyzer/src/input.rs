//! Opening archives: expands directories, reads one entry at a time through
//! the archive crate's recovering reader, and warns once per cut-off file.
//!
//! Nothing here keeps entries: each is handed to the caller and dropped, so
//! memory does not grow with the archive.

use anyhow::{bail, Context};
use cctap_archive::{ArchiveReader, Entry};
use std::path::{Path, PathBuf};

/// One archive to read: a file, or `-` for standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub path: PathBuf,
}

impl Source {
    /// How the file is named in messages and reports.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }

    pub fn is_stdin(&self) -> bool {
        self.path == Path::new("-")
    }
}

/// What a full read found besides the entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadSummary {
    pub entries: usize,
    /// Set when the archive ended before its tail (it was cut off).
    pub cut_off: bool,
}

/// Whether a file name looks like an archive (used inside directories).
pub fn is_archive_name(name: &str) -> bool {
    name.ends_with(".har") || name.ends_with(".har.zst") || name.ends_with(".har.gz")
}

/// Turns the command line's paths into archives: files as given, `-` as
/// stdin, directories as their archives sorted by name (not recursive).
pub fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<Source>> {
    let mut out = Vec::new();
    for path in paths {
        if path == Path::new("-") || !path.is_dir() {
            out.push(Source { path: path.clone() });
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| {
                format!(
                    "cannot list directory {}: check its permissions",
                    path.display()
                )
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(is_archive_name)
            })
            .collect();
        if found.is_empty() {
            bail!("{} holds no .har, .har.zst or .har.gz files: pass an archive or a directory of archives", path.display());
        }
        found.sort();
        out.extend(found.into_iter().map(|path| Source { path }));
    }
    if out.iter().filter(|s| s.is_stdin()).count() > 1 {
        bail!("`-` (standard input) can be given only once");
    }
    Ok(out)
}

/// Reads every entry of one archive, in file order, handing each to `each`
/// with its index. Warns on stderr when the archive was cut off.
pub fn read_entries(
    source: &Source,
    mut each: impl FnMut(usize, Entry) -> anyhow::Result<()>,
) -> anyhow::Result<ReadSummary> {
    let mut reader = open(source)?;
    let mut count = 0;
    for item in reader.by_ref() {
        let entry = item.with_context(|| hint(source))?;
        each(count, entry).with_context(|| source.name())?;
        count += 1;
    }
    let cut_off = match reader.cut_off() {
        Some(cut) => {
            crate::report::warn(&format!(
                "{} was cut off (at byte {} of the document); recovered {} entries",
                source.name(),
                cut.offset,
                cut.entries
            ));
            true
        }
        None => false,
    };
    Ok(ReadSummary {
        entries: count,
        cut_off,
    })
}

/// Opens the archive, also for the writer-side commands (export, redact).
pub fn open(source: &Source) -> anyhow::Result<ArchiveReader> {
    ArchiveReader::open(&source.path).with_context(|| hint(source))
}

fn hint(source: &Source) -> String {
    format!(
        "reading {} (expected a HAR 1.2 archive: .har, .har.zst or .har.gz)",
        source.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_to_their_archives_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.har.zst", "a.har", "notes.txt", "c.har.gz"] {
            std::fs::write(dir.path().join(name), "{}").unwrap();
        }
        let got = expand(&[dir.path().to_path_buf(), PathBuf::from("-")]).unwrap();
        let names: Vec<String> = got
            .iter()
            .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.har", "b.har.zst", "c.har.gz", "-"]);
        assert!(got[3].is_stdin());
    }

    #[test]
    fn an_empty_directory_is_an_error_that_says_what_to_pass() {
        let dir = tempfile::tempdir().unwrap();
        let err = expand(&[dir.path().to_path_buf()]).unwrap_err().to_string();
        assert!(err.contains("holds no .har"), "{err}");
    }
}

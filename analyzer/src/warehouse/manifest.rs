//! `WAREHOUSE/_cctap_manifest.json`: which archives a warehouse holds.
//!
//! One record per exported archive: its SHA-256 (the file as stored), size,
//! entry count, time range, how many calls it had and how many were new,
//! and the files they went to. An archive whose hash is listed is skipped
//! by the next run, whatever its name; a cut-off archive is recorded with
//! `cut_off: true`, and its complete version (another hash) adds only the
//! calls that were missing. Written to a temporary file and renamed.

use super::table::Column;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "_cctap_manifest.json";
const FORMAT: &str = "cctap-warehouse";
const VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Archive {
    pub sha256: String,
    /// The name it was exported under (the first time).
    pub name: String,
    pub bytes: u64,
    pub entries: usize,
    /// Rows it gave the `calls` table, and how many were not there before.
    pub calls: usize,
    pub new_calls: usize,
    pub first_started_at: Option<String>,
    pub last_started_at: Option<String>,
    pub cut_off: bool,
    pub exported_at: String,
    /// The files this run wrote, relative to the warehouse.
    pub files: Vec<String>,
}

/// A column as the manifest describes it, for readers without the README.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDoc {
    pub name: String,
    #[serde(rename = "type")]
    pub sql_type: String,
    pub nullable: bool,
    pub doc: String,
}

impl ColumnDoc {
    pub fn of(columns: &[Column]) -> Vec<ColumnDoc> {
        columns
            .iter()
            .map(|c| ColumnDoc {
                name: c.name.to_owned(),
                sql_type: c.kind.sql().to_owned(),
                nullable: c.nullable,
                doc: c.doc.to_owned(),
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Each table's columns (rewritten by every run).
    #[serde(default)]
    pub tables: BTreeMap<String, Vec<ColumnDoc>>,
    pub archives: Vec<Archive>,
}

impl Default for Manifest {
    fn default() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            version: VERSION,
            tables: BTreeMap::new(),
            archives: Vec::new(),
        }
    }
}

impl Manifest {
    pub fn path(warehouse: &Path) -> PathBuf {
        warehouse.join(FILE_NAME)
    }

    /// The warehouse's manifest; an empty one when there is none yet.
    pub fn load(warehouse: &Path) -> anyhow::Result<Manifest> {
        let path = Manifest::path(warehouse);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", path.display()));
            }
        };
        let m: Manifest = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a cctap warehouse manifest: restore it, or export into an empty directory",
                path.display()
            )
        })?;
        if m.format != FORMAT || m.version > VERSION {
            anyhow::bail!(
                "{} is a {} manifest version {}; this analyze writes {FORMAT} version {VERSION}: use a newer analyze",
                path.display(),
                m.format,
                m.version
            );
        }
        Ok(m)
    }

    pub fn has(&self, sha256: &str) -> bool {
        self.archives.iter().any(|a| a.sha256 == sha256)
    }

    /// Writes the manifest beside its final name, then renames it.
    pub fn save(&self, warehouse: &Path) -> anyhow::Result<()> {
        let path = Manifest::path(warehouse);
        let tmp = warehouse.join(format!("{FILE_NAME}.tmp"));
        let text = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(&tmp, text).with_context(|| {
            format!(
                "cannot write {}: check space and permissions",
                tmp.display()
            )
        })?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("renaming {} into place", tmp.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips_and_a_foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Manifest::default());
        let mut m = Manifest::default();
        m.archives.push(Archive {
            sha256: "ab".repeat(32),
            name: "a.har.zst".into(),
            entries: 3,
            cut_off: true,
            ..Archive::default()
        });
        m.save(dir.path()).unwrap();
        let back = Manifest::load(dir.path()).unwrap();
        assert_eq!(back, m);
        assert!(back.has(&"ab".repeat(32)));
        assert!(!back.has("cd"));
        assert!(!dir.path().join("_cctap_manifest.json.tmp").exists());

        std::fs::write(Manifest::path(dir.path()), r#"{"hello": 1}"#).unwrap();
        let err = format!("{:#}", Manifest::load(dir.path()).unwrap_err());
        assert!(err.contains("is not a cctap warehouse manifest"), "{err}");
        std::fs::write(
            Manifest::path(dir.path()),
            r#"{"format": "cctap-warehouse", "version": 9, "archives": []}"#,
        )
        .unwrap();
        let err = format!("{:#}", Manifest::load(dir.path()).unwrap_err());
        assert!(err.contains("use a newer analyze"), "{err}");
    }
}

//! The `call_id`s a warehouse already holds, read back from its Parquet
//! files (only that column is decoded), so that a run adds no call twice:
//! not when the same archive is exported again under another name, not
//! when two hosts' archives overlap. The dataset itself is the record, so
//! files added or removed by hand are respected.
//!
//! Each id is kept with its call's `request_hash`, both as 128 bits of
//! SHA-256 (~32 bytes a call; a million calls, ~50 MB with the map's
//! overhead; a collision is out of reach): an id that comes back with
//! another request is a reused `request-id`, not the same call.

use anyhow::Context;
use parquet::column::reader::ColumnReader;
use parquet::data_type::ByteArray;
use parquet::file::reader::{FileReader, SerializedFileReader};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Default)]
pub struct Ids {
    /// call_id → request_hash.
    seen: HashMap<u128, u128>,
}

/// What the warehouse knows of a call id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Not there: recorded now.
    New,
    /// There, with the same request: the same call.
    Same,
    /// There, with another request: the id was reused.
    Reused,
}

fn key(id: &[u8]) -> u128 {
    let digest = Sha256::digest(id);
    u128::from_le_bytes(digest[..16].try_into().expect("16 bytes"))
}

impl Ids {
    /// Looks an id up, recording it when new.
    pub fn insert(&mut self, id: &str, request_hash: &str) -> Seen {
        let hash = key(request_hash.as_bytes());
        match self.seen.entry(key(id.as_bytes())) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(hash);
                Seen::New
            }
            std::collections::hash_map::Entry::Occupied(o) if *o.get() == hash => Seen::Same,
            std::collections::hash_map::Entry::Occupied(_) => Seen::Reused,
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Reads the `call_id` column of every Parquet file of a table.
    pub fn load(table_dir: &Path) -> anyhow::Result<Ids> {
        let mut ids = Ids::default();
        for path in super::dataset::parquet_files(table_dir)? {
            ids.read_file(&path).with_context(|| {
                format!(
                    "reading call ids from {} (remove the file if it is not part of the warehouse)",
                    path.display()
                )
            })?;
        }
        Ok(ids)
    }

    fn read_file(&mut self, path: &Path) -> anyhow::Result<()> {
        let file = std::fs::File::open(path)?;
        let reader = SerializedFileReader::new(file)?;
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let find = |name: &str| {
            (0..schema.num_columns())
                .find(|&i| schema.column(i).path().string() == name)
                .with_context(|| format!("the file has no {name} column"))
        };
        let (ids, hashes) = (find("call_id")?, find("request_hash")?);
        for g in 0..reader.num_row_groups() {
            let group = reader.get_row_group(g)?;
            let ids = strings(group.get_column_reader(ids)?)?;
            let hashes = strings(group.get_column_reader(hashes)?)?;
            for (id, hash) in ids.iter().zip(&hashes) {
                self.seen.insert(key(id.data()), key(hash.data()));
            }
        }
        Ok(())
    }
}

/// A required string column's values in one row group.
fn strings(column: ColumnReader) -> anyhow::Result<Vec<ByteArray>> {
    let ColumnReader::ByteArrayColumnReader(mut col) = column else {
        anyhow::bail!("not a string column");
    };
    let mut values: Vec<ByteArray> = Vec::new();
    loop {
        let (records, _, _) = col.read_records(8192, None, None, &mut values)?;
        if records == 0 {
            return Ok(values);
        }
    }
}

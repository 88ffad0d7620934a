//! One table of the warehouse on disk, Hive-partitioned by day:
//! `TABLE/date=YYYY-MM-DD/part-<run>.parquet`.
//!
//! Memory stays bounded however large the input: rows wait in their day's
//! buffer until it fills a row group, and when all buffers together pass a
//! budget the largest is written out early. At most [`MAX_OPEN`] day files
//! are open at once (a year of archives would otherwise need 365 file
//! descriptors); a day closed early continues in `part-<run>-<n>.parquet`.
//!
//! Files are written as `….parquet.tmp` and renamed only by [`Table::commit`],
//! after every file is complete: a failed run leaves no partial Parquet
//! where readers look (their globs end in `.parquet`), and its temporary
//! files are removed when the table is dropped uncommitted.

use super::table::{message_type, Column, Rows};
use anyhow::Context;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per row group, at most.
pub const GROUP_ROWS: usize = 65_536;
/// Buffered bytes per day before its row group is written.
pub const GROUP_BYTES: usize = 32 << 20;
/// Buffered bytes across all days before the largest is written early.
pub const BUDGET_BYTES: usize = 64 << 20;
/// Day files open at once.
pub const MAX_OPEN: usize = 32;

/// A file this run wrote.
#[derive(Clone, Debug)]
pub struct Written {
    /// Relative to the warehouse: `calls/date=…/part-….parquet`.
    pub relative: String,
    pub rows: usize,
}

struct Day {
    date: String,
    tmp: PathBuf,
    path: PathBuf,
    relative: String,
    writer: SerializedFileWriter<BufWriter<File>>,
    rows: Rows,
    total: usize,
    last_used: u64,
}

/// A table being appended to by one run.
pub struct Table {
    root: PathBuf,
    name: &'static str,
    columns: &'static [Column],
    schema: Arc<Type>,
    props: Arc<WriterProperties>,
    run: String,
    open: Vec<Day>,
    /// Closed files waiting for the rename: (tmp, final, written).
    closed: Vec<(PathBuf, PathBuf, Written)>,
    /// How many files each day has had in this run.
    files_per_day: std::collections::HashMap<String, usize>,
    clock: u64,
    committed: bool,
}

impl Table {
    /// `root` is the warehouse; the table lives in `root/name`.
    pub fn new(
        root: &Path,
        name: &'static str,
        columns: &'static [Column],
        run: &str,
    ) -> anyhow::Result<Table> {
        let schema = parquet::schema::parser::parse_message_type(&message_type(name, columns))
            .context("the table's schema does not parse (a bug)")?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_created_by(format!("cctap analyze {}", env!("CARGO_PKG_VERSION")))
            .set_max_row_group_row_count(Some(GROUP_ROWS))
            .set_key_value_metadata(Some(vec![
                KeyValue::new("cctap.table".into(), name.to_owned()),
                KeyValue::new("cctap.schema_version".into(), "1".to_owned()),
            ]))
            .build();
        Ok(Table {
            root: root.to_owned(),
            name,
            columns,
            schema: Arc::new(schema),
            props: Arc::new(props),
            run: run.to_owned(),
            open: Vec::new(),
            closed: Vec::new(),
            files_per_day: Default::default(),
            clock: 0,
            committed: false,
        })
    }

    /// Adds one row to its day.
    pub fn push(&mut self, date: &str, row: Vec<super::table::Cell>) -> anyhow::Result<()> {
        self.clock += 1;
        let i = match self.open.iter().position(|d| d.date == date) {
            Some(i) => i,
            None => self.open_day(date)?,
        };
        let day = &mut self.open[i];
        day.last_used = self.clock;
        day.rows.push(row);
        day.total += 1;
        if day.rows.len() >= GROUP_ROWS || day.rows.bytes() >= GROUP_BYTES {
            flush(day)?;
        }
        let buffered: usize = self.open.iter().map(|d| d.rows.bytes()).sum();
        if buffered > BUDGET_BYTES {
            if let Some(largest) = self.open.iter_mut().max_by_key(|d| d.rows.bytes()) {
                flush(largest)?;
            }
        }
        Ok(())
    }

    fn open_day(&mut self, date: &str) -> anyhow::Result<usize> {
        if self.open.len() >= MAX_OPEN {
            let lru = (0..self.open.len())
                .min_by_key(|&i| self.open[i].last_used)
                .unwrap_or(0);
            let day = self.open.swap_remove(lru);
            self.close_day(day)?;
        }
        let n = self.files_per_day.entry(date.to_owned()).or_default();
        let file = match *n {
            0 => format!("part-{}.parquet", self.run),
            k => format!("part-{}-{k}.parquet", self.run),
        };
        *n += 1;
        let dir = self.root.join(self.name).join(format!("date={date}"));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}: check permissions", dir.display()))?;
        let path = dir.join(&file);
        if path.exists() {
            anyhow::bail!(
                "{} already exists: another export with the same run id? run again",
                path.display()
            );
        }
        let tmp = dir.join(format!("{file}.tmp"));
        let out = File::create(&tmp)
            .with_context(|| format!("cannot create {}: check permissions", tmp.display()))?;
        let writer = SerializedFileWriter::new(
            BufWriter::with_capacity(1 << 20, out),
            self.schema.clone(),
            self.props.clone(),
        )?;
        self.open.push(Day {
            date: date.to_owned(),
            tmp,
            path,
            relative: format!("{}/date={date}/{file}", self.name),
            writer,
            rows: Rows::new(self.columns),
            total: 0,
            last_used: self.clock,
        });
        Ok(self.open.len() - 1)
    }

    fn close_day(&mut self, mut day: Day) -> anyhow::Result<()> {
        flush(&mut day)?;
        day.writer
            .close()
            .with_context(|| format!("finishing {}", day.tmp.display()))?;
        self.closed.push((
            day.tmp,
            day.path,
            Written {
                relative: day.relative,
                rows: day.total,
            },
        ));
        Ok(())
    }

    /// Finishes every file and renames them into place.
    pub fn commit(mut self) -> anyhow::Result<Vec<Written>> {
        for day in std::mem::take(&mut self.open) {
            self.close_day(day)?;
        }
        let mut written = Vec::new();
        for (tmp, path, w) in std::mem::take(&mut self.closed) {
            std::fs::rename(&tmp, &path)
                .with_context(|| format!("renaming {} into place", tmp.display()))?;
            written.push(w);
        }
        self.committed = true;
        written.sort_by(|a, b| a.relative.cmp(&b.relative));
        Ok(written)
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let open = self.open.iter().map(|d| &d.tmp);
        for tmp in open.chain(self.closed.iter().map(|c| &c.0)) {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Writes a day's buffered rows as one row group.
fn flush(day: &mut Day) -> anyhow::Result<()> {
    if day.rows.is_empty() {
        return Ok(());
    }
    let mut group = day.writer.next_row_group()?;
    day.rows
        .write(&mut group)
        .with_context(|| format!("writing {}", day.tmp.display()))?;
    group.close()?;
    Ok(())
}

/// Every `*.parquet` file under `dir`, recursively, sorted.
pub fn parquet_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    files_under(dir, "parquet")
}

/// Every file named `*.EXT` under `dir`, recursively, sorted; none when
/// `dir` does not exist.
pub fn files_under(dir: &Path, ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .with_context(|| format!("cannot list {}: check permissions", d.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

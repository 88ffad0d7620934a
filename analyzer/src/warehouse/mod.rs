//! `analyze export ARCHIVES… --format parquet -o WAREHOUSE/`: the calls of
//! any number of archives as a Hive-partitioned Parquet dataset that DuckDB,
//! Spark, ClickHouse, Trino or pyarrow query as it is
//! (`calls/date=YYYY-MM-DD/part-<run>.parquet`).
//!
//! Flow: archive → [`crate::call::Call`] → [`calls::CallRow`] → the day's
//! row buffer ([`table`]) → a row group in the day's file ([`dataset`]).
//! Runs are idempotent and mergeable: [`manifest`] skips archives already
//! exported, [`ids`] skips calls already in the warehouse.

pub mod calls;
pub mod dataset;
mod ids;
pub mod manifest;
pub mod messages;
pub mod table;

use crate::call::Call;
use crate::cli::{ExportArgs, ExportFormat};
use crate::input::{self, Source};
use crate::prices::Prices;
use crate::report::{self, Outcome};
use anyhow::Context;
use manifest::{Archive, Manifest};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

/// `analyze export`: a Parquet warehouse, or one archive converted.
pub fn export(args: &ExportArgs, json_out: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if args.format == ExportFormat::Parquet {
        return run(args, json_out, out);
    }
    if !args.more.is_empty() || args.prices.is_some() || args.with_content {
        anyhow::bail!(
            "several inputs, --prices and --with-content go with --format parquet; converting an archive takes one IN and one -o OUT"
        );
    }
    crate::export::run(&args.convert, json_out, out)
}

/// What one archive gave.
#[derive(Debug, Default)]
struct Counts {
    calls: usize,
    new: usize,
    /// Calls whose `request-id` an earlier, different request had.
    reused_ids: usize,
    first: Option<(i128, String)>,
    last: Option<(i128, String)>,
}

impl Counts {
    fn saw(&mut self, call: &Call) {
        let t = call.started_nanos();
        if self.first.as_ref().is_none_or(|(f, _)| t < *f) {
            self.first = Some((t, call.started.clone()));
        }
        if self.last.as_ref().is_none_or(|(l, _)| t > *l) {
            self.last = Some((t, call.started.clone()));
        }
    }
}

fn run(args: &ExportArgs, json_out: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let warehouse = args.convert.output.as_path();
    prepare(warehouse)?;
    let prices = Prices::load(args.prices.as_deref())?;
    let mut paths = vec![args.convert.input.clone()];
    paths.extend(args.more.iter().cloned());
    let sources = input::expand(&paths)?;
    if sources.iter().any(Source::is_stdin) {
        anyhow::bail!("--format parquet reads files (each archive's hash goes into the manifest): save standard input to a file first");
    }
    let mut manifest = Manifest::load(warehouse)?;
    let mut seen = ids::Ids::load(&warehouse.join("calls"))?;
    let hashed: Vec<(Source, String, u64)> = sources
        .into_iter()
        .map(|s| {
            let (hash, bytes) = file_sha256(&s.path)?;
            Ok((s, hash, bytes))
        })
        .collect::<anyhow::Result<_>>()?;
    let run_id = run_id(hashed.iter().map(|h| h.1.as_str()));
    let mut table = dataset::Table::new(warehouse, "calls", calls::COLUMNS, &run_id)?;
    // Prompt text leaves the archive only when asked for.
    let mut content = if args.with_content {
        Some(dataset::Table::new(
            warehouse,
            "messages",
            messages::COLUMNS,
            &run_id,
        )?)
    } else {
        None
    };
    let mut builder = calls::RowBuilder::new(&prices);
    let mut reports = Vec::new();
    let mut added = Vec::new();
    // Throughput counts the HAR as read (decompressed), not as stored.
    let mut bytes_read = 0;
    let mut stored_read = 0;
    let mut unreadable = 0;
    for (source, sha256, bytes) in &hashed {
        let name = source.name();
        if manifest.has(sha256) || added.iter().any(|a: &Archive| &a.sha256 == sha256) {
            reports.push(json!({"archive": name, "sha256": sha256, "status": "already exported"}));
            continue;
        }
        builder.next_archive();
        let mut counts = Counts::default();
        let summary = input::read_entries(source, |i, entry| {
            let call = Call::from_entry(i, &entry);
            call.warn_body(&name);
            let Some(mut row) = builder.row(&call, &entry, &name, sha256) else {
                return Ok(());
            };
            counts.saw(&call);
            counts.calls += 1;
            let mut seen_as = seen.insert(&row.call_id, &row.request_hash);
            if seen_as == ids::Seen::Reused {
                counts.reused_ids += 1;
                row.call_id = row.request_hash.clone();
                seen_as = seen.insert(&row.call_id, &row.request_hash);
            }
            if seen_as == ids::Seen::New {
                counts.new += 1;
                let date = row.date.clone();
                if let Some(content) = content.as_mut() {
                    for cells in messages::rows(&call, &row) {
                        content.push(&date, cells)?;
                    }
                }
                table.push(&date, row.cells())?;
            }
            Ok(())
        })?;
        // Unreadable in a run over several: named by `input`, left out of
        // the manifest so that a later run tries it again (what it gave
        // before the error is kept, and not added twice then); the run
        // exits 2 at the end.
        if summary.skipped {
            reports.push(
                json!({"archive": name, "sha256": sha256, "status": "unreadable",
                "new_calls": counts.new}),
            );
            unreadable += 1;
            continue;
        }
        if counts.reused_ids > 0 {
            report::warn(&format!(
                "{name}: {} call(s) carry a request-id that another request had (a fake or a proxy numbering its replies?); their call_id is their request_hash",
                counts.reused_ids
            ));
        }
        if summary.cut_off {
            report::warn(&format!(
                "{name}: exported the {} calls it holds; export the complete archive later and only the missing calls are added",
                counts.calls
            ));
        }
        stored_read += bytes;
        bytes_read += summary.bytes;
        reports.push(json!({
            "archive": name, "sha256": sha256, "status": "exported",
            "entries": summary.entries, "calls": counts.calls, "new_calls": counts.new,
            "duplicate_calls": counts.calls - counts.new,
            "cut_off": summary.cut_off,
        }));
        added.push(Archive {
            sha256: sha256.clone(),
            name,
            bytes: *bytes,
            entries: summary.entries,
            calls: counts.calls,
            new_calls: counts.new,
            first_started_at: counts.first.map(|f| f.1),
            last_started_at: counts.last.map(|l| l.1),
            cut_off: summary.cut_off,
            exported_at: now_rfc3339(),
            files: Vec::new(),
        });
    }
    let written = table.commit()?;
    let mut files: Vec<String> = written.iter().map(|w| w.relative.clone()).collect();
    let mut message_rows = 0;
    if let Some(content) = content {
        let written = content.commit()?;
        message_rows = written.iter().map(|w| w.rows).sum::<usize>();
        files.extend(written.iter().map(|w| w.relative.clone()));
    }
    for a in &mut added {
        a.files = files.clone();
    }
    let new_rows: usize = written.iter().map(|w| w.rows).sum();
    let archives_added = added.len();
    manifest.archives.extend(added);
    manifest
        .tables
        .insert("calls".into(), manifest::ColumnDoc::of(calls::COLUMNS));
    if args.with_content {
        manifest.tables.insert(
            "messages".into(),
            manifest::ColumnDoc::of(messages::COLUMNS),
        );
    }
    manifest.save(warehouse)?;
    let seconds = started.elapsed().as_secs_f64();
    let mb = bytes_read as f64 / 1e6;
    if json_out {
        report::write_json(
            out,
            &json!({
                "warehouse": warehouse.display().to_string(),
                "archives": reports,
                "calls_added": new_rows,
                "message_rows_added": message_rows,
                "unreadable_archives": unreadable,
                "calls_in_warehouse": seen.len(),
                "files": files,
                "seconds": seconds,
                "bytes_read": bytes_read,
                "bytes_stored": stored_read,
                "mb_per_s": mb / seconds.max(1e-9),
            }),
        )?;
    }
    eprintln!(
        "analyze: {archives_added} archive(s) exported, {} already there, {unreadable} unreadable; {new_rows} calls added to {} in {} file(s), {} calls in the warehouse; read {mb:.1} MB of archives ({:.1} MB as stored) in {seconds:.2} s: {:.1} MB/s",
        hashed.len() - archives_added - unreadable,
        warehouse.display(),
        files.len(),
        seen.len(),
        stored_read as f64 / 1e6,
        mb / seconds.max(1e-9),
    );
    Ok(Outcome::Clean)
}

/// Creates the warehouse directory, or checks that an existing one is a
/// warehouse (or empty): never scatter files into an unrelated directory.
fn prepare(warehouse: &Path) -> anyhow::Result<()> {
    if warehouse.exists() && !warehouse.is_dir() {
        anyhow::bail!(
            "{} is a file: --format parquet writes a directory (-o WAREHOUSE/)",
            warehouse.display()
        );
    }
    if warehouse.is_dir() && !Manifest::path(warehouse).exists() {
        let mut entries = std::fs::read_dir(warehouse)
            .with_context(|| format!("cannot list {}", warehouse.display()))?;
        if entries.next().is_some() {
            anyhow::bail!(
                "{} is not empty and has no {}: give a new or empty directory, or an existing warehouse",
                warehouse.display(),
                manifest::FILE_NAME
            );
        }
    }
    std::fs::create_dir_all(warehouse).with_context(|| {
        format!(
            "cannot create {}: check the parent exists and is writable",
            warehouse.display()
        )
    })
}

/// SHA-256 of a file as stored, and its size.
fn file_sha256(path: &Path) -> anyhow::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)
        .with_context(|| format!("cannot open {}: check the path", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((calls::hex(&h.finalize()), total))
}

/// A name no earlier run used: the time, and a hash of what this run reads.
fn run_id<'a>(hashes: impl Iterator<Item = &'a str>) -> String {
    let now = time::OffsetDateTime::now_utc();
    let mut h = Sha256::new();
    h.update(now.unix_timestamp_nanos().to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    for s in hashes {
        h.update(s.as_bytes());
    }
    let stamp = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    format!(
        "{}-{}",
        now.format(&stamp).unwrap_or_default(),
        &calls::hex(&h.finalize()[..4])
    )
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;

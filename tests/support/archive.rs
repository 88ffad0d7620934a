//! Reads back what `record` wrote, two independent ways, and judges it.
//!
//! [`decompressed`] gives the whole document's bytes (sniffing zstd, gzip or
//! plain by content) so a test can search every byte, e.g. for a leaked key;
//! [`read_entries`] goes through `cctap_archive`'s recovering reader;
//! [`har_problems`] checks the fields HAR 1.2 requires and that timings are
//! sane, on the raw JSON so it does not trust our own model.

use cctap_archive::reader::CutOff;
use cctap_archive::{ArchiveReader, Entry};
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// Why an archive could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveCheckError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Reader(#[from] cctap_archive::ReadError),
    #[error("{path} is not one JSON document: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path}: {found} entries after {limit:?}, wanted {wanted}")]
    NotEnough {
        path: String,
        found: usize,
        wanted: usize,
        limit: Duration,
    },
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The decompressed bytes of the whole file, as far as they decode (a
/// cut-off stream yields what came before the cut).
pub fn decompressed(path: &Path) -> Result<Vec<u8>, ArchiveCheckError> {
    let io = |source| ArchiveCheckError::Io {
        path: path.display().to_string(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    let mut out = Vec::new();
    let result = if raw.starts_with(&ZSTD_MAGIC) {
        zstd::stream::read::Decoder::new(raw.as_slice())
            .and_then(|mut d| d.window_log_max(31).map(|_| d))
            .and_then(|mut d| read_what_decodes(&mut d, &mut out))
    } else if raw.starts_with(&GZIP_MAGIC) {
        read_what_decodes(&mut flate2::read::GzDecoder::new(raw.as_slice()), &mut out)
    } else {
        out = raw;
        Ok(())
    };
    result.map_err(io)?;
    Ok(out)
}

/// Reads until the end or the first error; a truncated stream is not an
/// error here (the bytes before the cut are what a test inspects).
fn read_what_decodes(source: &mut dyn Read, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match source.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof || !out.is_empty() => {
                return Ok(())
            }
            Err(e) => return Err(e),
        }
    }
}

/// The whole document as JSON: only for complete (cleanly closed) files.
pub fn document(path: &Path) -> Result<Value, ArchiveCheckError> {
    let bytes = decompressed(path)?;
    serde_json::from_slice(&bytes).map_err(|source| ArchiveCheckError::Json {
        path: path.display().to_string(),
        source,
    })
}

/// Every entry through the archive reader, and where it was cut off.
pub fn read_entries(path: &Path) -> Result<(Vec<Entry>, Option<CutOff>), ArchiveCheckError> {
    let mut reader = ArchiveReader::open(path)?;
    let mut entries = Vec::new();
    for entry in reader.by_ref() {
        entries.push(entry?);
    }
    Ok((entries, reader.cut_off().cloned()))
}

/// Polls the file until the reader yields at least `n` entries: entries are
/// flushed as exchanges end, so a test waits for them, with a limit.
pub async fn wait_for_entries(
    path: &Path,
    n: usize,
    limit: Duration,
) -> Result<Vec<Entry>, ArchiveCheckError> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut found = 0;
    while tokio::time::Instant::now() < deadline {
        if let Ok((entries, _)) = read_entries(path) {
            if entries.len() >= n {
                return Ok(entries);
            }
            found = entries.len();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(ArchiveCheckError::NotEnough {
        path: path.display().to_string(),
        found,
        wanted: n,
        limit,
    })
}

/// Everything wrong with a HAR 1.2 document; empty when it is sound.
pub fn har_problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let log = &doc["log"];
    if log["version"] != "1.2" {
        problems.push(format!("log.version is {}, not \"1.2\"", log["version"]));
    }
    for field in ["name", "version"] {
        if !log["creator"][field].is_string() {
            problems.push(format!("log.creator.{field} missing"));
        }
    }
    match log["entries"].as_array() {
        None => problems.push("log.entries is not an array".into()),
        Some(entries) => {
            for (i, entry) in entries.iter().enumerate() {
                problems.extend(
                    entry_problems(entry)
                        .into_iter()
                        .map(|p| format!("entries[{i}]: {p}")),
                );
            }
        }
    }
    problems
}

/// Everything wrong with one HAR entry (required fields, sane timings).
pub fn entry_problems(entry: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut need = |value: &Value, path: &str, ok: fn(&Value) -> bool| {
        if !ok(value) {
            problems.push(format!("{path} missing or of the wrong type ({value})"));
        }
    };
    need(
        &entry["startedDateTime"],
        "startedDateTime",
        Value::is_string,
    );
    need(&entry["time"], "time", Value::is_number);
    need(&entry["cache"], "cache", Value::is_object);
    let request = &entry["request"];
    for (field, ok) in [
        ("method", Value::is_string as fn(&Value) -> bool),
        ("url", Value::is_string),
        ("httpVersion", Value::is_string),
        ("cookies", Value::is_array),
        ("headers", Value::is_array),
        ("queryString", Value::is_array),
        ("headersSize", Value::is_number),
        ("bodySize", Value::is_number),
    ] {
        need(&request[field], &format!("request.{field}"), ok);
    }
    let response = &entry["response"];
    for (field, ok) in [
        ("status", Value::is_number as fn(&Value) -> bool),
        ("statusText", Value::is_string),
        ("httpVersion", Value::is_string),
        ("cookies", Value::is_array),
        ("headers", Value::is_array),
        ("content", Value::is_object),
        ("redirectURL", Value::is_string),
        ("headersSize", Value::is_number),
        ("bodySize", Value::is_number),
    ] {
        need(&response[field], &format!("response.{field}"), ok);
    }
    need(
        &response["content"]["size"],
        "response.content.size",
        Value::is_number,
    );
    need(
        &response["content"]["mimeType"],
        "response.content.mimeType",
        Value::is_string,
    );
    if let Some(started) = entry["startedDateTime"].as_str() {
        if cctap_archive::model::parse_started(started).is_none() {
            problems.push(format!("startedDateTime {started:?} is not RFC 3339"));
        }
    }
    problems.extend(timing_problems(entry));
    problems
}

/// Timings: send, wait, receive present; nothing negative but -1;
/// wait ≤ time; and `time` is their sum (HAR 1.2), within rounding.
fn timing_problems(entry: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let timings = &entry["timings"];
    let time = entry["time"].as_f64().unwrap_or(-1.0);
    if time < 0.0 {
        problems.push(format!("time {time} is negative"));
    }
    let mut sum = 0.0;
    for name in [
        "blocked", "dns", "connect", "ssl", "send", "wait", "receive",
    ] {
        let value = &timings[name];
        let required = matches!(name, "send" | "wait" | "receive");
        let Some(v) = value.as_f64() else {
            if required || !value.is_null() {
                problems.push(format!("timings.{name} missing or not a number ({value})"));
            }
            continue;
        };
        if v < 0.0 && v != -1.0 {
            problems.push(format!("timings.{name} is {v}: negative but not -1"));
        }
        // HAR 1.2: ssl time is also included in connect; count it once.
        if v > 0.0 && name != "ssl" {
            sum += v;
        }
    }
    let wait = timings["wait"].as_f64().unwrap_or(0.0);
    if wait > time + 0.5 {
        problems.push(format!("timings.wait {wait} exceeds time {time}"));
    }
    if (sum - time).abs() > 1.0 + time * 0.01 {
        problems.push(format!("time {time} is not the sum of the timings ({sum})"));
    }
    problems
}

/// The reply text carried by an SSE stream's `content_block_delta`s.
pub fn sse_text(entry: &Entry) -> String {
    let events = entry.sse_events.as_deref().unwrap_or_default();
    events
        .iter()
        .filter(|e| e.event == "content_block_delta")
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter_map(|v| v["delta"]["text"].as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sound_entry() -> Value {
        json!({"startedDateTime": "2026-11-25T12:00:00.000+00:00", "time": 10.0, "cache": {},
               "request": {"method": "POST", "url": "http://x/", "httpVersion": "HTTP/1.1", "cookies": [],
                           "headers": [], "queryString": [], "headersSize": -1, "bodySize": 0},
               "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [],
                            "headers": [], "content": {"size": 0, "mimeType": "x"}, "redirectURL": "",
                            "headersSize": -1, "bodySize": 0},
               "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 1.0, "wait": 4.0, "receive": 5.0}})
    }

    #[test]
    fn a_sound_entry_has_no_problems() {
        let doc = json!({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [sound_entry()]}});
        assert_eq!(har_problems(&doc), Vec::<String>::new());
    }

    #[test]
    fn bad_timings_and_missing_fields_are_found() {
        let mut e = sound_entry();
        e["timings"]["wait"] = json!(20.0);
        e["timings"]["dns"] = json!(-3);
        e["response"].as_object_mut().unwrap().remove("redirectURL");
        let problems = entry_problems(&e);
        assert!(
            problems.iter().any(|p| p.contains("wait 20 exceeds")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("dns is -3")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("redirectURL")),
            "{problems:?}"
        );
    }
}

//! Measures the archive's speed on a generated archive of about 200 MB:
//! writing and reading `.har` and `.har.zst`, and redacting a clean 60 KB
//! request body. Run with `cargo run --release -p cctap-archive --example
//! throughput [MB [DIR]]`; prints MB/s of the decompressed document.
use cctap_archive::model::{Entry, Header, LogHead, PostData};
use cctap_archive::{redact, ArchiveReader, ArchiveWriter};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target_mb: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir()?;
    // A second argument keeps the archives there, to inspect them.
    let keep = std::env::args().nth(2).map(std::path::PathBuf::from);
    let out_dir = keep.as_deref().unwrap_or(dir.path());
    let tools = "{\"name\":\"Bash\",\"description\":\"Executes a given bash command in a persistent shell session with optional timeout, ensuring proper handling and security measures.\",\"input_schema\":{\"type\":\"object\"}},".repeat(300);
    for name in ["bench.har", "bench.har.zst"] {
        let path = out_dir.join(name);
        let head = LogHead::new("throughput", "0");
        let start = Instant::now();
        let mut w = ArchiveWriter::create(&path, &head)?;
        let mut bytes = 0usize;
        let mut i = 0;
        while bytes < target_mb << 20 {
            let e = entry(i, &tools);
            bytes += serde_json::to_vec(&e)?.len();
            w.append(&e)?;
            i += 1;
        }
        w.finish()?;
        let write = start.elapsed().as_secs_f64();
        let on_disk = std::fs::metadata(&path)?.len();

        let start = Instant::now();
        let mut r = ArchiveReader::open(&path)?;
        let mut n = 0;
        for e in r.by_ref() {
            e?;
            n += 1;
        }
        let read = start.elapsed().as_secs_f64();
        assert_eq!(n, i);
        assert!(r.cut_off().is_none());
        let mb = bytes as f64 / 1e6;
        println!(
            "{name}: {n} entries, {mb:.0} MB JSON, {:.1} MB on disk; write {:.0} MB/s, read {:.0} MB/s",
            on_disk as f64 / 1e6,
            mb / write,
            mb / read
        );
    }
    let body = entry(0, &tools)
        .har
        .request
        .post_data
        .and_then(|p| p.text)
        .unwrap_or_default();
    let start = Instant::now();
    for _ in 0..100 {
        assert!(redact::redact_text(&body).is_none());
    }
    println!(
        "redact_text on a clean {} KB body: {:.0} µs",
        body.len() / 1000,
        start.elapsed().as_secs_f64() * 1e6 / 100.0
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
            println!(
                "peak resident memory: {}",
                line.trim_start_matches("VmHWM:").trim()
            );
        }
    }
    Ok(())
}

/// A main-loop exchange whose conversation grows with `i`, as Claude
/// Code's do, on top of ~60 KB of tools.
fn entry(i: usize, tools: &str) -> Entry {
    let turns: String = (0..i % 40)
        .map(|t| format!("{{\"role\":\"user\",\"content\":\"step {t}: run the tests again and fix what fails\"}},"))
        .collect();
    let mut e = Entry::default();
    e.har.started_date_time = "2026-11-25T12:00:00.000+00:00".into();
    e.har.request.method = "POST".into();
    e.har.request.url = "https://api.anthropic.com/v1/messages?beta=true".into();
    e.har.request.headers = vec![Header {
        name: "content-type".into(),
        value: "application/json".into(),
        comment: None,
    }];
    e.har.request.post_data = Some(PostData {
        mime_type: "application/json".into(),
        text: Some(format!("{{\"messages\":[{turns}{{\"role\":\"user\",\"content\":\"{i}\"}}],\"tools\":[{tools}{{}}]}}")),
        ..Default::default()
    });
    let stream: String = (0..50)
        .map(|k| format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"word{k} \"}}}}\n\n"))
        .collect();
    e.sse_events = Some(cctap_archive::sse::parse_all(&stream));
    e.har.response.status = 200;
    e.har.response.content.text = Some(stream);
    e
}

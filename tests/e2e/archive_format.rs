//! The archive decodes with the stock `zstd` CLI and with our reader alike,
//! in every output format, and is sound HAR 1.2 with sane timings.

use crate::common::*;
use cctap_tests::upstream::FakeUpstream;
use serde_json::Value;

/// Two exchanges (a stream and a JSON message) through a fresh session.
async fn two_exchanges(
    extension: &str,
) -> (
    Vec<cctap_archive::Entry>,
    Value,
    tempfile::TempDir,
    std::path::PathBuf,
) {
    let session = Session::with(FakeUpstream::builder(), extension, &[]).await;
    let http = client();
    for stream in [true, false] {
        let response = http
            .post(format!("{}/v1/messages", session.url()))
            .body(messages_body(stream))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
    }
    let path = session.archive.clone();
    let (entries, doc, dir) = session.finish().await;
    assert_eq!(entries.len(), 2, "{extension}: two exchanges, two entries");
    (entries, doc, dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zst_archive_decodes_with_the_zstd_cli_and_the_reader() {
    bounded("test", LIMIT, async {
        let (entries, doc, _dir, path) = two_exchanges("har.zst").await;
        let raw = std::fs::read(&path).expect("read archive");
        assert_eq!(
            &raw[..4],
            &[0x28, 0xb5, 0x2f, 0xfd],
            ".har.zst must be a zstd stream"
        );
        if std::process::Command::new("zstd")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("zstd CLI not installed: CLI decode skipped");
            return;
        }
        let out = tokio::process::Command::new("zstd")
            .kill_on_drop(true)
            .args(["-d", "-c"])
            .arg(&path)
            .output()
            .await
            .expect("run zstd");
        assert!(
            out.status.success(),
            "zstd -d failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let by_cli: Value =
            serde_json::from_slice(&out.stdout).expect("zstd -d output is one JSON document");
        assert_eq!(by_cli, doc, "the CLI and our decompression must agree");
        let cli_entries = by_cli["log"]["entries"].as_array().expect("entries");
        let mut cli_urls: Vec<(&str, &str)> = cli_entries
            .iter()
            .map(|e| {
                (
                    e["startedDateTime"].as_str().unwrap_or(""),
                    e["request"]["postData"]["text"].as_str().unwrap_or(""),
                )
            })
            .collect();
        cli_urls.sort();
        let reader_urls: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| {
                (
                    e.har.started_date_time.as_str(),
                    e.request_text().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            cli_urls, reader_urls,
            "the reader must yield what the file holds"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_and_gzip_archives_are_sound_har() {
    bounded("test", LIMIT, async {
        for extension in ["har", "har.gz"] {
            let (entries, doc, _dir, path) = two_exchanges(extension).await;
            let raw = std::fs::read(&path).expect("read archive");
            match extension {
                "har" => assert_eq!(raw.first(), Some(&b'{'), ".har must be plain JSON"),
                _ => assert_eq!(&raw[..2], &[0x1f, 0x8b], ".har.gz must be gzip"),
            }
            assert_eq!(doc["log"]["version"], "1.2");
            assert!(entries
                .iter()
                .all(|e| e.har.request.http_version == "HTTP/1.1"));
            assert!(entries.iter().all(|e| e.har.response.status == 200));
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_timings_cover_the_whole_stream() {
    bounded("test", LIMIT, async {
        // Paced: the stream takes ≥ 10 × 30 ms, so receive must cover it.
        let behaviour =
            cctap_tests::upstream::Behaviour::parse("pace=30,deltas=8").expect("behaviour");
        let session =
            Session::with(FakeUpstream::builder().behaviour(behaviour), "har.zst", &[]).await;
        let response = client()
            .post(format!("{}/v1/messages", session.url()))
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        response.text().await.expect("stream");
        let (entries, doc, _dir) = session.finish().await;
        let e = &entries[0];
        let t = &doc["log"]["entries"][0]["timings"];
        let (wait, receive) = (
            t["wait"].as_f64().unwrap_or(-1.0),
            t["receive"].as_f64().unwrap_or(-1.0),
        );
        let events = e.sse_events.as_ref().expect("events");
        assert_eq!(events.len(), 14);
        let span = events.last().map(|l| l.time).unwrap_or(0.0) - events[0].time;
        assert!(
            span >= 12.0 * 30.0 * 0.9,
            "13 paced gaps of 30 ms, stamps span only {span} ms"
        );
        assert!(
            receive >= span - 1.0,
            "receive {receive} ms must cover the stream ({span} ms)"
        );
        assert!(
            wait <= events[0].time + 1.0,
            "wait {wait} ms ends at the first byte (first event at {})",
            events[0].time
        );
        assert!(e.har.time >= wait + receive - 1.0);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dash_writes_the_archive_to_stdout() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    bounded("test", LIMIT, async {
        let mut child =
            tokio::process::Command::new(cctap_tests::binaries::record().expect("record binary"))
                .args(["-m", "offline", "-o", "-", "-p", "0"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn record");
        let mut stdout = child.stdout.take().expect("stdout");
        let reading = tokio::spawn(async move {
            let mut all = Vec::new();
            stdout.read_to_end(&mut all).await.map(|_| all)
        });
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let addr = loop {
            let line = lines
                .next_line()
                .await
                .expect("stderr")
                .expect("record ended before listening");
            if let Some(addr) = cctap_tests::recorder::listening_addr(&line) {
                break addr;
            }
        };
        let response = client()
            .post(format!("http://{addr}/v1/messages"))
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        response.text().await.expect("answer");
        cctap_tests::recorder::send_signal(child.id().expect("pid"), "-INT").expect("SIGINT");
        let status = child.wait().await.expect("wait");
        assert!(status.success(), "{status}");
        let out = reading.await.expect("reader task").expect("read stdout");
        let doc: Value = serde_json::from_slice(&out).expect("stdout is one HAR document");
        assert_eq!(
            cctap_tests::archive::har_problems(&doc),
            Vec::<String>::new()
        );
        assert_eq!(doc["log"]["entries"].as_array().map(Vec::len), Some(1));
    })
    .await
}

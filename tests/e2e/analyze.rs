//! `record` then `analyze` on the same session: the analyzer's totals equal
//! the usage the fake upstream reported (predicted by `Usage::for_request`),
//! and `analyze leaks` agrees with redaction.

use crate::common::*;
use cctap_tests::binaries;
use cctap_tests::upstream::{FakeUpstream, Usage, DEFAULT_REPLY};
use serde_json::Value;

async fn analyze(args: &[&str], archive: &std::path::Path) -> std::process::Output {
    tokio::process::Command::new(binaries::analyze().expect("analyze binary"))
        .kill_on_drop(true)
        .args(args)
        .arg(archive)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run analyze")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_usage_totals_what_upstream_reported() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let http = client();
        let mut want = Usage::default();
        for (i, stream) in [true, false, true].into_iter().enumerate() {
            let body = messages_body(stream).replace("say hi", &"say hi again ".repeat(i * 7 + 1));
            let response = http
                .post(format!("{}/v1/messages?beta=true", session.url()))
                .header("x-api-key", FAKE_API_KEY)
                .body(body.clone())
                .send()
                .await
                .expect("send");
            response.bytes().await.expect("answer");
            let u = Usage::for_request(body.as_bytes(), DEFAULT_REPLY);
            want.input_tokens += u.input_tokens;
            want.output_tokens += u.output_tokens;
            want.cache_creation_input_tokens += u.cache_creation_input_tokens;
            want.cache_read_input_tokens += u.cache_read_input_tokens;
        }
        let path = session.archive.clone();
        let (_entries, _, _dir) = session.finish().await;
        let out = analyze(&["usage", "--json"], &path).await;
        assert!(
            out.status.success(),
            "analyze usage failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("usage --json is JSON");
        let total = &report["total"];
        assert_eq!(total["requests"], 3, "{report}");
        assert_eq!(total["input_tokens"], want.input_tokens, "{report}");
        assert_eq!(
            total["output_tokens"], want.output_tokens,
            "final output_tokens of each answer: {report}"
        );
        assert_eq!(
            total["cache_creation_input_tokens"],
            want.cache_creation_input_tokens
        );
        assert_eq!(
            total["cache_read_input_tokens"],
            want.cache_read_input_tokens
        );

        let leaks = analyze(&["leaks"], &path).await;
        assert_eq!(
            leaks.status.code(),
            Some(0),
            "a redacted archive has no leaks: {}",
            String::from_utf8_lossy(&leaks.stdout)
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_leaks_finds_the_key_of_a_no_redact_archive() {
    bounded("test", LIMIT, async {
        let session = Session::with(FakeUpstream::builder(), "har.zst", &["--no-redact"]).await;
        let response = client()
            .post(format!("{}/v1/messages", session.url()))
            .header("x-api-key", FAKE_API_KEY)
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        response.bytes().await.expect("answer");
        let path = session.archive.clone();
        let (_entries, _, _dir) = session.finish().await;
        let leaks = analyze(&["leaks"], &path).await;
        assert_eq!(
            leaks.status.code(),
            Some(1),
            "the unredacted key must be reported: {}",
            String::from_utf8_lossy(&leaks.stdout)
        );
        let report = String::from_utf8_lossy(&leaks.stdout);
        assert!(
            !report.contains(&FAKE_API_KEY[13..]),
            "the leak report must not print the key itself: {report}"
        );
    })
    .await
}

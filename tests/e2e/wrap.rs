//! `record -- COMMAND`: the child gets ANTHROPIC_BASE_URL, its exchanges are
//! recorded, and record exits with the child's status.

use crate::common::*;
use cctap_tests::{archive, binaries};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrapped_command_is_recorded_and_its_status_returned() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl not installed: test skipped");
        return;
    }
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wrapped.har");
        let body_file = dir.path().join("body.json");
        std::fs::write(&body_file, messages_body(true)).expect("write body");
        let script = format!(
            "curl -sS --noproxy '*' -H 'x-api-key: {FAKE_API_KEY}' --data-binary @{} \"$ANTHROPIC_BASE_URL/v1/messages?beta=true\" && exit 3",
            body_file.display()
        );
        let output = tokio::process::Command::new(binaries::record().expect("record binary"))
            .args(["-m", "offline", "-o"])
            .arg(&path)
            .args(["--", "sh", "-c", &script])
            .env_remove("ANTHROPIC_BASE_URL")
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run record -- sh");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "record must exit with the child's status; stderr:\n{stderr}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("event: message_stop"), "the child's output (offline SSE reply) passes through: {stdout}");

        let doc = archive::document(&path).expect("closed archive");
        assert_eq!(archive::har_problems(&doc), Vec::<String>::new());
        let (entries, cut) = archive::read_entries(&path).expect("read");
        assert_eq!(cut, None);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].request_text(), Some(messages_body(true).as_str()));
        assert!(entries[0].har.request.url.ends_with("/v1/messages?beta=true"));
        assert!(!String::from_utf8_lossy(&std::fs::read(&path).expect("read")).contains(&FAKE_API_KEY[13..]));
    })
    .await
}

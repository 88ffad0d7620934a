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
            .kill_on_drop(true)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrapped_reverse_without_url_goes_to_the_base_url_the_user_had() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl not installed: test skipped");
        return;
    }
    bounded("test", LIMIT, async {
        let upstream = cctap_tests::FakeUpstream::start().await.expect("fake upstream");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("env.har.zst");
        let script = "echo \"base=$ANTHROPIC_BASE_URL\"; curl -sS --noproxy '*' -d '{\"stream\":false}' \"$ANTHROPIC_BASE_URL/v1/messages\"";
        let output = tokio::process::Command::new(binaries::record().expect("record binary"))
            .kill_on_drop(true)
            .args(["-m", "reverse"])
            .arg("-o")
            .arg(&path)
            .args(["--", "sh", "-c", script])
            .env("ANTHROPIC_BASE_URL", upstream.url())
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run record -- sh");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
        assert!(!stdout.contains(&format!("base={}", upstream.url())), "the child must get the proxy's URL: {stdout}");
        assert!(stdout.contains("base=http://127.0.0.1:"), "{stdout}");
        assert!(stdout.contains(upstream.reply()), "{stdout}");
        assert_eq!(upstream.requests().len(), 1, "the request must reach the user's own base URL");
        let (entries, _) = archive::read_entries(&path).expect("read");
        assert_eq!(entries[0].har.request.url, format!("{}/v1/messages", upstream.url()));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_exit_2_with_one_line() {
    bounded("test", LIMIT, async {
        let output = tokio::process::Command::new(binaries::record().expect("record binary"))
            .kill_on_drop(true)
            .args(["-m", "sideways:nowhere", "-o", "-"])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run record");
        assert_eq!(output.status.code(), Some(2), "bad usage exits 2");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("sideways"),
            "the error names the bad value: {stderr}"
        );
        assert!(
            stderr.lines().count() <= 4,
            "a short error, not a wall: {stderr}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_command_it_prints_the_line_to_paste() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let recorder =
            cctap_tests::Recorder::offline(&dir.path().join("x.har"), &[]).expect("record");
        // Everything a client with no account needs: the base URL and a
        // fake key (unless the environment has one), on one line to paste.
        let want = format!("export ANTHROPIC_BASE_URL={}", recorder.url());
        let deadline = tokio::time::Instant::now() + STEP;
        while !recorder.stderr().contains(&want) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let stderr = recorder.stderr();
        let line = stderr
            .lines()
            .find(|l| l.contains(&want))
            .unwrap_or_else(|| panic!("stderr lacks {want:?}:\n{stderr}"));
        if std::env::var_os("ANTHROPIC_API_KEY").is_none()
            && std::env::var_os("ANTHROPIC_AUTH_TOKEN").is_none()
        {
            assert!(line.contains("ANTHROPIC_API_KEY=sk-ant-api03-"), "{line}");
        }
        assert!(
            line.contains("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"),
            "{line}"
        );
        recorder.stop().await.expect("stop");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_killed_by_a_signal_gives_128_plus_n() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = tokio::process::Command::new(binaries::record().expect("record binary"))
            .kill_on_drop(true)
            .args(["-m", "offline", "-o"])
            .arg(dir.path().join("killed.har"))
            .args(["--", "sh", "-c", "kill -TERM $$"])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run record -- sh");
        assert_eq!(
            output.status.code(),
            Some(128 + 15),
            "stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let doc =
            archive::document(&dir.path().join("killed.har")).expect("archive closed even so");
        assert_eq!(doc["log"]["entries"].as_array().map(Vec::len), Some(0));
    })
    .await
}

/// record ignores SIGXFSZ for itself (a file-size limit must not kill the
/// proxy); the wrapped command must still get the default disposition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrapped_command_keeps_the_default_file_size_signal() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sigxfsz.har");
        let output = tokio::process::Command::new(binaries::record().expect("record binary"))
            .kill_on_drop(true)
            .args(["-m", "offline", "-q", "-o"])
            .arg(&path)
            .args(["--", "sh", "-c", "grep '^SigIgn:' /proc/self/status"])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run record -- sh");
        assert!(output.status.success(), "{output:?}");
        let line = String::from_utf8_lossy(&output.stdout);
        let mask = u64::from_str_radix(line.trim().trim_start_matches("SigIgn:").trim(), 16)
            .unwrap_or_else(|e| panic!("SigIgn mask in {line:?}: {e}"));
        const SIGXFSZ: u32 = 25;
        assert_eq!(
            mask & (1 << (SIGXFSZ - 1)),
            0,
            "SIGXFSZ ignored in the child: {line}"
        );
    })
    .await
}

/// Mistakes of the first five minutes: each is one clear error that says
/// what to do, and none leaves an empty archive behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_mistakes_get_errors_that_say_what_to_do() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = dir.path().join("never.har");
        let run = |args: Vec<String>| {
            tokio::process::Command::new(binaries::record().expect("record binary"))
                .kill_on_drop(true)
                .args(args)
                .stdin(std::process::Stdio::null())
                .output()
        };
        let o = archive.display().to_string();
        let cases: [(Vec<&str>, i32, &[&str]); 4] = [
            (
                vec!["-m", "offline", "-o", &o, "--", "/no/such/cmd", "-p", "hi"],
                1,
                &["command not found: '/no/such/cmd'", "PATH"],
            ),
            (
                vec!["-m", "offline", "-o", &o, "--", "cctap-no-such-program"],
                1,
                &["command not found: 'cctap-no-such-program'"],
            ),
            (
                vec![
                    "-m",
                    "offline",
                    "-o",
                    &o,
                    "--listen-host",
                    "http://127.0.0.1",
                    "-p",
                    "0",
                ],
                1,
                &["--listen-host takes an address", "-p"],
            ),
            (vec!["ca", "bogus"], 2, &["bogus", "init", "path", "export"]),
        ];
        for (args, code, says) in cases {
            let out = run(args.iter().map(|a| a.to_string()).collect())
                .await
                .expect("record runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
            for s in says {
                assert!(
                    stderr.contains(s),
                    "{args:?}: stderr lacks {s:?}:\n{stderr}"
                );
            }
            assert!(
                stderr.lines().count() <= 6,
                "{args:?}: a short error:\n{stderr}"
            );
            assert!(!archive.exists(), "{args:?} left {}", archive.display());
        }
    })
    .await
}

//! A full disk under the archive: the write error is reported once on
//! stderr while running, the client's traffic keeps flowing, record exits
//! (not killed), and what was written before reads back, reported cut off.
//! Nothing is lost silently: every exchange is in the archive or counted in
//! record's exit summary (`N exchanges could not be archived`).
//!
//! Two ways to fill it: a 32 KiB tmpfs, in each archive format (ENOSPC, the
//! real thing; needs root to mount, skipped otherwise), and a 32 KiB
//! file-size limit on the running record (`prlimit --fsize`: EFBIG, but only
//! if record ignores SIGXFSZ, whose default action kills the process).

use crate::common::*;
use cctap_tests::upstream::FakeUpstream;
use cctap_tests::{archive, Recorder};
use std::path::Path;
use std::process::Command;

/// The space the archive gets: a few entries' worth.
const SPACE: u64 = 32 * 1024;

/// Exchanges sent: several times what fits.
const EXCHANGES: usize = 40;

/// What record prints when the archive cannot be written.
const WRITE_ERROR: &str = "cannot write archive";

/// A tmpfs mounted for one test; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: u64) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Sends streams until well past the space, each of which must complete;
/// then checks record's report, exit and archive.
async fn traffic_flows_on_a_full_disk(upstream: &FakeUpstream, recorder: Recorder, path: &Path) {
    let http = client();
    for i in 0..EXCHANGES {
        let body = messages_body(true).replace("say hi", &format!("full disk {i} {}", filler(i)));
        let response = http
            .post(format!("{}/v1/messages", recorder.url()))
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "exchange {i} failed: {e}; record said:\n{}",
                    recorder.stderr()
                )
            });
        assert_eq!(response.status(), 200, "exchange {i}");
        let text = response.text().await.expect("stream");
        assert!(text.contains("event: message_stop"), "exchange {i} whole");
    }
    assert_eq!(upstream.requests().len(), EXCHANGES);
    let live = recorder.stderr();
    let reports = live.lines().filter(|l| l.contains(WRITE_ERROR)).count();
    assert_eq!(
        reports, 1,
        "the write error is reported once while running:\n{live}"
    );

    let (status, said) = bounded("record exit", STEP, recorder.stop_with_stderr())
        .await
        .expect("stop record");
    assert!(
        status.code().is_some(),
        "record must exit, not die of a signal: {status}"
    );
    let (entries, cut) = archive::read_entries(path).expect("what was written reads back");
    assert!(
        !entries.is_empty() && entries.len() < EXCHANGES,
        "{} entries",
        entries.len()
    );
    assert!(
        cut.is_some(),
        "an archive the disk cut short is reported cut off"
    );
    let lost = not_archived(&said)
        .unwrap_or_else(|| panic!("the summary counts what was not archived:\n{said}"));
    assert!(
        entries.len() + lost >= EXCHANGES && lost <= EXCHANGES,
        "{} archived + {lost} counted as lost, of {EXCHANGES}: none lost silently\n{said}",
        entries.len()
    );
    assert!(
        !said.contains("waited for the archive"),
        "nothing waits once the writer has failed:\n{said}"
    );
}

/// N in record's `record: error: N exchanges could not be archived`.
fn not_archived(stderr: &str) -> Option<usize> {
    stderr.lines().find_map(|l| {
        let rest = l.strip_prefix("record: error: ")?;
        let (n, tail) = rest.split_once(' ')?;
        tail.contains("could not be archived")
            .then(|| n.parse().ok())
            .flatten()
    })
}

/// 2 KiB of hex that compresses poorly (a xorshift sequence), so the
/// compressed formats fill the space too.
fn filler(seed: usize) -> String {
    let mut x = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..256)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{:08x}", x as u32)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_tmpfs_is_reported_once_and_traffic_flows() {
    bounded("test", LIMIT, async {
        for extension in ["har", "har.zst", "har.gz"] {
            let Some(tmpfs) = Tmpfs::mount(SPACE) else {
                eprintln!("cannot mount a tmpfs (not root?): test skipped");
                return;
            };
            let upstream = FakeUpstream::start().await.expect("fake upstream");
            let path = tmpfs.dir.path().join(format!("full.{extension}"));
            let recorder = Recorder::reverse(&upstream.url(), &path, &[]).expect("start record");
            traffic_flows_on_a_full_disk(&upstream, recorder, &path).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_size_limit_is_reported_once_and_traffic_flows() {
    bounded("test", LIMIT, async {
        let upstream = FakeUpstream::start().await.expect("fake upstream");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("limited.har");
        let recorder = Recorder::reverse(&upstream.url(), &path, &[]).expect("start record");
        let limit = format!("--fsize={SPACE}:{SPACE}");
        let status = Command::new("prlimit")
            .args(["--pid", &recorder.pid().to_string(), &limit])
            .status()
            .expect("run prlimit");
        assert!(status.success(), "prlimit {limit} on record");
        traffic_flows_on_a_full_disk(&upstream, recorder, &path).await;
    })
    .await
}

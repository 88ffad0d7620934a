//! `kill -9` mid-session: every entry flushed before the kill is read back,
//! and the reader reports the archive as cut off. In every format.

use crate::common::*;
use cctap_tests::archive;
use cctap_tests::upstream::BEHAVIOUR_HEADER;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_keeps_every_completed_entry() {
    bounded("test", LIMIT, async {
        for extension in ["har.zst", "har", "har.gz"] {
            let session = Session::with(
                cctap_tests::upstream::FakeUpstream::builder(),
                extension,
                &[],
            )
            .await;
            let http = client();
            let mut bodies = Vec::new();
            for i in 0..3 {
                let body = messages_body(i % 2 == 0).replace("say hi", &format!("turn {i}"));
                let response = http
                    .post(format!("{}/v1/messages", session.url()))
                    .body(body.clone())
                    .send()
                    .await
                    .expect("send");
                response.text().await.expect("answer");
                bodies.push(body);
            }
            archive::wait_for_entries(&session.archive, 3, Duration::from_secs(10))
                .await
                .unwrap_or_else(|e| {
                    panic!("{extension}: completed exchanges must be flushed as they end: {e}")
                });
            // A fourth exchange in flight when the process dies.
            let _in_flight = http
                .post(format!("{}/v1/messages", session.url()))
                .header(BEHAVIOUR_HEADER, "stall-before=2")
                .body(messages_body(true))
                .send()
                .await
                .expect("send in-flight request");
            session
                .upstream
                .wait_for_requests(4, STEP)
                .await
                .expect("fourth request reached upstream");
            let (entries, cut) = session
                .kill9_and_read()
                .unwrap_or_else(|e| panic!("{extension}: reader must recover: {e}"));
            let mut texts: Vec<&str> = entries.iter().filter_map(|e| e.request_text()).collect();
            texts.sort();
            let mut want: Vec<&str> = bodies.iter().map(String::as_str).collect();
            want.sort();
            assert_eq!(
                texts, want,
                "{extension}: every completed exchange, and nothing else"
            );
            let cut = cut.unwrap_or_else(|| {
                panic!("{extension}: a file without its tail must be reported cut off")
            });
            assert_eq!(cut.entries, 3, "{extension}");
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_the_archive_cleanly() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let response = client()
            .post(format!("{}/v1/messages", session.url()))
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        response.text().await.expect("stream");
        let Session {
            recorder,
            archive: path,
            dir: _dir,
            ..
        } = session;
        let status = recorder
            .stop_with("-TERM")
            .await
            .expect("record exits on SIGTERM");
        assert!(
            status.success(),
            "SIGTERM is a clean shutdown: exit 0, got {status}"
        );
        let doc = archive::document(&path).expect("the tail is written: one complete document");
        assert_eq!(archive::har_problems(&doc), Vec::<String>::new());
        let (entries, cut) = archive::read_entries(&path).expect("read");
        assert_eq!((entries.len(), cut), (1, None));
    })
    .await
}

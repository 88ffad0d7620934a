//! Many exchanges at once, as Claude Code 2.0.x starts its calls: each entry
//! pairs a request with its own response, none lost or mixed.

use crate::common::*;
use cctap_tests::upstream::BEHAVIOUR_HEADER;
use serde_json::Value;
use std::collections::HashMap;

const PARALLEL: usize = 12;

/// How many exchanges the busy-session timing test starts at once.
const BUSY: usize = 48;

/// Starts `n` exchanges at once (mixed stream/JSON, paced differently) and
/// returns each request body with the answer the client got.
async fn concurrent(session: &Session, n: usize) -> HashMap<String, String> {
    let http = client();
    let mut tasks = Vec::new();
    for i in 0..n {
        let http = http.clone();
        let url = format!("{}/v1/messages", session.url());
        let body = messages_body(i % 3 != 0).replace("say hi", &format!("request number {i}"));
        tasks.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .header(BEHAVIOUR_HEADER, format!("pace={}", 3 + i % 4))
                .body(body.clone())
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 200);
            (body, response.text().await.expect("answer"))
        }));
    }
    let mut answers = HashMap::new();
    for task in tasks {
        let (body, answer) = task.await.expect("client task");
        answers.insert(body, answer);
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exchanges_are_paired_correctly() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let answers = concurrent(&session, PARALLEL).await;
        // Upstream numbered the requests as they came; each answer carries
        // msg_fake_<number>, so body → number → answer must line up.
        let numbers: HashMap<String, u64> = session
            .upstream
            .requests()
            .into_iter()
            .map(|r| (String::from_utf8_lossy(&r.body).into_owned(), r.number))
            .collect();
        for (body, answer) in &answers {
            let id = format!("msg_fake_{:06}", numbers[body]);
            assert!(answer.contains(&id), "client got someone else's answer");
        }
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries.len(), PARALLEL, "every exchange archived once");
        for e in &entries {
            let body = e.request_text().expect("request body");
            let id = format!("msg_fake_{:06}", numbers[body]);
            let archived = e.response_text().unwrap_or("");
            assert!(
                archived.contains(&id),
                "entry pairs a request with another's response"
            );
            assert_eq!(
                archived, answers[body],
                "archived response differs from what the client got"
            );
            if let Some(events) = &e.sse_events {
                let start: Value = serde_json::from_str(&events[0].data).expect("message_start");
                assert_eq!(start["message"]["id"], id.as_str());
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timings_add_up_in_a_busy_session() {
    bounded("test", LIMIT, async {
        // Many exchanges at once: some wait for the proxy's tasks or its
        // upstream pool before their request goes out. That wait is part of
        // `time`, so a timing must hold it (HAR: `blocked`).
        // Busy CPUs too (as on a loaded CI machine), so the proxy's tasks
        // really wait: spinning threads, stopped when the exchanges are done.
        let session = Session::start().await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinners: Vec<_> = (0..3)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        let answers = concurrent(&session, BUSY).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for spinner in spinners {
            spinner.join().expect("spinner");
        }
        assert_eq!(answers.len(), BUSY);
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries.len(), BUSY);
    })
    .await
}

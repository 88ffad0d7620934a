//! Headers and bodies arrive intact both ways, with reqwest, hyper, raw TCP
//! and curl, and the archive holds exactly what was sent.

use crate::common::*;
use bytes::Bytes;
use cctap_tests::archive::sse_text;
use cctap_tests::upstream::{FakeUpstream, Usage, DEFAULT_REPLY};
use cctap_tests::Recorder;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_stream_arrives_intact_and_is_archived() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let body = messages_body(true);
        let response = client()
            .post(format!("{}/v1/messages?beta=true", session.url()))
            .header("anthropic-version", "2023-06-01")
            .header(
                "anthropic-beta",
                "claude-code-20250219,interleaved-thinking-2025-05-14",
            )
            .header("x-app", "cli")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("send through record");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers().get("request-id").map(|v| v.as_bytes()),
            Some(&b"req_fake_000001"[..]),
            "upstream's response headers must reach the client"
        );
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream; charset=utf-8",
            "upstream's content type must reach the client"
        );
        let received = response.text().await.expect("read stream");
        assert_eq!(
            received,
            expected_stream(&body, 1),
            "the client must get upstream's stream byte for byte"
        );

        let seen = session.upstream.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, "/v1/messages?beta=true");
        assert_eq!(
            seen[0].body,
            bytes_of(&body),
            "upstream must get the client's body byte for byte"
        );
        assert_eq!(
            seen[0].header("anthropic-beta"),
            Some("claude-code-20250219,interleaved-thinking-2025-05-14")
        );
        assert_eq!(seen[0].header("x-app"), Some("cli"));
        let upstream_url = session.upstream.url();

        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries.len(), 1, "one exchange, one entry");
        let e = &entries[0];
        assert_eq!(
            e.har.request.url,
            format!("{upstream_url}/v1/messages?beta=true"),
            "archive records the real upstream URL"
        );
        assert_eq!(e.har.request.method, "POST");
        assert_eq!(e.request_text(), Some(body.as_str()));
        assert_eq!(req_header(e, "anthropic-version"), Some("2023-06-01"));
        assert_eq!(e.har.response.status, 200);
        assert_eq!(
            e.response_text(),
            Some(expected_stream(&body, 1).as_str()),
            "content.text is the raw stream"
        );
        assert_eq!(e.error, None);
        let events = e
            .sse_events
            .as_ref()
            .expect("_sseEvents on an event-stream entry");
        let names: Vec<String> = events.iter().map(|ev| ev.event.clone()).collect();
        assert_eq!(names, expected_event_names());
        assert_eq!(sse_text(e), DEFAULT_REPLY);
        let start: Value = serde_json::from_str(&events[0].data).expect("message_start is JSON");
        let usage = Usage::for_request(body.as_bytes(), DEFAULT_REPLY);
        assert_eq!(
            start["message"]["usage"]["input_tokens"],
            usage.input_tokens
        );
        assert_eq!(
            start["message"]["usage"]["cache_read_input_tokens"],
            usage.cache_read_input_tokens
        );
        assert!(
            events.windows(2).all(|w| w[0].time <= w[1].time),
            "event times go forward"
        );
        assert!(
            events
                .iter()
                .all(|ev| ev.time >= 0.0 && ev.time <= e.har.time + 1.0),
            "event times within the entry"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverse_mode_joins_the_upstream_path_prefix() {
    bounded("test", LIMIT, async {
        let upstream = FakeUpstream::start().await.expect("fake upstream");
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = dir.path().join("prefix.har");
        let base = format!("{}/api/anthropic", upstream.url());
        let recorder = Recorder::reverse(&base, &archive, &[]).expect("start record");
        let response = client()
            .post(format!("{}/v1/messages", recorder.url()))
            .body(messages_body(false))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        let message: Value = json_of(response).await;
        assert_eq!(message["content"][0]["text"], DEFAULT_REPLY);
        assert_eq!(upstream.requests()[0].path, "/api/anthropic/v1/messages");
        recorder.stop().await.expect("stop");
        let (entries, _) = cctap_tests::archive::read_entries(&archive).expect("read archive");
        assert_eq!(entries[0].har.request.url, format!("{base}/v1/messages"));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_client_json_and_count_tokens_arrive_intact() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let stream = TcpStream::connect(session.recorder.addr())
            .await
            .expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let body = messages_body(false);
        let mut answers = Vec::new();
        for path in ["/v1/messages", "/v1/messages/count_tokens?beta=true"] {
            let request = http::Request::post(path)
                .header("host", session.recorder.addr().to_string())
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.clone())))
                .expect("request");
            sender
                .ready()
                .await
                .expect("connection kept alive for the next request");
            let response = sender.send_request(request).await.expect("send");
            assert_eq!(response.status(), 200, "{path}");
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            answers.push(serde_json::from_slice::<Value>(&bytes).expect("JSON answer"));
        }
        let usage = Usage::for_request(body.as_bytes(), DEFAULT_REPLY);
        assert_eq!(answers[0]["content"][0]["text"], DEFAULT_REPLY);
        assert_eq!(answers[0]["usage"]["output_tokens"], usage.output_tokens);
        assert_eq!(answers[1]["input_tokens"], usage.input_tokens);
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries.len(), 2);
        let archived: Value =
            serde_json::from_str(entries[0].response_text().expect("text")).expect("JSON");
        assert_eq!(archived, answers[0]);
        assert!(entries
            .iter()
            .all(|e| e.request_text() == Some(body.as_str())));
        assert!(entries[1]
            .har
            .request
            .url
            .ends_with("/v1/messages/count_tokens?beta=true"));
        let query = &entries[1].har.request.query_string;
        assert!(
            query.iter().any(|q| q.name == "beta" && q.value == "true"),
            "queryString: {query:?}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_client_header_case_and_order_are_kept() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let body = messages_body(false);
        let sent = [
            ("Accept", "application/json"),
            ("X-Stainless-Retry-Count", "0"),
            ("X-Stainless-Lang", "js"),
            ("anthropic-version", "2023-06-01"),
            ("x-app", "cli"),
            ("User-Agent", "claude-cli/2.0.50 (external, sdk-cli)"),
            ("content-type", "application/json"),
        ];
        let mut head = format!(
            "POST /v1/messages?beta=true HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
            session.recorder.addr()
        );
        for (name, value) in sent {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
        let answer = raw_exchange(session.recorder.addr(), head.as_bytes(), STEP).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "answer: {answer}");
        assert!(answer.contains(DEFAULT_REPLY));

        let want: Vec<&str> = sent.iter().map(|(n, _)| *n).collect();
        let seen = session.upstream.requests();
        let upstream_names: Vec<&str> = seen[0]
            .headers
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| want.contains(n))
            .collect();
        assert_eq!(
            upstream_names, want,
            "upstream must see the client's header names in order and case"
        );
        let (entries, _, _dir) = session.finish().await;
        let archived: Vec<&str> = entries[0]
            .har
            .request
            .headers
            .iter()
            .map(|h| h.name.as_str())
            .filter(|n| want.contains(n))
            .collect();
        assert_eq!(archived, want, "archive must keep header order and case");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_stream_arrives_intact() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl not installed: test skipped");
        return;
    }
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let body = messages_body(true);
        let output = tokio::process::Command::new("curl")
            .kill_on_drop(true)
            .args([
                "-sS",
                "--noproxy",
                "*",
                "-N",
                "-H",
                "X-Stainless-Lang: js",
                "-H",
                "content-type: application/json",
            ])
            .args(["--data-binary", &body])
            .arg(format!("{}/v1/messages", session.url()))
            .output()
            .await
            .expect("run curl");
        assert!(
            output.status.success(),
            "curl failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected_stream(&body, 1)
        );
        let seen = session.upstream.requests();
        assert_eq!(seen[0].body, bytes_of(&body));
        assert!(seen[0]
            .headers
            .iter()
            .any(|(n, v)| n == "X-Stainless-Lang" && v == "js"));
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].request_text(), Some(body.as_str()));
        assert_eq!(sse_text(&entries[0]), DEFAULT_REPLY);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_mode_answers_stream_json_and_count_tokens() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = dir.path().join("offline.har.zst");
        let recorder = Recorder::offline(&archive, &[]).expect("start record offline");
        let http = client();
        let stream = http
            .post(format!("{}/v1/messages?beta=true", recorder.url()))
            .body(messages_body(true))
            .send()
            .await
            .expect("stream");
        assert_eq!(stream.status(), 200);
        let text = stream.text().await.expect("stream body");
        assert!(
            text.contains("event: message_start") && text.contains("event: message_stop"),
            "{text}"
        );
        let json = http
            .post(format!("{}/v1/messages", recorder.url()))
            .body(messages_body(false))
            .send()
            .await
            .expect("json");
        let json = json_of(json).await;
        assert_eq!(json["type"], "message");
        assert!(json["content"][0]["text"].is_string());
        let count = http
            .post(format!("{}/v1/messages/count_tokens", recorder.url()))
            .body(messages_body(false))
            .send()
            .await
            .expect("count");
        let count = json_of(count).await;
        assert!(count["input_tokens"].is_u64(), "{count}");
        // Claude Code's connectivity probe gets a 200 and no body; another
        // HEAD a 404 head: both recorded as complete exchanges.
        for (path, status) in [("/api/hello", 200), ("/v1/nothing", 404)] {
            let head = http
                .head(format!("{}{path}", recorder.url()))
                .send()
                .await
                .expect("head");
            assert_eq!(head.status(), status, "HEAD {path}");
        }
        recorder.stop().await.expect("stop");
        let doc = cctap_tests::archive::document(&archive).expect("document");
        assert_eq!(
            cctap_tests::archive::har_problems(&doc),
            Vec::<String>::new()
        );
        let (entries, _) = cctap_tests::archive::read_entries(&archive).expect("read");
        assert_eq!(entries.len(), 5);
        for e in &entries {
            // Chrome's field: DevTools lists the call under Fetch/XHR.
            assert_eq!(e.extra.get("_resourceType"), Some(&"fetch".into()));
        }
        for e in &entries[3..] {
            assert_eq!(e.har.request.method, "HEAD");
            assert_eq!(e.error, None, "a HEAD answer is a complete exchange");
        }
        assert_eq!(entries[3].har.response.status, 200);
        let stream_entry = entries
            .iter()
            .find(|e| e.sse_events.is_some())
            .expect("the stream's entry");
        assert_eq!(
            stream_entry
                .sse_events
                .as_ref()
                .and_then(|v| v.last())
                .map(|e| e.event.as_str()),
            Some("message_stop")
        );
    })
    .await
}

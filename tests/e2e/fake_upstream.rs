//! The fake upstream itself, without `record`: so that a failing proxy test
//! points at the proxy, not at the fake.

use crate::common::*;
use cctap_tests::upstream::{FakeUpstream, Usage, BEHAVIOUR_HEADER, DEFAULT_REPLY};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_streams_the_predicted_events_and_logs_the_request() {
    bounded("test", LIMIT, async {
        let upstream = FakeUpstream::start().await.expect("fake");
        let body = messages_body(true);
        let got = client()
            .post(format!("{}/prefix/v1/messages?beta=true", upstream.url()))
            .header("X-Mixed-Case", "yes")
            .body(body.clone())
            .send()
            .await
            .expect("send")
            .text()
            .await
            .expect("stream");
        assert_eq!(got, expected_stream(&body, 1));
        let seen = upstream.requests();
        assert_eq!(seen[0].path, "/prefix/v1/messages?beta=true");
        assert_eq!(
            seen[0].usage,
            Usage::for_request(body.as_bytes(), DEFAULT_REPLY)
        );
        assert!(seen[0]
            .headers
            .iter()
            .any(|(n, v)| n == "x-mixed-case" || (n == "X-Mixed-Case" && v == "yes")));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_reset_delivers_the_events_before_it_then_fails() {
    bounded("test", LIMIT, async {
        let upstream = FakeUpstream::start().await.expect("fake");
        let mut response = client()
            .post(format!("{}/v1/messages", upstream.url()))
            .header(BEHAVIOUR_HEADER, "reset-after=3")
            .body(messages_body(true))
            .send()
            .await
            .expect("head arrives before the reset");
        let mut seen = Vec::new();
        read_until(&mut response, &mut seen, "event: content_block_delta\n").await;
        let mut rest = Ok(Some(bytes::Bytes::new()));
        while let Ok(Some(_)) = rest {
            rest = response.chunk().await;
        }
        assert!(rest.is_err(), "the stream must fail, not end cleanly");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_gate_holds_event_1_until_released() {
    bounded("test", LIMIT, async {
        let upstream = Arc::new(FakeUpstream::start().await.expect("fake"));
        let mut response = client()
            .post(format!("{}/v1/messages", upstream.url()))
            .header(BEHAVIOUR_HEADER, "gate")
            .body(messages_body(true))
            .send()
            .await
            .expect("send");
        upstream.wait_gate_held(STEP).await.expect("gate reached");
        let mut seen = Vec::new();
        read_until(&mut response, &mut seen, "event: message_start\n").await;
        let early =
            tokio::time::timeout(std::time::Duration::from_millis(200), response.chunk()).await;
        assert!(
            early.is_err(),
            "nothing may pass the gate before release: {early:?}"
        );
        upstream.release_gate();
        read_until(&mut response, &mut seen, "event: message_stop\n").await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_https_is_trusted_through_its_ca() {
    bounded("test", LIMIT, async {
        let upstream = FakeUpstream::builder().tls().start().await.expect("fake");
        let ca = upstream.ca().expect("CA");
        let tls = ca.client_config().expect("client config");
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_backend_preconfigured(tls)
            .build()
            .expect("client");
        let got = http
            .post(format!("{}/v1/messages", upstream.url()))
            .body(messages_body(false))
            .send()
            .await
            .expect("TLS exchange with the test CA");
        assert_eq!(got.status(), 200);
        let plain = client()
            .post(format!("{}/v1/messages", upstream.url()))
            .send()
            .await;
        assert!(
            plain.is_err(),
            "a client without the test CA must not trust it"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_fails_only_the_first_n_when_asked() {
    bounded("test", LIMIT, async {
        let behaviour =
            cctap_tests::upstream::Behaviour::parse("status=529,first=2").expect("behaviour");
        let upstream = FakeUpstream::builder()
            .behaviour(behaviour)
            .start()
            .await
            .expect("fake");
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let response = client()
                .post(format!("{}/v1/messages", upstream.url()))
                .body(messages_body(false))
                .send()
                .await
                .expect("send");
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, [529, 529, 200]);
    })
    .await
}

//! Each fault, done to a running [`Rig`], and what the client saw.

use super::raw_upstream::{self, RawUpstream};
use super::rig::{Mode, Rig, FAULT_MARK};
use crate::common::*;
use cctap_tests::proxy::{connect_tunnel, tls_over, Sender};
use cctap_tests::upstream::{FakeUpstream, BEHAVIOUR_HEADER};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Nothing listens on the target port.
    UpstreamRefuses,
    /// The target answers bytes that are not HTTP.
    UpstreamMalformedHttp,
    /// The target's stream is cut by a TCP RST after its first event.
    UpstreamTcpResetMidStream,
    /// The target's chunked stream breaks after its first event.
    UpstreamBrokenChunking,
    /// The target's body is shorter than its `content-length`.
    UpstreamShortBody,
    /// HTTPS target whose certificate no trusted CA signed.
    UpstreamUntrustedCertificate,
    /// The upstream closes the stream after 3 events.
    UpstreamResetsMidStream,
    /// The client sends the head and half the body, then closes.
    ClientLeavesMidRequest,
    /// The client reads a few events, then closes.
    ClientLeavesMidStream,
    /// CONNECT, then bytes that are neither TLS nor HTTP.
    TunnelOfGarbage,
}

/// What the client of the faulty exchange saw.
#[derive(Debug, PartialEq)]
pub enum Seen {
    /// A whole answer with this status.
    Status(u16),
    /// 200, then the body failed (not a clean end).
    StreamBroke,
    /// The client went away itself.
    ClientLeft,
    /// The connection closed without any answer.
    ClosedUnanswered,
}

pub async fn inflict(fault: Fault, rig: &Rig) -> Seen {
    let body = Rig::body(FAULT_MARK, true);
    let other_target = matches!(
        fault,
        Fault::UpstreamRefuses
            | Fault::UpstreamMalformedHttp
            | Fault::UpstreamBrokenChunking
            | Fault::UpstreamShortBody
            | Fault::UpstreamTcpResetMidStream
            | Fault::UpstreamUntrustedCertificate
            | Fault::TunnelOfGarbage
    );
    assert!(
        !other_target || rig.mode == Mode::Forward,
        "{fault:?} needs its own target: a forward-mode case"
    );
    match fault {
        Fault::UpstreamRefuses => {
            let dead = FakeUpstream::refused_url().await.expect("free port");
            post_status(rig, &dead, &body).await
        }
        Fault::UpstreamMalformedHttp => {
            let raw = RawUpstream::start(raw_upstream::GARBAGE).await;
            post_status(rig, &raw.url(), &body).await
        }
        Fault::UpstreamBrokenChunking => {
            let raw = RawUpstream::start(raw_upstream::BROKEN_CHUNKS).await;
            post_broken(rig, &raw.url(), &body).await
        }
        Fault::UpstreamTcpResetMidStream => {
            let raw = RawUpstream::start_then_reset(raw_upstream::STREAM_START).await;
            post_broken(rig, &raw.url(), &body).await
        }
        Fault::UpstreamShortBody => {
            let raw = RawUpstream::start(raw_upstream::SHORT_BODY).await;
            post_broken(rig, &raw.url(), &body).await
        }
        Fault::UpstreamUntrustedCertificate => untrusted(rig, &body).await,
        Fault::UpstreamResetsMidStream => {
            let response = healthy_post(rig, "reset-after=3", &body).await;
            match response.text().await {
                Ok(text) => panic!("a reset stream ended cleanly: {text:?}"),
                Err(_) => Seen::StreamBroke,
            }
        }
        Fault::ClientLeavesMidRequest => half_request(rig, &body).await,
        Fault::ClientLeavesMidStream => {
            let mut response = healthy_post(rig, "pace=50,deltas=400", &body).await;
            let mut seen = Vec::new();
            read_until(&mut response, &mut seen, "event: content_block_start\n").await;
            Seen::ClientLeft
        }
        Fault::TunnelOfGarbage => tunnel_garbage(rig).await,
    }
}

/// POSTs through the proxy to `base` and reads the whole answer.
async fn post_status(rig: &Rig, base: &str, body: &str) -> Seen {
    let response = rig
        .http
        .post(format!("{base}/v1/messages"))
        .body(body.to_owned())
        .send()
        .await
        .expect("record answers even when the upstream fails");
    let status = response.status().as_u16();
    let reason = response.text().await.expect("answer body");
    assert!(!reason.trim().is_empty(), "a {status} says why");
    Seen::Status(status)
}

/// POSTs through the proxy to `base`, whose answer starts (200) and then
/// breaks: the client must see the failure, not a clean end.
async fn post_broken(rig: &Rig, base: &str, body: &str) -> Seen {
    let response = rig
        .http
        .post(format!("{base}/v1/messages"))
        .body(body.to_owned())
        .send()
        .await
        .expect("the answer's head is forwarded");
    assert_eq!(response.status(), 200, "the head that arrived is forwarded");
    match response.bytes().await {
        Ok(bytes) => panic!("a broken upstream body ended cleanly: {bytes:?}"),
        Err(_) => Seen::StreamBroke,
    }
}

/// A streaming POST to the healthy upstream with a behaviour.
async fn healthy_post(rig: &Rig, behaviour: &str, body: &str) -> reqwest::Response {
    let response = rig
        .http
        .post(format!("{}/v1/messages", rig.healthy_base()))
        .header(BEHAVIOUR_HEADER, behaviour)
        .body(body.to_owned())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    response
}

/// CONNECT to an HTTPS upstream record does not trust; TLS to record
/// (trusting record's CA); one HTTP/1.1 POST.
async fn untrusted(rig: &Rig, body: &str) -> Seen {
    let upstream = FakeUpstream::builder()
        .tls()
        .start()
        .await
        .expect("start TLS fake upstream");
    let authority = upstream.addr().to_string();
    let tunnel = connect_tunnel(rig.recorder.addr(), &authority)
        .await
        .expect("CONNECT");
    let ca = rig.our_ca();
    let tls = tls_over(tunnel, "127.0.0.1", &[ca.as_path()], &[b"http/1.1"])
        .await
        .expect("TLS with record (its own CA)");
    let mut sender = Sender::http1(tls).await.expect("HTTP/1.1 handshake");
    let url = format!("https://{authority}/v1/messages");
    let (status, reason) = sender.post(&url, body, &[]).await.expect("POST");
    assert!(!reason.trim().is_empty(), "a {status} says why");
    assert!(
        upstream.requests().is_empty(),
        "nothing reached the untrusted upstream"
    );
    Seen::Status(status)
}

/// A request head promising more body than is sent (absolute-form to a
/// forward proxy, origin-form to a reverse one).
async fn half_request(rig: &Rig, body: &str) -> Seen {
    let (target, host) = match rig.mode {
        Mode::Forward => (
            format!("http://{}/v1/messages", rig.healthy.addr()),
            rig.healthy.addr(),
        ),
        Mode::Reverse => ("/v1/messages".to_owned(), rig.recorder.addr()),
    };
    let head = format!(
        "POST {target} HTTP/1.1\r\nhost: {host}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len() * 2
    );
    let before = rig.healthy.connections();
    let mut sock = TcpStream::connect(rig.recorder.addr())
        .await
        .expect("connect to record");
    sock.write_all(head.as_bytes()).await.expect("write head");
    sock.write_all(body.as_bytes())
        .await
        .expect("write half the body");
    // Let the head reach upstream before leaving, so the exchange began
    // (the fake logs a request only once its body is whole: watch its
    // connections instead; the held healthy stream keeps its own).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while rig.healthy.connections() == before && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(sock);
    Seen::ClientLeft
}

/// CONNECT to the healthy upstream, then garbage inside the tunnel.
async fn tunnel_garbage(rig: &Rig) -> Seen {
    let authority = rig.healthy.addr().to_string();
    let mut tunnel = connect_tunnel(rig.recorder.addr(), &authority)
        .await
        .expect("CONNECT");
    tunnel
        .write_all(b"\x00\x01\x02\x03 neither TLS nor HTTP \xff\xfe\r\n\r\n")
        .await
        .expect("write garbage");
    let mut rest = Vec::new();
    bounded(
        "record closes the tunnel",
        STEP,
        tunnel.read_to_end(&mut rest),
    )
    .await
    .expect("read");
    if rest.is_empty() {
        Seen::ClosedUnanswered
    } else {
        panic!(
            "garbage tunnel got an answer: {:?}",
            String::from_utf8_lossy(&rest)
        )
    }
}

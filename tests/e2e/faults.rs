//! Faults on either side of `record`, one table: each case names a fault,
//! what its client must see, and whether an `_error` entry must be written.
//! Every case runs with a healthy stream in flight through the same
//! `record` (held at event 1 while the fault happens, then released) and a
//! new exchange after it: both must complete, and be archived without
//! `_error`.
//!
//! Forward mode (`record -m regular`) runs every fault, because there each
//! request names its own target: one proxy faces the healthy upstream and
//! the faulty one at once. Reverse mode (one upstream) runs the faults of
//! the upstream's behaviour and of the client. `failures.rs` and `https.rs`
//! have reverse-mode refusal, reset, client-gone and untrusted certificate
//! without a neighbour; this extends them.
//!
//! Beside the table: `stalls` (an upstream silent before its head or
//! mid-stream, under `--upstream-timeout 1`: a 504, or a cut stream that
//! keeps the events that came, each with `_error`; a paced neighbour
//! outliving the limit is not cut), `full_disk` (a full tmpfs, a file-size
//! limit) and `h2_cancel` (one HTTP/2 stream reset while others share the
//! connection). Stalls are not in the table because its neighbour, held at
//! a gate, would itself be silent past the limit.

mod actions;
mod full_disk;
mod h2_cancel;
mod raw_upstream;
mod rig;
mod stalls;

use crate::common::*;
use actions::{inflict, Fault, Seen};
use cctap_tests::archive;
use rig::{Mode, Rig, FAULT_MARK};
use std::time::Duration;

/// How soon after the fault record must have written its entry (before the
/// healthy stream ends and before shutdown, so shutdown is not what wrote it).
const ENTRY_WAIT: Duration = Duration::from_secs(12);

/// One row of the table.
struct Case {
    mode: Mode,
    fault: Fault,
    seen: Seen,
    error_entry: bool,
}

/// Runs one case with its healthy neighbours and checks the archive.
async fn run(case: Case) {
    let name = format!("{:?} {:?}", case.mode, case.fault);
    bounded(&name, LIMIT, async {
        let rig = Rig::start(case.mode).await;
        let (held, seen_so_far) = rig.start_healthy().await;

        let seen = inflict(case.fault, &rig).await;
        assert_eq!(seen, case.seen, "{name}: what the client saw");
        if case.error_entry {
            let entries = archive::wait_for_entries(&rig.archive, 1, ENTRY_WAIT)
                .await
                .unwrap_or_else(|e| panic!("{name}: record must end the exchange: {e}"));
            assert!(
                entries[0].error.is_some(),
                "{name}: the first entry is the fault's"
            );
        }

        rig.finish_healthy(held, seen_so_far).await;
        let (healthy, faulty, stderr) = rig.finish().await;
        assert_eq!(healthy.len(), 2, "{name}: both healthy exchanges archived");
        for e in &healthy {
            assert_eq!(e.error, None, "{name}: a healthy exchange got _error");
            assert_eq!(e.har.response.status, 200);
        }
        let stream = healthy.iter().find(|e| e.sse_events.is_some());
        let events = stream.and_then(|e| e.sse_events.as_ref()).map(Vec::len);
        assert_eq!(
            events,
            Some(expected_event_names().len()),
            "{name}: healthy stream whole"
        );
        if case.error_entry {
            assert_eq!(
                faulty.len(),
                1,
                "{name}: one entry for the fault; stderr:\n{stderr}"
            );
            let e = &faulty[0];
            let why = e
                .error
                .as_deref()
                .unwrap_or_else(|| panic!("{name}: entry needs _error"));
            assert!(!why.trim().is_empty(), "{name}: _error says why");
            let sent = e.request_text().unwrap_or("");
            assert!(
                sent.is_empty() || sent.contains(FAULT_MARK) || FAULT_MARK.starts_with(sent),
                "{name}: the fault's entry holds the fault's request"
            );
            if let Seen::Status(status) = case.seen {
                assert!(
                    matches!(e.har.response.status, 0) || e.har.response.status == status as i64,
                    "{name}: archived status {} (0: no response head)",
                    e.har.response.status
                );
            }
            if matches!(case.fault, Fault::ClientLeavesMidRequest) {
                assert_eq!(e.har.response.status, 0, "{name}: no response head arrived");
            }
        } else {
            assert_eq!(faulty.len(), 0, "{name}: no exchange began, no entry");
        }
    })
    .await
}

/// The table: one test per row, so a row can be ignored (with the record
/// bug it shows) without hiding the others.
macro_rules! fault_cases {
    ($($(#[$attr:meta])* $test:ident: $mode:ident $fault:ident => $seen:expr, error_entry: $entry:expr;)*) => {$(
        $(#[$attr])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            run(Case { mode: Mode::$mode, fault: Fault::$fault, seen: $seen, error_entry: $entry }).await
        }
    )*};
}

fault_cases! {
    upstream_refuses: Forward UpstreamRefuses => Seen::Status(502), error_entry: true;
    upstream_sends_malformed_http: Forward UpstreamMalformedHttp => Seen::Status(502), error_entry: true;
    upstream_tcp_reset_mid_stream: Forward UpstreamTcpResetMidStream => Seen::StreamBroke, error_entry: true;
    upstream_breaks_chunked_framing: Forward UpstreamBrokenChunking => Seen::StreamBroke, error_entry: true;
    upstream_body_shorter_than_its_length: Forward UpstreamShortBody => Seen::StreamBroke, error_entry: true;
    upstream_certificate_untrusted: Forward UpstreamUntrustedCertificate => Seen::Status(502), error_entry: true;
    upstream_resets_mid_stream: Forward UpstreamResetsMidStream => Seen::StreamBroke, error_entry: true;
    client_leaves_mid_request: Forward ClientLeavesMidRequest => Seen::ClientLeft, error_entry: true;
    client_leaves_mid_stream: Forward ClientLeavesMidStream => Seen::ClientLeft, error_entry: true;
    tunnel_of_garbage: Forward TunnelOfGarbage => Seen::ClosedUnanswered, error_entry: false;
    reverse_upstream_resets_mid_stream: Reverse UpstreamResetsMidStream => Seen::StreamBroke, error_entry: true;
    reverse_client_leaves_mid_request: Reverse ClientLeavesMidRequest => Seen::ClientLeft, error_entry: true;
    reverse_client_leaves_mid_stream: Reverse ClientLeavesMidStream => Seen::ClientLeft, error_entry: true;
}

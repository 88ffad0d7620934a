//! cctap's files in the real mitmproxy (11.0.2) and mitmproxy's files in
//! cctap, both ways: (a) our HAR loads in `mitmdump -nr`, (b) a
//! flow file from our `FlowWriter` loads in `mitmdump -nr`, (c) a flow file
//! mitmdump wrote reads in our `FlowReader`, (d) mitmdump's HAR export
//! reads in our `ArchiveReader`, and (`record_w`) `record -w` through the
//! real binary. What mitmproxy saw is dumped as JSON by
//! `fixtures/mitmproxy/dump_flows.py` and compared field by field.
//!
//! Needs `MITMDUMP` (`source .ci/mitmproxy.sh CACHE_DIR`); without it every
//! test prints a notice and passes without checking.

mod compare;
mod entries;
mod record_w;
pub(crate) mod run;

use crate::common::*;
use cctap_tests::archive;
use compare::{assert_same, mitmproxy_text, Via};
use entries::{all_cases, read_flows, synthetic_entries, write_flows, write_har};
use run::{
    file_name, load_in_mitmproxy, loaded_by_mitmproxy, mitmdump, path_str, repo, run_mitmdump,
};

#[test]
fn a_our_har_loads_in_mitmproxy() {
    let Some(bin) = mitmdump("a_our_har_loads_in_mitmproxy") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, entries) in all_cases() {
        let har = dir.path().join(format!("{name}.har"));
        write_har(&har, &entries);
        let flows = loaded_by_mitmproxy(&bin, dir.path(), &har);
        assert_eq!(flows.len(), entries.len(), "{name}: every entry is a flow");
        for (i, (e, f)) in entries.iter().zip(&flows).enumerate() {
            assert_same(
                e,
                f,
                Via::HarImport,
                &format!("{name} entry {i} via HAR import"),
            );
        }
    }
}

#[test]
fn b_our_flow_file_loads_in_mitmproxy() {
    let Some(bin) = mitmdump("b_our_flow_file_loads_in_mitmproxy") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, entries) in all_cases() {
        let flows_path = dir.path().join(format!("{name}.flows"));
        write_flows(&flows_path, &entries);
        let flows = loaded_by_mitmproxy(&bin, dir.path(), &flows_path);
        assert_eq!(flows.len(), entries.len(), "{name}: every entry is a flow");
        for (i, (e, f)) in entries.iter().zip(&flows).enumerate() {
            assert_same(
                e,
                f,
                Via::FlowFile,
                &format!("{name} entry {i} via flow file"),
            );
        }
    }
}

/// mitmdump's own flow files: converted from our HAR, and the committed
/// live capture (fixtures/mitmproxy/messages.flows).
#[test]
fn c_mitmdump_flow_files_read_in_flow_reader() {
    let Some(bin) = mitmdump("c_mitmdump_flow_files_read_in_flow_reader") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let har = dir.path().join("synthetic.har");
    write_har(&har, &synthetic_entries());
    let converted = dir.path().join("converted.flows");
    run_mitmdump(
        &bin,
        dir.path(),
        &["-r", path_str(&har), "-w", path_str(&converted)],
    );
    let live = repo().join("fixtures/mitmproxy/messages.flows");
    for path in [converted, live] {
        let entries = read_flows(&path);
        let flows = loaded_by_mitmproxy(&bin, dir.path(), &path);
        assert_eq!(entries.len(), flows.len(), "{}", path.display());
        for (i, (e, f)) in entries.iter().zip(&flows).enumerate() {
            assert_same(
                e,
                f,
                Via::FlowFile,
                &format!("{} flow {i}", file_name(&path)),
            );
        }
    }
}

/// mitmproxy's HAR export of a flow file reads in our archive reader and
/// holds what our flow reader finds in the same flows.
#[test]
fn d_mitmproxy_hardump_reads_in_archive_reader() {
    let Some(bin) = mitmdump("d_mitmproxy_hardump_reads_in_archive_reader") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let ours = dir.path().join("ours.flows");
    write_flows(&ours, &synthetic_entries());
    let live = repo().join("fixtures/mitmproxy/messages.flows");
    for flows_path in [ours, live] {
        let exported = dir.path().join(format!("{}.har", file_name(&flows_path)));
        let set = format!("hardump={}", exported.display());
        run_mitmdump(
            &bin,
            dir.path(),
            &["-r", path_str(&flows_path), "--set", &set],
        );
        let (from_har, cut) = archive::read_entries(&exported).expect("mitmproxy's HAR reads");
        assert_eq!(cut, None);
        let from_flows = read_flows(&flows_path);
        assert_eq!(from_har.len(), from_flows.len(), "{}", exported.display());
        for (h, f) in from_har.iter().zip(&from_flows) {
            let what = format!("{} {}", file_name(&exported), f.har.request.url);
            assert_eq!(h.har.request.method, f.har.request.method, "{what}");
            assert_eq!(h.har.request.url, f.har.request.url, "{what}");
            assert_eq!(h.har.request.headers, f.har.request.headers, "{what}");
            assert_eq!(h.request_text(), f.request_text(), "{what}");
            assert_eq!(h.har.response.status, f.har.response.status, "{what}");
            if f.har.response.status != 0 {
                assert_eq!(h.har.response.headers, f.har.response.headers, "{what}");
                let ctype = f.response_header("content-type").unwrap_or("");
                if h.har.response.content.encoding.as_deref() == Some("base64") {
                    assert_eq!(response_bytes(h), response_bytes(f), "{what}: body");
                } else {
                    // mitmproxy exports the text as it reads it (latin-1
                    // unless told otherwise): see MITMPROXY.md.
                    let shown = mitmproxy_text(&response_bytes(f), ctype);
                    assert_eq!(h.response_text().unwrap_or(""), shown, "{what}: body");
                }
            }
        }
    }
}

/// The committed mitmproxy HAR (its hardump of the live capture) reads in
/// the archive reader with the SSE stream whole; needs no mitmdump.
#[test]
fn committed_mitmproxy_har_reads_with_its_stream() {
    let path = repo().join("fixtures/mitmproxy/messages.har");
    let (entries, cut) =
        archive::read_entries(&path).expect("fixtures/mitmproxy/messages.har reads");
    assert_eq!(cut, None);
    let stream = entries
        .iter()
        .find(|e| {
            e.response_header("content-type")
                .is_some_and(|c| c.starts_with("text/event-stream"))
        })
        .expect("a streaming call");
    let text = stream.response_text().unwrap_or("");
    assert!(
        text.contains("event: message_start") && text.contains("event: message_stop"),
        "{text}"
    );
    assert_eq!(stream.sse_events, None, "mitmproxy keeps no event times");
    let key = stream.request_header("x-api-key").unwrap_or("");
    assert!(
        key.starts_with("sk-ant-api03-FAKE"),
        "mitmproxy leaves the (fake) key in place: {key}"
    );
    let flows = read_flows(&repo().join("fixtures/mitmproxy/messages.flows"));
    assert_eq!(flows.len(), entries.len());
}

/// A fresh `record` session (an SSE stream and a gzip'd JSON through the
/// real binary) loads in mitmproxy as written, straight from its `.har`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_recording_loads_in_mitmproxy() {
    let Some(bin) = mitmdump("a_fresh_recording_loads_in_mitmproxy") else {
        return;
    };
    let (entries, dir) = bounded("record a session", LIMIT, async {
        let session = Session::with(cctap_tests::FakeUpstream::builder(), "har", &[]).await;
        for (stream, behaviour) in [(true, None), (false, Some("gzip"))] {
            let mut request = client()
                .post(format!("{}/v1/messages?beta=true", session.url()))
                .header("x-api-key", FAKE_API_KEY)
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json");
            if let Some(b) = behaviour {
                request = request
                    .header("x-fake-behaviour", b)
                    .header("accept-encoding", "gzip");
            }
            let response = request
                .body(messages_body(stream))
                .send()
                .await
                .expect("send through record");
            assert_eq!(response.status(), 200);
            response.bytes().await.expect("read the answer");
        }
        let (entries, _doc, dir) = session.finish().await;
        (entries, dir)
    })
    .await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].response_header("content-encoding"), Some("gzip"));
    let har = dir.path().join("session.har");
    let flows = tokio::task::spawn_blocking(move || {
        let scratch = tempfile::tempdir().expect("temp dir");
        loaded_by_mitmproxy(&bin, scratch.path(), &har)
    })
    .await
    .expect("mitmdump task");
    assert_eq!(flows.len(), 2);
    for (i, (e, f)) in entries.iter().zip(&flows).enumerate() {
        assert_same(e, f, Via::HarImport, &format!("fresh recording entry {i}"));
    }
}

/// A flow file cut inside a flow (a killed `record -w`): mitmproxy still
/// loads every whole flow before the cut (then reports the bad end and
/// exits 1), and so does our reader.
#[test]
fn b_a_cut_flow_file_keeps_its_whole_flows_in_mitmproxy() {
    let Some(bin) = mitmdump("b_a_cut_flow_file_keeps_its_whole_flows_in_mitmproxy") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let entries = synthetic_entries();
    let whole = dir.path().join("whole.flows");
    write_flows(&whole, &entries[..2]);
    let two = std::fs::read(&whole).expect("read flow file").len();
    write_flows(&whole, &entries[..3]);
    let bytes = std::fs::read(&whole).expect("read flow file");
    let cut = dir.path().join("cut.flows");
    std::fs::write(&cut, &bytes[..two + (bytes.len() - two) / 2]).expect("write cut file");
    let (flows, status, printed) = load_in_mitmproxy(&bin, dir.path(), &cut);
    assert!(!status.success(), "mitmdump reports the cut: {printed}");
    assert!(printed.contains("Invalid data format"), "{printed}");
    assert_eq!(flows.len(), 2, "the whole flows before the cut load");
    for (i, (e, f)) in entries.iter().zip(&flows).enumerate() {
        compare::assert_same(e, f, Via::FlowFile, &format!("cut file flow {i}"));
    }
    let mut reader = cctap_archive::FlowReader::open(&cut).expect("open cut file");
    assert_eq!(reader.by_ref().filter(Result::is_ok).count(), 2);
    assert_eq!(reader.cut_off().map(|c| c.entries), Some(2));
}

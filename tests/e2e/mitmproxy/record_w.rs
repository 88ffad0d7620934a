//! `record -w FILE` through the real binary against the fake upstream
//! the flow file holds the same exchanges as the HAR
//! written beside it, loads in the real mitmdump field for field, keeps no
//! credential, survives `kill -9`, and `-w` alone writes no HAR.
use super::compare::{assert_same, Via};
use super::entries::read_flows;
use super::run::{load_in_mitmproxy, loaded_by_mitmproxy, mitmdump, path_str};
use crate::common::*;
use cctap_archive::{Entry, FlowReader};
use cctap_tests::upstream::{FakeUpstream, BEHAVIOUR_HEADER};
use cctap_tests::{archive, binaries};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A body that carries the fake key too: redaction must reach bodies.
fn body_with_key(stream: bool) -> String {
    messages_body(stream).replace("say hi", &format!("my key is {FAKE_API_KEY}"))
}

/// Three exchanges, one after another: an SSE stream (API key), a gzip'd
/// JSON (OAuth bearer), a binary body.
async fn three_exchanges(url: &str) {
    let http = client();
    for (stream, behaviour) in [
        (true, None),
        (false, Some("gzip")),
        (false, Some("binary=300")),
    ] {
        let mut request = http
            .post(format!("{url}/v1/messages?beta=true"))
            .header("anthropic-version", "2023-06-01")
            .header("Content-Type", "application/json")
            .header("X-Mixed-CASE", "kept");
        request = match behaviour {
            Some("gzip") => request
                .header("Authorization", format!("Bearer {FAKE_OAUTH_TOKEN}"))
                .header("accept-encoding", "gzip"),
            _ => request.header("x-api-key", FAKE_API_KEY),
        };
        if let Some(b) = behaviour {
            request = request.header(BEHAVIOUR_HEADER, b);
        }
        let response = request
            .body(body_with_key(stream))
            .send()
            .await
            .expect("send through record");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("read the answer");
    }
}

fn by_start(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(|a, b| a.har.started_date_time.cmp(&b.har.started_date_time));
    entries
}

/// What a flow file must keep of each HAR entry: the exchange, byte for byte.
fn assert_same_exchange(har: &Entry, flow: &Entry, what: &str) {
    let (h, f) = (&har.har, &flow.har);
    assert_eq!(f.request.method, h.request.method, "{what}: method");
    assert_eq!(f.request.url, h.request.url, "{what}: url");
    assert_eq!(
        f.request.headers, h.request.headers,
        "{what}: request headers (order, case)"
    );
    assert_eq!(
        request_bytes(flow),
        request_bytes(har),
        "{what}: request body"
    );
    assert_eq!(f.response.status, h.response.status, "{what}: status");
    assert_eq!(
        f.response.headers, h.response.headers,
        "{what}: response headers"
    );
    assert_eq!(
        response_bytes(flow),
        response_bytes(har),
        "{what}: response body"
    );
    assert_eq!(flow.error, har.error, "{what}: error");
    let start = |e: &Entry| {
        cctap_archive::model::parse_started(&e.har.started_date_time)
            .expect("start")
            .unix_timestamp_nanos()
    };
    assert!(
        (start(flow) - start(har)).abs() <= 1_000,
        "{what}: start {} vs {}",
        f.started_date_time,
        h.started_date_time
    );
}

fn assert_no_secret(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    for secret in [FAKE_API_KEY, FAKE_OAUTH_TOKEN] {
        assert!(
            !text.contains(&secret[13..]),
            "{what} holds a fake credential"
        );
    }
    assert!(
        text.contains("redacted:sk-ant-api03:") && text.contains("Bearer redacted:sk-ant-oat01:"),
        "{what}: the markers stand where the keys were"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_w_and_o_write_the_same_exchanges_and_mitmdump_loads_them() {
    let flows_dir = tempfile::tempdir().expect("temp dir");
    let flows_path = flows_dir.path().join("x.flows");
    let (har_entries, dir) = bounded("record a session with -w and -o", LIMIT, async {
        let extra = ["-w", path_str(&flows_path)];
        let session = Session::with(FakeUpstream::builder(), "har", &extra).await;
        three_exchanges(&session.url()).await;
        let (entries, _doc, dir) = session.finish().await;
        (entries, dir)
    })
    .await;
    assert_eq!(har_entries.len(), 3);
    assert_eq!(
        har_entries[1].response_header("content-encoding"),
        Some("gzip")
    );

    // (a) our reader finds the HAR's exchanges in the flow file.
    let flows = by_start(read_flows(&flows_path));
    assert_eq!(flows.len(), 3, "one flow per exchange");
    for (i, (h, f)) in har_entries.iter().zip(&flows).enumerate() {
        assert_same_exchange(h, f, &format!("exchange {i}"));
    }
    // (c) no credential in the flow file (nor in the HAR beside it).
    assert_no_secret(
        &std::fs::read(&flows_path).expect("read flows"),
        "the flow file",
    );
    let har = archive::decompressed(&dir.path().join("session.har")).expect("read HAR");
    assert_no_secret(&har, "the HAR");

    // (b) the real mitmdump loads every flow with the same fields.
    let Some(bin) = mitmdump("record_w_and_o_write_the_same_exchanges_and_mitmdump_loads_them")
    else {
        return;
    };
    let loaded = tokio::task::spawn_blocking(move || {
        let scratch = tempfile::tempdir().expect("temp dir");
        loaded_by_mitmproxy(&bin, scratch.path(), &flows_path)
    })
    .await
    .expect("mitmdump task");
    assert_eq!(loaded.len(), 3, "mitmdump loads every flow");
    for (i, (e, f)) in har_entries.iter().zip(&loaded).enumerate() {
        assert_same(
            e,
            f,
            Via::FlowFile,
            &format!("record -w flow {i} in mitmdump"),
        );
    }
}

/// Polls until the flow file yields `n` whole flows (each is flushed when
/// its exchange ends).
async fn wait_for_flows(path: &Path, n: usize) -> usize {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let found = FlowReader::open(path)
            .map(|r| r.filter(Result::is_ok).count())
            .unwrap_or(0);
        if found >= n || tokio::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_record_leaves_a_flow_file_mitmdump_loads_whole() {
    let (flows_path, har_entries, _dir) = bounded("kill -9 a record -w", LIMIT, async {
        let upstream = FakeUpstream::builder()
            .start()
            .await
            .expect("fake upstream");
        let dir = tempfile::tempdir().expect("temp dir");
        let (har, flows) = (dir.path().join("x.har"), dir.path().join("x.flows"));
        let recorder =
            cctap_tests::Recorder::reverse(&upstream.url(), &har, &["-w", path_str(&flows)])
                .expect("start record");
        three_exchanges(&recorder.url()).await;
        assert_eq!(
            wait_for_flows(&flows, 3).await,
            3,
            "flows are flushed as exchanges end"
        );
        // One more in flight when the process dies: not in the file, and
        // not half in it either.
        let _in_flight = client()
            .post(format!("{}/v1/messages", recorder.url()))
            .header(BEHAVIOUR_HEADER, "stall-before=2")
            .body(messages_body(true))
            .send()
            .await
            .expect("send in-flight request");
        upstream
            .wait_for_requests(4, STEP)
            .await
            .expect("fourth request upstream");
        recorder.kill9().expect("kill -9 record");
        let (entries, _cut) = archive::read_entries(&har).expect("the HAR recovers");
        (flows, by_start(entries), dir)
    })
    .await;
    let mut reader = FlowReader::open(&flows_path).expect("open flow file");
    let flows: Vec<Entry> = reader.by_ref().map(|e| e.expect("flow")).collect();
    assert_eq!(
        reader.cut_off().map(|c| c.entries),
        None,
        "no tail to miss: not cut off"
    );
    assert_eq!(flows.len(), 3);
    for (i, (h, f)) in har_entries.iter().zip(by_start(flows).iter()).enumerate() {
        assert_same_exchange(h, f, &format!("killed session exchange {i}"));
    }
    let Some(bin) = mitmdump("a_killed_record_leaves_a_flow_file_mitmdump_loads_whole") else {
        return;
    };
    let (loaded, status, printed) = tokio::task::spawn_blocking(move || {
        let scratch = tempfile::tempdir().expect("temp dir");
        load_in_mitmproxy(&bin, scratch.path(), &flows_path)
    })
    .await
    .expect("mitmdump task");
    assert!(
        status.success(),
        "mitmdump loads the killed session's file cleanly: {printed}"
    );
    assert_eq!(loaded.len(), 3);
}

/// `record -m reverse:URL -w TARGET -- curl …` in `cwd`; what it printed.
async fn wrapped_curl(upstream: &str, cwd: &Path, target: &str) -> std::process::Output {
    let body = cwd.join("body.json");
    std::fs::write(&body, body_with_key(true)).expect("write body");
    let script = format!(
        "curl -sS --noproxy '*' -H 'x-api-key: {FAKE_API_KEY}' -H 'content-type: application/json' \
         --data-binary @{} \"$ANTHROPIC_BASE_URL/v1/messages\"",
        body.display()
    );
    let output = tokio::process::Command::new(binaries::record().expect("record binary"))
        .kill_on_drop(true)
        .current_dir(cwd)
        .args(["-m", &format!("reverse:{upstream}"), "-w", target])
        .args(["--", "sh", "-c", &script])
        .env_remove("ANTHROPIC_BASE_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run record -w -- sh");
    assert!(
        output.status.success(),
        "record -w {target} -- curl exited {}; stderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// As mitmdump: `-w` alone writes the flows and nothing else (not even
/// the default timestamped HAR); `-w -` puts them on standard output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w_alone_writes_only_the_flow_file() {
    if !crate::forward::need("curl") {
        return;
    }
    bounded("record -w alone", LIMIT, async {
        let upstream = FakeUpstream::builder()
            .start()
            .await
            .expect("fake upstream");
        for target in ["s.flows", "-"] {
            let cwd = tempfile::tempdir().expect("temp dir");
            let output = wrapped_curl(&upstream.url(), cwd.path(), target).await;
            let bytes = match target {
                "-" => output.stdout.clone(),
                file => std::fs::read(cwd.path().join(file)).expect("flow file written"),
            };
            let mut names: Vec<PathBuf> = std::fs::read_dir(cwd.path())
                .expect("list cwd")
                .flatten()
                .map(|e| PathBuf::from(e.file_name()))
                .collect();
            names.sort();
            let mut expected = vec![PathBuf::from("body.json")];
            if target != "-" {
                expected.push(PathBuf::from(target));
            }
            assert_eq!(names, expected, "-w {target}: no HAR beside the flows");
            let mut reader =
                FlowReader::from_reader(target, Box::new(std::io::Cursor::new(bytes.clone())))
                    .expect("the output is a flow file");
            let flows: Vec<Entry> = reader.by_ref().map(|e| e.expect("flow")).collect();
            assert!(reader.cut_off().is_none(), "-w {target}");
            assert_eq!(flows.len(), 1, "-w {target}");
            assert_eq!(flows[0].har.response.status, 200);
            assert!(
                flows[0].har.request.url.ends_with("/v1/messages"),
                "-w {target}"
            );
            let sent = flows[0].request_text().unwrap_or("");
            assert!(
                sent.contains("my key is redacted:sk-ant-api03:")
                    && sent.contains("\"stream\":true"),
                "-w {target}: the body, redacted: {sent}"
            );
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(&FAKE_API_KEY[13..]),
                "-w {target}: the key is redacted"
            );
            if target == "-" {
                assert!(
                    String::from_utf8_lossy(&output.stderr).contains("event: message_stop"),
                    "-w -: the child's output goes to stderr, away from the flows"
                );
            }
        }
    })
    .await
}

/// Forward mode: TLS intercepted, one exchange over HTTP/2 and one over
/// HTTP/1.1 (curl through `record -m regular -w`): the flow file matches
/// the HAR and loads in mitmdump, versions included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_mode_h2_and_http11_flows_match_the_har() {
    if !crate::forward::need("curl") {
        return;
    }
    let flows_dir = tempfile::tempdir().expect("temp dir");
    let flows_path = flows_dir.path().join("fwd.flows");
    let (har_entries, _dir) = bounded("record -m regular -w", LIMIT, async {
        let fwd = crate::forward::Forward::tls(&["-w", path_str(&flows_path)]).await;
        let (ca, key) = (fwd.our_ca(), format!("x-api-key: {FAKE_API_KEY}"));
        let url = format!("{}/v1/messages?beta=true", fwd.upstream.url_by_name());
        for (version, stream) in [("--http2", true), ("--http1.1", false)] {
            let body = body_with_key(stream);
            fwd.curl(&ca, &[version, "-H", &key, "--data-binary", &body, &url])
                .await;
        }
        let (entries, _stderr, dir) = fwd.finish().await;
        (entries, dir)
    })
    .await;
    let versions: Vec<&str> = (har_entries.iter())
        .map(|e| e.har.request.http_version.as_str())
        .collect();
    assert_eq!(versions, ["HTTP/2.0", "HTTP/1.1"]);
    let flows = by_start(read_flows(&flows_path));
    assert_eq!(flows.len(), 2);
    for (i, (h, f)) in har_entries.iter().zip(&flows).enumerate() {
        assert_same_exchange(h, f, &format!("forward exchange {i}"));
        assert_eq!(f.har.request.http_version, h.har.request.http_version);
    }
    let bytes = std::fs::read(&flows_path).expect("read flows");
    assert!(!String::from_utf8_lossy(&bytes).contains(&FAKE_API_KEY[13..]));
    let Some(bin) = mitmdump("forward_mode_h2_and_http11_flows_match_the_har") else {
        return;
    };
    let loaded = tokio::task::spawn_blocking(move || {
        let scratch = tempfile::tempdir().expect("temp dir");
        loaded_by_mitmproxy(&bin, scratch.path(), &flows_path)
    })
    .await
    .expect("mitmdump task");
    assert_eq!(loaded.len(), 2);
    for (i, (e, f)) in har_entries.iter().zip(&loaded).enumerate() {
        assert_same(
            e,
            f,
            Via::FlowFile,
            &format!("forward flow {i} in mitmdump"),
        );
    }
}

//! Every archive other tools' projects keep as test data
//! (`shared/peer-archives`, see its SOURCES.md) goes through every
//! `analyze` command: no panic, no whole-archive abort for one bad entry,
//! exit codes as the README says, the deliberately broken files refused
//! naming file and position; mitmproxy's own expected HAR imports agree
//! with our reading; flows we export load in mitmproxy 11.
//!
//! The folder is found through `CCTAP_SHARED`, then `<repo>/../shared`,
//! then `/work/shared`; without it each test prints a notice and passes.
use crate::mitmproxy::run::{mitmdump, mitmdump_output, per_response};
use cctap_tests::binaries;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `peer-archives`, or `None` with a printed notice.
pub(crate) fn peer_archives(test: &str) -> Option<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [
        std::env::var_os("CCTAP_SHARED").map(PathBuf::from),
        Some(repo.join("../shared")),
        Some(PathBuf::from("/work/shared")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .map(|shared| shared.join("peer-archives"))
        .find(|dir| dir.is_dir());
    if found.is_none() {
        eprintln!(
            "NOTICE: {test} skipped: no shared/peer-archives (set CCTAP_SHARED, or put shared/ beside the repository)"
        );
    }
    found
}

/// Every file in the folder (recursively), sorted, SOURCES.md left out.
fn corpus(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("list peer-archives").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "SOURCES.md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Files no reader can take as an archive, each refused (exit 2) with a
/// reason: mitmproxy's two broken HARs, harviewer's not-JSON, mitmproxy's
/// expected-import JSON (lists of flows, not HARs), a test wrapper, a bare
/// entry, and a 0.10 flow file (mitmproxy refuses it too).
fn refused(rel: &str) -> bool {
    rel.starts_with("mitmproxy/corrupted_har_")
        || rel.starts_with("mitmproxy/") && rel.ends_with(".json")
        || matches!(
            rel,
            "harviewer/not-json.har"
                | "mitmproxy/har_extractor.har"
                | "haralyzer/single_entry.har"
                | "mitmproxy/dumpfile-010.mitm"
        )
}

pub(crate) struct Ran {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) fn analyze(args: &[&str]) -> Ran {
    let out = Command::new(binaries::analyze().expect("analyze binary"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run analyze");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The HAR's entry count as plain JSON parsing sees it (`None` for flow
/// files and documents that are not a HAR object).
fn har_entries(path: &Path) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    doc["log"]["entries"].as_array().map(Vec::len)
}

#[test]
fn every_peer_archive_goes_through_every_command() {
    let test = "every_peer_archive_goes_through_every_command";
    let Some(dir) = peer_archives(test) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("temp dir");
    let files = corpus(&dir);
    assert!(
        files.len() >= 150,
        "{} files in {}",
        files.len(),
        dir.display()
    );
    let mut problems = Vec::new();
    let mut read = 0;
    for path in &files {
        let rel = path.strip_prefix(&dir).unwrap().display().to_string();
        let p = path.to_str().unwrap();
        let flows = scratch.path().join("out.flows");
        let har = scratch.path().join("out.har");
        let redacted = scratch.path().join("redacted.har");
        let runs: Vec<(Vec<&str>, Ran)> = [
            vec!["ls", p],
            vec!["ls", "--json", p],
            vec!["show", p, "0"],
            vec!["usage", "--json", p],
            vec!["leaks", p],
            vec!["export", p, "-o", flows.to_str().unwrap()],
            vec!["export", p, "-o", har.to_str().unwrap()],
            vec!["redact", p, "-o", redacted.to_str().unwrap()],
        ]
        .into_iter()
        .map(|args| {
            let ran = analyze(&args);
            (args, ran)
        })
        .collect();
        for (args, ran) in &runs {
            let what = format!("{rel}: analyze {}", args[0]);
            if ran.stderr.contains("panicked") || !(0..=2).contains(&ran.code) {
                problems.push(format!("{what}: exit {} {}", ran.code, ran.stderr));
            }
            if args[1] == "--json" && !ran.stdout.is_empty() {
                if let Err(e) = serde_json::from_str::<Value>(&ran.stdout) {
                    problems.push(format!("{what} --json: not JSON ({e})"));
                }
            }
        }
        let ls = &runs[1].1;
        if refused(&rel) {
            if ls.code != 2 || !ls.stderr.contains(p) {
                problems.push(format!(
                    "{rel}: should be refused naming the file: {}",
                    ls.stderr
                ));
            }
            continue;
        }
        read += 1;
        for (args, ran) in &runs {
            // leaks: 1 = found a credential; show 0 of an empty archive is
            // an error; a cut or bad entry is exit 2 with the rest read.
            let ok = match args[0] {
                "leaks" => ran.code <= 1 || ran.stderr.contains("skipped"),
                "show" => ran.code == 0 || ran.stderr.contains("has 0 entries"),
                _ => ran.code == 0 || ran.stderr.contains("skipped"),
            };
            if !ok {
                problems.push(format!(
                    "{rel}: analyze {} exit {}: {}",
                    args[0], ran.code, ran.stderr
                ));
            }
        }
        // One bad entry never costs the others: every entry is listed.
        if let (Some(want), Ok(Value::Array(rows))) =
            (har_entries(path), serde_json::from_str::<Value>(&ls.stdout))
        {
            if rows.len() != want {
                problems.push(format!("{rel}: ls listed {} of {want} entries", rows.len()));
            }
        }
    }
    assert!(read >= 120, "only {read} files read");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// mitmproxy's two deliberately broken HARs are refused with the file and
/// the byte where reading stopped.
#[test]
fn mitmproxys_broken_hars_are_refused_naming_file_and_position() {
    let Some(dir) = peer_archives("mitmproxys_broken_hars_are_refused_naming_file_and_position")
    else {
        return;
    };
    for name in [
        "corrupted_har_brokenfile.har",
        "corrupted_har_broken_headers.json",
    ] {
        let path = dir.join("mitmproxy").join(name);
        let p = path.to_str().unwrap();
        for cmd in ["ls", "usage", "leaks"] {
            let r = analyze(&[cmd, p]);
            assert_eq!(r.code, 2, "{cmd} {name}: {}", r.stderr);
            assert!(r.stderr.contains(p), "{cmd} {name}: {}", r.stderr);
            assert!(
                r.stderr.contains("at byte") || r.stderr.contains("no \"log\" object"),
                "{cmd} {name}: a position or what is missing: {}",
                r.stderr
            );
        }
    }
}

/// Old flow files read as mitmproxy 11 upgrades them: the counts and URLs
/// its own `test_compat.py` expects; 0.10 is refused, as there.
#[test]
fn old_flow_format_versions_read_as_mitmproxy_upgrades_them() {
    let Some(dir) = peer_archives("old_flow_format_versions_read_as_mitmproxy_upgrades_them")
    else {
        return;
    };
    for (name, url, count) in [
        ("dumpfile-011.mitm", "https://example.com/", 1),
        ("dumpfile-018.mitm", "https://www.example.com/", 1),
        ("dumpfile-019.mitm", "https://webrv.rtb-seller.com/", 1),
        (
            "dumpfile-7-websocket.mitm",
            "https://echo.websocket.org/",
            6,
        ),
        ("dumpfile-7.mitm", "https://example.com/", 2),
        ("dumpfile-10.mitm", "https://example.com/", 1),
        ("dumpfile-19.mitm", "https://cloudflare-quic.com/", 1),
    ] {
        let path = dir.join("mitmproxy").join(name);
        let r = analyze(&["ls", "--json", path.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let rows: Value = serde_json::from_str(&r.stdout).unwrap();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), count, "{name}");
        let last = rows.last().unwrap();
        let got = format!(
            "https://{}{}",
            last["host"].as_str().unwrap(),
            last["path"].as_str().unwrap()
        );
        assert!(got.starts_with(url), "{name}: {got}");
        if name.contains("websocket") {
            let messages: u64 = rows
                .iter()
                .filter_map(|r| r["websocket_messages"].as_u64())
                .sum();
            assert!(
                messages > 0,
                "{name}: its WebSocket messages are read: {rows:?}"
            );
        }
    }
    let old = dir.join("mitmproxy/dumpfile-010.mitm");
    let r = analyze(&["ls", old.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("older than 0.11"), "{}", r.stderr);
}

/// Where mitmproxy keeps its expected import of a HAR (`har_files_X.json`,
/// its `flow_to_json` of each flow), our reading of the same HAR agrees on
/// method, URL, status, and the body (length and SHA-256, where mitmproxy
/// stores the bytes we hold: no `content-encoding`, ASCII text).
#[test]
fn our_reading_agrees_with_mitmproxys_expected_imports() {
    use sha2::{Digest, Sha256};
    let Some(dir) = peer_archives("our_reading_agrees_with_mitmproxys_expected_imports") else {
        return;
    };
    let mut compared = 0;
    let mut bodies = 0;
    for json in corpus(&dir.join("mitmproxy")) {
        let name = json.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name
            .strip_suffix(".json")
            .filter(|s| s.starts_with("har_files_"))
        else {
            continue;
        };
        let har = json.with_file_name(format!("{stem}.har"));
        let want: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let want = want.as_array().unwrap();
        let reader = cctap_archive::AnyReader::open(&har).unwrap();
        let ours: Vec<_> = reader.map(|e| e.unwrap()).collect();
        assert_eq!(ours.len(), want.len(), "{stem}: entries");
        for (i, (e, w)) in ours.iter().zip(want).enumerate() {
            let at = format!("{stem} entry {i}");
            let req = &w["request"];
            assert_eq!(e.har.request.method, req["method"], "{at}");
            let port = req["port"].as_u64().unwrap();
            let scheme = req["scheme"].as_str().unwrap();
            let default = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
            let host = req["host"].as_str().unwrap();
            let authority = if default {
                host.to_owned()
            } else {
                format!("{host}:{port}")
            };
            let url = format!("{scheme}://{authority}{}", req["path"].as_str().unwrap());
            assert_eq!(e.har.request.url, url, "{at}");
            let resp = &w["response"];
            assert_eq!(
                Some(e.har.response.status),
                resp["status_code"].as_i64(),
                "{at}"
            );
            let text = e.har.response.content.text.as_deref().unwrap_or("");
            let body = match e.har.response.content.encoding.as_deref() {
                Some("base64") => cctap_archive::base64::decode(text).unwrap(),
                _ => text.as_bytes().to_vec(),
            };
            let encoded = e.response_header("content-encoding").is_some();
            if !encoded && body.is_ascii() {
                let hash = format!("{:x}", Sha256::digest(&body));
                assert_eq!(
                    resp["contentLength"].as_u64(),
                    Some(body.len() as u64),
                    "{at}"
                );
                assert_eq!(resp["contentHash"].as_str(), Some(hash.as_str()), "{at}");
                bodies += 1;
            }
            compared += 1;
        }
    }
    assert!(
        compared >= 8 && bodies >= 4,
        "{compared} entries, {bodies} bodies compared"
    );
}

/// Flows we export from the corpus load in mitmproxy 11: all of them in
/// one file (flow files are plain concatenations), one mitmdump run.
#[test]
fn flows_exported_from_the_corpus_load_in_mitmdump() {
    let test = "flows_exported_from_the_corpus_load_in_mitmdump";
    let Some(dir) = peer_archives(test) else {
        return;
    };
    let Some(bin) = mitmdump(test) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut all = Vec::new();
    let mut written = 0u64;
    for path in corpus(&dir) {
        let rel = path.strip_prefix(&dir).unwrap().display().to_string();
        if refused(&rel) {
            continue;
        }
        let out = scratch.path().join("one.flows");
        let r = analyze(&[
            "export",
            "--json",
            path.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        let summary: Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{rel}: export --json ({e}): {}", r.stderr));
        written += summary["entries"].as_u64().unwrap();
        all.extend(std::fs::read(&out).unwrap());
    }
    let joined = scratch.path().join("corpus.flows");
    std::fs::write(&joined, &all).unwrap();
    // `requestheaders` runs once per HTTP flow mitmdump loads.
    let counter = scratch.path().join("count.py");
    let counted = scratch.path().join("count.txt");
    std::fs::write(
        &counter,
        format!(
            "n = 0\n\
             def requestheaders(flow):\n    global n\n    n += 1\n\
             def done():\n    open({:?}, 'w').write(str(n))\n",
            counted.to_str().unwrap()
        ),
    )
    .unwrap();
    let args = [
        "-r",
        joined.to_str().unwrap(),
        "-s",
        counter.to_str().unwrap(),
    ];
    let (status, printed) = mitmdump_output(&bin, scratch.path(), &args);
    assert!(status.success(), "mitmdump -nr exited {status}\n{printed}");
    assert!(
        !printed.contains("Error") && !printed.contains("Invalid"),
        "{printed}"
    );
    let loaded: u64 = std::fs::read_to_string(&counted).unwrap().parse().unwrap();
    assert_eq!(loaded, written, "{printed}");
    assert!(written >= 500, "{written} flows");
}

/// WebSocket messages survive export both ways: mitmproxy's flows → our
/// HAR (`_webSocketMessages`) → flows that mitmdump loads with the same
/// messages.
#[test]
fn websocket_messages_survive_export_both_ways() {
    let test = "websocket_messages_survive_export_both_ways";
    let Some(dir) = peer_archives(test) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("temp dir");
    let har = scratch.path().join("ws.har");
    let flows = scratch.path().join("ws.flows");
    let input = dir.join("mitmproxy/flows_websocket.mitm");
    for (from, to) in [(input.as_path(), har.as_path()), (&har, &flows)] {
        let r = analyze(&["export", from.to_str().unwrap(), "-o", to.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    let counts: Vec<usize> = doc["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["_webSocketMessages"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(counts, [1, 1, 3], "{doc}");
    let Some(bin) = mitmdump(test) else {
        return;
    };
    let messages = "len(flow.websocket.messages) if flow.websocket else 0";
    let (counts, printed) = per_response(&bin, scratch.path(), &flows, messages, ",");
    assert_eq!(counts, "1,1,3", "{printed}");
}

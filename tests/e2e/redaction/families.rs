//! One fake credential per place a secret travels (the places and patterns
//! of FORMAT.md, "Redaction"), through `record` in reverse mode: absent
//! from the archive and the `-w` flow file in every form a reader recovers,
//! the rest byte-identical; in an archive recorded with `--no-redact`,
//! `analyze leaks` names each one's place, and `analyze redact` removes each
//! one as `record` does.
use super::raw_upstream::{self, response};
use super::recoverable;
use crate::common::*;
use cctap_archive::{Entry, FlowReader};
use cctap_tests::{archive, binaries, Recorder};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

const K_PCT: &str = "sk-ant-api03-FAKEpctFAKEpctFAKEpctFAKEpctFAKEpctFAKEpctFAKEpctFAKEpct-FAKE";
const K_JSON: &str = "sk-ant-api03-FAKEjsonFAKEjsonFAKEjsonFAKEjsonFAKEjsonFAKEjsonFAKEjson-FAKE";
const AWS_FORM: &str = "FAKEwJalrXUtnFEMI/K7MDENG+bPxRfiCYFORM01";
const AWS_JSON: &str = "FAKEwJalrXUtnFEMI/K7MDENG/bPxRfiCYJSON02";
const PEM_BODY: &str = "MIIFAKEpemFAKEpemFAKEpemFAKEpem0123";
const K_BIN: &str = "sk-ant-api03-FAKEbinFAKEbinFAKEbinFAKEbinFAKEbinFAKEbinFAKEbinFAKEbin-FAKE";
const K_MULTI: &str = "sk-ant-api03-FAKEmpFAKEmpFAKEmpFAKEmpFAKEmpFAKEmpFAKEmpFAKEmpFAKEmp-FAKE";
const K_JUNK: &str = "sk-ant-api03-FAKEjunkFAKEjunkFAKEjunkFAKEjunkFAKEjunkFAKEjunk-FAKE";
const K_CUT: &str = "sk-ant-api03-FAKEcutFAKEcutFAKEcutFAKEcutFAKEcutFAKEcutFAKEcut-FAKE";
const K_COOKIE: &str = "sk-ant-api03-FAKEckFAKEckFAKEckFAKEckFAKEckFAKEckFAKEckFAKEck-FAKE";
const K_HNAME: &str = "sk-ant-api03-fakehnfakehnfakehnfakehnfakehnfakehnfakehnfakehn-fake";
const K_FOLD: &str = "sk-ant-api03-FAKEfoldFAKEfoldFAKEfoldFAKEfoldFAKEfoldFAKEfold-FAKE";
const K_FOLDED: &str = "sk-ant-api03-FAKEfoldedFAKEfoldedFAKEfoldedFAKEfoldedFAKEfolded-FAKE";
const K_REASON: &str = "sk-ant-api03-FAKEreasonFAKEreasonFAKEreasonFAKEreasonFAKEreason-FAKE";
const K_SSE_ID: &str = "sk-ant-api03-FAKEsseidFAKEsseidFAKEsseidFAKEsseidFAKEsseid-FAKE";
const K_SPLIT: &str = "sk-ant-api03-FAKEsplitFAKEsplitFAKEsplitFAKEsplitFAKEsplit-FAKE";
const AWS_EXAMPLE: &str = "AKIAIOSFODNN7EXAMPLE";

/// A family: the path its exchange uses, its secrets, and where `leaks`
/// must find them in the unredacted archive.
struct Family {
    path: &'static str,
    secrets: &'static [&'static str],
    place: &'static str,
}

const FAMILIES: &[Family] = &[
    Family {
        path: "/f/param",
        secrets: &["FAKEparamA01", "FAKEparamB02"],
        place: "request.url",
    },
    Family {
        path: "/f/pct/",
        secrets: &[K_PCT],
        place: "request.url",
    },
    Family {
        path: "/f/form",
        secrets: &[AWS_FORM, PEM_BODY],
        place: "request.postData.text",
    },
    Family {
        path: "/f/json",
        secrets: &[K_JSON, AWS_JSON],
        place: "request.postData.text",
    },
    Family {
        path: "/f/binary",
        secrets: &[K_BIN],
        place: "request.postData.text",
    },
    Family {
        path: "/f/multipart",
        secrets: &[K_MULTI, "FAKEpass-7"],
        place: "request.postData.text",
    },
    Family {
        path: "/f/gzip-junk",
        secrets: &[K_JUNK],
        place: "response.content.text",
    },
    Family {
        path: "/f/gzip-cut",
        secrets: &[K_CUT],
        place: "response.content.text",
    },
    Family {
        path: "/f/cookie-name",
        secrets: &[K_COOKIE],
        place: "request.headers.cookie",
    },
    Family {
        path: "/f/header-name",
        secrets: &[K_HNAME],
        place: "request.headers.(name)",
    },
    Family {
        path: "/f/set-cookie",
        secrets: &[K_FOLD],
        place: "response.headers.set-cookie",
    },
    Family {
        path: "/f/reason",
        secrets: &[K_REASON],
        place: "response.statusText",
    },
    Family {
        path: "/f/sse-id",
        secrets: &[K_SSE_ID],
        place: "_sseEvents",
    },
    Family {
        path: "/f/sse-split",
        secrets: &[K_SPLIT],
        place: "_sseEvents",
    },
];

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// Text around a key, long enough that a cut stream still holds the key.
fn around(key: &str) -> String {
    let prose = "plain words that are not secret, repeated. ".repeat(60);
    format!("{prose}the key is {key} and then {prose}")
}

fn delta(text: &str) -> String {
    format!("{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{text}\"}}}}")
}

fn answer(path: &str) -> Vec<u8> {
    let json = ["content-type: application/json"];
    match path {
        "/f/gzip-junk" => {
            let mut body = gzip(around(K_JUNK).as_bytes());
            body.extend_from_slice(b"\x00\xffjunk after the gzip member");
            response(
                "HTTP/1.1 200 OK",
                &["content-type: text/plain", "content-encoding: gzip"],
                &body,
            )
        }
        "/f/gzip-cut" => {
            let whole = gzip(around(K_CUT).as_bytes());
            let cut = &whole[..whole.len() - 12];
            response(
                "HTTP/1.1 200 OK",
                &["content-type: text/plain", "content-encoding: gzip"],
                cut,
            )
        }
        "/f/set-cookie" => response(
            "HTTP/1.1 200 OK",
            &[
                &format!("set-cookie: sid=FAKEsid1; Path=/; Note={K_FOLD}"),
                json[0],
            ],
            b"{}",
        ),
        // obs-fold (RFC 9112 5.2): record's HTTP parser refuses it (a 502
        // and an `_error` entry); the key must not be in the archive either way.
        "/f/folded" => response(
            "HTTP/1.1 200 OK",
            &[
                &format!("set-cookie: sid=FAKEsid2; Path=/;\r\n\tNote={K_FOLDED}"),
                json[0],
            ],
            b"{}",
        ),
        "/f/reason" => response(&format!("HTTP/1.1 200 OK {K_REASON}"), &json, b"{}"),
        "/f/sse-id" => response(
            "HTTP/1.1 200 OK",
            &["content-type: text/event-stream"],
            format!(
                "event: message_start\nid: {K_SSE_ID}\ndata: {{\"type\":\"message_start\"}}\n\n"
            )
            .as_bytes(),
        ),
        "/f/sse-split" => {
            let cuts = [0, 9, 30, 47, K_SPLIT.len()];
            let mut body = format!(
                "event: content_block_delta\ndata: {}\n\n",
                delta("Your key: ")
            );
            for w in cuts.windows(2) {
                body.push_str("event: ping\ndata: {\"type\":\"ping\"}\n\n");
                body.push_str(&format!(
                    "event: content_block_delta\ndata: {}\n\n",
                    delta(&K_SPLIT[w[0]..w[1]])
                ));
            }
            body.push_str(&format!(
                "event: content_block_delta\ndata: {}\n\n",
                delta(" - keep it safe.")
            ));
            response(
                "HTTP/1.1 200 OK",
                &["content-type: text/event-stream"],
                body.as_bytes(),
            )
        }
        _ => response("HTTP/1.1 200 OK", &json, b"{\"ok\":true}"),
    }
}

/// One request per family (and one with AWS's documented example key).
async fn traffic(base: &str) {
    let http = client();
    let enc = |s: &str| {
        s.replace('-', "%2D")
            .replace('/', "%2F")
            .replace('+', "%2B")
    };
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\nFAKE==\n-----END PRIVATE KEY-----");
    let form = format!(
        "user=bob&pem={}&aws_secret_access_key={}&next=ok",
        pem.replace(' ', "+")
            .replace('\n', "%0A")
            .replace('=', "%3D"),
        enc(AWS_FORM)
    );
    let json = format!(
        "{{\"a\":\"use {} now\",\"aws_secret_access_key\":\"{}\"}}",
        K_JSON.replace('-', "\\u002d"),
        AWS_JSON.replace('/', "\\/")
    );
    let mut binary = vec![0x89, b'P', b'N', b'G', 0xff, 0x00];
    binary.extend_from_slice(K_BIN.as_bytes());
    binary.extend_from_slice(&[0xfe, 0x80]);
    let mut multipart = b"--B\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nFAKEpass-7\r\n--B\r\nContent-Disposition: form-data; name=\"img\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\xff".to_vec();
    multipart.extend_from_slice(K_MULTI.as_bytes());
    multipart.extend_from_slice(b"\x00\xfe\r\n--B--\r\n");
    let requests = [
        http.get(format!(
            "{base}/f/param?api_key=FAKEparamA01&Token=FAKEparamB02&page=2"
        )),
        http.get(format!("{base}/f/pct/{}?note={}", enc(K_PCT), enc(K_PCT))),
        http.post(format!("{base}/f/form"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form),
        http.post(format!("{base}/f/json"))
            .header("content-type", "application/json")
            .body(json),
        http.post(format!("{base}/f/binary"))
            .header("content-type", "application/octet-stream")
            .body(binary),
        http.post(format!("{base}/f/multipart"))
            .header("content-type", "multipart/form-data; boundary=B")
            .body(multipart),
        http.get(format!("{base}/f/gzip-junk")),
        http.get(format!("{base}/f/gzip-cut")),
        http.get(format!("{base}/f/cookie-name"))
            .header("cookie", format!("{K_COOKIE}=1; theme=dark")),
        http.get(format!("{base}/f/header-name"))
            .header(K_HNAME, "1"),
        http.get(format!("{base}/f/set-cookie")),
        http.get(format!("{base}/f/folded")),
        http.get(format!("{base}/f/reason")),
        http.get(format!("{base}/f/sse-id")),
        http.get(format!("{base}/f/sse-split")),
        http.post(format!("{base}/f/example"))
            .header("content-type", "text/plain")
            .body(format!("aws_access_key_id={AWS_EXAMPLE}\n")),
    ];
    for r in requests {
        let answer = r.send().await.expect("send through record");
        let _ = answer.bytes().await;
    }
}

/// Records the traffic; the archive's entries and the flow file's.
async fn record(
    dir: &Path,
    name: &str,
    extra: &[&str],
) -> (Vec<Entry>, Vec<Entry>, Vec<u8>, Vec<u8>) {
    let upstream = raw_upstream::start(answer).await;
    let har = dir.join(format!("{name}.har.zst"));
    let flows = dir.join(format!("{name}.flows"));
    let mut args = vec!["-w", flows.to_str().expect("path")];
    args.extend_from_slice(extra);
    let recorder =
        Recorder::reverse(&format!("http://{upstream}"), &har, &args).expect("start record");
    traffic(&recorder.url()).await;
    let status = bounded("record stops", STEP, recorder.stop())
        .await
        .expect("stop record");
    assert!(status.success(), "record exited {status}");
    let (entries, cut) = archive::read_entries(&har).expect("read archive");
    assert_eq!(cut, None);
    let flow_entries: Vec<Entry> = FlowReader::open(&flows)
        .expect("open flow file")
        .map(|e| e.expect("flow entry"))
        .collect();
    let har_bytes = archive::decompressed(&har).expect("decompress");
    let flow_bytes = std::fs::read(&flows).expect("read flows");
    (entries, flow_entries, har_bytes, flow_bytes)
}

fn entry<'a>(entries: &'a [Entry], path: &str) -> &'a Entry {
    entries
        .iter()
        .find(|e| e.har.request.url.contains(path))
        .unwrap_or_else(|| panic!("no entry for {path}"))
}

/// Every family's secrets absent from `entries` in every recoverable form
/// and from the file's bytes.
fn clean(what: &str, entries: &[Entry], file: &[u8]) {
    let file = String::from_utf8_lossy(file);
    for f in FAMILIES {
        let e = entry(entries, f.path);
        for secret in f.secrets {
            assert!(
                !recoverable::holds(e, secret),
                "{what}: {secret} recoverable from {}",
                f.path
            );
            assert!(
                !file.contains(secret),
                "{what}: {secret} in the file's bytes"
            );
        }
    }
    assert!(
        !file.contains(K_FOLDED),
        "{what}: the folded set-cookie's key"
    );
    assert!(entries.iter().all(|e| !recoverable::holds(e, K_FOLDED)));
    let example = entry(entries, "/f/example");
    assert_eq!(
        example.request_text(),
        Some(format!("aws_access_key_id={AWS_EXAMPLE}\n").as_str()),
        "{what}: a documented example key is left alone"
    );
}

/// The parts around each secret are as recorded without redaction.
fn rest_identical(raw: &[Entry], redacted: &[Entry]) {
    let marker = |kind: &str, s: &str| cctap_archive::redact::marker(kind, s);
    let (a, b) = (entry(raw, "/f/json"), entry(redacted, "/f/json"));
    let want = a
        .request_text()
        .unwrap()
        .replace(
            &K_JSON.replace('-', "\\u002d"),
            &marker("sk-ant-api03", K_JSON),
        )
        .replace(
            &AWS_JSON.replace('/', "\\/"),
            &marker("aws-secret-key", AWS_JSON),
        );
    assert_eq!(b.request_text(), Some(want.as_str()));
    let (a, b) = (entry(raw, "/f/reason"), entry(redacted, "/f/reason"));
    assert_eq!(
        b.har.response.status_text,
        a.har
            .response
            .status_text
            .replace(K_REASON, &marker("sk-ant-api03", K_REASON))
    );
    let (a, b) = (entry(raw, "/f/param"), entry(redacted, "/f/param"));
    // Each recording had its own upstream port: compare from the path on.
    let path = |url: &str| url.splitn(4, '/').nth(3).unwrap_or("").to_owned();
    let want = path(&a.har.request.url)
        .replace("FAKEparamA01", &marker("secret", "FAKEparamA01"))
        .replace("FAKEparamB02", &marker("secret", "FAKEparamB02"));
    assert_eq!(path(&b.har.request.url), want);
    let (a, b) = (entry(raw, "/f/binary"), entry(redacted, "/f/binary"));
    let want =
        String::from_utf8_lossy(&request_bytes(a)).replace(K_BIN, &marker("sk-ant-api03", K_BIN));
    assert_eq!(String::from_utf8_lossy(&request_bytes(b)), want);
    assert_eq!(
        request_bytes(b).len(),
        request_bytes(a).len() - K_BIN.len() + 34
    );
}

async fn analyze(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(binaries::analyze().expect("analyze binary"))
        .kill_on_drop(true)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run analyze")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_is_redacted_by_record_and_redact_and_found_by_leaks() {
    bounded("test", LIMIT, async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (entries, flows, har_bytes, flow_bytes) = record(dir.path(), "redacted", &[]).await;
        let (raw, _, _, _) = record(dir.path(), "raw", &["--no-redact"]).await;
        for f in FAMILIES {
            for secret in f.secrets {
                assert!(
                    recoverable::holds(entry(&raw, f.path), secret),
                    "--no-redact keeps {secret} ({})",
                    f.path
                );
            }
        }
        clean("record archive", &entries, &har_bytes);
        clean("record -w flow file", &flows, &flow_bytes);
        rest_identical(&raw, &entries);

        let raw_path = dir.path().join("raw.har.zst");
        let leaks = analyze(&["--json", "leaks", raw_path.to_str().unwrap()]).await;
        assert_eq!(leaks.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&leaks.stdout);
        let v: Value = serde_json::from_str(&stdout).expect("leaks --json is JSON");
        let findings = v["findings"].as_array().expect("findings");
        for f in FAMILIES {
            let index = raw
                .iter()
                .position(|e| e.har.request.url.contains(f.path))
                .unwrap();
            let here: Vec<&Value> = findings.iter().filter(|x| x["entry"] == index).collect();
            assert!(
                here.len() >= f.secrets.len()
                    && here.iter().any(|x| x["place"] == f.place
                        || x["also"]
                            .as_array()
                            .is_some_and(|a| a.iter().any(|p| p == f.place))),
                "{}: leaks must name {}: {here:#?}",
                f.path,
                f.place
            );
            for secret in f.secrets {
                assert!(!stdout.contains(secret), "leaks printed {secret}");
            }
        }
        assert_eq!(v["examples"], 1, "the documented example is listed: {v}");
        let human = analyze(&["leaks", raw_path.to_str().unwrap()]).await;
        let human = String::from_utf8_lossy(&human.stdout);
        for f in FAMILIES {
            for secret in f.secrets {
                assert!(!human.contains(secret), "leaks printed {secret}");
            }
        }

        for ext in ["har", "flows"] {
            let out = dir.path().join(format!("redacted-by-analyze.{ext}"));
            let r = analyze(&[
                "redact",
                raw_path.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ])
            .await;
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            let bytes = std::fs::read(&out).expect("read redacted copy");
            let copy: Vec<Entry> = if ext == "har" {
                archive::read_entries(&out).expect("read redacted copy").0
            } else {
                FlowReader::open(&out)
                    .expect("open")
                    .map(|e| e.expect("flow entry"))
                    .collect()
            };
            clean(&format!("analyze redact to .{ext}"), &copy, &bytes);
            if ext == "har" {
                rest_identical(&raw, &copy);
            }
            let after = analyze(&["leaks", out.to_str().unwrap()]).await;
            assert_eq!(
                after.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&after.stdout)
            );
        }
        for archive in [
            dir.path().join("redacted.har.zst"),
            dir.path().join("redacted.flows"),
        ] {
            let after = analyze(&["leaks", archive.to_str().unwrap()]).await;
            assert_eq!(
                after.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&after.stdout)
            );
        }
    })
    .await
}

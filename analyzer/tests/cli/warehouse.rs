//! `export --format parquet` and `usage --against` as a user runs them.

use super::{analyze, handmade};
use serde_json::Value;

#[test]
fn an_unreadable_archive_is_named_skipped_left_out_of_the_manifest_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.har");
    std::fs::write(&bad, "this is not an archive").unwrap();
    let wh = dir.path().join("wh");
    let (bad, wh) = (bad.display().to_string(), wh.display().to_string());
    let good = handmade("cc-2.1.332.har");
    let args = [
        "export",
        bad.as_str(),
        good.as_str(),
        "--format",
        "parquet",
        "-o",
        wh.as_str(),
        "--json",
    ];
    let r = analyze(&args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("skipped") && r.stderr.contains("bad.har"),
        "{}",
        r.stderr
    );
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["archives"][0]["status"], "unreadable");
    assert_eq!(v["archives"][1]["status"], "exported");
    assert_eq!(v["calls_added"], 2);
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{wh}/_cctap_manifest.json")).unwrap(),
    )
    .unwrap();
    let names: Vec<&str> = manifest["archives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [good.as_str()],
        "the unreadable archive is tried again next time"
    );
    assert_eq!(manifest["tables"]["calls"][0]["name"], "call_id");
    let again = analyze(&args);
    assert_eq!(again.code, 2);
    let v: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(v["archives"][1]["status"], "already exported");
    assert_eq!(v["calls_added"], 0);
}

#[test]
fn usage_against_needs_a_directory_and_says_which() {
    let r = analyze(&[
        "usage",
        "--against",
        "/nonexistent/projects",
        &handmade("cc-2.1.332.har"),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("usually ~/.claude/projects"),
        "{}",
        r.stderr
    );
}

#[test]
fn prompt_text_is_written_only_with_with_content_and_only_once_per_call() {
    let dir = tempfile::tempdir().unwrap();
    let good = handmade("cc-2.1.332.har");
    let export = |wh: &str, content: bool| {
        let mut args = vec!["export", good.as_str(), "--format", "parquet", "-o", wh];
        args.extend(["--json"]);
        if content {
            args.push("--with-content");
        }
        let r = analyze(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str::<Value>(&r.stdout).unwrap()
    };
    let plain = dir.path().join("plain").display().to_string();
    let v = export(&plain, false);
    assert_eq!(v["message_rows_added"], 0);
    assert!(!std::path::Path::new(&plain).join("messages").exists());
    let manifest = std::fs::read_to_string(format!("{plain}/_cctap_manifest.json")).unwrap();
    assert!(!manifest.contains("\"messages\""), "{manifest}");

    let wh = dir.path().join("content").display().to_string();
    let v = export(&wh, true);
    let rows = v["message_rows_added"].as_u64().unwrap();
    assert!(rows > 4, "{v}");
    let manifest = std::fs::read_to_string(format!("{wh}/_cctap_manifest.json")).unwrap();
    assert!(
        manifest.contains("\"messages\""),
        "the manifest documents the table"
    );
    assert!(v["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.as_str().unwrap().starts_with("messages/date=")));
    // The same archive again: its calls are there, so are their blocks.
    assert_eq!(export(&wh, true)["message_rows_added"], 0);

    // Converting an archive has no tables to add content to.
    let out = dir.path().join("x.har").display().to_string();
    let r = analyze(&[
        "export",
        good.as_str(),
        "-o",
        out.as_str(),
        "--with-content",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--with-content go with --format parquet"),
        "{}",
        r.stderr
    );
}

#[test]
fn throughput_counts_the_har_as_read_not_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let plain = handmade("cc-2.1.332.har");
    let zst = dir.path().join("cc.har.zst");
    let zst = zst.to_str().unwrap();
    let unpacked = dir.path().join("cc.har");
    let unpacked = unpacked.to_str().unwrap();
    assert_eq!(analyze(&["export", &plain, "-o", zst]).code, 0);
    assert_eq!(analyze(&["export", zst, "-o", unpacked]).code, 0);
    let size = |p: &str| std::fs::metadata(p).unwrap().len();
    // (archive, its size on disk, the size of its HAR document)
    let cases = [
        (plain.as_str(), size(&plain), size(&plain)),
        (zst, size(zst), size(unpacked)),
    ];
    assert!(cases[1].1 * 2 < cases[1].2, "{cases:?}");
    for (archive, stored, document) in cases {
        let wh = dir.path().join(format!("wh-{stored}"));
        let wh = wh.to_str().unwrap();
        let r = analyze(&["export", archive, "--format", "parquet", "-o", wh, "--json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["bytes_stored"], stored, "{archive}");
        // The whole document but its final newline.
        let read = v["bytes_read"].as_u64().unwrap();
        assert!(
            read <= document && read + 8 >= document,
            "{archive}: {read} of {document}"
        );
        assert!(r.stderr.contains("as stored"), "{}", r.stderr);
    }
}

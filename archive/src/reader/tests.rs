//! Reader tests: cut-offs at many byte positions, foreign HARs, errors.
use super::*;
use crate::testing::{sample_entry, SharedSink};
use crate::writer::{ArchiveWriter, Format};
use std::io::Cursor;

fn reader(bytes: &[u8]) -> Result<ArchiveReader, ReadError> {
    ArchiveReader::from_reader("test.har", Box::new(Cursor::new(bytes.to_vec())))
}

/// A 3-entry archive, unfinished or finished, with the byte length after
/// the head and after each entry (each a flush point).
fn archive(format: Format) -> (Vec<u8>, Vec<usize>) {
    let sink = SharedSink::default();
    let head = LogHead::new("cctap-test", "0.1.0");
    let mut w = ArchiveWriter::new(Box::new(sink.clone()), format, &head).unwrap();
    let mut flushed = vec![sink.bytes().len()];
    for i in 0..3 {
        w.append(&sample_entry(i)).unwrap();
        flushed.push(sink.bytes().len());
    }
    w.finish().unwrap();
    (sink.bytes(), flushed)
}

#[test]
fn cut_at_every_97th_byte_keeps_the_complete_entries() {
    for format in [Format::Har, Format::HarZst, Format::HarGz] {
        let (bytes, flushed) = archive(format);
        let mut cuts: Vec<usize> = (0..bytes.len()).step_by(97).collect();
        cuts.extend(flushed.iter().copied());
        for cut in cuts {
            let complete = flushed[1..].iter().filter(|&&end| end <= cut).count();
            match reader(&bytes[..cut]) {
                Err(ReadError::NotHar { why, .. }) => {
                    assert!(cut < flushed[0], "{format:?} cut {cut}: {why}");
                }
                Err(e) => panic!("{format:?} cut {cut}: {e}"),
                Ok(mut r) => {
                    assert!(cut >= flushed[0], "{format:?} cut {cut} inside the head");
                    let got: Vec<Entry> = r.by_ref().map(Result::unwrap).collect();
                    // Deflate decodes a block as its bits arrive, so a gzip
                    // cut may also complete the entry being flushed.
                    let slack = usize::from(format == Format::HarGz && complete < 3);
                    assert!(
                        (complete..=complete + slack).contains(&got.len()),
                        "{format:?} cut at {cut}: {} entries, {complete} flushed",
                        got.len()
                    );
                    let want: Vec<Entry> = (0..got.len()).map(sample_entry).collect();
                    assert_eq!(got, want, "{format:?} cut at {cut}");
                    assert_eq!(r.cut_off().map(|c| c.entries), Some(got.len()));
                    assert!(r.cut_reason().is_some());
                }
            }
        }
        let (mut r, n) = (reader(&bytes).unwrap(), 3);
        assert_eq!(r.by_ref().count(), n);
        assert_eq!(r.cut_off(), None, "{format:?} whole");
    }
}

#[test]
fn cut_offset_is_in_the_decompressed_document() {
    let (bytes, flushed) = archive(Format::Har);
    let mut r = reader(&bytes[..flushed[2] + 5]).unwrap();
    assert_eq!(r.by_ref().count(), 2);
    assert_eq!(
        r.cut_off(),
        Some(&CutOff {
            entries: 2,
            offset: flushed[2] as u64 + 5
        })
    );
}

/// An export as Chrome writes it: pages first, `_`-fields, and none of the
/// optional parts the `har` crate's types require.
const BROWSER_HAR: &str = r#"{
  "log": {
    "version": "1.2",
    "creator": {"name": "WebInspector", "version": "537.36"},
    "pages": [{"startedDateTime": "2026-11-25T12:00:00.000Z", "id": "page_1", "title": "x", "pageTimings": {}}],
    "entries": [
      {
        "_initiator": {"type": "other"}, "_priority": "High", "_resourceType": "fetch",
        "pageref": "page_1",
        "startedDateTime": "2026-11-25T12:00:00.100Z",
        "time": 12.5,
        "request": {
          "method": "GET", "url": "https://example.test/a?x=1",
          "headers": [{"name": "accept", "value": "*/*"}]
        },
        "response": {
          "status": 200, "statusText": "", "httpVersion": "http/2.0",
          "headers": [], "content": {"mimeType": "application/json", "text": "{}"},
          "redirectURL": "", "headersSize": -1.0, "bodySize": 2, "_transferSize": 120
        },
        "timings": {"blocked": 1.2, "dns": -1, "ssl": -1, "connect": -1, "wait": 10.1, "_blocked_queueing": 0.5},
        "serverIPAddress": "[::1]"
      },
      {
        "startedDateTime": "2026-11-25T12:00:01.000Z", "time": 1,
        "cache": {"afterRequest": {"expires": "4294967295", "lastFetched": "", "fetchCount": ""}},
        "request": {"method": "POST", "url": "https://example.test/b", "httpVersion": "HTTP/1.1",
                    "cookies": null, "headers": [], "queryString": [], "postData": {"text": "hi"},
                    "headersSize": null, "bodySize": 2},
        "response": {"status": 204, "statusText": "No Content", "httpVersion": "HTTP/1.1",
                     "cookies": [], "headers": [], "content": {"size": 0}, "redirectURL": null},
        "timings": {"send": 0, "wait": 1, "receive": 0},
        "_sseEvents": [{"time": null, "data": "x"}]
      }
    ]
  }
}"#;

#[test]
fn browser_style_har_reads() {
    let mut r = reader(BROWSER_HAR.as_bytes()).unwrap();
    assert_eq!(r.head().creator.name, "WebInspector");
    let entries: Vec<Entry> = r.by_ref().map(Result::unwrap).collect();
    assert_eq!(entries.len(), 2);
    let a = &entries[0].har;
    assert_eq!(a.request.cookies, vec![]);
    assert_eq!((a.request.headers_size, a.request.body_size), (-1, -1));
    assert_eq!(a.response.headers_size, -1);
    assert_eq!(a.response.content.size, -1);
    assert_eq!(a.timings.wait, 10.1);
    assert_eq!(a.timings.send, 0.0);
    assert_eq!(entries[1].request_text(), Some("hi"));
    let events = entries[1].sse_events.as_deref().unwrap();
    assert_eq!((events[0].time, events[0].event.as_str()), (0.0, "message"));
    assert_eq!(r.cut_off(), None);
}

#[test]
fn entries_may_come_before_or_after_other_keys() {
    let entry = serde_json::to_string(&sample_entry(0)).unwrap();
    let doc = format!(
        "\u{FEFF}{{\"x\":[1,{{\"log\":2}}],\"log\":{{\"pages\":[],\"entries\":[{entry}],\"comment\":\"later\",\
         \"creator\":{{\"name\":\"late\",\"version\":\"9\"}},\"version\":\"1.2\",\"_custom\":{{\"entries\":[]}}}}}}"
    );
    let mut r = reader(doc.as_bytes()).unwrap();
    assert_eq!(r.head().creator.name, "", "not read yet");
    assert_eq!(r.next().unwrap().unwrap(), sample_entry(0));
    assert!(r.next().is_none());
    assert_eq!(r.head().creator.name, "late");
    assert_eq!(r.head().comment.as_deref(), Some("later"));
    assert_eq!(r.cut_off(), None);
}

#[test]
fn not_a_har_says_why() {
    for (doc, why) in [
        ("", "empty"),
        ("hello", "JSON object"),
        ("[1,2]", "JSON object"),
        ("{\"other\":1}", "no \"log\""),
        ("{\"log\":[]}", "must be an object"),
        ("{\"log\":{\"entries\":{}}}", "must be an array"),
        ("{\"log\":{\"version\":\"1.2\",\"crea", "cut off"),
        (
            "{\"log\":{\"creator\":\"me\",\"entries\":[]}}",
            "log.creator",
        ),
    ] {
        match reader(doc.as_bytes()) {
            Err(ReadError::NotHar { why: got, .. }) => assert!(got.contains(why), "{doc:?}: {got}"),
            Err(e) => panic!("{doc:?}: {e}"),
            Ok(_) => panic!("{doc:?} was accepted"),
        }
    }
    let err = reader(b"nope").err().unwrap();
    assert!(
        err.to_string().starts_with("test.har: not a HAR archive ("),
        "{err}"
    );
}

#[test]
fn a_log_without_entries_has_none() {
    let mut r =
        reader(br#"{"log":{"version":"1.2","creator":{"name":"x","version":"1"}}}"#).unwrap();
    assert!(r.next().is_none());
    assert_eq!(r.cut_off(), None);
}

#[test]
fn a_bad_entry_names_its_index_and_the_rest_still_read() {
    let good = serde_json::to_string(&sample_entry(1)).unwrap();
    let doc = format!(r#"{{"log":{{"entries":[{good}, 42, {{"request":{{}}}}, {good}]}}}}"#);
    let results: Vec<_> = reader(doc.as_bytes()).unwrap().collect();
    assert_eq!(results.len(), 4);
    assert!(results[0].is_ok() && results[3].is_ok());
    match &results[1] {
        Err(ReadError::BadEntry { index: 1, why, .. }) => {
            assert!(why.contains("not a JSON object"))
        }
        other => panic!("{other:?}"),
    }
    // An entry with fields missing is read as far as it goes, each
    // gap named.
    let sparse = results[2].as_ref().unwrap();
    let gaps: Vec<String> = sparse.warnings.iter().map(|w| w.message(2)).collect();
    assert!(
        gaps.contains(&"entries[2].request.method: missing, left empty".to_owned())
            && gaps.contains(&"entries[2].response: missing, left empty".to_owned()),
        "{gaps:?}"
    );
}

#[test]
fn a_broken_array_stops_with_an_error() {
    let good = serde_json::to_string(&sample_entry(1)).unwrap();
    let doc = format!(r#"{{"log":{{"entries":[{good} x {good}]}}}}"#);
    let results: Vec<_> = reader(doc.as_bytes()).unwrap().collect();
    assert_eq!(results.len(), 2);
    assert!(matches!(
        &results[1],
        Err(ReadError::BadEntry { index: 1, .. })
    ));
}

#[test]
fn open_errors_name_the_file() {
    let err = ArchiveReader::open(Path::new("/nonexistent/x.har"))
        .err()
        .unwrap();
    assert!(matches!(err, ReadError::Open { .. }));
    assert!(err.to_string().contains("/nonexistent/x.har"), "{err}");
}

#[test]
fn damaged_archives_never_panic() {
    // Deterministic pseudo-random damage: flipped, dropped and inserted
    // bytes in plain and compressed archives. Any outcome but a panic or a
    // hang is acceptable.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for format in [Format::Har, Format::HarZst, Format::HarGz] {
        let (bytes, _) = archive(format);
        for _ in 0..300 {
            let mut damaged = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % damaged.len() as u64) as usize;
                match next() % 3 {
                    0 => damaged[at] ^= 1 << (next() % 8),
                    1 => {
                        damaged.remove(at);
                    }
                    _ => damaged.insert(at, b"{}[]\",:\\ "[(next() % 9) as usize]),
                }
            }
            if let Ok(r) = reader(&damaged) {
                let ok = r.take(100).filter(Result::is_ok).count();
                assert!(ok <= 3, "damage cannot make entries");
            }
        }
    }
}

#[test]
fn http_version_spellings_are_read_as_one() {
    let mut e = sample_entry(1);
    for (i, spelled) in ["h2", "http/2.0", "HTTP/2", "h3", "http/1.1"]
        .iter()
        .enumerate()
    {
        e.har.request.http_version = (*spelled).into();
        e.har.response.http_version = (*spelled).into();
        let doc = format!(
            r#"{{"log":{{"entries":[{}]}}}}"#,
            serde_json::to_string(&e).unwrap()
        );
        let got: Vec<_> = reader(doc.as_bytes())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let want = ["HTTP/2.0", "HTTP/2.0", "HTTP/2.0", "HTTP/3", "HTTP/1.1"][i];
        assert_eq!(got[0].har.request.http_version, want, "{spelled}");
        assert_eq!(got[0].har.response.http_version, want, "{spelled}");
    }
}

#[test]
fn jsonp_and_zlib_wrapped_hars_read() {
    let good = serde_json::to_string(&sample_entry(1)).unwrap();
    let doc = format!(r#"{{"log":{{"version":"1.1","entries":[{good}]}}}}"#);
    let jsonp = format!("onInputData({doc});\n");
    assert_eq!(
        reader(jsonp.as_bytes()).unwrap().count(),
        1,
        "harviewer's .harp"
    );
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, doc.as_bytes()).unwrap();
    let r = reader(&z.finish().unwrap()).unwrap();
    assert_eq!(r.compression(), Compression::Zlib, "mitmproxy's .zhar");
    assert_eq!(r.count(), 1);
}

#[test]
fn a_bodys_undecoded_and_truncated_are_read_back_and_written_again() {
    let mut e = serde_json::to_value(sample_entry(0)).unwrap();
    e["response"]["content"]["_undecoded"] = "it decodes to more than 1 MiB".into();
    e["request"]["postData"] = serde_json::json!({"mimeType": "text/plain", "text": "abc"});
    e["request"]["postData"]["_truncated"] = true.into();
    let doc = serde_json::json!({"log": {"version": "1.2",
        "creator": {"name": "t", "version": "0"}, "entries": [e]}});
    let mut r = reader(doc.to_string().as_bytes()).unwrap();
    let entry = r.next().unwrap().unwrap();
    let response = entry.response_note.clone().expect("response note");
    assert_eq!(
        response.undecoded.as_deref(),
        Some("it decodes to more than 1 MiB")
    );
    assert!(!response.truncated);
    assert!(entry.request_note.as_ref().expect("request note").truncated);
    // Written again (export, redact): the fields are where they were.
    let sink = SharedSink::default();
    let head = LogHead::new("cctap-test", "0.1.0");
    let mut w = ArchiveWriter::new(Box::new(sink.clone()), Format::Har, &head).unwrap();
    w.append(&entry).unwrap();
    w.finish().unwrap();
    let out: serde_json::Value = serde_json::from_slice(&sink.bytes()).unwrap();
    let again = &out["log"]["entries"][0];
    assert_eq!(
        again["response"]["content"]["_undecoded"],
        "it decodes to more than 1 MiB"
    );
    assert_eq!(again["request"]["postData"]["_truncated"], true);
    assert_eq!(again["request"]["postData"]["text"], "abc");
}

/// A string of `len` bytes or so with every kind of escape in it: quotes,
/// control characters, non-ASCII, a surrogate pair, a NUL.
fn long_text(seed: &str, len: usize) -> String {
    let piece = format!("{seed} \"q\" \\ / \n\t\r\u{8}\u{c} café € 😀 \u{0} ]}} ");
    piece.repeat(len / piece.len() + 1)
}

/// One entry with strings longer than the scanner keeps in its buffer in
/// every place a long string can be: bodies, SSE and WebSocket data, a
/// custom field, a header value (the round-trip fallback).
fn entry_with_long_strings() -> Entry {
    let big = 3 * hoist::BIG_STRING;
    let mut e = sample_entry(1);
    e.har.request.post_data.as_mut().unwrap().text = Some(long_text("request", big));
    e.har.request.headers[2].value = long_text("header", big);
    e.har.response.content.text = Some(long_text("response", big));
    e.sse_events = Some(vec![crate::model::SseEvent {
        event: "message".into(),
        data: long_text("event", big),
        ..Default::default()
    }]);
    e.websocket_messages = Some(vec![crate::model::WebSocketMessage {
        kind: "send".into(),
        data: long_text("message", big),
        ..Default::default()
    }]);
    e.extra.insert(
        "_tool".into(),
        serde_json::json!({"note": long_text("extra", big)}),
    );
    e
}

fn archive_of(entries: &[Entry], format: Format) -> Vec<u8> {
    let sink = SharedSink::default();
    let head = LogHead::new("cctap-test", "0.1.0");
    let mut w = ArchiveWriter::new(Box::new(sink.clone()), format, &head).unwrap();
    for e in entries {
        w.append(e).unwrap();
    }
    w.finish().unwrap();
    sink.bytes()
}

#[test]
fn entries_with_long_strings_read_back_equal() {
    let entries = vec![sample_entry(0), entry_with_long_strings(), sample_entry(2)];
    for format in [Format::Har, Format::HarZst] {
        let bytes = archive_of(&entries, format);
        let mut r = reader(&bytes).unwrap();
        let got: Vec<Entry> = r.by_ref().map(Result::unwrap).collect();
        assert_eq!(got.len(), 3, "{format:?}");
        for (i, (got, want)) in got.iter().zip(&entries).enumerate() {
            assert!(got == want, "{format:?}: entry {i} differs");
        }
        assert_eq!(r.cut_off(), None, "{format:?}");
    }
}

#[test]
fn a_cut_inside_a_long_string_is_reported_where_it_is() {
    let entries = vec![sample_entry(0), entry_with_long_strings()];
    let bytes = archive_of(&entries, Format::Har);
    let body = memchr::memmem::find(&bytes, b"request \\\"q\\\"").unwrap();
    for cut in [
        body + 10,
        body + hoist::BIG_STRING + 7,
        body + 2 * hoist::BIG_STRING,
    ] {
        let mut r = reader(&bytes[..cut]).unwrap();
        let got: Vec<Entry> = r.by_ref().map(Result::unwrap).collect();
        assert_eq!(got, entries[..1], "cut at {cut}");
        let at = r.cut_off().cloned();
        assert_eq!(
            at,
            Some(CutOff {
                entries: 1,
                offset: cut as u64
            }),
            "cut at {cut}"
        );
    }
}

#[test]
fn pages_comment_and_custom_log_fields_are_kept_before_or_after_entries() {
    let pages = r#"[{"startedDateTime":"2026-12-04T09:00:00Z","id":"page_1","title":"t","pageTimings":{"onLoad":12.5},"_custom":1}]"#;
    let entry = serde_json::to_string(&sample_entry(0)).unwrap();
    for doc in [
        format!(
            r#"{{"log":{{"version":"1.2","creator":{{"name":"x","version":"1"}},"comment":"c","pages":{pages},"_tool":{{"a":[1]}},"other":5,"entries":[{entry}]}}}}"#
        ),
        format!(
            r#"{{"log":{{"version":"1.2","creator":{{"name":"x","version":"1"}},"entries":[{entry}],"pages":{pages},"comment":"c","other":5,"_tool":{{"a":[1]}}}}}}"#
        ),
    ] {
        let mut r = reader(doc.as_bytes()).unwrap();
        assert_eq!(r.by_ref().count(), 1);
        let head = r.head().clone();
        assert_eq!(head.comment.as_deref(), Some("c"));
        assert_eq!(
            serde_json::to_string(&head.pages).unwrap(),
            pages,
            "pages as found"
        );
        assert_eq!(
            head.extra.get("_tool"),
            Some(&serde_json::json!({"a": [1]}))
        );
        assert!(!head.extra.contains_key("other"), "not a custom field");
        // A copy made as `export` makes it: the head known at the start,
        // the rest at the end.
        let sink = SharedSink::default();
        let start = reader(doc.as_bytes()).unwrap().head().clone();
        let mut w = ArchiveWriter::new(Box::new(sink.clone()), Format::Har, &start).unwrap();
        w.append(&sample_entry(0)).unwrap();
        w.finish_with(&head).unwrap();
        let copy: serde_json::Value = serde_json::from_slice(&sink.bytes()).unwrap();
        let want: serde_json::Value = serde_json::from_str(&doc).unwrap();
        for key in ["comment", "pages", "_tool", "version", "creator"] {
            assert_eq!(copy["log"][key], want["log"][key], "{key} in {doc}");
        }
        assert!(copy["log"].get("other").is_none());
        assert_eq!(copy["log"]["entries"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn a_bad_entry_names_the_file_and_where_it_starts() {
    let good = serde_json::to_string(&sample_entry(1)).unwrap();
    let doc = format!(r#"{{"log":{{"entries":[{good}, 42]}}}}"#);
    let err = reader(doc.as_bytes()).unwrap().nth(1).unwrap().unwrap_err();
    let at = doc.find(", 42").unwrap() + 2;
    let msg = err.to_string();
    assert!(msg.starts_with("test.har: entry 1: "), "{msg}");
    assert!(
        msg.ends_with(&format!("(the entry starts at byte {at})")),
        "{msg}"
    );
}

#[test]
fn a_lone_surrogate_in_a_long_string_is_replaced_with_the_same_warning() {
    // Entry 0: a lone surrogate in a small string only (the lenient
    // path); entry 1: one in its long body only (lifted out, unescaped in
    // place); entry 2: in both, one warning counting the two.
    let big = 2 * hoist::BIG_STRING;
    let mut entries = Vec::new();
    for (i, (small, long)) in [(true, false), (false, true), (true, true)]
        .iter()
        .enumerate()
    {
        let mut e = sample_entry(i);
        if *small {
            e.har.response.status_text = "LONE-SMALL".into();
        }
        let mut text = long_text("body", big);
        if *long {
            text.insert_str(big / 2, "LONE-BIG");
        }
        e.har.response.content.text = Some(text);
        entries.push(e);
    }
    let mut bytes = archive_of(&entries, Format::Har);
    for mark in [&b"LONE-SMALL"[..], b"LONE-BIG"] {
        while let Some(at) = memchr::memmem::find(&bytes, mark) {
            bytes.splice(at..at + mark.len(), br"\ud800".iter().copied());
        }
    }
    let got: Vec<Entry> = reader(&bytes).unwrap().map(Result::unwrap).collect();
    assert_eq!(got.len(), 3);
    let lone: Vec<Vec<String>> = got
        .iter()
        .map(|e| {
            e.warnings
                .iter()
                .filter(|w| w.problem.contains("lone UTF-16 surrogate"))
                .map(|w| w.message(0))
                .collect()
        })
        .collect();
    let want = |n: usize| {
        vec![format!(
            "entries[0]: a lone UTF-16 surrogate escape (invalid in UTF-8) was replaced by U+FFFD ({n} in this entry)"
        )]
    };
    assert_eq!(lone, [want(1), want(1), want(2)]);
    let body = |e: &Entry| e.har.response.content.text.clone().unwrap();
    assert_eq!(body(&got[0]), body(&entries[0]), "no surrogate in the body");
    for i in [1, 2] {
        let want = body(&entries[i]).replacen("LONE-BIG", "\u{FFFD}", 1);
        assert!(
            body(&got[i]) == want,
            "entry {i}: the surrogate is U+FFFD, the rest kept"
        );
        assert!(got[i]
            .warnings
            .iter()
            .all(|w| !w.problem.contains("not UTF-8")));
    }
    assert_eq!(got[2].har.response.status_text, "\u{FFFD}");
}

#[test]
fn long_strings_in_entries_are_cut_as_they_are_lifted() {
    // The stream's cap is off inside the entries: the scanner keeps the
    // first `limit` bytes of each long string itself, with the same
    // warning (a 2 MiB limit here stands for the 64 MiB one).
    let limit = 2 << 20;
    let entries = vec![sample_entry(0), entry_with_long_strings(), sample_entry(2)];
    for format in [Format::Har, Format::HarZst] {
        let bytes = archive_of(&entries, format);
        let source = Box::new(Cursor::new(bytes));
        let r = ArchiveReader::capped("test.har", source, limit).unwrap();
        let got: Vec<Entry> = r.map(Result::unwrap).collect();
        assert_eq!(got.len(), 3, "{format:?}");
        assert!(got[0] == entries[0] && got[2] == entries[2], "{format:?}");
        let (e, want) = (&got[1], &entries[1]);
        let cut: Vec<&str> = e.warnings.iter().map(|w| w.problem.as_str()).collect();
        assert_eq!(cut.len(), 6, "{format:?}: {cut:?}");
        let said = "was cut to its first 2 MiB while reading (no string is held whole past that)";
        assert!(cut.iter().all(|w| w.ends_with(said)), "{cut:?}");
        let sse = |e: &Entry| e.sse_events.as_ref().unwrap()[0].data.clone();
        let ws = |e: &Entry| e.websocket_messages.as_ref().unwrap()[0].data.clone();
        let note = |e: &Entry| e.extra["_tool"]["note"].as_str().unwrap().to_owned();
        let pairs = [
            (
                e.request_text().unwrap().to_owned(),
                want.request_text().unwrap(),
            ),
            (
                e.har.request.headers[2].value.clone(),
                &want.har.request.headers[2].value,
            ),
            (
                e.response_text().unwrap().to_owned(),
                want.response_text().unwrap(),
            ),
            (sse(e), &sse(want)),
            (ws(e), &ws(want)),
            (note(e), &note(want)),
        ];
        for (i, (got, whole)) in pairs.iter().enumerate() {
            assert!(
                whole.starts_with(got.as_str()),
                "{format:?} string {i}: a head of it"
            );
            // Escapes shrink when undone: at most `limit` kept as stored.
            let n = got.len();
            assert!(
                n > limit as usize / 2 && n <= limit as usize,
                "{format:?} {i}: {n}"
            );
        }
    }
}

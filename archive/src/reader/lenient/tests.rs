use super::*;
use crate::model::Entry;
use serde::Deserialize;
use serde_json::json;

fn filled(entry: Value) -> (Map<String, Value>, Vec<FieldWarning>) {
    let mut map = entry.as_object().cloned().unwrap_or_default();
    let warnings = fill_gaps(&mut map);
    (map, warnings)
}

/// Fills, then reads into the model (which must not fail), with the
/// warnings as `entries[0]…` messages.
fn read(entry: Value) -> (Entry, Vec<String>) {
    let (map, warnings) = filled(entry);
    let entry = Entry::deserialize(Value::Object(map)).expect("the filled entry reads");
    (entry, warnings.iter().map(|w| w.message(0)).collect())
}

#[test]
fn mitmproxys_response_error_moves_to_the_entry() {
    // As savehar.py writes a flow whose upstream refused the connection.
    let (got, _) = filled(json!({
        "response": {"status": 0, "content": {}, "_error": "Connection refused"}
    }));
    assert_eq!(got["_error"], "Connection refused");
    assert!(got["response"].get("_error").is_none(), "{got:?}");
}

#[test]
fn the_entrys_own_error_is_kept() {
    let (got, _) = filled(json!({
        "_error": "client went away",
        "response": {"status": 0, "_error": "Connection refused"}
    }));
    assert_eq!(got["_error"], "client went away");
    let (got, _) = filled(json!({"_error": null, "response": {"_error": "reset"}}));
    assert_eq!(got["_error"], "reset");
    let (got, _) = filled(json!({"response": {"status": 200}}));
    assert!(got.get("_error").is_none());
}

#[test]
fn numbers_as_strings_are_read_with_a_warning_naming_the_path() {
    let (e, w) = read(json!({
        "startedDateTime": "2026-01-01T00:00:00Z", "time": "12.5",
        "request": {"method": "GET", "url": "http://x/", "headersSize": "100"},
        "response": {"status": "200", "content": {"size": "12", "mimeType": "text/plain"}},
    }));
    assert_eq!(e.har.response.status, 200);
    assert_eq!(e.har.response.content.size, 12);
    assert_eq!(e.har.time, 12.5);
    assert_eq!(e.har.request.headers_size, 100);
    assert!(
        w.contains(
            &r#"entries[0].response.content.size: expected integer, found string "12""#.to_owned()
        ),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.starts_with("entries[0].response.status: expected integer")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.starts_with("entries[0].time: expected number")),
        "{w:?}"
    );
}

#[test]
fn wrong_shapes_are_read_as_best_they_can_be() {
    let (e, w) = read(json!({
        "startedDateTime": "2026-01-01T00:00:00Z", "time": 1, "cache": [],
        "request": {
            "method": "POST", "url": "http://x/",
            "headers": [{"name": "Accept", "value": ["a", "b"]}, "X-Line: yes", 7],
            "cookies": [{"name": "c", "value": "v", "httpOnly": "true", "secure": "maybe"}],
            "postData": {"mimeType": "application/x-www-form-urlencoded",
                         "params": [{"name": "p", "value": {"nested": 1}}]},
        },
        "response": {"status": 200, "headers": {"Content-Type": "text/html"},
                     "content": {"size": 1}},
    }));
    let h = &e.har.request.headers;
    assert_eq!(
        (h[0].name.as_str(), h[0].value.as_str()),
        ("Accept", "a, b")
    );
    assert_eq!((h[1].name.as_str(), h[1].value.as_str()), ("X-Line", "yes"));
    assert_eq!(h.len(), 2, "the number is dropped, with a warning");
    assert_eq!(e.har.request.cookies[0].http_only, Some(true));
    assert_eq!(e.har.request.cookies[0].secure, None);
    let params = e
        .har
        .request
        .post_data
        .as_ref()
        .unwrap()
        .params
        .as_ref()
        .unwrap();
    assert_eq!(params[0].value.as_deref(), Some(r#"{"nested":1}"#));
    assert_eq!(e.har.response.headers[0].value, "text/html");
    for want in [
        "entries[0].cache: expected object, found array, left empty",
        "entries[0].request.headers[0].value: expected string, found array",
        "entries[0].request.headers[2]: expected object, dropped 7",
        "entries[0].request.cookies[0].httpOnly: expected boolean, found string",
        "entries[0].request.cookies[0].secure: expected boolean, found string, left out",
        "entries[0].request.postData.params[0].value: expected string, found object",
        "entries[0].response.headers: expected array, found object",
    ] {
        assert!(w.iter().any(|m| m.starts_with(want)), "{want} in {w:#?}");
    }
}

#[test]
fn a_missing_response_or_content_is_left_empty_with_a_warning() {
    let (e, w) = read(json!({"startedDateTime": "2026-01-01T00:00:00Z",
                             "request": {"method": "GET", "url": "http://x/"}}));
    assert_eq!(e.har.response.status, 0);
    assert!(
        w.contains(&"entries[0].response: missing, left empty".to_owned()),
        "{w:?}"
    );
    let (_, w) = read(json!({"request": {"method": "GET", "url": "http://x/"},
                             "response": {"status": 204}}));
    assert!(
        w.contains(&"entries[0].response.content: missing, left empty".to_owned()),
        "{w:?}"
    );
    assert!(
        w.contains(&"entries[0].startedDateTime: missing, left empty".to_owned()),
        "{w:?}"
    );
}

#[test]
fn a_warning_kind_leaves_out_array_indexes() {
    let (_, w) = filled(json!({"request": {"headers": [{"name": 1, "value": "x"}]}}));
    let kinds: Vec<String> = w.iter().map(FieldWarning::kind).collect();
    assert!(
        kinds.contains(&"request.headers.name: expected string, found number".to_owned()),
        "{kinds:?}"
    );
}

#[test]
fn custom_fields_and_websocket_messages_are_kept() {
    let (e, w) = read(json!({
        "startedDateTime": "2026-01-01T00:00:00Z", "time": 1, "_resourceType": "websocket",
        "request": {"method": "GET", "url": "ws://x/"},
        "response": {"status": 101, "content": {"size": 0}},
        "_webSocketMessages": [{"type": "send", "time": "1.5", "opcode": 1, "data": "hi"}],
    }));
    assert_eq!(e.extra["_resourceType"], "websocket");
    let m = &e.websocket_messages.as_ref().unwrap()[0];
    assert_eq!(
        (m.kind.as_str(), m.time, m.data.as_str()),
        ("send", 1.5, "hi")
    );
    assert_eq!(w.len(), 1, "{w:?}");
}

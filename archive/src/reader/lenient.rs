//! What browser and mitmproxy HARs leave out, filled in before an entry is
//! deserialised: the `har` crate's types require fields (`cookies`,
//! `headersSize`, `cache`, `timings.send`, …) that real exports omit or set
//! to `null`. Only absent or null values are filled; present ones are kept.
//! mitmproxy's `hardump` writes a failed flow's error inside `response`;
//! it is moved to the entry's `_error`, where FORMAT.md puts it.
use serde_json::{Map, Value};

/// Fills the gaps of one entry object.
pub(super) fn fill_gaps(entry: &mut Map<String, Value>) {
    fill(entry, "time", || Value::from(0));
    if let Some(cache) = object(entry, "cache") {
        for when in ["beforeRequest", "afterRequest"] {
            if let Some(Value::Object(state)) = cache.get_mut(when) {
                fill_cache_state(state);
            }
        }
    }
    if let Some(timings) = object(entry, "timings") {
        for name in ["send", "wait", "receive"] {
            fill(timings, name, || Value::from(0));
        }
    }
    if let Some(Value::Array(events)) = entry.get_mut("_sseEvents") {
        // A NaN time is written as null; an event may lack its type.
        for event in events.iter_mut().filter_map(Value::as_object_mut) {
            fill(event, "time", || Value::from(0));
            fill(event, "event", || Value::from("message"));
            fill(event, "data", || Value::from(""));
        }
    }
    if let Some(request) = object(entry, "request") {
        fill_message(request);
        fill(request, "queryString", || Value::Array(Vec::new()));
        if let Some(post) = request.get_mut("postData").and_then(Value::as_object_mut) {
            fill(post, "mimeType", || Value::from(""));
        }
    }
    lift_response_error(entry);
    if let Some(response) = object(entry, "response") {
        fill_message(response);
        fill(response, "statusText", || Value::from(""));
        integer(response, "status");
        if let Some(content) = object(response, "content") {
            fill(content, "size", || Value::from(-1));
            integer(content, "size");
            integer(content, "compression");
        }
    }
}

/// mitmproxy's HAR export (`savehar.py`) puts a flow's error in
/// `response._error`; the entry's own `_error`, if set, wins.
fn lift_response_error(entry: &mut Map<String, Value>) {
    if entry.get("_error").is_some_and(|e| !e.is_null()) {
        return;
    }
    let moved = entry
        .get_mut("response")
        .and_then(Value::as_object_mut)
        .and_then(|response| response.remove("_error"))
        .filter(|e| !e.is_null());
    if let Some(error) = moved {
        entry.insert("_error".to_owned(), error);
    }
}

/// Fields requests and responses share.
fn fill_message(message: &mut Map<String, Value>) {
    fill(message, "httpVersion", || Value::from(""));
    fill(message, "cookies", || Value::Array(Vec::new()));
    fill(message, "headers", || Value::Array(Vec::new()));
    for size in ["headersSize", "bodySize"] {
        fill(message, size, || Value::from(-1));
        integer(message, size);
    }
}

/// Firefox writes cache states without `lastAccess`, `eTag` or a numeric
/// `hitCount`; cctap never reads them, so any placeholder will do.
fn fill_cache_state(state: &mut Map<String, Value>) {
    fill(state, "lastAccess", || Value::from(""));
    fill(state, "eTag", || Value::from(""));
    integer(state, "hitCount");
    if !state.get("hitCount").is_some_and(Value::is_i64) {
        state.insert("hitCount".to_owned(), Value::from(0));
    }
}

/// Sets `key` if it is absent or null.
fn fill(map: &mut Map<String, Value>, key: &str, value: impl FnOnce() -> Value) {
    match map.get_mut(key) {
        Some(v) if !v.is_null() => {}
        Some(v) => *v = value(),
        None => {
            map.insert(key.to_owned(), value());
        }
    }
}

/// The object under `key`, created empty if absent or null.
fn object<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    fill(map, key, || Value::Object(Map::new()));
    map.get_mut(key)?.as_object_mut()
}

/// Some tools write integers as `12.0`; the HAR types want `i64`.
fn integer(map: &mut Map<String, Value>, key: &str) {
    if let Some(v) = map.get_mut(key) {
        if let Some(f) = v.as_f64().filter(|_| !v.is_i64() && !v.is_u64()) {
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                *v = Value::from(f as i64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filled(entry: Value) -> Map<String, Value> {
        let mut map = entry.as_object().cloned().unwrap_or_default();
        fill_gaps(&mut map);
        map
    }

    #[test]
    fn mitmproxys_response_error_moves_to_the_entry() {
        // As savehar.py writes a flow whose upstream refused the connection.
        let got = filled(json!({
            "response": {"status": 0, "content": {}, "_error": "Connection refused"}
        }));
        assert_eq!(got["_error"], "Connection refused");
        assert!(got["response"].get("_error").is_none(), "{got:?}");
    }

    #[test]
    fn the_entrys_own_error_is_kept() {
        let got = filled(json!({
            "_error": "client went away",
            "response": {"status": 0, "_error": "Connection refused"}
        }));
        assert_eq!(got["_error"], "client went away");
        let got = filled(json!({"_error": null, "response": {"_error": "reset"}}));
        assert_eq!(got["_error"], "reset");
        let got = filled(json!({"response": {"status": 200}}));
        assert!(got.get("_error").is_none());
    }
}

//! Reading an entry as best it can be read (FORMAT.md, "Reading anyone's
//! archive"): the `har` crate's types want every field present and of the
//! right type, and real exports bend that (`cache: []`, `httpOnly: "true"`,
//! a header value as an array, `status: "200"`, a missing `response`).
//! Before such an entry is deserialised, every field it will be read into
//! is brought to the wanted type here: converted where the meaning is
//! plain (`"12"` → 12, `["a","b"]` → `"a, b"`), else left empty. Each
//! change is noted as a [`FieldWarning`] with the JSON path; fields that
//! browser HARs routinely omit (`cookies`, `headersSize`, `cache` states'
//! `eTag`, …) are filled silently.
//!
//! mitmproxy's `hardump` writes a failed flow's error inside `response`;
//! it is moved to the entry's `_error`, where the format puts it.
use serde_json::{Map, Value};

mod types;
pub use types::FieldWarning;
use types::{Fix, Need};

/// Brings one entry object to the shape [`crate::Entry`] reads, noting
/// each field that had to be changed.
pub(super) fn fill_gaps(entry: &mut Map<String, Value>) -> Vec<FieldWarning> {
    let mut fix = Fix::default();
    fix.string(entry, "", "startedDateTime", Need::Warn);
    fix.string(entry, "", "pageref", Need::Optional);
    fix.number(entry, "", "time", Need::Fill, 0.0);
    for key in ["serverIPAddress", "connection", "comment", "_error"] {
        fix.string(entry, "", key, Need::Optional);
    }
    if let Some(cache) = fix.object(entry, "", "cache", Need::Fill) {
        for when in ["beforeRequest", "afterRequest"] {
            if let Some(state) = fix.object(cache, "cache", when, Need::Optional) {
                cache_state(&mut fix, state, &format!("cache.{when}"));
            }
        }
    }
    if let Some(timings) = fix.object(entry, "", "timings", Need::Fill) {
        for name in ["blocked", "dns", "connect", "ssl"] {
            fix.number(timings, "timings", name, Need::Optional, 0.0);
        }
        for name in ["send", "wait", "receive"] {
            fix.number(timings, "timings", name, Need::Fill, 0.0);
        }
        fix.string(timings, "timings", "comment", Need::Optional);
    }
    sse_events(&mut fix, entry);
    websocket_messages(&mut fix, entry);
    if let Some(places) = fix.array(entry, "", "_redacted", Need::Optional) {
        places.retain(Value::is_string);
    }
    // Inside a message that is missing altogether, its own gaps go
    // without saying.
    let need = inner_need(entry, "request");
    if let Some(request) = fix.object(entry, "", "request", Need::Warn) {
        request_fields(&mut fix, request, need);
    }
    lift_response_error(entry);
    let need = inner_need(entry, "response");
    if let Some(response) = fix.object(entry, "", "response", Need::Warn) {
        response_fields(&mut fix, response, need);
    }
    fix.warnings
}

/// `Warn` for the fields of an object that is there, `Fill` inside one
/// that is not.
fn inner_need(map: &Map<String, Value>, key: &str) -> Need {
    if map.get(key).is_some_and(Value::is_object) {
        Need::Warn
    } else {
        Need::Fill
    }
}

fn request_fields(fix: &mut Fix, request: &mut Map<String, Value>, need: Need) {
    fix.string(request, "request", "method", need);
    fix.string(request, "request", "url", need);
    message(fix, request, "request");
    pairs(fix, request, "request", "queryString");
    if let Some(post) = fix.object(request, "request", "postData", Need::Optional) {
        let path = "request.postData";
        fix.string(post, path, "mimeType", Need::Fill);
        fix.string(post, path, "text", Need::Optional);
        fix.string(post, path, "comment", Need::Optional);
        if let Some(params) = fix.array(post, path, "params", Need::Optional) {
            let params = std::mem::take(params);
            let kept = objects(fix, params, "request.postData.params", |fix, p, path| {
                fix.string(p, path, "name", Need::Fill);
                for key in ["value", "fileName", "contentType", "comment"] {
                    fix.string(p, path, key, Need::Optional);
                }
            });
            post.insert("params".into(), Value::Array(kept));
        }
    }
}

fn response_fields(fix: &mut Fix, response: &mut Map<String, Value>, need: Need) {
    fix.integer(response, "response", "status", need, 0);
    fix.string(response, "response", "statusText", Need::Fill);
    fix.string(response, "response", "redirectURL", Need::Optional);
    message(fix, response, "response");
    if let Some(content) = fix.object(response, "response", "content", need) {
        let path = "response.content";
        fix.integer(content, path, "size", Need::Fill, -1);
        fix.integer(content, path, "compression", Need::Optional, 0);
        for key in ["mimeType", "text", "encoding", "comment"] {
            fix.string(content, path, key, Need::Optional);
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
        let error = match error {
            Value::String(s) => s,
            other => other.to_string(),
        };
        entry.insert("_error".to_owned(), Value::String(error));
    }
}

/// Fields requests and responses share.
fn message(fix: &mut Fix, message: &mut Map<String, Value>, path: &str) {
    fix.string(message, path, "httpVersion", Need::Fill);
    fix.string(message, path, "comment", Need::Optional);
    pairs(fix, message, path, "headers");
    if let Some(cookies) = fix.array(message, path, "cookies", Need::Fill) {
        let cookies = std::mem::take(cookies);
        let kept = objects(fix, cookies, &format!("{path}.cookies"), |fix, c, path| {
            fix.string(c, path, "name", Need::Fill);
            fix.string(c, path, "value", Need::Fill);
            for key in ["path", "domain", "expires", "comment"] {
                fix.string(c, path, key, Need::Optional);
            }
            for key in ["httpOnly", "secure"] {
                fix.boolean(c, path, key);
            }
        });
        message.insert("cookies".into(), Value::Array(kept));
    }
    for size in ["headersSize", "bodySize"] {
        fix.integer(message, path, size, Need::Fill, -1);
    }
}

/// `headers` or `queryString`: name/value objects. An object instead of
/// the array (`{"Host": "x"}`) becomes the pairs it lists; a `"Name:
/// value"` string becomes its pair.
fn pairs(fix: &mut Fix, message: &mut Map<String, Value>, path: &str, key: &str) {
    if let Some(Value::Object(by_name)) = message.get(key) {
        let list = by_name
            .iter()
            .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
            .collect();
        fix.note(path, key, "expected array, found object", "");
        message.insert(key.into(), Value::Array(list));
    }
    let Some(items) = fix.array(message, path, key, Need::Fill) else {
        return;
    };
    let items: Vec<Value> = std::mem::take(items)
        .into_iter()
        .map(|item| match item {
            Value::String(line) => match line.split_once(':') {
                Some((n, v)) => serde_json::json!({"name": n.trim(), "value": v.trim()}),
                None => Value::String(line),
            },
            other => other,
        })
        .collect();
    let kept = objects(fix, items, &format!("{path}.{key}"), |fix, pair, path| {
        fix.string(pair, path, "name", Need::Fill);
        fix.string(pair, path, "value", Need::Fill);
        fix.string(pair, path, "comment", Need::Optional);
    });
    message.insert(key.into(), Value::Array(kept));
}

/// The elements of an array that are objects, each fixed by `each`; any
/// other element is dropped with a warning.
fn objects(
    fix: &mut Fix,
    items: Vec<Value>,
    path: &str,
    mut each: impl FnMut(&mut Fix, &mut Map<String, Value>, &str),
) -> Vec<Value> {
    let mut kept = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{path}[{i}]");
        match item {
            Value::Object(mut map) => {
                each(fix, &mut map, &at);
                kept.push(Value::Object(map));
            }
            other => fix.note(&at, "", "expected object, dropped", &types::sample(&other)),
        }
    }
    kept
}

/// Firefox writes cache states without `lastAccess`, `eTag` or a numeric
/// `hitCount`; cctap never reads them, so a placeholder is filled silently.
fn cache_state(fix: &mut Fix, state: &mut Map<String, Value>, path: &str) {
    fix.string(state, path, "expires", Need::Optional);
    fix.string(state, path, "lastAccess", Need::Fill);
    fix.string(state, path, "eTag", Need::Fill);
    fix.integer(state, path, "hitCount", Need::Fill, 0);
    fix.string(state, path, "comment", Need::Optional);
}

fn sse_events(fix: &mut Fix, entry: &mut Map<String, Value>) {
    let Some(events) = fix.array(entry, "", "_sseEvents", Need::Optional) else {
        return;
    };
    let events = std::mem::take(events);
    let kept = objects(fix, events, "_sseEvents", |fix, event, path| {
        // A NaN time is written as null; an event may lack its type.
        fix.number(event, path, "time", Need::Fill, 0.0);
        if event.get("event").is_none_or(Value::is_null) {
            event.insert("event".into(), Value::from("message"));
        }
        fix.string(event, path, "event", Need::Fill);
        fix.string(event, path, "data", Need::Fill);
        fix.string(event, path, "id", Need::Optional);
        fix.integer(event, path, "retry", Need::Optional, 0);
        if event.get("retry").is_some_and(|r| r.as_u64().is_none()) {
            event.remove("retry");
        }
    });
    entry.insert("_sseEvents".into(), Value::Array(kept));
}

fn websocket_messages(fix: &mut Fix, entry: &mut Map<String, Value>) {
    let Some(messages) = fix.array(entry, "", "_webSocketMessages", Need::Optional) else {
        return;
    };
    let messages = std::mem::take(messages);
    let kept = objects(fix, messages, "_webSocketMessages", |fix, m, path| {
        fix.string(m, path, "type", Need::Fill);
        fix.number(m, path, "time", Need::Fill, 0.0);
        fix.integer(m, path, "opcode", Need::Fill, 1);
        fix.string(m, path, "data", Need::Fill);
    });
    entry.insert("_webSocketMessages".into(), Value::Array(kept));
}

#[cfg(test)]
mod tests;

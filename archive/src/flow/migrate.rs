//! Old flow format versions brought to the fields `to_entry.rs` reads, as
//! mitmproxy 11's `io/compat.py` migration chain upgrades them: versions
//! 0.11 to 21 (mitmproxy 0.11 to 12). Older files (0.10) mitmproxy refuses
//! too. Only the steps that touch a field an entry is made of are taken;
//! the rest of the chain adds or renames fields cctap does not read.
//!
//! WebSocket flows of versions 7 to 11 were flows of their own, pointing at
//! their handshake; from 12 on, the messages live in the handshake's HTTP
//! flow. As mitmproxy does, an old WebSocket flow becomes a copy of its
//! handshake flow with the messages attached ([`Handshakes`]).
use super::tnetstring::Value;
use super::FlowError;
use std::collections::HashMap;

/// A flow's format version as one ordered number: the tuples written
/// before 3.0 (`(0, 11)` … `(3, 0)`) below the integers used since (4 …).
fn version_of(flow: &Value) -> Option<i64> {
    match flow.get("version")? {
        Value::Int(n) => Some(*n),
        Value::List(parts) => match parts.as_slice() {
            [major, minor, ..] => match (major.as_i64()?, minor.as_i64()?) {
                (0, minor) => Some(minor - 100),
                (major, _) => Some(major - 11),
            },
            _ => None,
        },
        _ => None,
    }
}

/// 0.11, 0.14, 0.16, 2.0 as [`version_of`] orders them.
const V0_11: i64 = -89;
const V0_14: i64 = -86;
const V0_16: i64 = -84;
const V2_0: i64 = -9;

/// HTTP flows kept for the WebSocket flows of versions 7–11 that follow
/// them (only those whose metadata says `websocket`).
#[derive(Default)]
pub(super) struct Handshakes(HashMap<String, Value>);

/// Upgrades `flow` in place. Versions newer than 21 are left for the
/// caller to refuse.
pub(super) fn migrate(flow: &mut Value, handshakes: &mut Handshakes) -> Result<(), FlowError> {
    let Some(version) = version_of(flow) else {
        return Err(FlowError::Version("missing or unreadable".into()));
    };
    if version >= 21 {
        return Ok(());
    }
    if version < V0_11 {
        return Err(FlowError::Version(
            "older than 0.11 (mitmproxy 11 cannot read it either)".into(),
        ));
    }
    if version < 4 {
        keys_to_text(flow);
    }
    if version < V0_14 {
        for m in ["request", "response"] {
            if let Some(message) = get_mut(flow, m) {
                if let Some(Value::List(parts)) = take(message, "httpversion") {
                    let digits: Vec<String> = parts
                        .iter()
                        .filter_map(Value::as_i64)
                        .map(|n| n.to_string())
                        .collect();
                    let version = format!("HTTP/{}", digits.join("."));
                    set(message, "http_version", Value::bytes(version));
                }
            }
        }
        if let Some(response) = get_mut(flow, "response") {
            rename(response, "code", "status_code");
        }
    }
    if version < V0_16 {
        if let Some(response) = get_mut(flow, "response") {
            rename(response, "msg", "reason");
        }
    }
    if version < V2_0 {
        // Addresses were `{"address": [host, port], "use_ipv6": …}`.
        for conn in ["client_conn", "server_conn"] {
            if let Some(c) = get_mut(flow, conn) {
                for key in ["address", "source_address", "ip_address", "peer_address"] {
                    if let Some(a) = get_mut(c, key) {
                        if let Some(inner) = a.get("address").cloned() {
                            *a = inner;
                        }
                    }
                }
                rename(c, "peer_address", "ip_address");
            }
        }
    }
    if version < 6 {
        for conn in ["client_conn", "server_conn"] {
            if let Some(c) = get_mut(flow, conn) {
                rename(c, "timestamp_ssl_setup", "timestamp_tls_setup");
            }
        }
    }
    if version < 14 {
        response_times(flow);
    }
    if (7..12).contains(&version) {
        return websocket_flow(flow, handshakes);
    }
    Ok(())
}

/// Versions before 14 could leave a response's `timestamp_start` unset
/// (mitmproxy issue 4576): it becomes the request's end, as compat.py sets.
fn response_times(flow: &mut Value) {
    let request_end = flow
        .get("request")
        .and_then(|r| r.get("timestamp_end"))
        .and_then(Value::as_f64);
    let Some(response) = get_mut(flow, "response") else {
        return;
    };
    if !response.get("timestamp_start").is_none_or(Value::is_null) {
        return;
    }
    if let Some(end) = request_end {
        set(response, "timestamp_start", Value::Float(end));
        set(response, "timestamp_end", Value::Float(end + 1.0));
    }
}

/// Versions 7–11: keeps a handshake flow for later; turns a WebSocket flow
/// into its handshake with `websocket.messages` (mitmproxy 12's shape).
fn websocket_flow(flow: &mut Value, handshakes: &mut Handshakes) -> Result<(), FlowError> {
    let metadata = flow.get("metadata");
    if metadata.and_then(|m| m.get("websocket")).is_some() {
        if let Some(id) = flow.get("id").and_then(Value::as_str) {
            handshakes.0.insert(id.to_owned(), flow.clone());
        }
        return Ok(());
    }
    if flow.get("type").and_then(Value::as_str) != Some("websocket") {
        return Ok(());
    }
    let handshake_id = metadata
        .and_then(|m| m.get("websocket_handshake"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(mut http) = handshakes.0.get(&handshake_id).cloned() else {
        return Err(FlowError::Field {
            path: "flow.metadata.websocket_handshake".into(),
            why: format!("its handshake flow {handshake_id:?} is not in the file before it"),
        });
    };
    let messages = take(flow, "messages").unwrap_or(Value::List(Vec::new()));
    set(
        &mut http,
        "websocket",
        Value::dict(vec![("messages", messages)]),
    );
    if let Some(id) = flow.get("id").cloned() {
        set(&mut http, "id", id);
    }
    *flow = http;
    Ok(())
}

/// Python 2 files have byte keys everywhere; `get` matches either, but
/// `set` writes strings, so a dict must not hold both spellings.
fn keys_to_text(v: &mut Value) {
    match v {
        Value::Dict(pairs) => {
            for (k, val) in pairs.iter_mut() {
                if let Value::Bytes(b) = k {
                    *k = Value::Str(String::from_utf8_lossy(b).into_owned());
                }
                keys_to_text(val);
            }
        }
        Value::List(items) => items.iter_mut().for_each(keys_to_text),
        _ => {}
    }
}

fn get_mut<'a>(dict: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let Value::Dict(pairs) = dict else {
        return None;
    };
    pairs
        .iter_mut()
        .find(|(k, _)| k.as_bytes() == Some(key.as_bytes()))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn take(dict: &mut Value, key: &str) -> Option<Value> {
    let Value::Dict(pairs) = dict else {
        return None;
    };
    let at = pairs
        .iter()
        .position(|(k, _)| k.as_bytes() == Some(key.as_bytes()))?;
    Some(pairs.remove(at).1)
}

fn set(dict: &mut Value, key: &str, value: Value) {
    take(dict, key);
    if let Value::Dict(pairs) = dict {
        pairs.push((Value::str(key), value));
    }
}

fn rename(dict: &mut Value, from: &str, to: &str) {
    if let Some(v) = take(dict, from) {
        set(dict, to, v);
    }
}

#[cfg(test)]
mod tests;

//! Headers on their way through: what is forwarded and what is recorded.
//!
//! Forwarding drops hop-by-hop headers and points `Host` at the upstream,
//! keeping the client's order. The archive's list comes from the wire (see
//! `headtap`); hyper's lower-case view is the fallback.

use crate::io::body::ProxyBody;
use crate::route::Target;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Uri, Version};

/// The request as sent upstream: origin-form target, upstream `Host`, no
/// hop-by-hop headers. Extensions (hyper's header-case map) go along, so
/// header names keep their case on the upstream wire.
pub fn upstream_request(
    parts: http::request::Parts,
    body: ProxyBody,
    target: &Target,
) -> Request<ProxyBody> {
    let mut parts = parts;
    strip_hop_by_hop(&mut parts.headers);
    if let Ok(host) = HeaderValue::from_str(&target.origin.authority()) {
        parts.headers.insert(header::HOST, host);
    }
    parts.uri =
        Uri::try_from(target.path_and_query.as_str()).unwrap_or_else(|_| Uri::from_static("/"));
    parts.version = Version::HTTP_11;
    Request::from_parts(parts, body)
}

/// Headers that describe one connection, not the message.
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::TE,
    header::TRAILER,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    // Meant for this proxy (forward mode), not for the server.
    header::PROXY_AUTHORIZATION,
];

/// Removes the hop-by-hop headers and those `Connection` names. The map is
/// rebuilt rather than edited in place because `HeaderMap::remove` moves the
/// last header into the gap, and the upstream should see the client's order.
/// Most messages have none: one pass over the names finds that out.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    let goes = |name: &HeaderName| HOP_BY_HOP.contains(name) || named.contains(name);
    if !headers.keys().any(goes) {
        return;
    }
    let mut kept = HeaderMap::with_capacity(headers.len());
    let mut current: Option<HeaderName> = None;
    for (name, value) in std::mem::take(headers).into_iter() {
        if let Some(name) = name {
            current = Some(name);
        }
        if let Some(name) = current.as_ref().filter(|n| !goes(n)) {
            kept.append(name.clone(), value);
        }
    }
    *headers = kept;
}

/// hyper's view of the headers, for when the tap could not help (lower case).
pub fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

pub fn rewrite_host(headers: &mut [(String, String)], authority: &str) {
    for (name, value) in headers.iter_mut() {
        if name.eq_ignore_ascii_case("host") {
            *value = authority.to_owned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_do_not_travel() {
        let mut h = HeaderMap::new();
        h.insert("user-agent", HeaderValue::from_static("claude-cli"));
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, X-Private"),
        );
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        h.insert("x-api-key", HeaderValue::from_static("sk-ant-api03-FAKE"));
        strip_hop_by_hop(&mut h);
        let names: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["user-agent", "content-length", "x-api-key"]);
    }

    #[test]
    fn a_message_without_hop_by_hop_headers_is_left_as_it_is() {
        let mut h = HeaderMap::new();
        for (name, value) in [("x-b", "1"), ("x-a", "2"), ("accept", "*/*")] {
            h.append(name, HeaderValue::from_static(value));
        }
        h.append("x-b", HeaderValue::from_static("3"));
        let before = h.clone();
        strip_hop_by_hop(&mut h);
        assert_eq!(h, before);
        h.insert(
            header::PROXY_AUTHORIZATION,
            HeaderValue::from_static("Basic FAKE"),
        );
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h, before);
    }

    #[test]
    fn the_recorded_host_is_the_upstreams() {
        let mut headers = vec![
            ("Host".to_owned(), "127.0.0.1:8080".to_owned()),
            ("x".into(), "y".into()),
        ];
        rewrite_host(&mut headers, "api.z.ai");
        assert_eq!(headers[0], ("Host".to_owned(), "api.z.ai".to_owned()));
    }
}

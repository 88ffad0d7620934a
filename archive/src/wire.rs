//! Wire data → a HAR request and response: the one builder behind every
//! entry made from what crossed a connection, whether `record` saw it live
//! or a mitmproxy flow file kept it (`flow/to_entry.rs`).
//!
//! The caller hands over what it owns (heads with headers in wire order
//! and case, the body as it crossed the wire, `content-encoding` and all);
//! the builder decodes the body (FORMAT.md, "Bodies": decoded text, base64
//! when not UTF-8, kept as sent with the reason when it cannot be decoded),
//! and fills cookies, the query string, sizes and the redirect.
use crate::base64;
use crate::decode::decode_body;
use crate::fields::{cookies, query_string};
use crate::model::{find_header, Content, Header, PostData, Request, Response};

/// A request head as it crossed the wire.
#[derive(Clone, Debug, Default)]
pub struct RequestHead {
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// As HAR names it: `HTTP/1.1`, `HTTP/2.0`.
    pub http_version: String,
    /// In wire order and case.
    pub headers: Vec<Header>,
    /// Bytes of the head on the wire; `None` where unknown (HTTP/2).
    pub size: Option<usize>,
}

/// A response head as it crossed the wire.
#[derive(Clone, Debug, Default)]
pub struct ResponseHead {
    pub status: i64,
    pub reason: String,
    pub http_version: String,
    pub headers: Vec<Header>,
    pub size: Option<usize>,
}

/// The HAR request for a head and its wire body.
pub fn request(head: RequestHead, wire: Vec<u8>) -> Request {
    let wire_size = wire.len() as u64;
    let body = (!wire.is_empty())
        .then(|| Body::decode(find_header(&head.headers, "content-encoding"), wire));
    request_with(head, wire_size, body)
}

/// The HAR request for a head and a body already made ready for the
/// archive (`record` decodes big bodies its own way); `None`: no body.
pub fn request_with(head: RequestHead, wire_size: u64, body: Option<Body>) -> Request {
    let post_data = body.map(|body| PostData {
        mime_type: header_or_empty(&head.headers, "content-type"),
        // HAR 1.2 postData has no `encoding`; the comment says base64.
        comment: body.base64.then(|| "base64".to_owned()).or(body.problem),
        text: Some(body.text),
        params: None,
    });
    Request {
        cookies: cookies(pairs(&head.headers), false),
        query_string: query_string(&head.url),
        method: head.method,
        url: head.url,
        http_version: head.http_version,
        headers: head.headers,
        post_data,
        headers_size: size(head.size),
        body_size: wire_size as i64,
        comment: None,
    }
}

/// The HAR response for a head and its wire body.
pub fn response(head: ResponseHead, wire: Vec<u8>) -> Response {
    let wire_size = wire.len() as u64;
    let body = Body::decode(find_header(&head.headers, "content-encoding"), wire);
    response_with(head, wire_size, body)
}

/// The HAR response for a head and a body already made ready for the
/// archive (see [`request_with`]).
pub fn response_with(head: ResponseHead, wire_size: u64, body: Body) -> Response {
    let encoding = find_header(&head.headers, "content-encoding");
    let compression = (body.decoded_len > wire_size && encoding.is_some())
        .then(|| (body.decoded_len - wire_size) as i64);
    Response {
        status: head.status,
        status_text: head.reason,
        http_version: head.http_version,
        cookies: cookies(pairs(&head.headers), true),
        redirect_url: Some(header_or_empty(&head.headers, "location")),
        content: Content {
            size: body.decoded_len as i64,
            compression,
            mime_type: Some(header_or_empty(&head.headers, "content-type")),
            encoding: body.base64.then(|| "base64".to_owned()),
            comment: body.problem,
            text: Some(body.text),
        },
        headers: head.headers,
        headers_size: size(head.size),
        body_size: wire_size as i64,
        comment: None,
    }
}

/// `(name, value)` pairs into HAR headers, order kept.
pub fn headers(list: Vec<(String, String)>) -> Vec<Header> {
    list.into_iter()
        .map(|(name, value)| Header {
            name,
            value,
            comment: None,
        })
        .collect()
}

/// Whether a `content-encoding` leaves the bytes as they are (absent,
/// empty, or only `identity`).
pub fn is_identity(encoding: Option<&str>) -> bool {
    encoding.is_none_or(|coding| {
        coding
            .split(',')
            .map(str::trim)
            .all(|c| c.is_empty() || c.eq_ignore_ascii_case("identity"))
    })
}

/// A body as an entry holds it.
pub struct Body {
    pub text: String,
    pub base64: bool,
    pub decoded_len: u64,
    /// Why the body is kept as sent (it could not be decoded), for
    /// `comment`; `record` says it in `_undecoded` instead.
    pub problem: Option<String>,
}

impl Body {
    /// Undoes `encoding`, then text or base64. `wire` is moved in: no copy
    /// unless it must be decoded or base64-encoded.
    pub fn decode(encoding: Option<&str>, wire: Vec<u8>) -> Body {
        let (bytes, problem) = match encoding.filter(|_| !is_identity(encoding)) {
            None => (wire, None),
            Some(coding) => match decode_body(coding, &wire) {
                Ok(decoded) => (decoded, None),
                Err(e) => (wire, Some(format!("{e}; body kept as sent"))),
            },
        };
        let decoded_len = bytes.len() as u64;
        match String::from_utf8(bytes) {
            Ok(text) => Body {
                text,
                base64: false,
                decoded_len,
                problem,
            },
            Err(e) => Body {
                text: base64::encode(e.as_bytes()),
                base64: true,
                decoded_len,
                problem,
            },
        }
    }
}

fn header_or_empty(headers: &[Header], name: &str) -> String {
    find_header(headers, name).unwrap_or("").to_owned()
}

fn size(known: Option<usize>) -> i64 {
    known.map_or(-1, |n| n as i64)
}

fn pairs(headers: &[Header]) -> impl Iterator<Item = (&str, &str)> {
    headers.iter().map(|h| (h.name.as_str(), h.value.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(headers: &[(&str, &str)]) -> ResponseHead {
        ResponseHead {
            status: 200,
            reason: "OK".into(),
            http_version: "HTTP/1.1".into(),
            headers: headers
                .iter()
                .map(|(n, v)| Header {
                    name: (*n).into(),
                    value: (*v).into(),
                    comment: None,
                })
                .collect(),
            size: Some(40),
        }
    }

    #[test]
    fn a_compressed_body_is_decoded_and_its_wire_size_kept() {
        let body = b"{\"text\":\"hello hello hello hello\"}".repeat(8);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &body).unwrap();
        let wire = gz.finish().unwrap();
        let wire_len = wire.len();
        let r = response(
            head(&[
                ("Content-Encoding", "gzip"),
                ("content-type", "application/json"),
            ]),
            wire,
        );
        assert_eq!(
            r.content.text.as_deref().map(str::as_bytes),
            Some(&body[..])
        );
        assert_eq!(r.body_size, wire_len as i64);
        assert_eq!(r.content.size, body.len() as i64);
        assert_eq!(r.content.compression, Some((body.len() - wire_len) as i64));
        assert_eq!(r.content.mime_type.as_deref(), Some("application/json"));
        assert_eq!(
            (r.headers_size, r.headers[0].name.as_str()),
            (40, "Content-Encoding")
        );
    }

    #[test]
    fn binary_is_base64_and_undecodable_is_kept_with_the_reason() {
        let r = response(head(&[]), vec![0xff, 0xfe]);
        assert_eq!(r.content.text.as_deref(), Some("//4="));
        assert_eq!(r.content.encoding.as_deref(), Some("base64"));
        let r = response(head(&[("content-encoding", "gzip")]), b"not gzip".to_vec());
        assert_eq!(r.content.text.as_deref(), Some("not gzip"));
        let why = r.content.comment.unwrap();
        assert!(
            why.contains("gzip") && why.ends_with("body kept as sent"),
            "{why}"
        );
        assert_eq!(r.content.compression, None);
    }

    #[test]
    fn a_request_gets_its_query_cookies_and_post_data() {
        let r = request(
            RequestHead {
                method: "POST".into(),
                url: "https://h/v1/messages?beta=true".into(),
                http_version: "HTTP/2.0".into(),
                headers: headers(vec![
                    ("cookie".into(), "a=1; b=2".into()),
                    ("content-type".into(), "application/json".into()),
                ]),
                size: None,
            },
            b"{}".to_vec(),
        );
        assert_eq!(r.query_string[0].name, "beta");
        assert_eq!(r.cookies.len(), 2);
        assert_eq!((r.headers_size, r.body_size), (-1, 2));
        let post = r.post_data.unwrap();
        assert_eq!(
            (post.mime_type.as_str(), post.text.as_deref()),
            ("application/json", Some("{}"))
        );
        assert!(is_identity(Some(" identity, ")) && !is_identity(Some("gzip")));
    }
}

//! Small HAR fields derived from a message: the query string, cookies, and
//! the response of an exchange that got none. Shared by the recorder and the
//! flow-file mapping, so both fill them the same way.

use crate::model::{Content, Cookie, QueryString, Response};

/// The response of an exchange that got no response head: status 0, as
/// FORMAT.md says, with HAR's required fields present.
pub fn no_response() -> Response {
    Response {
        status: 0,
        content: Content {
            mime_type: Some(String::new()),
            ..Content::default()
        },
        redirect_url: Some(String::new()),
        headers_size: -1,
        body_size: -1,
        ..Response::default()
    }
}

/// `httpVersion` as the format spells it (`HTTP/1.1`, `HTTP/2.0`,
/// `HTTP/3`), for the other spellings tools write (`h2`, `http/2.0`,
/// `HTTP/2`, `h3`); `None` when it is already so or unknown.
pub fn normal_http_version(version: &str) -> Option<&'static str> {
    if matches!(
        version,
        "HTTP/1.1" | "HTTP/2.0" | "HTTP/1.0" | "HTTP/3" | ""
    ) {
        return None;
    }
    let v = version.trim().to_ascii_lowercase();
    let normal = match v.as_str() {
        "http/1.1" | "http1.1" | "h1" | "1.1" => "HTTP/1.1",
        "http/1.0" | "http1.0" | "1.0" => "HTTP/1.0",
        "h2" | "h2c" | "http/2" | "http/2.0" | "http2" | "2" | "2.0" => "HTTP/2.0",
        "h3" | "http/3" | "http/3.0" | "http3" | "3" => "HTTP/3",
        _ => return None,
    };
    Some(normal).filter(|n| *n != version)
}

/// The URL's query, split and percent-decoded.
pub fn query_string(url: &str) -> Vec<QueryString> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            QueryString {
                name: percent_decode(name),
                value: percent_decode(value),
                comment: None,
            }
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cookies of a request (`Cookie` headers) or a response
/// (`Set-Cookie` headers, with their attributes). Redaction replaces the
/// values later, as it does the headers.
pub fn cookies<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    response: bool,
) -> Vec<Cookie> {
    let name = if response { "set-cookie" } else { "cookie" };
    let values = headers
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name));
    if response {
        values.filter_map(|(_, v)| set_cookie(v)).collect()
    } else {
        values
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                Some(Cookie {
                    name: name.trim().to_owned(),
                    value: value.trim().to_owned(),
                    ..Cookie::default()
                })
            })
            .collect()
    }
}

fn set_cookie(header: &str) -> Option<Cookie> {
    let mut parts = header.split(';');
    let (name, value) = parts.next()?.trim().split_once('=')?;
    let mut cookie = Cookie {
        name: name.trim().to_owned(),
        value: value.trim().to_owned(),
        ..Cookie::default()
    };
    for attr in parts {
        let (key, val) = attr.trim().split_once('=').unwrap_or((attr.trim(), ""));
        match key.to_ascii_lowercase().as_str() {
            "path" => cookie.path = Some(val.to_owned()),
            "domain" => cookie.domain = Some(val.to_owned()),
            "expires" => cookie.expires = Some(val.to_owned()),
            "httponly" => cookie.http_only = Some(true),
            "secure" => cookie.secure = Some(true),
            _ => {}
        }
    }
    Some(cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(h: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
        h.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    #[test]
    fn cookies_from_both_directions() {
        let req = [
            ("Cookie".to_owned(), "a=1; b=x=y".to_owned()),
            ("cookie".into(), "c=3".into()),
        ];
        let got: Vec<_> = cookies(pairs(&req), false)
            .into_iter()
            .map(|c| (c.name, c.value))
            .collect();
        assert_eq!(
            got,
            [
                ("a".into(), "1".into()),
                ("b".into(), "x=y".into()),
                ("c".to_owned(), "3".to_owned())
            ]
        );
        let res = [(
            "Set-Cookie".to_owned(),
            "sid=abc; Path=/; Domain=x.test; HttpOnly; Secure".to_owned(),
        )];
        let c = &cookies(pairs(&res), true)[0];
        assert_eq!((c.name.as_str(), c.value.as_str()), ("sid", "abc"));
        assert_eq!(
            (c.path.as_deref(), c.domain.as_deref()),
            (Some("/"), Some("x.test"))
        );
        assert_eq!((c.http_only, c.secure), (Some(true), Some(true)));
        assert!(cookies(pairs(&req), true).is_empty());
    }

    #[test]
    fn query_strings_are_split_and_decoded() {
        let q = query_string("https://x/v1/messages?beta=true&a%20b=c+d&e&=%zz");
        let pairs: Vec<_> = q
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("beta", "true"), ("a b", "c d"), ("e", ""), ("", "%zz")]
        );
        assert!(query_string("https://x/").is_empty());
    }
}

//! Absolute URLs between HAR's `url` string and a flow's scheme, host, port
//! and path fields. Only what HTTP requests use: no user info, the fragment
//! is not sent, IPv6 hosts in brackets, the scheme's default port omitted
//! (as mitmproxy's `Request.url` does).

/// A URL's parts as a flow's request keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    pub scheme: String,
    /// Without brackets for IPv6.
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/` (or `*`).
    pub path: String,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Splits `scheme://host[:port]/path?query`; `None` if it is not that.
pub(crate) fn split(url: &str) -> Option<Url> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    let rest = rest.split('#').next().unwrap_or("");
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(cut);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port(scheme)?,
    };
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    Some(Url {
        scheme: scheme.to_owned(),
        host: host.to_owned(),
        port,
        path,
    })
}

/// `host[:port]`, the port left out when it is the scheme's default.
pub(crate) fn authority(scheme: &str, host: &str, port: u16) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    if default_port(scheme) == Some(port) {
        host
    } else {
        format!("{host}:{port}")
    }
}

/// The absolute URL of a flow's request.
pub(crate) fn join(scheme: &str, host: &str, port: u16, path: &str) -> String {
    let authority = authority(scheme, host, port);
    if path.starts_with('/') || path == "*" {
        format!("{scheme}://{authority}{path}")
    } else {
        format!("{scheme}://{authority}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_and_join_back() {
        for (url, host, port, path) in [
            (
                "https://api.anthropic.com/v1/messages?beta=true",
                "api.anthropic.com",
                443,
                "/v1/messages?beta=true",
            ),
            (
                "http://127.0.0.1:37399/v1/messages",
                "127.0.0.1",
                37399,
                "/v1/messages",
            ),
            ("https://[::1]:8443/a", "::1", 8443, "/a"),
            (
                "https://api.z.ai/api/anthropic/v1/messages",
                "api.z.ai",
                443,
                "/api/anthropic/v1/messages",
            ),
        ] {
            let u = split(url).unwrap();
            assert_eq!(
                (u.host.as_str(), u.port, u.path.as_str()),
                (host, port, path)
            );
            assert_eq!(join(&u.scheme, &u.host, u.port, &u.path), url);
        }
        assert_eq!(split("http://h?q=1").unwrap().path, "/?q=1");
        assert_eq!(split("http://user:pw@h:81/x#frag").unwrap().path, "/x");
        assert_eq!(join("http", "h", 80, "/"), "http://h/");
    }

    #[test]
    fn non_urls_are_refused() {
        for bad in [
            "",
            "/v1/messages",
            "http://",
            "http://h:99999/",
            "ftp://h/x",
            "http://[::1/",
        ] {
            assert!(split(bad).is_none(), "{bad}");
        }
    }
}

//! The `--mode` flag: mitmdump's spellings, resolved to where requests go.
//!
//! `regular` (the default) and `upstream:URL` are forward modes: clients send
//! `CONNECT` or absolute-form requests and the proxy intercepts them.
//! `reverse[:URL]` makes the proxy the client's base URL; `offline` answers
//! locally.

use crate::route::{BaseUrl, BaseUrlError, Origin};

/// The `--mode` flag as given.
#[derive(Clone, Debug, PartialEq)]
pub enum ModeArg {
    /// A forward proxy (`HTTPS_PROXY=http://127.0.0.1:PORT`).
    Regular,
    /// A forward proxy that sends everything through another HTTP proxy.
    Upstream(Origin),
    /// `reverse` (URL from the environment) or `reverse:URL`.
    Reverse(Option<BaseUrl>),
    Offline,
}

/// Why a `--mode` value cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModeError {
    #[error("'{0}' is not a mode; use regular, upstream:URL, reverse:URL, reverse or offline")]
    Unknown(String),
    #[error(transparent)]
    Reverse(BaseUrlError),
    #[error("upstream proxy: {0}")]
    ProxyUrl(BaseUrlError),
    #[error(
        "upstream proxy '{0}': only http:// proxies are supported (the tunnel inside is still TLS)"
    )]
    ProxyTls(String),
    #[error("upstream proxy '{0}' has a path; give only http://HOST:PORT")]
    ProxyPath(String),
}

/// Parses `regular`, `upstream:URL`, `reverse[:URL]`, `offline`.
pub fn parse_mode(s: &str) -> Result<ModeArg, ModeError> {
    match s.split_once(':') {
        None if s == "regular" => Ok(ModeArg::Regular),
        None if s == "reverse" => Ok(ModeArg::Reverse(None)),
        None if s == "offline" => Ok(ModeArg::Offline),
        Some(("reverse", url)) => url
            .parse()
            .map(|u| ModeArg::Reverse(Some(u)))
            .map_err(ModeError::Reverse),
        Some(("upstream", url)) => parse_proxy(url).map(ModeArg::Upstream),
        _ => Err(ModeError::Unknown(s.to_owned())),
    }
}

/// `http://host:port` of an upstream HTTP proxy.
fn parse_proxy(url: &str) -> Result<Origin, ModeError> {
    let base: BaseUrl = url.parse().map_err(ModeError::ProxyUrl)?;
    if base.origin.tls {
        return Err(ModeError::ProxyTls(url.to_owned()));
    }
    if !base.prefix.is_empty() {
        return Err(ModeError::ProxyPath(url.to_owned()));
    }
    Ok(base.origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mitmdump_spellings() {
        assert_eq!(parse_mode("regular"), Ok(ModeArg::Regular));
        assert_eq!(parse_mode("offline"), Ok(ModeArg::Offline));
        assert_eq!(parse_mode("reverse"), Ok(ModeArg::Reverse(None)));
        let ModeArg::Upstream(proxy) = parse_mode("upstream:http://corp:3128").unwrap() else {
            panic!("not upstream");
        };
        assert_eq!(
            (proxy.host.as_str(), proxy.port, proxy.tls),
            ("corp", 3128, false)
        );
        for bad in [
            "upstream:https://corp:3128",
            "upstream:http://corp:3128/x",
            "upstream:",
            "socks5",
            "reverse:ftp://x",
        ] {
            let err = parse_mode(bad).unwrap_err();
            assert!(!err.to_string().is_empty(), "{bad}");
        }
    }
}

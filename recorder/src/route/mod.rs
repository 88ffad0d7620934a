//! Where an exchange goes upstream.
//!
//! The door a request came through decides its [`Target`] (`door.rs`):
//! reverse mode joins the request's path onto a [`BaseUrl`]; forward mode
//! takes the CONNECT authority or the absolute-form URL. Everything after
//! that is the same pipeline. The [`Origin`] is what upstream connections are
//! pooled by.

use std::fmt;
use std::str::FromStr;

/// An upstream server: scheme, host and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub tls: bool,
    /// Without IPv6 brackets.
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// `host[:port]` as a `Host` header says it, the port left out when it
    /// is the scheme's default.
    pub fn authority(&self) -> String {
        let mut out = String::with_capacity(self.host.len() + 8);
        self.push_authority(&mut out);
        out
    }

    /// Appends [`Origin::authority`] to `out`. Built by hand: this runs
    /// several times per exchange, and `format!` was 1% of record's CPU.
    fn push_authority(&self, out: &mut String) {
        if self.host.contains(':') {
            out.push('[');
            out.push_str(&self.host);
            out.push(']');
        } else {
            out.push_str(&self.host);
        }
        let default = if self.tls { 443 } else { 80 };
        if self.port != default {
            out.push(':');
            out.push_str(itoa::Buffer::new().format(self.port));
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme(), self.authority())
    }
}

/// A reverse-mode upstream: an origin and a path prefix
/// (`https://api.z.ai/api/anthropic`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    pub origin: Origin,
    /// Empty or starting with `/`, never ending with `/`.
    pub prefix: String,
}

/// Why a base URL cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BaseUrlError {
    #[error("'{0}' is not a URL (expected e.g. https://api.anthropic.com)")]
    NotUrl(String),
    #[error("'{0}' must start with http:// or https://")]
    Scheme(String),
    #[error("'{0}' has a query or fragment; give only scheme, host, port and path")]
    Query(String),
}

impl FromStr for BaseUrl {
    type Err = BaseUrlError;

    fn from_str(s: &str) -> Result<BaseUrl, BaseUrlError> {
        if s.contains('#') {
            return Err(BaseUrlError::Query(s.into()));
        }
        let uri: http::Uri = s.parse().map_err(|_| BaseUrlError::NotUrl(s.into()))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(_) => return Err(BaseUrlError::Scheme(s.into())),
            None => return Err(BaseUrlError::NotUrl(s.into())),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| BaseUrlError::NotUrl(s.into()))?;
        if uri.query().is_some() {
            return Err(BaseUrlError::Query(s.into()));
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(BaseUrl {
            origin: Origin { tls, host, port },
            prefix,
        })
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin, self.prefix)
    }
}

impl BaseUrl {
    /// `https://api.anthropic.com`, the upstream when the user has none.
    pub fn anthropic() -> BaseUrl {
        BaseUrl {
            origin: Origin {
                tls: true,
                host: "api.anthropic.com".into(),
                port: 443,
            },
            prefix: String::new(),
        }
    }

    /// The target of a request for `path_and_query` sent to the proxy.
    pub fn join(&self, path_and_query: &str) -> Target {
        let path = if path_and_query.starts_with('/') {
            path_and_query.to_owned()
        } else {
            format!("/{path_and_query}")
        };
        Target {
            origin: self.origin.clone(),
            path_and_query: format!("{}{path}", self.prefix),
        }
    }
}

/// The upstream end of one exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub origin: Origin,
    /// Origin-form request target, as sent on the upstream connection.
    pub path_and_query: String,
}

impl Target {
    /// The absolute URL the archive records.
    pub fn url(&self) -> String {
        let origin = &self.origin;
        let mut url = String::with_capacity(origin.host.len() + self.path_and_query.len() + 16);
        url.push_str(origin.scheme());
        url.push_str("://");
        origin.push_authority(&mut url);
        url.push_str(&self.path_and_query);
        url
    }
}

mod door;
pub use door::{Destination, FrontDoor, Refusal};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_the_path_prefix() {
        let base: BaseUrl = "https://api.z.ai/api/anthropic/".parse().unwrap();
        let t = base.join("/v1/messages?beta=true");
        assert_eq!(
            t.url(),
            "https://api.z.ai/api/anthropic/v1/messages?beta=true"
        );
        assert_eq!(t.path_and_query, "/api/anthropic/v1/messages?beta=true");
        assert_eq!(
            base.join("v1/models").path_and_query,
            "/api/anthropic/v1/models"
        );
        let bare: BaseUrl = "http://127.0.0.1:9000".parse().unwrap();
        assert_eq!(bare.join("x?y=1").path_and_query, "/x?y=1");
        assert_eq!(t.origin.authority(), "api.z.ai");
    }

    #[test]
    fn keeps_non_default_ports_and_ipv6() {
        let base: BaseUrl = "http://127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            base.join("/v1/messages").url(),
            "http://127.0.0.1:9000/v1/messages"
        );
        let v6: BaseUrl = "http://[::1]:81".parse().unwrap();
        assert_eq!(v6.origin.host, "::1");
        assert_eq!(v6.origin.authority(), "[::1]:81");
        assert_eq!(v6.join("/x").url(), "http://[::1]:81/x");
        let plain: BaseUrl = "https://api.anthropic.com".parse().unwrap();
        assert_eq!(plain.to_string(), "https://api.anthropic.com");
        for port in [1, 9, 10, 99, 443, 8080, 65535] {
            let base: BaseUrl = format!("http://h:{port}").parse().unwrap();
            assert_eq!(base.origin.authority(), format!("h:{port}"));
        }
        let tls_on_80: BaseUrl = "https://h:80".parse().unwrap();
        assert_eq!(tls_on_80.origin.authority(), "h:80");
    }

    #[test]
    fn rejects_what_cannot_be_a_base() {
        assert!(matches!(
            "ftp://x".parse::<BaseUrl>(),
            Err(BaseUrlError::Scheme(_))
        ));
        assert!(matches!(
            "api.anthropic.com".parse::<BaseUrl>(),
            Err(BaseUrlError::NotUrl(_))
        ));
        assert!(matches!(
            "http://x/?a=1".parse::<BaseUrl>(),
            Err(BaseUrlError::Query(_))
        ));
        assert!("not a url".parse::<BaseUrl>().is_err());
    }
}

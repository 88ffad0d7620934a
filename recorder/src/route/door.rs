//! Which upstream a request goes to: the [`FrontDoor`] it came through
//! and the request's own target decide the [`Destination`], before any
//! byte is forwarded. A request that cannot be routed is a [`Refusal`].

use super::{BaseUrl, Origin, Target};
use crate::front::forward::Forward;
use hyper::body::Incoming;
use hyper::Request;
use std::sync::Arc;

/// Where one request goes.
#[derive(Clone, Debug)]
pub enum Destination {
    /// Forward to an upstream server.
    Remote(Target),
    /// Answer with offline mode's canned reply; `url` is what the client asked.
    Offline { url: String },
}

/// Why a request is not routed (answered 400 with this, not recorded).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("CONNECT must be the first request on a connection to the proxy")]
    ConnectInside,
    #[error(
        "{method} {path}: this is a forward proxy (-m regular): clients reach it through HTTPS_PROXY / \
         HTTP_PROXY with absolute URLs; to use it as a base URL, run record -m reverse"
    )]
    OriginForm { method: String, path: String },
    #[error("cannot proxy {0}:// URLs")]
    Scheme(String),
}

/// How requests arriving at the proxy are routed.
#[derive(Clone, Debug)]
pub enum FrontDoor {
    /// The proxy is the client's base URL; requests go to this one.
    Reverse(BaseUrl),
    /// Nothing is contacted; offline mode answers.
    Offline,
    /// A forward proxy's own connection: CONNECT or absolute-form requests.
    Forward(Arc<Forward>),
    /// Inside a CONNECT tunnel: every request goes to the tunnel's origin.
    Tunnel(Origin),
}

impl FrontDoor {
    /// Where `req` goes; `Err` is why it is refused (answered 400, not
    /// recorded).
    pub fn destination(&self, req: &Request<Incoming>) -> Result<Destination, Refusal> {
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        match self {
            FrontDoor::Reverse(base) => Ok(Destination::Remote(base.join(path))),
            FrontDoor::Tunnel(origin) => Ok(Destination::Remote(Target {
                origin: origin.clone(),
                path_and_query: path.to_owned(),
            })),
            FrontDoor::Forward(_) => absolute_target(req).map(Destination::Remote),
            FrontDoor::Offline => {
                let host = req
                    .headers()
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                Ok(Destination::Offline {
                    url: format!("http://{host}{path}"),
                })
            }
        }
    }
}

/// The target of an absolute-form request (`GET http://host:port/path`).
pub fn absolute_target(req: &Request<Incoming>) -> Result<Target, Refusal> {
    if req.method() == http::Method::CONNECT {
        return Err(Refusal::ConnectInside);
    }
    let uri = req.uri();
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return Err(Refusal::OriginForm {
            method: req.method().to_string(),
            path: uri.path().to_owned(),
        });
    };
    let tls = match scheme {
        "http" => false,
        "https" => true,
        other => return Err(Refusal::Scheme(other.to_owned())),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok(Target {
        origin: Origin { tls, host, port },
        path_and_query: path,
    })
}

//! Forward mode (`-m regular`, `-m upstream:URL`): the proxy clients reach
//! through `HTTPS_PROXY`, a second front door onto the same [`Pipeline`].
//!
//! A connection is a chain of small steps, each in its own module:
//! 1. [`proxy_head`]: read the first request head. `CONNECT host:port` opens
//!    a tunnel; anything else (absolute-form `GET http://host/…`) is served
//!    as HTTP/1 with [`FrontDoor::Forward`], which routes by the URL.
//! 2. [`hosts`]: a tunnel to an ignored host is passed through as raw bytes
//!    ([`passthrough`]), unrecorded.
//! 3. [`sniff`]: otherwise answer `200` and look at the first bytes: TLS,
//!    plain HTTP (Claude Code tunnels `http://` base URLs), or neither.
//! 4. [`intercept`]: terminate TLS with a leaf for the SNI name (or the
//!    CONNECT host) and serve HTTP/2 ([`h2`]) or HTTP/1 inside; every request
//!    goes to the tunnel's origin ([`FrontDoor::Tunnel`]).
//!
//! Upstream connections, entries and the archive are the pipeline's.

mod h2;
pub mod hosts;
mod intercept;
mod passthrough;
mod proxy_head;
mod sniff;

pub use hosts::{HostFilter, PatternError};
pub use proxy_head::split_authority as split_host_port;

use crate::exchange::Pipeline;
use crate::front::serve_http1;
use crate::front::shutdown::Watcher;
use crate::io::rewind::Rewind;
use crate::route::FrontDoor;
use crate::route::Origin;
use crate::tls::LeafMinter;
use bytes::Bytes;
use proxy_head::{FirstRequest, HEAD_TIMEOUT};
use sniff::Carries;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tracing::Instrument;

/// What forward mode needs beyond the pipeline.
#[derive(Debug)]
pub struct Forward {
    /// Leaf certificates for intercepted hosts.
    pub minter: Arc<LeafMinter>,
    /// Which tunnels are intercepted.
    pub hosts: HostFilter,
    /// The HTTP proxy passed-through tunnels go through (`-m upstream:URL`);
    /// the pipeline's pool has its own copy.
    pub via: Option<Origin>,
}

/// Serves one connection to the forward proxy.
pub async fn serve(
    mut sock: TcpStream,
    peer: SocketAddr,
    fwd: Arc<Forward>,
    pipeline: Arc<Pipeline>,
    shutdown: Watcher,
) {
    let limit = pipeline.front.client_timeout.unwrap_or(Duration::MAX);
    let first = match tokio::time::timeout(limit, proxy_head::read_first(&mut sock)).await {
        Ok(Ok(Some(first))) => first,
        Ok(Ok(None)) => return,
        Ok(Err(err)) => return tracing::debug!(%err, "connection failed before a request"),
        Err(_) => {
            pipeline.stats.clients_timed_out.fetch_add(1, Relaxed);
            return tracing::debug!("no whole request head within {limit:?}; closed");
        }
    };
    match first {
        FirstRequest::Other(read) => {
            let door = Arc::new(FrontDoor::Forward(fwd));
            serve_http1(Rewind::new(read, sock), peer, door, pipeline, shutdown).await;
        }
        FirstRequest::Connect { host, port, rest } => {
            let span = tracing::debug_span!("tunnel", %host, port);
            let tunnel = Tunnel { host, port, peer };
            tunnel
                .serve(sock, rest, fwd, pipeline, shutdown)
                .instrument(span)
                .await;
        }
    }
}

/// One CONNECT tunnel.
struct Tunnel {
    host: String,
    port: u16,
    peer: SocketAddr,
}

impl Tunnel {
    async fn serve(
        self,
        mut sock: TcpStream,
        rest: Bytes,
        fwd: Arc<Forward>,
        pipeline: Arc<Pipeline>,
        shutdown: Watcher,
    ) {
        if !fwd.hosts.intercepts(&self.host, self.port) {
            let origin = self.origin(false);
            return passthrough::run(sock, rest, origin, fwd.via.as_ref(), shutdown).await;
        }
        if let Err(err) = proxy_head::answer_established(&mut sock).await {
            return tracing::debug!(%err, "client went away before the tunnel opened");
        }
        let sniffed = tokio::time::timeout(HEAD_TIMEOUT, sniff::sniff(&mut sock, rest)).await;
        let (carries, read) = match sniffed {
            Ok(Ok(found)) => found,
            Ok(Err(err)) => return tracing::debug!(%err, "tunnel failed before its first bytes"),
            Err(_) => {
                return tracing::warn!(
                    "{}: the tunnel to {}:{} stayed silent for {HEAD_TIMEOUT:?}; closed it",
                    self.peer,
                    self.host,
                    self.port
                )
            }
        };
        let io = Rewind::new(read.clone(), sock);
        match carries {
            Carries::Tls => {
                let origin = self.origin(true);
                intercept::serve_tls(io, self.peer, origin, &fwd, pipeline, shutdown).await;
            }
            Carries::Http => {
                let door = Arc::new(FrontDoor::Tunnel(self.origin(false)));
                serve_http1(io, self.peer, door, pipeline, shutdown).await;
            }
            Carries::Other => tracing::warn!(
                "{}: the tunnel to {}:{} carries neither TLS nor HTTP (first bytes {:?}); closed it \
                 (pass such hosts through with --ignore-hosts)",
                self.peer,
                self.host,
                self.port,
                preview(&read)
            ),
            Carries::Nothing => tracing::debug!("client closed the tunnel without sending anything"),
        }
    }

    fn origin(&self, tls: bool) -> Origin {
        Origin {
            tls,
            host: self.host.clone(),
            port: self.port,
        }
    }
}

/// The first bytes of an unknown stream, printable, for a log line.
fn preview(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(16)]).into_owned()
}

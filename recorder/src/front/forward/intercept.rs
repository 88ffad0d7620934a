//! TLS interception inside a CONNECT tunnel.
//!
//! The ClientHello is read first ([`LazyConfigAcceptor`]) so that the leaf
//! names what the client asked for (SNI, else the CONNECT host: an IP literal
//! gets an IP SAN) and ALPN offers `h2` only to clients that offered it.
//! What was negotiated decides between hyper's HTTP/2 and HTTP/1 servers.

use super::h2::serve_http2;
use super::Forward;
use crate::exchange::Pipeline;
use crate::front::serve_http1;
use crate::front::shutdown::Watcher;
use crate::route::FrontDoor;
use crate::route::Origin;
use crate::tls::Alpn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::LazyConfigAcceptor;

/// How long a client may take over its side of the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// Terminates the client's TLS and serves what it sends to `origin`.
pub async fn serve_tls<IO>(
    io: IO,
    peer: SocketAddr,
    origin: Origin,
    fwd: &Forward,
    pipeline: Arc<Pipeline>,
    shutdown: Watcher,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let acceptor = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io);
    let start = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor).await {
        Ok(Ok(start)) => start,
        Ok(Err(err)) => {
            return tracing::warn!("{peer}: unreadable TLS ClientHello for {origin}: {err}; closed")
        }
        Err(_) => return tracing::warn!("{peer}: no TLS ClientHello for {origin}; closed"),
    };
    let hello = start.client_hello();
    let name = hello.server_name().unwrap_or(&origin.host).to_owned();
    let offers_h2 = hello
        .alpn()
        .is_some_and(|mut offered| offered.any(|p| p == b"h2"));
    let alpn = if offers_h2 {
        Alpn::H2AndHttp11
    } else {
        Alpn::Http11
    };
    let config = match fwd.minter.server_config(&name, alpn) {
        Ok(config) => config,
        Err(err) => return tracing::warn!("{peer}: {err}; closed the tunnel"),
    };
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, start.into_stream(config)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            return tracing::warn!(
                "{peer}: TLS handshake with the client for {name} failed: {err}; if the client \
                 rejected the certificate, make it trust the cctap CA (record ca export)"
            )
        }
        Err(_) => {
            return tracing::warn!("{peer}: TLS handshake with the client for {name} timed out")
        }
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    tracing::debug!(%name, h2, "intercepting");
    let door = Arc::new(FrontDoor::Tunnel(origin));
    if h2 {
        serve_http2(tls, peer, door, pipeline, shutdown).await;
    } else {
        serve_http1(tls, peer, door, pipeline, shutdown).await;
    }
}

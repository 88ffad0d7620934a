//! HTTP/2 inside an intercepted tunnel, for clients that offered `h2`.
//!
//! hyper's HTTP/2 server feeds the same pipeline as HTTP/1; the request's
//! version (`HTTP/2.0`) is what the archive records. h2 header names are
//! lower case on the wire, so no head tap is needed. The upstream side stays
//! HTTP/1.1 (the pool's connections).

use crate::exchange::Pipeline;
use crate::front::refuse;
use crate::front::shutdown::{Phase, Watcher};
use crate::route::FrontDoor;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

/// Serves HTTP/2 on `io` until it closes or shutdown cuts it off.
pub async fn serve_http2<IO>(
    io: IO,
    peer: SocketAddr,
    door: Arc<FrontDoor>,
    pipeline: Arc<Pipeline>,
    mut shutdown: Watcher,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let dest = door.destination(&req);
        let pipeline = pipeline.clone();
        async move {
            let mut response = match dest {
                Ok(dest) => pipeline.serve(req, None, dest).await,
                Err(reason) => refuse(&reason),
            };
            // The upstream answered HTTP/1.1; this side speaks h2.
            *response.version_mut() = http::Version::HTTP_2;
            Ok::<_, Infallible>(response)
        }
    });
    let conn =
        http2::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.reached(Phase::Draining) => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                result = conn.as_mut() => result,
                _ = shutdown.reached(Phase::CutOff) => {
                    return tracing::debug!("h2 connection cut off at shutdown");
                }
            }
        }
    };
    match result {
        Ok(()) => tracing::debug!("h2 connection closed"),
        Err(err) => tracing::debug!(%peer, %err, "h2 connection ended"),
    }
}

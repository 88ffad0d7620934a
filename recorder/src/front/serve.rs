//! Serving HTTP/1 on one connection: each request head is tapped off the
//! socket ([`HeadTap`]: names in wire order and case), routed by the
//! [`FrontDoor`], and handed to the [`Pipeline`]; at shutdown the
//! connection drains, then is cut off.

use super::shutdown::{Phase, Watcher};
use crate::alarm::ConnTimer;
use crate::exchange::Pipeline;
use crate::io::body::{full, ProxyBody};
use crate::io::headtap::{HeadTap, Heads, Side};
use crate::route::{FrontDoor, Refusal};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

/// The most a connection's read buffer grows to. hyper's default (~408
/// KiB) let each of 16 connections sending 300 KiB bodies keep a buffer of
/// their size; bodies are copied out as they pass ([`crate::entry`]), so a
/// smaller buffer only means more reads of a large body.
const READ_BUFFER: usize = 64 * 1024;

/// Serves HTTP/1 on any byte stream until it closes or shutdown cuts it
/// off. Generic so that forward mode can serve what arrives inside a
/// CONNECT tunnel (plain or after TLS termination) the same way.
pub async fn serve_http1<IO>(
    io: IO,
    peer: SocketAddr,
    door: Arc<FrontDoor>,
    pipeline: Arc<Pipeline>,
    mut shutdown: Watcher,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let heads = Heads::default();
    let io = TokioIo::new(HeadTap::new(io, Side::Request, heads.clone()));
    let stats = pipeline.stats.clone();
    // A request head must arrive whole within the client timeout, counted
    // from connecting or from the previous response: a slowloris client
    // and an idle keep-alive connection are both closed then.
    let client_timeout = pipeline.front.client_timeout;
    let alarm = pipeline.alarms.alarm();
    let service = service_fn(move |req: Request<Incoming>| {
        // Called in request order, after the tap has seen this head.
        let wire = heads.pop();
        let dest = door.destination(&req);
        let pipeline = pipeline.clone();
        async move {
            Ok::<_, Infallible>(match dest {
                Ok(dest) => pipeline.serve(req, wire, dest).await,
                Err(refusal) => refuse(&refusal),
            })
        }
    });
    let conn = http1::Builder::new()
        .preserve_header_case(true)
        .title_case_headers(false)
        .max_buf_size(READ_BUFFER)
        .timer(ConnTimer(alarm))
        .header_read_timeout(client_timeout)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.reached(Phase::Draining) => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                result = conn.as_mut() => result,
                _ = shutdown.reached(Phase::CutOff) => {
                    tracing::debug!("connection cut off at shutdown");
                    return;
                }
            }
        }
    };
    if result.as_ref().is_err_and(hyper::Error::is_timeout) {
        stats.clients_timed_out.fetch_add(1, Relaxed);
    }
    log_end(result, peer);
}

/// A request the door will not route: 400 with the reason, not recorded.
pub fn refuse(reason: &Refusal) -> hyper::Response<ProxyBody> {
    tracing::warn!("refused a request: {reason}");
    let mut response = hyper::Response::new(full(bytes::Bytes::from(format!("cctap: {reason}\n"))));
    *response.status_mut() = http::StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Says how a served connection ended.
fn log_end(result: Result<(), hyper::Error>, peer: SocketAddr) {
    match result {
        Ok(()) => tracing::debug!("connection closed"),
        Err(err) if err.is_timeout() => {
            tracing::debug!(%peer, "no whole request head within the client timeout; closed")
        }
        Err(err) if err.is_parse() || err.is_parse_status() => {
            tracing::warn!(%peer, %err, "malformed request: answered 400 and closed that connection");
        }
        Err(err) => tracing::debug!(%err, "connection ended"),
    }
}

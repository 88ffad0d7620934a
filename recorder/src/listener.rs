//! The front door: accept connections, serve HTTP/1 on each, shut down.
//!
//! Each connection gets its own task and a request [`HeadTap`], so header
//! names reach the archive as they were on the wire. The [`FrontDoor`]
//! decides where each request goes; everything after is the shared
//! [`Pipeline`]. Forward mode's door hands each connection to
//! [`crate::forward`] (CONNECT, TLS interception, absolute-form requests),
//! which comes back here to serve HTTP/1 on what it found.

use crate::body::{full, ProxyBody};
use crate::exchange::{Destination, Pipeline};
use crate::forward::{self, Forward};
use crate::headtap::{HeadTap, Heads, Side};
use crate::route::{BaseUrl, Origin, Target};
use crate::shutdown::{Phase, Watcher};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::Instrument;

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
    /// Where `req` goes; `Err` is a reason to refuse it (not recorded).
    pub fn destination(&self, req: &Request<Incoming>) -> Result<Destination, String> {
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        match self {
            FrontDoor::Reverse(base) => Ok(Destination::Remote(base.join(path))),
            FrontDoor::Tunnel(origin) => Ok(Destination::Remote(Target {
                origin: origin.clone(),
                path_and_query: path.to_owned(),
            })),
            FrontDoor::Forward(_) => forward::absolute_target(req).map(Destination::Remote),
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

/// Accepts until shutdown starts draining, then waits for every
/// connection task to end.
pub async fn run(
    tcp: TcpListener,
    door: FrontDoor,
    pipeline: Arc<Pipeline>,
    mut shutdown: Watcher,
) {
    let door = Arc::new(door);
    // Each connection task holds a sender; when all are gone, all are done.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let mut next_id = 0u64;
    loop {
        let accepted = tokio::select! {
            accepted = tcp.accept() => accepted,
            _ = shutdown.reached(Phase::Draining) => break,
        };
        match accepted {
            Ok((sock, peer)) => {
                next_id += 1;
                let span = tracing::debug_span!("conn", id = next_id, %peer);
                let task = serve(
                    sock,
                    peer,
                    door.clone(),
                    pipeline.clone(),
                    shutdown.clone(),
                    done_tx.clone(),
                );
                tokio::spawn(task.instrument(span));
            }
            Err(err) => {
                // Out of file descriptors, typically: back off, keep serving.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(tcp);
    drop(done_tx);
    let _ = done_rx.recv().await;
}

/// Serves one accepted TCP connection.
async fn serve(
    sock: TcpStream,
    peer: SocketAddr,
    door: Arc<FrontDoor>,
    pipeline: Arc<Pipeline>,
    shutdown: Watcher,
    _done: mpsc::Sender<()>,
) {
    let _ = sock.set_nodelay(true);
    match &*door {
        FrontDoor::Forward(fwd) => {
            forward::serve(sock, peer, fwd.clone(), pipeline, shutdown).await
        }
        _ => serve_http1(sock, peer, door, pipeline, shutdown).await,
    }
}

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
    let service = service_fn(move |req: Request<Incoming>| {
        // Called in request order, after the tap has seen this head.
        let wire = heads.pop();
        let dest = door.destination(&req);
        let pipeline = pipeline.clone();
        async move {
            Ok::<_, Infallible>(match dest {
                Ok(dest) => pipeline.serve(req, wire, dest).await,
                Err(reason) => refuse(&reason),
            })
        }
    });
    let conn = http1::Builder::new()
        .preserve_header_case(true)
        .title_case_headers(false)
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
    log_end(result, peer);
}

/// A request the door will not route: 400 with the reason, not recorded.
pub fn refuse(reason: &str) -> hyper::Response<ProxyBody> {
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
        Err(err) if err.is_parse() || err.is_parse_status() => {
            tracing::warn!(%peer, %err, "malformed request: answered 400 and closed that connection");
        }
        Err(err) => tracing::debug!(%err, "connection ended"),
    }
}

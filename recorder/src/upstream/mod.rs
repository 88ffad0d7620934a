//! Connections to upstream servers: our own small pool.
//!
//! A hand-rolled pool rather than hyper-util's client because the archive
//! needs what that one hides: DNS, connect and TLS timings of a fresh
//! connection (`-1` on reuse), the server's IP, and an id shared by the
//! exchanges on one connection. Each connection's socket is wrapped in a
//! response [`HeadTap`] so the archive sees response header names as sent.
//! The lock is held only to pop or push an idle connection. With
//! `-m upstream:URL` every connection is a CONNECT tunnel through that proxy
//! ([`crate::upstream::proxy`]). How long an upstream may then stay silent
//! is [`timeout`]'s business (`--upstream-timeout`).

mod pinned;
pub mod proxy;
pub mod timeout;
pub mod tls;

use crate::alarm::{Alarm, Alarms};
use crate::io::body::ProxyBody;
use crate::io::headtap::{HeadTap, Heads, Side};
use crate::route::Origin;
use crate::upstream::proxy::{open_tunnel, TunnelError};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tracing::Instrument;

/// How long a TCP connect or TLS handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Idle connections kept per origin.
const MAX_IDLE: usize = 32;

/// Why no upstream connection could be had. Each message fits the one-line
/// body of the 502 the client gets.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot resolve {host}: {source}")]
    Dns { host: String, source: io::Error },
    #[error("cannot connect to {origin} ({addr}): {source}")]
    Connect {
        origin: String,
        addr: SocketAddr,
        source: io::Error,
    },
    #[error("timed out connecting to {0}")]
    Timeout(String),
    #[error("TLS handshake with {origin} failed: {source}")]
    Tls { origin: String, source: io::Error },
    #[error("{0}")]
    Proxy(#[from] TunnelError),
    #[error("{0} needs TLS but no TLS configuration was set up")]
    NoTls(String),
    #[error("HTTP handshake with {origin} failed: {source}")]
    Handshake {
        origin: String,
        source: hyper::Error,
    },
}

impl UpstreamError {
    /// The upstream's certificate was refused (unknown issuer, wrong name,
    /// expired): something `--upstream-ca` or `--ssl-insecure` would change.
    pub fn is_untrusted_certificate(&self) -> bool {
        let UpstreamError::Tls { source, .. } = self else {
            return false;
        };
        source
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)))
    }
}

/// One HTTP/1.1 connection to an upstream server.
pub struct UpstreamConn {
    pub send: SendRequest<ProxyBody>,
    /// Shared by every exchange on this connection (`connection` in HAR).
    pub id: u64,
    pub server_ip: IpAddr,
    /// Response heads as they were on the wire.
    pub heads: Heads,
    /// Rings when the upstream stays silent (`--upstream-timeout`).
    pub alarm: Arc<Alarm>,
}

/// How a fresh connection was made, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConnectTimings {
    pub dns: f64,
    /// TCP connect plus TLS (HAR's `connect` includes `ssl`).
    pub connect: f64,
    /// `-1` for plain HTTP.
    pub ssl: f64,
}

/// A connection taken from the pool: reused (no timings) or fresh.
pub struct Checkout {
    pub conn: UpstreamConn,
    pub fresh: Option<ConnectTimings>,
}

/// Idle upstream connections, keyed by origin (hashed with foldhash: std's
/// SipHash of the origin, twice per exchange, was ~0.4k instructions per
/// exchange under callgrind).
pub struct Pool {
    idle: Mutex<HashMap<Origin, Vec<UpstreamConn>, foldhash::fast::RandomState>>,
    tls: Option<TlsConnector>,
    /// The HTTP proxy every connection goes through (`-m upstream:URL`).
    via: Option<Origin>,
    next_id: AtomicU64,
    /// Where each new connection gets its alarm.
    alarms: Alarms,
}

impl Pool {
    /// A pool; `tls` is needed only for `https` origins.
    pub fn new(tls: Option<Arc<rustls::ClientConfig>>, alarms: Alarms) -> Pool {
        Pool {
            idle: Mutex::new(HashMap::default()),
            tls: tls.map(TlsConnector::from),
            via: None,
            next_id: AtomicU64::new(1),
            alarms,
        }
    }

    /// Sends every connection through the HTTP proxy `via`.
    pub fn through(mut self, via: Option<Origin>) -> Pool {
        self.via = via;
        self
    }

    /// An idle connection to `origin` if one is still open, else a new one.
    pub async fn checkout(&self, origin: &Origin) -> Result<Checkout, UpstreamError> {
        while let Some(mut conn) = self.pop_idle(origin) {
            // Ready at once unless the server closed it meanwhile.
            match tokio::time::timeout(Duration::from_secs(1), conn.send.ready()).await {
                Ok(Ok(())) => return Ok(Checkout { conn, fresh: None }),
                _ => tracing::debug!(conn = conn.id, "idle upstream connection went away"),
            }
        }
        self.connect(origin).await
    }

    /// Puts a connection whose last response ended cleanly back for reuse.
    pub fn checkin(&self, origin: &Origin, conn: UpstreamConn) {
        if conn.send.is_closed() {
            return;
        }
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        // The origin is cloned (a string) only for its first connection.
        match idle.get_mut(origin) {
            Some(list) if list.len() < MAX_IDLE => list.push(conn),
            Some(_) => {}
            None => {
                idle.insert(origin.clone(), vec![conn]);
            }
        }
    }

    fn pop_idle(&self, origin: &Origin) -> Option<UpstreamConn> {
        self.idle.lock().ok()?.get_mut(origin)?.pop()
    }

    /// Resolves, connects, does TLS and the HTTP/1 handshake, timing each.
    pub async fn connect(&self, origin: &Origin) -> Result<Checkout, UpstreamError> {
        let t0 = Instant::now();
        let dialled = self.via.as_ref().unwrap_or(origin);
        let addrs = resolve(dialled).await?;
        let dns = ms(t0.elapsed());
        let t1 = Instant::now();
        let mut tcp = connect_any(dialled, &addrs).await?;
        if let Some(proxy) = &self.via {
            open_tunnel(&mut tcp, proxy, origin).await?;
        }
        let server_ip = tcp
            .peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let _ = tcp.set_nodelay(true);
        let (io, ssl) = if origin.tls {
            let t2 = Instant::now();
            let tls = self.tls_handshake(origin, tcp).await?;
            (UpstreamIo::Tls(Box::new(tls)), ms(t2.elapsed()))
        } else {
            (UpstreamIo::Plain(tcp), -1.0)
        };
        let connect = ms(t1.elapsed());
        let heads = Heads::default();
        let io = TokioIo::new(HeadTap::new(io, Side::Response, heads.clone()));
        let (send, driver) = http1::Builder::new()
            .preserve_header_case(true)
            .title_case_headers(false)
            .handshake(io)
            .await
            .map_err(|source| UpstreamError::Handshake {
                origin: origin.to_string(),
                source,
            })?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let span = tracing::debug_span!("upstream", conn = id, origin = %origin);
        tokio::spawn(
            async move {
                if let Err(err) = driver.await {
                    tracing::debug!(%err, "upstream connection ended");
                }
            }
            .instrument(span),
        );
        Ok(Checkout {
            conn: UpstreamConn {
                send,
                id,
                server_ip,
                heads,
                alarm: self.alarms.alarm(),
            },
            fresh: Some(ConnectTimings { dns, connect, ssl }),
        })
    }

    async fn tls_handshake(
        &self,
        origin: &Origin,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, UpstreamError> {
        let connector = self
            .tls
            .as_ref()
            .ok_or_else(|| UpstreamError::NoTls(origin.to_string()))?;
        let tls_err = |source: io::Error| UpstreamError::Tls {
            origin: origin.to_string(),
            source,
        };
        let name = ServerName::try_from(origin.host.clone())
            .map_err(|e| tls_err(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
            .await
            .map_err(|_| UpstreamError::Timeout(origin.to_string()))?
            .map_err(tls_err)
    }
}

/// A TCP stream to `origin`, through `via` when given: for tunnels passed
/// through untouched.
pub async fn dial(origin: &Origin, via: Option<&Origin>) -> Result<TcpStream, UpstreamError> {
    let dialled = via.unwrap_or(origin);
    let addrs = resolve(dialled).await?;
    let mut tcp = connect_any(dialled, &addrs).await?;
    if let Some(proxy) = via {
        open_tunnel(&mut tcp, proxy, origin).await?;
    }
    Ok(tcp)
}

async fn resolve(origin: &Origin) -> Result<Vec<SocketAddr>, UpstreamError> {
    let found = tokio::net::lookup_host((origin.host.as_str(), origin.port)).await;
    let addrs = found.map_err(|source| UpstreamError::Dns {
        host: origin.host.clone(),
        source,
    })?;
    Ok(addrs.collect())
}

/// Tries each resolved address in turn; the last error is reported.
async fn connect_any(origin: &Origin, addrs: &[SocketAddr]) -> Result<TcpStream, UpstreamError> {
    let mut last = None;
    for &addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => return Ok(tcp),
            Ok(Err(source)) => {
                last = Some(UpstreamError::Connect {
                    origin: origin.to_string(),
                    addr,
                    source,
                })
            }
            Err(_) => last = Some(UpstreamError::Timeout(origin.to_string())),
        }
    }
    Err(last.unwrap_or_else(|| UpstreamError::Dns {
        host: origin.host.clone(),
        source: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
    }))
}

/// Milliseconds, to the microsecond.
fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

/// A plain or TLS upstream socket.
enum UpstreamIo {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for UpstreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            UpstreamIo::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpstreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_write(cx, data),
            UpstreamIo::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            UpstreamIo::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            UpstreamIo::Plain(s) => s.is_write_vectored(),
            UpstreamIo::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_flush(cx),
            UpstreamIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            UpstreamIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::body::full;
    use http_body_util::BodyExt;
    use std::time::Duration;

    /// A loopback HTTP/1 server answering `ok`, counting its connections.
    async fn server() -> (Origin, Arc<AtomicU64>) {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = tcp.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                let service = hyper::service::service_fn(|_req| async {
                    let mut r = hyper::Response::new(full("ok"));
                    r.headers_mut()
                        .insert("X-Mixed-Case", http::HeaderValue::from_static("1"));
                    Ok::<_, std::convert::Infallible>(r)
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(sock), service),
                );
            }
        });
        let origin = Origin {
            tls: false,
            host: "127.0.0.1".into(),
            port,
        };
        (origin, accepted)
    }

    async fn get(conn: &mut UpstreamConn) -> String {
        let req = http::Request::get("/")
            .header("host", "x")
            .body(full(""))
            .unwrap();
        let res = conn.send.send_request(req).await.unwrap();
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_connection_given_back_is_reused_without_timings() {
        tokio::time::timeout(Duration::from_secs(10), async {
            let (origin, accepted) = server().await;
            let pool = Pool::new(None, Alarms::start());
            let mut first = pool.checkout(&origin).await.unwrap();
            let fresh = first.fresh.expect("a new connection has timings");
            assert!(fresh.dns >= 0.0 && fresh.connect >= 0.0 && fresh.ssl == -1.0);
            assert_eq!(get(&mut first.conn).await, "ok");
            let head = first
                .conn
                .heads
                .pop()
                .expect("the response head was tapped");
            assert_eq!(
                head.headers[0].0, "x-mixed-case",
                "hyper's server writes lower case"
            );
            let id = first.conn.id;
            pool.checkin(&origin, first.conn);
            let mut second = pool.checkout(&origin).await.unwrap();
            assert!(second.fresh.is_none(), "reused");
            assert_eq!(second.conn.id, id);
            assert_eq!(get(&mut second.conn).await, "ok");
            assert_eq!(accepted.load(Ordering::Relaxed), 1);
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn refused_and_tls_without_config_are_named_errors() {
        tokio::time::timeout(Duration::from_secs(10), async {
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = tcp.local_addr().unwrap().port();
            drop(tcp);
            let pool = Pool::new(None, Alarms::start());
            let mut origin = Origin {
                tls: false,
                host: "127.0.0.1".into(),
                port,
            };
            let err = pool.checkout(&origin).await.err().unwrap();
            assert!(matches!(err, UpstreamError::Connect { .. }), "{err}");
            assert!(
                err.to_string()
                    .starts_with("cannot connect to http://127.0.0.1:"),
                "{err}"
            );
            let (plain, _) = server().await;
            origin.port = plain.port;
            origin.tls = true;
            let err = pool.checkout(&origin).await.err().unwrap();
            assert!(matches!(err, UpstreamError::NoTls(_)), "{err}");
        })
        .await
        .unwrap();
    }
}

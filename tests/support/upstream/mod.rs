//! The fake Anthropic Messages API: a real hyper server on 127.0.0.1.
//!
//! `POST …/v1/messages` (under any path prefix) answers SSE when the body
//! says `"stream": true`, a JSON message otherwise; `…/count_tokens` answers
//! `{"input_tokens": N}`. Usage is predictable ([`Usage::for_request`]),
//! every request is logged ([`FakeUpstream::requests`]) with its headers in
//! wire order and case, and [`behaviour`] lists the switches for failures.
//!
//! Layout: [`behaviour`] parses the switches, [`messages`] builds the
//! answers, `respond` streams them, `serve` accepts and logs, `capture`
//! keeps header case, [`tls`] makes the throwaway CA.

pub mod behaviour;
mod capture;
pub mod encode;
pub mod messages;
mod respond;
mod serve;
pub mod tls;

pub use behaviour::{Behaviour, BEHAVIOUR_HEADER};
pub use encode::Encoding;
pub use messages::{Usage, DEFAULT_REPLY};
pub use respond::binary_body;
pub use tls::TestCa;

use bytes::Bytes;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Why the fake upstream could not start or answer a helper call.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot write the CA to {path}: {source}")]
    WriteCa {
        path: String,
        source: std::io::Error,
    },
    #[error("this fake upstream is plain HTTP: build it with .tls() to get a CA")]
    NotTls,
    #[error("timed out after {0:?} waiting for the fake upstream")]
    Timeout(Duration),
}

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, as on the request line.
    pub path: String,
    /// `HTTP/1.1` and the like.
    pub version: String,
    /// Wire order and original case (lower case if the head could not be
    /// captured).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The usage the fake reported for it.
    pub usage: Usage,
    /// The `x-fake-behaviour` text it carried, empty if none.
    pub behaviour: String,
    /// Which accepted connection it came on (1 = first).
    pub connection: u64,
    /// Its number in arrival order (1 = first).
    pub number: u64,
}

impl RecordedRequest {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A callback run for each request as it is logged.
pub type OnRequest = Box<dyn Fn(&RecordedRequest) + Send + Sync>;

/// State shared by the server tasks and the test's handle.
pub struct Shared {
    /// The assistant text every Messages answer carries.
    reply: String,
    /// What requests without `x-fake-behaviour` get.
    behaviour: Behaviour,
    /// Every request, in arrival order, for the test to read.
    log: Mutex<Vec<RecordedRequest>>,
    /// Wakes `wait_for_requests` when the log grows.
    logged: Notify,
    /// Released by the test: lets a held `gate` stream go on.
    gate: Notify,
    /// Raised by a `gate` stream once it holds, for `wait_gate_held`.
    gate_held: Notify,
    /// The program's `--log` writer, run for each request.
    on_request: Option<OnRequest>,
    /// Connections accepted: tells a test whether record reused one.
    connections: AtomicU64,
    /// Requests seen: numbers them, and so the answers' ids.
    requests: AtomicU64,
    /// Answers failed under `status=S,first=N` so far.
    failed: AtomicU64,
}

impl Shared {
    fn log(&self, request: RecordedRequest) {
        if let Some(callback) = &self.on_request {
            callback(&request);
        }
        if let Ok(mut log) = self.log.lock() {
            log.push(request);
        }
        self.logged.notify_waiters();
    }
}

/// Configures a [`FakeUpstream`].
#[derive(Default)]
pub struct Builder {
    tls: bool,
    /// A certificate of the test's own (e.g. `openssl req -x509`).
    own_cert: Option<TestCa>,
    port: u16,
    reply: Option<String>,
    behaviour: Behaviour,
    on_request: Option<OnRequest>,
}

impl Builder {
    /// Serve HTTPS with a fresh test CA.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Serve HTTPS with a certificate the test made (see
    /// [`TestCa::self_signed`]).
    pub fn tls_with(mut self, cert: TestCa) -> Self {
        self.own_cert = Some(cert);
        self
    }

    /// Listen on this port (default 0: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The assistant's reply text.
    pub fn reply(mut self, text: &str) -> Self {
        self.reply = Some(text.to_owned());
        self
    }

    /// The behaviour of requests that carry no `x-fake-behaviour`.
    pub fn behaviour(mut self, behaviour: Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// Runs `callback` for every request as it is logged.
    pub fn on_request(mut self, callback: OnRequest) -> Self {
        self.on_request = Some(callback);
        self
    }

    /// Binds 127.0.0.1 and starts serving in the current tokio runtime.
    pub async fn start(self) -> Result<FakeUpstream, UpstreamError> {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .map_err(|source| UpstreamError::Bind {
                port: self.port,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| UpstreamError::Bind {
                port: self.port,
                source,
            })?;
        let ca = match (self.own_cert, self.tls) {
            (Some(own), _) => Some(own),
            (None, true) => Some(TestCa::generate()?),
            (None, false) => None,
        };
        let acceptor = ca
            .as_ref()
            .map(|ca| tokio_rustls::TlsAcceptor::from(ca.server_config.clone()));
        let shared = Arc::new(Shared {
            reply: self.reply.unwrap_or_else(|| DEFAULT_REPLY.to_owned()),
            behaviour: self.behaviour,
            log: Mutex::new(Vec::new()),
            logged: Notify::new(),
            gate: Notify::new(),
            gate_held: Notify::new(),
            on_request: self.on_request,
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        });
        let task = tokio::spawn(serve::accept_loop(listener, acceptor, shared.clone()));
        Ok(FakeUpstream {
            addr,
            ca,
            shared,
            task,
        })
    }
}

/// A running fake upstream; stops serving when dropped.
pub struct FakeUpstream {
    addr: SocketAddr,
    ca: Option<TestCa>,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeUpstream {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A plain-HTTP fake with default settings.
    pub async fn start() -> Result<FakeUpstream, UpstreamError> {
        Builder::default().start().await
    }

    /// A loopback URL where nothing listens: for "upstream refused" tests.
    pub async fn refused_url() -> Result<String, UpstreamError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|source| UpstreamError::Bind { port: 0, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| UpstreamError::Bind { port: 0, source })?;
        drop(listener);
        Ok(format!("http://{addr}"))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` with TLS (the
    /// leaf certificate names `127.0.0.1` and `localhost`; an IP literal
    /// keeps every test on 127.0.0.1 whatever `localhost` resolves to).
    pub fn url(&self) -> String {
        match self.ca {
            None => format!("http://{}", self.addr),
            Some(_) => format!("https://{}", self.addr),
        }
    }

    /// `https://localhost:PORT`: the same server by name, to exercise SNI
    /// and DNS-name verification (`localhost` must resolve to 127.0.0.1).
    pub fn url_by_name(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// The answer text every Messages reply carries.
    pub fn reply(&self) -> &str {
        &self.shared.reply
    }

    /// The test CA, when serving HTTPS.
    pub fn ca(&self) -> Option<&TestCa> {
        self.ca.as_ref()
    }

    /// Writes the CA certificate (PEM) to `path`.
    pub fn write_ca(&self, path: &Path) -> Result<(), UpstreamError> {
        let ca = self.ca.as_ref().ok_or(UpstreamError::NotTls)?;
        std::fs::write(path, &ca.ca_pem).map_err(|source| UpstreamError::WriteCa {
            path: path.display().to_string(),
            source,
        })
    }

    /// Every request logged so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .log
            .lock()
            .map(|log| log.clone())
            .unwrap_or_default()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests were logged.
    pub async fn wait_for_requests(
        &self,
        n: usize,
        limit: Duration,
    ) -> Result<Vec<RecordedRequest>, UpstreamError> {
        tokio::time::timeout(limit, async {
            loop {
                let notified = self.shared.logged.notified();
                let requests = self.requests();
                if requests.len() >= n {
                    return requests;
                }
                notified.await;
            }
        })
        .await
        .map_err(|_| UpstreamError::Timeout(limit))
    }

    /// Waits until a `gate` stream has sent event 0 and is holding event 1.
    pub async fn wait_gate_held(&self, limit: Duration) -> Result<(), UpstreamError> {
        tokio::time::timeout(limit, self.shared.gate_held.notified())
            .await
            .map_err(|_| UpstreamError::Timeout(limit))
    }

    /// Lets one held `gate` stream go on.
    pub fn release_gate(&self) {
        self.shared.gate.notify_one();
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

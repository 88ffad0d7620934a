//! One request and its response: forward, tee, record.
//!
//! The pipeline every front door feeds. [`Pipeline::serve`] takes a request
//! and its [`Destination`], forwards it (to an upstream connection from the
//! [`Pool`], or to the offline responder), and returns the response whose
//! body streams straight through. Both bodies are wrapped in a
//! [`TeeBody`] that copies each frame into the exchange's [`Recorded`].
//!
//! The exchange is over when the last holder lets go: the handler, the
//! request body, the response body. So every way an exchange can end
//! (clean end, upstream reset, client gone, shutdown cut-off, a dropped
//! handler) yields exactly one entry, with `_error` where it did not
//! complete. What it saw goes to the archive writer, whose thread builds
//! and redacts the entry before anything is written ([`Finished`]).
//!
//! A silent upstream is bounded by `--upstream-timeout`
//! ([`crate::upstream::timeout`]): no head in time is a 504, a body that goes
//! quiet is cut like a reset one; both leave `_error` in the entry.

pub mod headers;
pub mod offline;
#[cfg(test)]
mod pipeline_tests;

use crate::alarm::Alarms;
use crate::entry::{self, Captured, ConnRecord, Recorded, ResponseHead};
use crate::exchange::headers::{header_list, rewrite_host, strip_hop_by_hop, upstream_request};
use crate::front::limits::FrontLimits;
use crate::io::body::{boxed, full, ProxyBody};
use crate::io::headtap::WireHead;
use crate::io::tee::{error_chain, TeeBody, TeeSink};
use crate::output::{ArchiveSink, Finished};
use crate::route::{Destination, Origin, Target};
use crate::status::Stats;
use crate::upstream::timeout::{await_head, IdleBody, IdleError};
use crate::upstream::{Pool, UpstreamConn};
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Everything an exchange needs, shared by all connections (read-only,
/// counters are atomics).
pub struct Pipeline {
    /// Upstream connections; `None` in offline mode.
    pub pool: Option<Arc<Pool>>,
    pub archive: ArchiveSink,
    pub redact: bool,
    pub stats: Arc<Stats>,
    /// Set when shutdown stopped waiting for exchanges still in flight.
    pub cut_off: Arc<AtomicBool>,
    /// How long an upstream may stay silent (`--upstream-timeout`); `None`
    /// waits for ever.
    upstream_timeout: Option<Duration>,
    /// `--max-body-size`: bytes of each body kept for the archive.
    max_body_size: Option<u64>,
    /// How the front treats the clients that reach this pipeline.
    pub front: FrontLimits,
    /// The client connections' alarms (`--client-timeout`), shared with
    /// the pool's upstream connections.
    pub alarms: Alarms,
    next_id: AtomicU64,
}

impl Pipeline {
    pub fn new(
        pool: Option<Arc<Pool>>,
        archive: ArchiveSink,
        redact: bool,
        stats: Arc<Stats>,
        alarms: Alarms,
    ) -> Pipeline {
        alarms.fit(FrontLimits::default().client_timeout);
        Pipeline {
            pool,
            archive,
            redact,
            stats,
            cut_off: Arc::new(AtomicBool::new(false)),
            upstream_timeout: None,
            max_body_size: None,
            front: FrontLimits::default(),
            alarms,
            next_id: AtomicU64::new(1),
        }
    }

    /// Bounds the upstream's silence: before its response head, and between
    /// two frames of its body. `None` (the default here) never gives up.
    pub fn upstream_timeout(mut self, limit: Option<Duration>) -> Pipeline {
        self.alarms.fit(limit);
        self.upstream_timeout = limit;
        self
    }

    /// Keeps at most `limit` bytes of each body for the archive
    /// (`--max-body-size`; the rest is forwarded, not kept: `_truncated`).
    pub fn max_body_size(mut self, limit: Option<u64>) -> Pipeline {
        self.max_body_size = limit;
        self
    }

    /// The client timeout and connection cap (`--client-timeout`,
    /// `--max-connections`).
    pub fn front_limits(mut self, limits: FrontLimits) -> Pipeline {
        self.alarms.fit(limits.client_timeout);
        self.front = limits;
        self
    }

    /// Serves one request; `wire` is its head as tapped from the socket.
    pub async fn serve(
        self: Arc<Self>,
        req: Request<Incoming>,
        wire: Option<WireHead>,
        dest: Destination,
    ) -> Response<ProxyBody> {
        // The path only: a query could carry a credential. The id is taken
        // only when the span is logged: an add per exchange on a line both
        // workers share is not free.
        let span = tracing::debug_span!(
            "exchange",
            id = self.next_id.fetch_add(1, Relaxed),
            method = %req.method(),
            path = req.uri().path()
        );
        async move {
            // A slow disk slows new requests down rather than losing them;
            // nothing already under way waits.
            let admitted = self.archive.admit().await;
            let (parts, body) = req.into_parts();
            let url = match &dest {
                Destination::Remote(t) => t.url(),
                Destination::Offline { url } => url.clone(),
            };
            let length = announced_length(wire.as_ref(), &parts.headers);
            let (mut headers, head_size) = match wire {
                Some(w) => (w.headers, Some(w.size)),
                None => (header_list(&parts.headers), None),
            };
            if let Destination::Remote(t) = &dest {
                rewrite_host(&mut headers, &t.origin.authority());
            }
            let version = entry::version_name(parts.version);
            // Boxed once here: the exchange, the writer's queue and the
            // writer then move a pointer, not the record's ~600 bytes (the
            // workers 0.5k fewer instructions per exchange, callgrind).
            let mut rec = Box::new(Recorded::new(
                parts.method.to_string(),
                version,
                url,
                headers,
                head_size,
            ));
            rec.redact = self.redact;
            rec.request_body = Captured::new(self.max_body_size);
            if let Some(len) = length {
                rec.request_body.expect(len);
            }
            rec.response_body = Captured::new(self.max_body_size);
            let ex = Exchange::start(rec, &self, admitted);
            let body = TeeBody::new(body, RequestSink(ex.clone()));
            match dest {
                Destination::Remote(target) => self.forward(ex, parts, body, target).await,
                Destination::Offline { .. } => answer_offline(ex, parts, body).await,
            }
        }
        .instrument(span)
        .await
    }

    async fn forward(
        &self,
        ex: Arc<Exchange>,
        parts: http::request::Parts,
        body: TeeBody<Incoming, RequestSink>,
        target: Target,
    ) -> Response<ProxyBody> {
        let Some(pool) = self.pool.clone() else {
            return fail(&ex, "no upstream is configured".into());
        };
        let is_head = parts.method == Method::HEAD;
        let limit = self.upstream_timeout;
        // An empty body may never be polled, so never reports its end.
        let empty_at = http_body::Body::is_end_stream(&body).then(Instant::now);
        let sent_at = || ex.request_sent().or(empty_at);
        let mut request = upstream_request(parts, boxed(body), &target);
        let mut checkout = match pool.checkout(&target.origin).await {
            Ok(c) => c,
            Err(e) => {
                hint_trust_once(&ex, &e);
                return fail_unsent(&ex, request, e.to_string()).await;
            }
        };
        let response = loop {
            ex.note_connection(&checkout.conn, checkout.fresh);
            checkout.conn.heads.expect_response(is_head);
            let sending = checkout.conn.send.try_send_request(request);
            let alarm = &checkout.conn.alarm;
            let sent = match await_head(sending, limit, sent_at, alarm).await {
                Ok(sent) => sent,
                Err(no_head) => {
                    let reason = format!("upstream {} {no_head}", target.origin);
                    return fail_as(&ex, StatusCode::GATEWAY_TIMEOUT, reason);
                }
            };
            match sent {
                Ok(r) => break r,
                Err(mut e) => match e.take_message() {
                    // A reused connection the server had closed: nothing was
                    // sent, so a fresh connection may carry the request.
                    Some(unsent) if checkout.fresh.is_none() => {
                        tracing::debug!(err = %e.error(), "idle connection was closed; reconnecting");
                        request = unsent;
                        checkout = match pool.connect(&target.origin).await {
                            Ok(c) => c,
                            Err(e) => return fail_unsent(&ex, request, e.to_string()).await,
                        };
                    }
                    unsent => {
                        let reason = format!(
                            "upstream {} failed: {}",
                            target.origin,
                            error_chain(e.error())
                        );
                        return match unsent {
                            Some(request) => fail_unsent(&ex, request, reason).await,
                            None => fail(&ex, reason),
                        };
                    }
                },
            }
        };
        let wire = checkout.conn.heads.pop();
        let (mut parts, incoming) = response.into_parts();
        ex.note_response(&parts, wire);
        strip_hop_by_hop(&mut parts.headers);
        let incoming = IdleBody::new(incoming, limit, checkout.conn.alarm.clone());
        let sink = ResponseSink {
            ex,
            give_back: Some((pool, target.origin, checkout.conn)),
        };
        Response::from_parts(parts, boxed(TeeBody::new(incoming, sink)))
    }
}

/// Offline mode: read the request whole, answer from [`offline`].
async fn answer_offline(
    ex: Arc<Exchange>,
    parts: http::request::Parts,
    body: TeeBody<Incoming, RequestSink>,
) -> Response<ProxyBody> {
    ex.with(|r| r.conn_ready = Some(Instant::now()));
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            let reason = format!(
                "client went away while sending the request: {}",
                error_chain(&e)
            );
            return fail(&ex, reason);
        }
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let response = offline::respond(&parts.method, path, &bytes);
    let (parts, body) = response.into_parts();
    ex.note_response(&parts, None);
    let sink = ResponseSink {
        ex,
        give_back: None,
    };
    Response::from_parts(parts, boxed(TeeBody::new(body, sink)))
}

/// A request that never reached upstream: its body is still read (for a
/// while), so the archive keeps what the client sent, then the client gets
/// its 502.
async fn fail_unsent(
    ex: &Exchange,
    request: Request<ProxyBody>,
    reason: String,
) -> Response<ProxyBody> {
    let _ = tokio::time::timeout(UNSENT_BODY_WAIT, request.into_body().collect()).await;
    fail(ex, reason)
}

/// The first refused upstream certificate says which flag would fix it;
/// every failure is still reported on its own line.
fn hint_trust_once(ex: &Exchange, e: &crate::upstream::UpstreamError) {
    static SAID: std::sync::Once = std::sync::Once::new();
    if e.is_untrusted_certificate() {
        SAID.call_once(|| {
            ex.stats.say(
                "record: hint: the upstream's certificate is not trusted here; give the CA \
                 (or the server's own certificate) with --upstream-ca FILE.pem, or skip the \
                 check with --ssl-insecure (only for servers you trust)",
            );
        });
    }
}

/// A body's announced length: from the tapped head's framing (no second
/// lookup and parse), else hyper's `Content-Length` when the tap gave up.
fn announced_length(wire: Option<&WireHead>, headers: &http::HeaderMap) -> Option<u64> {
    match wire {
        Some(w) => w.body_length,
        None => content_length(headers),
    }
}

/// A body's announced length, if it has one.
fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// How long a failed exchange waits for the rest of the client's body.
const UNSENT_BODY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Records the failure and gives the client a 502 with a one-line reason.
fn fail(ex: &Exchange, reason: String) -> Response<ProxyBody> {
    fail_as(ex, StatusCode::BAD_GATEWAY, reason)
}

/// [`fail`] with another status (504 when the upstream sent no head in time).
fn fail_as(ex: &Exchange, status: StatusCode, reason: String) -> Response<ProxyBody> {
    // An error the user needs to see, even with -q; above the status line.
    ex.stats
        .say(&format!("record: answered {}: {reason}", status.as_u16()));
    let body = format!("cctap: {reason}\n");
    ex.with(|r| {
        r.error.get_or_insert(reason);
    });
    let mut response = Response::new(full(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// One exchange in flight; see the module doc for when it ends.
pub struct Exchange {
    rec: Mutex<Option<Box<Recorded>>>,
    archive: ArchiveSink,
    stats: Arc<Stats>,
    cut_off: Arc<AtomicBool>,
    /// The exchange's span, so its end is logged inside it wherever it drops.
    span: tracing::Span,
    /// The archive's queue had room when it started (its entry is kept).
    admitted: bool,
}

impl Exchange {
    fn start(rec: Box<Recorded>, pipeline: &Pipeline, admitted: bool) -> Arc<Exchange> {
        pipeline.stats.in_flight.add(1);
        Arc::new(Exchange {
            rec: Mutex::new(Some(rec)),
            archive: pipeline.archive.clone(),
            stats: pipeline.stats.clone(),
            cut_off: pipeline.cut_off.clone(),
            span: tracing::Span::current(),
            admitted,
        })
    }

    /// Runs `f` on the record (a lock held by this exchange alone).
    fn with(&self, f: impl FnOnce(&mut Recorded)) {
        if let Ok(mut guard) = self.rec.lock() {
            if let Some(rec) = guard.as_mut() {
                f(rec);
            }
        }
    }

    /// When the request body was sent whole, if it was.
    fn request_sent(&self) -> Option<Instant> {
        let mut at = None;
        self.with(|r| at = r.request_done);
        at
    }

    fn note_connection(&self, conn: &UpstreamConn, fresh: Option<crate::upstream::ConnectTimings>) {
        let record = ConnRecord {
            id: conn.id,
            server_ip: conn.server_ip,
            fresh,
        };
        self.with(|r| {
            r.connection = Some(record);
            r.conn_ready = Some(Instant::now());
        });
    }

    fn note_response(&self, parts: &http::response::Parts, wire: Option<WireHead>) {
        let now = Instant::now();
        let length = announced_length(wire.as_ref(), &parts.headers);
        let head = ResponseHead {
            status: parts.status.as_u16(),
            reason: match &wire {
                Some(w) => w.reason.clone(),
                None => parts.status.canonical_reason().unwrap_or("").to_owned(),
            },
            head_size: wire.as_ref().map(|w| w.size),
            headers: wire.map_or_else(|| header_list(&parts.headers), |w| w.headers),
        };
        self.with(|r| {
            r.response_at = Some(now);
            r.response = Some(head);
            if let Some(len) = length {
                r.response_body.expect(len);
            }
        });
    }

    /// Counts the exchange and hands what it saw to the archive writer,
    /// which builds and redacts the entry on its own thread.
    fn finish(&self, mut rec: Box<Recorded>) {
        let _span = self.span.enter();
        if rec.response_done.is_none() {
            if rec.error.is_none() {
                rec.error = Some(self.unfinished_reason(&rec).to_owned());
            }
            // Its end, when it saw nothing after the request (the entry is
            // built later, on the writer thread); a clean end has its own.
            rec.over = Some(Instant::now());
        }
        let stats = &self.stats;
        stats.in_flight.sub(1);
        stats.exchanges.add(1);
        stats.bytes_up.add(rec.request_body.seen());
        stats.bytes_down.add(rec.response_body.seen());
        let status = rec.response.as_ref().map_or(0, |r| r.status);
        if let Some(err) = &rec.error {
            stats.errors.add(1);
            tracing::debug!(status, error = %err, "exchange ended");
        } else {
            tracing::debug!(status, "exchange ended");
        }
        let finished = Finished::new(rec, self.span.clone());
        self.archive.submit(finished, self.admitted);
    }

    /// Why an exchange with no recorded error did not complete.
    fn unfinished_reason(&self, rec: &Recorded) -> &'static str {
        if self.cut_off.load(Relaxed) {
            "cut off at shutdown"
        } else if rec.response.is_some() {
            "client went away mid-stream"
        } else {
            "client went away before the response arrived"
        }
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        let rec = self.rec.get_mut().ok().and_then(Option::take);
        if let Some(rec) = rec {
            self.finish(rec);
        }
    }
}

/// The recorder side of the request body.
pub struct RequestSink(Arc<Exchange>);

impl TeeSink for RequestSink {
    fn data(&mut self, chunk: &Bytes) {
        let now = Instant::now();
        self.0.with(|r| r.request_body.push(now, chunk));
    }

    fn end(&mut self) {
        self.0.with(|r| r.request_done = Some(Instant::now()));
    }

    fn error(&mut self, err: &(dyn std::error::Error + 'static)) {
        let reason = error_chain(err);
        self.0.with(|r| {
            r.error.get_or_insert(format!(
                "client went away while sending the request: {reason}"
            ));
        });
    }

    fn dropped(&mut self) {}
}

/// The recorder side of the response body; gives the upstream connection
/// back to the pool when the body ended cleanly.
struct ResponseSink {
    ex: Arc<Exchange>,
    give_back: Option<(Arc<Pool>, Origin, UpstreamConn)>,
}

impl TeeSink for ResponseSink {
    fn data(&mut self, chunk: &Bytes) {
        let now = Instant::now();
        self.ex.with(|r| r.response_body.push(now, chunk));
    }

    fn end(&mut self) {
        self.ex.with(|r| r.response_done = Some(Instant::now()));
        if let Some((pool, origin, conn)) = self.give_back.take() {
            pool.checkin(&origin, conn);
        }
    }

    fn error(&mut self, err: &(dyn std::error::Error + 'static)) {
        let reason = match err.downcast_ref::<IdleError<hyper::Error>>() {
            Some(silent @ IdleError::Silent(_)) => silent.to_string(),
            _ => format!("upstream reset mid-stream: {}", error_chain(err)),
        };
        self.ex.with(|r| {
            r.error.get_or_insert(reason);
        });
    }

    /// The exchange's own end decides the reason (client gone or cut off).
    fn dropped(&mut self) {}
}

//! bench_upstream: a lean loopback upstream that speaks the Messages API, so
//! that benchmarks measure the proxy and not the fake.
//!
//! `POST …/v1/messages` answers a JSON message of `--json-bytes` bytes, or,
//! when the body says `"stream": true`, an SSE stream of N events with a gap
//! between them; every event's data carries `"sent_us":<unix µs>` (its send
//! time) so a client can compute how late it arrived. Per request, the query
//! (`?events=N&gap_ms=G&json_bytes=B`) or the headers `x-bench-events`,
//! `x-bench-gap-ms`, `x-bench-json-bytes` override the defaults. Prints
//! `listening on http://127.0.0.1:PORT` once bound. With `--tls` it speaks
//! HTTPS (HTTP/1.1) with a fresh self-signed certificate for 127.0.0.1,
//! written to `--tls-cert` for clients to trust, and prints `https://…`.

use anyhow::Context;
use bytes::Bytes;
use cctap_bench::stamp::now_us;
use clap::Parser;
use http_body_util::{channel::Channel, BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// A Messages API upstream for benchmarks (loopback only).
#[derive(Debug, Parser)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(short = 'p', long, default_value_t = 0)]
    port: u16,
    /// Size of a JSON reply in bytes.
    #[arg(long, default_value_t = 1024)]
    json_bytes: usize,
    /// Events per SSE stream (message_start … message_stop).
    #[arg(long, default_value_t = 10)]
    events: usize,
    /// Milliseconds between two SSE events.
    #[arg(long, default_value_t = 0)]
    gap_ms: u64,
    /// Worker threads; 1 runs everything on one thread (fastest on 2 cores).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Speak TLS, with a self-signed certificate for 127.0.0.1.
    #[arg(long, requires = "tls_cert")]
    tls: bool,
    /// With --tls: where to write that certificate (PEM) for clients to trust.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<std::path::PathBuf>,
}

/// What one request asks for: the defaults, overridden per request.
#[derive(Clone, Copy, Debug)]
struct Shape {
    json_bytes: usize,
    events: usize,
    gap_ms: u64,
}

type Body = Either<Full<Bytes>, Channel<Bytes>>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    }
    .context("cannot start the tokio runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{}: pick another --port",
                args.port
            )
        })?;
    let port = listener.local_addr()?.port();
    let acceptor = tls_acceptor(&args)?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://127.0.0.1:{port}");
    std::io::stdout().flush()?;
    let defaults = Shape {
        json_bytes: args.json_bytes,
        events: args.events,
        gap_ms: args.gap_ms,
    };
    let default_json = Bytes::from(json_reply(defaults.json_bytes));
    let shared = Arc::new((defaults, default_json));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            // Out of descriptors under load: wait instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        serve_connection(tls, shared).await;
                    }
                }
                None => serve_connection(stream, shared).await,
            }
        });
    }
}

/// With `--tls`: a self-signed certificate, written to `--tls-cert`.
fn tls_acceptor(args: &Args) -> anyhow::Result<Option<tokio_rustls::TlsAcceptor>> {
    let (true, Some(path)) = (args.tls, &args.tls_cert) else {
        return Ok(None);
    };
    let (pem, config) = cctap_bench::tls::self_signed_server()?;
    std::fs::write(path, pem).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}

/// Serves HTTP/1.1 keep-alive on one connection, plain or TLS.
async fn serve_connection<S>(io: S, shared: Arc<(Shape, Bytes)>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        async move { handle(req, shared.0, &shared.1).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

async fn handle(
    req: Request<Incoming>,
    defaults: Shape,
    default_json: &Bytes,
) -> Result<Response<Body>, Infallible> {
    let shape = shape_of(&req, defaults);
    let path_ok = req.uri().path().ends_with("/v1/messages");
    // Read the whole request: its bytes must cross the proxy either way.
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    if !path_ok {
        return Ok(reply(404, "application/json", Bytes::from_static(b"{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"bench_upstream serves POST /v1/messages only\"}}")));
    }
    if wants_stream(&body) {
        return Ok(stream_reply(shape));
    }
    let json = if shape.json_bytes == defaults.json_bytes {
        default_json.clone()
    } else {
        Bytes::from(json_reply(shape.json_bytes))
    };
    Ok(reply(200, "application/json", json))
}

fn reply(status: u16, content_type: &str, body: Bytes) -> Response<Body> {
    let mut res = Response::new(Either::Left(Full::new(body)));
    *res.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        res.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    res
}

/// The defaults with the query's and headers' overrides applied.
fn shape_of(req: &Request<Incoming>, mut shape: Shape) -> Shape {
    let mut set = |key: &str, value: &str| {
        let Ok(n) = value.trim().parse::<u64>() else {
            return;
        };
        match key {
            "events" => shape.events = n as usize,
            "gap_ms" => shape.gap_ms = n,
            "json_bytes" => shape.json_bytes = n as usize,
            _ => {}
        }
    };
    for pair in req.uri().query().unwrap_or("").split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            set(k, v);
        }
    }
    for (header, key) in [
        ("x-bench-events", "events"),
        ("x-bench-gap-ms", "gap_ms"),
        ("x-bench-json-bytes", "json_bytes"),
    ] {
        if let Some(v) = req.headers().get(header).and_then(|v| v.to_str().ok()) {
            set(key, v);
        }
    }
    shape
}

/// `"stream": true` anywhere in the body; a byte search rather than a JSON
/// parse, so 300 KiB bodies cost the upstream next to nothing.
fn wants_stream(body: &[u8]) -> bool {
    let key = b"\"stream\":";
    let mut rest = body;
    while let Some(at) = rest.windows(key.len()).position(|w| w == key) {
        let after = &rest[at + key.len()..];
        let value = after
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|i| &after[i..]);
        if value.is_some_and(|v| v.starts_with(b"true")) {
            return true;
        }
        rest = after;
    }
    false
}

/// A Messages API JSON reply padded with text to about `size` bytes.
fn json_reply(size: usize) -> Vec<u8> {
    let head = r#"{"id":"msg_bench_0001","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"text","text":""#;
    let tail = r#""}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":120,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":40}}"#;
    let pad = size.saturating_sub(head.len() + tail.len());
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(head.as_bytes());
    out.extend((0..pad).map(|i| b"lorem ipsum "[i % 12]));
    out.extend_from_slice(tail.as_bytes());
    out
}

/// An SSE reply whose events a task sends one by one, stamped as they go.
fn stream_reply(shape: Shape) -> Response<Body> {
    let (mut tx, body) = Channel::<Bytes>::new(4);
    tokio::spawn(async move {
        let n = shape.events.max(2);
        for i in 0..n {
            if i > 0 && shape.gap_ms > 0 {
                tokio::time::sleep(Duration::from_millis(shape.gap_ms)).await;
            }
            if tx.send_data(Bytes::from(sse_event(i, n))).await.is_err() {
                return; // client gone
            }
        }
    });
    let mut res = Response::new(Either::Right(body));
    let headers = res.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    res
}

/// Event `i` of `n`: message_start, text deltas, message_delta, message_stop.
fn sse_event(i: usize, n: usize) -> String {
    let sent = now_us();
    if i == 0 {
        format!("event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_bench_0001\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-5-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{{\"input_tokens\":120,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}},\"sent_us\":{sent}}}\n\n")
    } else if i == n - 1 {
        format!("event: message_stop\ndata: {{\"type\":\"message_stop\",\"sent_us\":{sent}}}\n\n")
    } else if i == n - 2 {
        format!("event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{}}},\"sent_us\":{sent}}}\n\n", n)
    } else {
        format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"word{i} \"}},\"sent_us\":{sent}}}\n\n")
    }
}

//! bench_proxy: the floor of `record`'s design on this machine. A reverse
//! proxy built the way `record` is (tokio's multi-threaded runtime, hyper 1
//! HTTP/1.1 server, pooled keep-alive HTTP/1.1 client, bodies streamed
//! frame by frame) that records nothing. Its row in `bench_run` says how
//! much of `record`'s cost is proxying itself, and how much is recording.
//!
//! ```sh
//! bench_proxy --upstream 127.0.0.1:8001 -p 8002
//! ```

use anyhow::Context;
use clap::Parser;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::io::Write;

/// A recording-free reverse proxy for benchmarks (loopback only).
#[derive(Debug, Parser)]
struct Args {
    /// The upstream's HOST:PORT (plain HTTP).
    #[arg(long)]
    upstream: String,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(short = 'p', long, default_value_t = 0)]
    port: u16,
    /// One upstream connection per client connection, its hyper driver in
    /// a task of its own, instead of hyper-util's pooled client. Nearer to
    /// record, whose own small pool lends each exchange an idle connection
    /// and spawns each connection's driver the same way.
    #[arg(long)]
    per_connection: bool,
}

type Body = http_body_util::combinators::BoxBody<bytes::Bytes, hyper::Error>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        tokio::select! {
            served = serve(args) => served,
            () = stopped() => Ok(()),
        }
    })
}

/// SIGINT or SIGTERM. Handled rather than left to the default action:
/// `bench/run.sh` starts bench_run in the background, where a shell leaves
/// SIGINT ignored for everything started from there.
async fn stopped() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .context("cannot bind 127.0.0.1")?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new()).build_http();
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let client = client.clone();
        let upstream = args.upstream.clone();
        if args.per_connection {
            tokio::spawn(serve_per_connection(tcp, upstream));
            continue;
        }
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                forward(client.clone(), upstream.clone(), req)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

/// `--per-connection`: the client connection with an upstream connection
/// of its own.
async fn serve_per_connection(tcp: tokio::net::TcpStream, upstream: String) {
    let Ok(up) = tokio::net::TcpStream::connect(&upstream).await else {
        eprintln!("bench_proxy: cannot connect to {upstream}");
        return;
    };
    let _ = up.set_nodelay(true);
    let Ok((send, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(up)).await else {
        return;
    };
    let send = std::sync::Arc::new(std::sync::Mutex::new(send));
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let (parts, body) = req.into_parts();
        // Requests on one connection come one at a time: the lock is never
        // contended, and the future it hands out does not borrow the sender.
        let sent = send
            .lock()
            .expect("not poisoned")
            .send_request(Request::from_parts(parts, body.boxed()));
        async move { sent.await.map(|response| response.map(BodyExt::boxed)) }
    });
    // Its own task, as record's pool does: driving it from this task
    // instead measured 3-26% slower (bench/README.md, eighth sitting).
    tokio::spawn(conn);
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tcp), service)
        .await;
}

/// Sends the request on to the upstream and streams its answer back.
async fn forward(
    client: Client<HttpConnector, Body>,
    upstream: String,
    req: Request<Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("http://{upstream}{path}")
        .parse::<Uri>()
        .unwrap_or_default();
    let request = Request::from_parts(parts, body.boxed());
    match client.request(request).await {
        Ok(response) => Ok(response.map(BodyExt::boxed)),
        Err(e) => {
            eprintln!("bench_proxy: upstream failed: {e}");
            let mut response = Response::new(
                http_body_util::Full::new(bytes::Bytes::from_static(b"upstream failed\n"))
                    .map_err(|never| match never {})
                    .boxed(),
            );
            *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            Ok(response)
        }
    }
}

//! The fake upstream's server side: accept on loopback, optional TLS, one
//! hyper HTTP/1.1 connection per socket, and the request handler that logs
//! each request before answering it.

use super::behaviour::{Behaviour, BEHAVIOUR_HEADER};
use super::capture::{CaptureIo, HeadCapture};
use super::messages::Usage;
use super::respond::{self, AnswerBody, Asked};
use super::{RecordedRequest, Shared};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Accepts connections until the task is aborted.
pub async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors and the like: back off, don't spin.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let connection = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve(stream, connection, shared).await,
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve(stream, connection, shared).await;
                    }
                }
            }
        });
    }
}

async fn serve<S>(stream: S, connection: u64, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let capture = HeadCapture::default();
    let io = TokioIo::new(CaptureIo::new(stream, capture.clone()));
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        let capture = capture.clone();
        async move {
            Ok::<_, std::convert::Infallible>(handle(request, connection, &shared, &capture).await)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

async fn handle(
    request: Request<Incoming>,
    connection: u64,
    shared: &Arc<Shared>,
    capture: &HeadCapture,
) -> Response<AnswerBody> {
    let headers = capture
        .take_head()
        .unwrap_or_else(|| lowercase_headers(&request));
    let (parts, body) = request.into_parts();
    let behaviour_text = parts
        .headers
        .get(BEHAVIOUR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let behaviour = match &behaviour_text {
        Some(text) => match Behaviour::parse(text) {
            Ok(b) => b,
            Err(e) => return plain(StatusCode::BAD_REQUEST, e.to_string()),
        },
        None => shared.behaviour.clone(),
    };
    let body = if behaviour.early {
        first_chunk(body).await
    } else {
        body.collect().await.map(|c| c.to_bytes())
    };
    let body = match body {
        Ok(bytes) => bytes,
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("fake upstream: cannot read body: {e}"),
            )
        }
    };
    capture.clear();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    let usage = Usage::for_request(&body, &shared.reply);
    let number = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let asked = Asked {
        path: &path,
        body: &body,
        content_type,
        usage,
        number,
    };
    let response = respond::answer(shared, &asked, &behaviour);
    shared.log(RecordedRequest {
        method: parts.method.to_string(),
        path,
        version: format!("{:?}", parts.version),
        headers,
        body,
        usage,
        behaviour: behaviour_text.unwrap_or_default(),
        connection,
        number,
    });
    // Logged first, so a test sees the request arrive before the silence.
    if let Some(hold) = behaviour.head_after {
        tokio::time::sleep(hold).await;
    }
    response
}

/// The first data frame of a body; the rest is drained in the background so
/// the answer can go out while the client is still sending.
async fn first_chunk(mut body: Incoming) -> Result<Bytes, hyper::Error> {
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            tokio::spawn(async move { body.collect().await.map(|_| ()) });
            return Ok(data);
        }
    }
    Ok(Bytes::new())
}

fn lowercase_headers(request: &Request<Incoming>) -> Vec<(String, String)> {
    request
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn plain(status: StatusCode, text: String) -> Response<AnswerBody> {
    let mut response = Response::new(
        Full::new(Bytes::from(text))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response
}

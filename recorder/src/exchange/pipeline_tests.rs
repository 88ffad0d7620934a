//! The whole pipeline in-process, served as `record` serves it
//! ([`app::serve`]): listener → exchange → tee → entry → output, on loopback sockets, read back with the archive crate's reader.
//! (The full suite, through the real binary, is in `tests/e2e`.)

use crate::alarm::Alarms;
use crate::app::{self, Serving};
use crate::exchange::Pipeline;
use crate::io::body::{full, ProxyBody};
use crate::output::{self, Closed};
use crate::route::FrontDoor;
use crate::status::Stats;
use crate::upstream::Pool;
use bytes::Bytes;
use cctap_archive::model::LogHead;
use cctap_archive::{ArchiveReader, Entry};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const LIMIT: Duration = Duration::from_secs(20);
const FAKE_KEY: &str = "sk-ant-api03-FAKEpipelineFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE-AA";

/// A proxy served by [`app::serve`], the way `record` runs it.
struct Proxy {
    addr: SocketAddr,
    /// Stops it; the receiver sent is the "hurry" that ends the grace.
    stop: oneshot::Sender<oneshot::Receiver<()>>,
    serving: JoinHandle<((), Vec<Closed>)>,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn proxy(door: FrontDoor) -> Proxy {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.har");
    let stats = Arc::new(Stats::default());
    let targets = output::Targets {
        har: Some(path.clone()),
        flows: None,
    };
    let (sink, writer) = output::start(&targets, LogHead::new("test", "0"), stats.clone()).unwrap();
    let alarms = Alarms::start();
    let pool =
        matches!(door, FrontDoor::Reverse(_)).then(|| Arc::new(Pool::new(None, alarms.clone())));
    let pipeline = Pipeline::new(pool, sink, true, stats.clone(), alarms);
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<oneshot::Receiver<()>>();
    let stop_future = async move {
        let hurry = stopped.await.unwrap();
        ((), async move {
            let _ = hurry.await;
        })
    };
    let serving = Serving {
        tcp,
        door,
        pipeline,
        writer,
        stats,
        live: None,
    };
    Proxy {
        addr,
        stop,
        serving: tokio::spawn(app::serve(serving, stop_future)),
        path,
        _dir: dir,
    }
}

impl Proxy {
    /// Stops it (cutting off after `grace`) and reads the archive back.
    async fn finish(self, grace: Duration) -> Vec<Entry> {
        let (hurry, hurried) = oneshot::channel();
        self.stop.send(hurried).unwrap();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let _ = hurry.send(());
        });
        let ((), closed) = self.serving.await.unwrap();
        assert!(closed.iter().all(|c| c.error.is_none()), "{closed:?}");
        read_archive(&self.path).0
    }
}

/// The archive's entries, and whether it was cut off (no tail yet).
fn read_archive(path: &std::path::Path) -> (Vec<Entry>, bool) {
    let mut reader = ArchiveReader::open(path).unwrap();
    let entries = reader.by_ref().map(Result::unwrap).collect();
    (entries, reader.cut_off().is_some())
}

async fn client(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<ProxyBody> {
    let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
    let (send, conn) = hyper::client::conn::http1::Builder::new()
        // Title Case on the wire, where hyper's own view is lower case.
        .title_case_headers(true)
        .handshake(io)
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}

fn messages_request(stream: bool) -> http::Request<ProxyBody> {
    let body = format!(r#"{{"model":"m","stream":{stream},"messages":[]}}"#);
    http::Request::post("/v1/messages?beta=true")
        .header("host", "127.0.0.1")
        .header("X-Stainless-Lang", "js")
        .header("x-api-key", FAKE_KEY)
        .header("content-type", "application/json")
        .body(full(body))
        .unwrap()
}

#[tokio::test]
async fn offline_exchanges_on_one_connection_are_archived_with_wire_case_and_redacted() {
    tokio::time::timeout(LIMIT, async {
        let proxy = proxy(FrontDoor::Offline).await;
        let mut send = client(proxy.addr).await;
        for stream in [true, false] {
            send.ready().await.unwrap();
            let res = send.send_request(messages_request(stream)).await.unwrap();
            assert_eq!(res.status(), 200);
            res.into_body().collect().await.unwrap();
        }
        let entries = proxy.finish(Duration::from_secs(2)).await;
        assert_eq!(entries.len(), 2);
        let sse = &entries[0];
        assert_eq!(sse.error, None);
        let names: Vec<&str> = sse
            .har
            .request
            .headers
            .iter()
            .map(|h| h.name.as_str())
            .collect();
        assert!(
            names.contains(&"X-Stainless-Lang"),
            "wire case kept: {names:?}"
        );
        assert_eq!(sse.sse_events.as_ref().map(Vec::len), Some(8));
        let url = &sse.har.request.url;
        assert!(
            url.starts_with("http://127.0.0.1") && url.ends_with("/v1/messages?beta=true"),
            "{url}"
        );
        let key = sse.request_header("x-api-key").unwrap();
        assert!(key.starts_with("redacted:sk-ant-api03:"), "{key}");
        assert!(entries[1].sse_events.is_none());
        assert!(entries[1].response_text().unwrap().contains("offline mode"));
    })
    .await
    .unwrap();
}

/// A body fed from a channel: frames arrive when the test sends them.
struct RxBody(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for RxBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.get_mut()
            .0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// An upstream that sends one SSE event and then holds the stream open
/// until the proxy lets go of it.
async fn stalling_upstream() -> SocketAddr {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = tcp.accept().await {
            let service = hyper::service::service_fn(|_req| async {
                let (tx, rx) = tokio::sync::mpsc::channel(1);
                tokio::spawn(async move {
                    let _ = tx
                        .send(Bytes::from_static(b"event: ping\ndata: {}\n\n"))
                        .await;
                    tx.closed().await;
                });
                let mut res = http::Response::new(RxBody(rx));
                res.headers_mut().insert(
                    "content-type",
                    http::HeaderValue::from_static("text/event-stream"),
                );
                Ok::<_, std::convert::Infallible>(res)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(sock), service);
            tokio::spawn(conn);
        }
    });
    addr
}

async fn reverse_proxy_to_stalling_upstream() -> Proxy {
    let up = stalling_upstream().await;
    let base = format!("http://{up}/api").parse().unwrap();
    proxy(FrontDoor::Reverse(base)).await
}

/// Sends a streaming request and waits for the first event.
async fn first_event(
    send: &mut hyper::client::conn::http1::SendRequest<ProxyBody>,
) -> hyper::body::Incoming {
    let res = send.send_request(messages_request(true)).await.unwrap();
    let mut body = res.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "event: ping\ndata: {}\n\n");
    body
}

#[tokio::test]
async fn a_client_gone_mid_stream_still_yields_its_entry() {
    tokio::time::timeout(LIMIT, async {
        let proxy = reverse_proxy_to_stalling_upstream().await;
        let mut send = client(proxy.addr).await;
        let body = first_event(&mut send).await;
        drop(body);
        drop(send);
        let entries = proxy.finish(Duration::from_secs(5)).await;
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.error.as_deref(), Some("client went away mid-stream"));
        assert!(
            e.har.request.url.ends_with("/api/v1/messages?beta=true"),
            "{}",
            e.har.request.url
        );
        assert_eq!(
            e.sse_events.as_ref().map(Vec::len),
            Some(1),
            "what arrived is kept"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn shutdown_cuts_off_a_stream_that_does_not_end() {
    tokio::time::timeout(LIMIT, async {
        let proxy = reverse_proxy_to_stalling_upstream().await;
        let mut send = client(proxy.addr).await;
        let _body = first_event(&mut send).await;
        let entries = proxy.finish(Duration::from_millis(200)).await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].error.as_deref(), Some("cut off at shutdown"));
        assert_eq!(entries[0].har.response.status, 200);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn shutdown_stops_accepting_then_drains_then_cuts_off_then_closes_the_archive() {
    tokio::time::timeout(LIMIT, async {
        let proxy = reverse_proxy_to_stalling_upstream().await;
        let mut send = client(proxy.addr).await;
        let _body = first_event(&mut send).await;
        let (hurry, hurried) = oneshot::channel();
        proxy.stop.send(hurried).unwrap();

        // 1. Stop accepting: new connections are refused.
        let refused = async {
            while TcpStream::connect(proxy.addr).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), refused)
            .await
            .expect("the listener closes when the stop comes");

        // 2. Drain: the stream in flight goes on; the archive is still open.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!proxy.serving.is_finished(), "it waits for the stream");
        let (entries, cut_off) = read_archive(&proxy.path);
        assert_eq!((entries.len(), cut_off), (0, true), "no entry, no tail yet");

        // 3. Hurry: the stream is cut off, its entry written, then the tail.
        hurry.send(()).unwrap();
        let ((), closed) = proxy.serving.await.unwrap();
        assert_eq!(closed.len(), 1);
        assert!(closed[0].error.is_none(), "{closed:?}");
        assert_eq!(closed[0].written, 1);
        let (entries, cut_off) = read_archive(&proxy.path);
        assert!(!cut_off, "the archive ends with its tail");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].error.as_deref(), Some("cut off at shutdown"));
    })
    .await
    .unwrap();
}

//! An upstream that answers every request with fixed, broken bytes: not
//! HTTP at all (what a misconfigured port, say an SSH server, gives a
//! proxy), a stream whose chunked framing breaks, or a body shorter than
//! its `content-length`, a stream cut by a TCP reset (RST, not FIN), or
//! silence.

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// No status line, a NUL, then the connection closes.
pub const GARBAGE: &[u8] = b"SSH-2.0-OpenSSH_9.6 \x00\x01\x02 not http\r\n\r\n";

/// A streaming answer whose second chunk has no valid size line.
pub const BROKEN_CHUNKS: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
transfer-encoding: chunked\r\n\r\n\
29\r\nevent: message_start\ndata: {\"type\":\"x\"}\n\n\r\n\
zz\r\nnot a chunk size\r\n";

/// Nothing at all: the connection is held open, silent, until the proxy
/// closes it (an upstream that hangs before its response head).
pub const SILENCE: &[u8] = b"";

/// A stream's head and first event; [`RawUpstream::start_then_reset`]
/// follows it with a TCP RST.
pub const STREAM_START: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
transfer-encoding: chunked\r\n\r\n\
29\r\nevent: message_start\ndata: {\"type\":\"x\"}\n\n\r\n";

/// A JSON answer promising 1000 bytes and sending 12 before closing.
pub const SHORT_BODY: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
content-length: 1000\r\n\r\n{\"partial\": ";

/// A listening garbage server; stops when dropped.
pub struct RawUpstream {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl RawUpstream {
    /// Answers `answer` to every request, then closes (FIN).
    pub async fn start(answer: &'static [u8]) -> RawUpstream {
        RawUpstream::serve(answer, false).await
    }

    /// Answers `answer`, then resets the connection (SO_LINGER 0: RST).
    pub async fn start_then_reset(answer: &'static [u8]) -> RawUpstream {
        RawUpstream::serve(answer, true).await
    }

    async fn serve(answer: &'static [u8], reset: bool) -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind raw upstream");
        let addr = listener.local_addr().expect("raw upstream address");
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    // Wait for the request head so the proxy has begun its
                    // exchange, then answer garbage and close.
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    if answer.is_empty() {
                        while let Ok(n) = sock.read(&mut buf).await {
                            if n == 0 {
                                return;
                            }
                        }
                        return;
                    }
                    let _ = sock.write_all(answer).await;
                    if reset {
                        // Let the bytes go out first, then drop with linger 0.
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        // Deprecated because a non-zero linger blocks on
                        // drop; zero sends the RST at once.
                        #[allow(deprecated)]
                        let _ = sock.set_linger(Some(std::time::Duration::ZERO));
                        drop(sock);
                        return;
                    }
                    let _ = sock.shutdown().await;
                });
            }
        });
        RawUpstream { addr, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

//! An upstream that answers every request with bytes that are not HTTP: what
//! a misconfigured port (a database, an SSH server) gives a proxy.

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What it answers: no status line, a NUL, then the connection closes.
pub const GARBAGE: &[u8] = b"SSH-2.0-OpenSSH_9.6 \x00\x01\x02 not http\r\n\r\n";

/// A listening garbage server; stops when dropped.
pub struct RawUpstream {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl RawUpstream {
    pub async fn start() -> RawUpstream {
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
                    let _ = sock.write_all(GARBAGE).await;
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

//! The first request on a forward proxy connection: CONNECT or not.
//!
//! Read by hand rather than by hyper so that the `200` that opens a tunnel
//! (or the `502` when an ignored host cannot be reached) is exactly ours,
//! whatever `Connection` header the client sent with its CONNECT.

use bytes::{Bytes, BytesMut};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A request head larger than this is not a CONNECT; hyper judges it.
const MAX_HEAD: usize = 64 * 1024;
/// How long a client may take to send its first request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// What the connection opened with.
#[derive(Debug, PartialEq)]
pub enum FirstRequest {
    /// `CONNECT host:port`; `rest` is what followed the head.
    Connect {
        host: String,
        port: u16,
        rest: Bytes,
    },
    /// Anything else: every byte read so far, for hyper to serve.
    Other(Bytes),
}

/// Reads until the first request head is complete (or clearly not a
/// CONNECT). `None`: the client closed without sending anything.
pub async fn read_first<IO: AsyncRead + Unpin>(io: &mut IO) -> io::Result<Option<FirstRequest>> {
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        if io.read_buf(&mut buf).await? == 0 {
            return Ok((!buf.is_empty()).then(|| FirstRequest::Other(buf.freeze())));
        }
        if !b"CONNECT ".starts_with(&buf[..buf.len().min(8)]) || buf.len() > MAX_HEAD {
            return Ok(Some(FirstRequest::Other(buf.freeze())));
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(n)) => {
                let target = req.path.and_then(split_authority);
                let Some((host, port)) = target else {
                    return Ok(Some(FirstRequest::Other(buf.freeze())));
                };
                let rest = buf.split_off(n).freeze();
                return Ok(Some(FirstRequest::Connect { host, port, rest }));
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => return Ok(Some(FirstRequest::Other(buf.freeze()))),
        }
    }
}

/// `host:port` or `[v6]:port` → host without brackets, port.
pub fn split_authority(authority: &str) -> Option<(String, u16)> {
    let (host, port) = authority.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// Opens the tunnel.
pub async fn answer_established<IO: AsyncWrite + Unpin>(io: &mut IO) -> io::Result<()> {
    io.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    io.flush().await
}

/// Refuses the CONNECT with a 502 whose body says why, and closes.
pub async fn answer_bad_gateway<IO: AsyncWrite + Unpin>(
    io: &mut IO,
    reason: &str,
) -> io::Result<()> {
    let body = format!("cctap: {reason}\n");
    let head = format!(
        "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    io.write_all(head.as_bytes()).await?;
    io.write_all(body.as_bytes()).await?;
    io.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn first(bytes: &[u8]) -> Option<FirstRequest> {
        let mut io = bytes;
        read_first(&mut io).await.unwrap()
    }

    #[tokio::test]
    async fn connect_heads_give_host_port_and_what_followed() {
        let got = first(
            b"CONNECT [::1]:443 HTTP/1.1\r\nhost: [::1]:443\r\nconnection: close\r\n\r\n\x16\x03",
        )
        .await;
        assert_eq!(
            got,
            Some(FirstRequest::Connect {
                host: "::1".into(),
                port: 443,
                rest: Bytes::from_static(b"\x16\x03"),
            })
        );
        let got = first(b"CONNECT localhost:8443 HTTP/1.1\r\n\r\n").await;
        assert!(matches!(
            got,
            Some(FirstRequest::Connect { port: 8443, .. })
        ));
    }

    #[tokio::test]
    async fn everything_else_is_handed_on_whole() {
        let get = b"GET http://x/ HTTP/1.1\r\nhost: x\r\n\r\n";
        assert_eq!(
            first(get).await,
            Some(FirstRequest::Other(Bytes::from_static(get)))
        );
        assert_eq!(
            first(b"CONNECT nope HTTP/1.1\r\n\r\n")
                .await
                .map(|f| matches!(f, FirstRequest::Other(_))),
            Some(true)
        );
        assert_eq!(first(b"").await, None);
        assert_eq!(
            first(b"CONN").await,
            Some(FirstRequest::Other(Bytes::from_static(b"CONN")))
        );
    }
}

//! `-m upstream:URL`: reaching servers through another HTTP proxy.
//!
//! Every upstream connection (intercepted or passed through) is a CONNECT
//! tunnel through that proxy, for plain HTTP too: one way for everything,
//! and the far proxy sees a tunnel as it would from the client itself.

use crate::route::Origin;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A proxy's response head larger than this is not one.
const MAX_HEAD: usize = 16 * 1024;
/// How long the proxy may take to answer the CONNECT.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the upstream proxy gave no tunnel.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    #[error("the upstream proxy {proxy} refused CONNECT {target}: {status}")]
    Refused {
        proxy: String,
        target: String,
        status: String,
    },
    #[error("the upstream proxy {proxy} sent no valid answer to CONNECT {target}")]
    Garbled { proxy: String, target: String },
    #[error(
        "the upstream proxy {proxy} did not answer CONNECT {target} within {ANSWER_TIMEOUT:?}"
    )]
    Timeout { proxy: String, target: String },
    #[error("the upstream proxy {proxy} closed the connection: {source}")]
    Io { proxy: String, source: io::Error },
}

/// `host:port` as a CONNECT line names it.
pub fn connect_authority(origin: &Origin) -> String {
    if origin.host.contains(':') {
        format!("[{}]:{}", origin.host, origin.port)
    } else {
        format!("{}:{}", origin.host, origin.port)
    }
}

/// Asks the proxy on `stream` for a tunnel to `target`. Reads the answer a
/// byte at a time so that nothing after its head is taken from the tunnel.
pub async fn open_tunnel<S>(
    stream: &mut S,
    proxy: &Origin,
    target: &Origin,
) -> Result<(), TunnelError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let authority = connect_authority(target);
    let names = || (proxy.authority(), authority.clone());
    let io_err = |source| TunnelError::Io {
        proxy: proxy.authority(),
        source,
    };
    let request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(io_err)?;
    let head = tokio::time::timeout(ANSWER_TIMEOUT, read_head(stream))
        .await
        .map_err(|_| {
            let (proxy, target) = names();
            TunnelError::Timeout { proxy, target }
        })?
        .map_err(io_err)?;
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    match (response.parse(&head), response.code) {
        (Ok(httparse::Status::Complete(_)), Some(code)) if (200..300).contains(&code) => Ok(()),
        (Ok(httparse::Status::Complete(_)), Some(code)) => {
            let (proxy, target) = names();
            let status = format!("{code} {}", response.reason.unwrap_or(""));
            Err(TunnelError::Refused {
                proxy,
                target,
                status,
            })
        }
        _ => {
            let (proxy, target) = names();
            Err(TunnelError::Garbled { proxy, target })
        }
    }
}

async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(128);
    while !head.ends_with(b"\r\n\r\n") && head.len() < MAX_HEAD {
        let byte = stream.read_u8().await?;
        head.push(byte);
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(host: &str, port: u16) -> Origin {
        Origin {
            tls: false,
            host: host.into(),
            port,
        }
    }

    #[tokio::test]
    async fn asks_for_the_tunnel_and_reads_only_the_head() {
        let (mut ours, mut theirs) = tokio::io::duplex(4096);
        let proxy = tokio::spawn(async move {
            let mut got = vec![0u8; 64];
            let n = theirs.read(&mut got).await.unwrap();
            theirs
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\nafter")
                .await
                .unwrap();
            String::from_utf8_lossy(&got[..n]).into_owned()
        });
        open_tunnel(&mut ours, &origin("corp", 3128), &origin("::1", 443))
            .await
            .unwrap();
        assert!(proxy
            .await
            .unwrap()
            .starts_with("CONNECT [::1]:443 HTTP/1.1\r\n"));
        let mut after = [0u8; 5];
        ours.read_exact(&mut after).await.unwrap();
        assert_eq!(&after, b"after");
    }

    #[tokio::test]
    async fn a_refusal_names_the_status() {
        let (mut ours, mut theirs) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut got = vec![0u8; 64];
            let _ = theirs.read(&mut got).await;
            let _ = theirs.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
        });
        let err = open_tunnel(&mut ours, &origin("corp", 3128), &origin("x", 443))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the upstream proxy corp:3128 refused CONNECT x:443: 403 Forbidden"
        );
    }
}

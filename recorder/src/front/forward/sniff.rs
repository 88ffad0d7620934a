//! What a CONNECT tunnel carries, judged from its first bytes.
//!
//! A TLS record starts with content type 22 (handshake); an HTTP/1 request
//! with an upper-case method and a space. Anything else (another protocol,
//! garbage) is refused with a log line rather than guessed at.

use bytes::{Bytes, BytesMut};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The longest method we wait for (`PROPPATCH`, `M-SEARCH` are shorter).
const MAX_METHOD: usize = 20;

/// The verdict on a tunnel's first bytes.
#[derive(Debug, PartialEq)]
pub enum Carries {
    Tls,
    Http,
    /// Neither; the bytes are kept for the log line.
    Other,
    /// The client closed the tunnel without sending anything.
    Nothing,
}

/// Reads from `io` (after `already`, the bytes that followed the CONNECT
/// head) until the first bytes decide; returns the verdict and every byte
/// read, to be replayed.
pub async fn sniff<IO: AsyncRead + Unpin>(
    io: &mut IO,
    already: Bytes,
) -> io::Result<(Carries, Bytes)> {
    let mut buf = BytesMut::from(&already[..]);
    loop {
        if let Some(verdict) = judge(&buf) {
            return Ok((verdict, buf.freeze()));
        }
        if io.read_buf(&mut buf).await? == 0 {
            let verdict = if buf.is_empty() {
                Carries::Nothing
            } else {
                Carries::Other
            };
            return Ok((verdict, buf.freeze()));
        }
    }
}

/// `None` while the bytes so far could still be either.
fn judge(bytes: &[u8]) -> Option<Carries> {
    let first = *bytes.first()?;
    if first == 0x16 {
        return Some(Carries::Tls);
    }
    for (i, &b) in bytes.iter().enumerate().take(MAX_METHOD + 1) {
        match b {
            b'A'..=b'Z' | b'-' => {}
            b' ' if i > 0 => return Some(Carries::Http),
            _ => return Some(Carries::Other),
        }
    }
    (bytes.len() > MAX_METHOD).then_some(Carries::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tls_http_and_garbage() {
        let cases: [(&[u8], &[u8], Carries); 6] = [
            (b"", b"\x16\x03\x01\x02\x00", Carries::Tls),
            (b"PO", b"ST /v1/messages HTTP/1.1\r\n", Carries::Http),
            (b"", b"GET / HTTP/1.1\r\n", Carries::Http),
            (b"", b"\x00\x01garbage", Carries::Other),
            (b"", b"SSH-2.0-OpenSSH_9.6\r\n", Carries::Other),
            (b"", b"", Carries::Nothing),
        ];
        for (already, mut rest, want) in cases {
            let (got, bytes) = sniff(&mut rest, Bytes::copy_from_slice(already))
                .await
                .unwrap();
            assert_eq!(got, want, "{already:?} {rest:?}");
            assert!(bytes.starts_with(already));
        }
        let mut long: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        assert_eq!(
            sniff(&mut long, Bytes::new()).await.unwrap().0,
            Carries::Other
        );
    }
}

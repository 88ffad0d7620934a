//! TLS for the CONNECT+TLS rows: the upstream's self-signed certificate, the
//! client's trust in a proxy's (or that upstream's) CA, and opening a
//! connection as a forward-proxy client does: `CONNECT` tunnel, then TLS.
//! Ring is the provider everywhere in the workspace, so it is named here
//! rather than left to a process-wide default.

use anyhow::{bail, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// The only ALPN protocol offered and accepted: the rows compare HTTP/1.1.
const ALPN: &[u8] = b"http/1.1";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A self-signed certificate for 127.0.0.1 and localhost: its PEM (for
/// clients to trust) and a server config that presents it.
pub fn self_signed_server() -> anyhow::Result<(String, rustls::ServerConfig)> {
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names)
        .context("cannot generate the upstream's self-signed certificate")?;
    let pem = certified.cert.pem();
    let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der())
        .map_err(|e| anyhow::anyhow!("cannot use the generated key: {e}"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .context("cannot build the upstream's TLS config")?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok((pem, config))
}

/// A client config that trusts exactly the certificates in the PEM file `ca`.
pub fn client_config(ca: &Path) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .with_context(|| format!("cannot read CA certificates from {}", ca.display()))?;
    for cert in certs {
        let cert = cert.with_context(|| format!("bad PEM in {}", ca.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("cannot trust the certificate in {}", ca.display()))?;
    }
    if roots.is_empty() {
        bail!("{} holds no certificate to trust", ca.display());
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// Why a connection could not be opened; the load generator counts each kind.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("TCP connect to {0} failed: {1}")]
    Connect(SocketAddr, std::io::Error),
    #[error("CONNECT through the proxy failed: {0}")]
    Tunnel(String),
    #[error("TLS handshake failed: {0}")]
    Handshake(std::io::Error),
}

/// Opens a TLS connection to 127.0.0.1:`target_port`, through a `CONNECT`
/// tunnel of the proxy at 127.0.0.1:`proxy_port` when one is given.
pub async fn open(
    connector: &TlsConnector,
    proxy_port: Option<u16>,
    target_port: u16,
) -> Result<TlsStream<TcpStream>, OpenError> {
    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let first = SocketAddr::new(localhost, proxy_port.unwrap_or(target_port));
    let mut sock = TcpStream::connect(first)
        .await
        .map_err(|e| OpenError::Connect(first, e))?;
    let _ = sock.set_nodelay(true);
    if proxy_port.is_some() {
        tunnel(&mut sock, target_port).await?;
    }
    connector
        .connect(ServerName::IpAddress(localhost.into()), sock)
        .await
        .map_err(OpenError::Handshake)
}

/// `CONNECT 127.0.0.1:PORT`, then the proxy's reply head, which must be 200.
async fn tunnel(sock: &mut TcpStream, port: u16) -> Result<(), OpenError> {
    let head = format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let io = |e: std::io::Error| OpenError::Tunnel(e.to_string());
    sock.write_all(head.as_bytes()).await.map_err(io)?;
    // Byte by byte: nothing after the head may be consumed (the TLS
    // handshake follows), and this happens once per connection.
    let mut reply = Vec::with_capacity(128);
    while !reply.ends_with(b"\r\n\r\n") {
        if reply.len() > 8192 {
            return Err(OpenError::Tunnel("reply head over 8 KiB".into()));
        }
        let byte = sock.read_u8().await.map_err(io)?;
        reply.push(byte);
    }
    let text = String::from_utf8_lossy(&reply);
    let status = text.lines().next().unwrap_or_default();
    match status.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        _ => Err(OpenError::Tunnel(format!("proxy answered {status:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::net::TcpListener;

    const LIMIT: Duration = Duration::from_secs(10);

    /// The upstream's certificate is trusted by a client given its PEM, and
    /// a tunnel the proxy refuses is reported as such.
    #[tokio::test]
    async fn direct_handshake_and_refused_tunnel() {
        let dir = std::env::temp_dir().join(format!("cctap-bench-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (pem, server) = self_signed_server().expect("cert");
        let ca = dir.join("up.pem");
        std::fs::write(&ca, pem).expect("write");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let tls_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let tls_port = tls_listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (sock, _) = tls_listener.accept().await.expect("accept");
            let mut tls = acceptor.accept(sock).await.expect("server handshake");
            tls.write_all(b"hi").await.expect("write");
            tls.flush().await.expect("flush");
        });
        let connector = TlsConnector::from(Arc::new(client_config(&ca).expect("config")));
        let mut tls = tokio::time::timeout(LIMIT, open(&connector, None, tls_port))
            .await
            .expect("in time")
            .expect("handshake");
        let mut got = [0u8; 2];
        tls.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"hi");

        let proxy = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxy_port = proxy.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (mut sock, _) = proxy.accept().await.expect("accept");
            let mut head = [0u8; 256];
            let _ = sock.read(&mut head).await;
            let _ = sock
                .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                .await;
        });
        let err = tokio::time::timeout(LIMIT, open(&connector, Some(proxy_port), tls_port))
            .await
            .expect("in time")
            .expect_err("refused");
        assert!(
            matches!(&err, OpenError::Tunnel(t) if t.contains("403")),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Clients of a forward proxy, for forward mode's tests: a raw `CONNECT`,
//! TLS over the tunnel trusting chosen CAs only, HTTP/1 and HTTP/2 on top,
//! curl with a time limit, and a CA made by `openssl` in mitmproxy's layout.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Why a proxy client step failed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyClientError {
    #[error("I/O with the proxy: {0}")]
    Io(#[from] std::io::Error),
    #[error("the proxy answered CONNECT with {0:?}")]
    Refused(String),
    #[error("cannot read CA file {0}")]
    Ca(String),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("{0} timed out")]
    Timeout(&'static str),
    #[error("cannot run {0}: {1}")]
    Spawn(String, std::io::Error),
}

/// Sends `CONNECT authority` to the proxy at `proxy`; returns the tunnel
/// once it answered 2xx, or the status line it answered with.
pub async fn connect_tunnel(
    proxy: SocketAddr,
    authority: &str,
) -> Result<TcpStream, ProxyClientError> {
    let mut stream = TcpStream::connect(proxy).await?;
    let head =
        format!("CONNECT {authority} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(Duration::from_secs(20), stream.read_u8())
            .await
            .map_err(|_| ProxyClientError::Timeout("CONNECT answer"))??;
        answer.push(byte);
    }
    let line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    if line.starts_with("HTTP/1.1 2") {
        Ok(stream)
    } else {
        Err(ProxyClientError::Refused(line))
    }
}

/// TLS over `io` to `server_name` (an IP literal sends no SNI), trusting only
/// the certificates in `ca_files`, offering `alpn`.
pub async fn tls_over<IO>(
    io: IO,
    server_name: &str,
    ca_files: &[&Path],
    alpn: &[&[u8]],
) -> Result<TlsStream<IO>, ProxyClientError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut roots = rustls::RootCertStore::empty();
    for file in ca_files {
        let certs = CertificateDer::pem_file_iter(file)
            .map_err(|_| ProxyClientError::Ca(file.display().to_string()))?;
        for cert in certs.flatten() {
            roots
                .add(cert)
                .map_err(|_| ProxyClientError::Ca(file.display().to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProxyClientError::Io(std::io::Error::other(e)))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = ServerName::try_from(server_name.to_owned())
        .map_err(|e| ProxyClientError::Io(std::io::Error::other(e)))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    Ok(connector.connect(name, io).await?)
}

/// One connection that sends several requests: HTTP/1.1 or HTTP/2.
pub enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    /// HTTP/1.1 on `io`.
    pub async fn http1<IO>(io: IO) -> Result<Sender, ProxyClientError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
        tokio::spawn(conn);
        Ok(Sender::H1(send))
    }

    /// HTTP/2 on `io` (after ALPN `h2`).
    pub async fn http2<IO>(io: IO) -> Result<Sender, ProxyClientError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io)).await?;
        tokio::spawn(conn);
        Ok(Sender::H2(send))
    }

    /// POSTs `body` to `url` (absolute for HTTP/2, whose `:authority` it
    /// gives; its path and `host` for HTTP/1.1); returns status and body.
    pub async fn post(
        &mut self,
        url: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Result<(u16, String), ProxyClientError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| ProxyClientError::Io(std::io::Error::other(e)))?;
        let mut builder = http::Request::post(match self {
            Sender::H1(_) => uri
                .path_and_query()
                .map_or("/".to_owned(), |p| p.to_string()),
            Sender::H2(_) => url.to_owned(),
        });
        if let (Sender::H1(_), Some(authority)) = (&*self, uri.authority()) {
            builder = builder.header("host", authority.as_str());
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| ProxyClientError::Io(std::io::Error::other(e)))?;
        // Wait for the previous exchange to release the connection.
        let response = match self {
            Sender::H1(send) => {
                send.ready().await?;
                send.send_request(request).await?
            }
            Sender::H2(send) => {
                send.ready().await?;
                send.send_request(request).await?
            }
        };
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// Runs curl with `args`, no proxy or CA from the environment, at most
/// `limit`.
pub async fn curl(args: &[&str], limit: Duration) -> Result<Output, ProxyClientError> {
    let run = tokio::process::Command::new("curl")
        .args(args)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("CURL_CA_BUNDLE")
        .env_remove("SSL_CERT_FILE")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(limit, run)
        .await
        .map_err(|_| ProxyClientError::Timeout("curl"))?
        .map_err(|e| ProxyClientError::Spawn("curl".into(), e))
}

/// True when a program answers `--version` (curl, openssl).
pub fn have(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok()
}

/// A CA made by `openssl`, written as mitmproxy lays it out: `mitmproxy-ca.pem`
/// (key, then certificate) and `mitmproxy-ca-cert.pem`. Returns both paths.
pub fn openssl_ca(dir: &Path) -> Result<(PathBuf, PathBuf), ProxyClientError> {
    let key = dir.join("openssl-key.pem");
    let cert = dir.join("mitmproxy-ca-cert.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=openssl test CA/O=cctap tests",
        ])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .map_err(|e| ProxyClientError::Spawn("openssl".into(), e))?;
    if !out.status.success() {
        return Err(ProxyClientError::Spawn(
            "openssl".into(),
            std::io::Error::other(String::from_utf8_lossy(&out.stderr).into_owned()),
        ));
    }
    let both = dir.join("mitmproxy-ca.pem");
    let mut text = std::fs::read(&key)?;
    text.extend(std::fs::read(&cert)?);
    std::fs::write(&both, text)?;
    Ok((both, cert))
}

//! Test helpers: a real TLS handshake over loopback TCP between a leaf's server config and a
//! rustls client that trusts only a given CA PEM; plus running `openssl` when it is installed.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// What both ends saw in a completed handshake.
#[derive(Debug)]
pub struct Handshake {
    /// SNI as the server received it (`None` for IP literals: clients send none).
    pub sni: Option<String>,
    /// ALPN protocol both agreed on.
    pub alpn: Option<Vec<u8>>,
    /// The chain the client received, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
}

/// Runs one handshake plus a ping/pong over 127.0.0.1; `Err` carries the client's error.
pub async fn handshake(
    server: Arc<ServerConfig>,
    trusted_ca_pem: &str,
    name: &str,
    offer: &[&[u8]],
) -> Result<Handshake, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let acceptor = TlsAcceptor::from(server);
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        let sni = tls.get_ref().1.server_name().map(str::to_string);
        let mut ping = [0u8; 4];
        tls.read_exact(&mut ping).await.map_err(|e| e.to_string())?;
        tls.write_all(b"pong").await.map_err(|e| e.to_string())?;
        tls.shutdown().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((sni, ping))
    });

    let client = async {
        let connector = TlsConnector::from(Arc::new(client_config(trusted_ca_pem, offer)?));
        let server_name = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let mut tls = connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        let mut pong = Vec::new();
        tls.read_to_end(&mut pong)
            .await
            .map_err(|e| e.to_string())?;
        let conn = tls.get_ref().1;
        let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
        let chain = conn.peer_certificates().unwrap_or_default().to_vec();
        Ok::<_, String>((pong, alpn, chain))
    };
    let bounded = tokio::time::timeout(Duration::from_secs(10), client).await;
    let client_result = bounded.map_err(|_| "client timed out".to_string())?;
    let (pong, alpn, chain) = match client_result {
        Ok(ok) => ok,
        Err(e) => {
            server_task.abort();
            return Err(e);
        }
    };
    let joined = tokio::time::timeout(Duration::from_secs(10), server_task).await;
    let (sni, ping) = joined
        .map_err(|_| "server timed out".to_string())?
        .map_err(|e| e.to_string())??;
    assert_eq!((&ping, pong.as_slice()), (b"ping", b"pong".as_slice()));
    Ok(Handshake { sni, alpn, chain })
}

/// A rustls client (ring provider) whose only root is the CA in `ca_pem`.
fn client_config(ca_pem: &str, offer: &[&[u8]]) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = offer.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// True when an `openssl` binary runs. Tests that need it print why they skip otherwise.
pub fn have_openssl() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: openssl not on PATH");
    }
    found
}

/// Runs `openssl ARGS` in `dir`, panicking with its stderr on failure; returns stdout.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Serves `count` HTTPS requests on 127.0.0.1 with `server`, answering `200 ok` to each;
/// returns the port. The task ends after `count` connections or 20 s.
pub async fn serve_https(server: Arc<ServerConfig>, count: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = TlsAcceptor::from(server);
    tokio::spawn(tokio::time::timeout(Duration::from_secs(20), async move {
        for _ in 0..count {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && tls.read_exact(&mut byte).await.is_ok() {
                head.push(byte[0]);
            }
            let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
            let _ = tls.write_all(reply).await;
            let _ = tls.shutdown().await;
        }
    }));
    port
}

/// Runs `program ARGS` with `env` for at most 20 s; `None` when the program is not installed.
pub async fn run_client(
    program: &str,
    args: &[&str],
    env: &[(&str, &Path)],
) -> Option<std::process::Output> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).kill_on_drop(true);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let bounded = tokio::time::timeout(Duration::from_secs(20), cmd.output()).await;
    match bounded.expect("client timed out") {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: {program} not on PATH");
            None
        }
        Err(e) => panic!("cannot run {program}: {e}"),
    }
}

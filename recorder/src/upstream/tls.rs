//! Which upstream TLS servers to believe.
//!
//! The system's roots (rustls-native-certs, falling back to the bundled
//! webpki roots when the system has none), plus `--upstream-ca`; or nothing
//! at all with `--ssl-insecure`. A server certificate given itself in
//! `--upstream-ca` is believed as curl would ([`super::pinned`]). ALPN offers only `http/1.1`, as Claude Code
//! does, so the upstream connection speaks what the archive records.

use super::pinned::PinnedOrWebPki;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the upstream TLS set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read --upstream-ca {path}: {why}; give a PEM file of CA certificates")]
    CaFile { path: PathBuf, why: String },
    #[error("--upstream-ca {0} holds no usable certificate; give a PEM file of CA certificates")]
    NoCert(PathBuf),
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot set up certificate verification: {0}")]
    Verifier(String),
}

/// The rustls client configuration for upstream connections.
pub fn client_config(
    extra_ca: Option<&Path>,
    insecure: bool,
) -> Result<Arc<ClientConfig>, TrustError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    } else {
        let (roots, pinned) = roots(extra_ca)?;
        if pinned.is_empty() {
            builder.with_root_certificates(roots).with_no_client_auth()
        } else {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TrustError::Verifier(e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedOrWebPki { webpki, pinned }))
                .with_no_client_auth()
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The system's roots plus `--upstream-ca`'s certificates, and those
/// certificates again: a server may present one of them as its own.
fn roots(
    extra_ca: Option<&Path>,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), TrustError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for err in &native.errors {
        tracing::debug!(%err, "skipping a system root certificate source");
    }
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        tracing::debug!("no system roots found, using the bundled webpki roots");
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(path) = extra_ca {
        let ca_err = |why: String| TrustError::CaFile {
            path: path.to_owned(),
            why,
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| ca_err(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| ca_err(e.to_string()))?;
        let (added, _) = roots.add_parsable_certificates(certs.iter().cloned());
        if added == 0 {
            return Err(TrustError::NoCert(path.to_owned()));
        }
        return Ok((roots, certs));
    }
    Ok((roots, Vec::new()))
}

/// `--ssl-insecure`: accepts any certificate, still checks handshake
/// signatures so the connection itself is sound.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ca_file_says_which_flag() {
        let err = client_config(Some(Path::new("/nonexistent/ca.pem")), false).unwrap_err();
        assert!(
            err.to_string()
                .contains("--upstream-ca /nonexistent/ca.pem"),
            "{err}"
        );
    }

    #[test]
    fn offers_only_http1() {
        let c = client_config(None, true).unwrap();
        assert_eq!(c.alpn_protocols, [b"http/1.1".to_vec()]);
    }
}

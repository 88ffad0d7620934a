//! A throwaway certificate authority for the HTTPS fake upstream.
//!
//! Made fresh at every start with rcgen (no key is ever committed): a CA, and
//! a leaf for `localhost` and `127.0.0.1` signed by it. Clients and
//! `record --upstream-ca` trust the CA's PEM; the server offers only
//! `http/1.1` over ALPN, as Anthropic's API does to Claude Code.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// Why the test CA could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the test certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot build the TLS server config: {0}")]
    Config(#[from] rustls::Error),
    #[error("cannot read back the generated key: {0}")]
    Key(#[from] rustls_pki_types::pem::Error),
}

/// The CA a test trusts and the server config that uses its leaf.
pub struct TestCa {
    /// The CA certificate, PEM, for clients and `--upstream-ca`.
    pub ca_pem: String,
    /// The CA certificate, DER, for rustls root stores.
    pub ca_der: CertificateDer<'static>,
    /// A server config presenting the leaf, ALPN `http/1.1`.
    pub server_config: Arc<rustls::ServerConfig>,
}

impl TestCa {
    /// Generates a CA and a `localhost`/`127.0.0.1` leaf.
    pub fn generate() -> Result<TestCa, TlsError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "cctap fake upstream test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate()?;
        let mut leaf_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

        let key = PrivateKeyDer::from_pem_slice(leaf_key.serialize_pem().as_bytes())?;
        let chain = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TestCa {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            server_config: Arc::new(config),
        })
    }

    /// A server's own self-signed certificate and key (PEM), as
    /// `openssl req -x509` makes them: clients trust the certificate itself.
    pub fn self_signed(cert_pem: &str, key_pem: &str) -> Result<TestCa, TlsError> {
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TestCa {
            ca_pem: cert_pem.to_owned(),
            ca_der: cert,
            server_config: Arc::new(config),
        })
    }

    /// A rustls client config that trusts only this CA (ALPN `http/1.1`).
    pub fn client_config(&self) -> Result<rustls::ClientConfig, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

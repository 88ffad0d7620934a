//! Errors of the TLS layer. Each message names the file or host involved and what the user can do
//! about it, because these surface at startup (`record`, `record ca ...`) where a bare
//! "permission denied" would leave the user guessing which of several files is meant.

use std::io;
use std::path::PathBuf;

/// Result alias for the TLS layer.
pub type Result<T, E = TlsError> = std::result::Result<T, E>;

/// What can go wrong loading, creating or using the CA.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("cannot locate the home directory for the default confdir ~/.cctap: set HOME or pass --confdir DIR")]
    NoHome,

    #[error("cannot create CA directory {path}: {source}: fix permissions or pass --confdir DIR")]
    CreateDir { path: PathBuf, source: io::Error },

    #[error(
        "CA directory {path} is writable by every user (mode {mode:04o}): anyone could replace \
         the CA; fix it with `chmod 700 {path}` or pass --confdir DIR"
    )]
    WorldWritable { path: PathBuf, mode: u32 },

    #[error(
        "cannot read CA key at {path}: {source}: fix permissions or pass --confdir DIR / --ca FILE"
    )]
    ReadCa { path: PathBuf, source: io::Error },

    #[error("cannot write {path}: {source}: fix permissions or pass --confdir DIR")]
    Write { path: PathBuf, source: io::Error },

    #[error("no private key in {path}: the CA file must hold the CA's private key and its certificate in one PEM, as mitmproxy-ca.pem does")]
    NoKey { path: PathBuf },

    #[error("no certificate in {path}: the CA file must hold the CA's private key and its certificate in one PEM, as mitmproxy-ca.pem does")]
    NoCert { path: PathBuf },

    #[error("the private key in {path} is encrypted: write a plain copy (`openssl pkey -in FILE -out PLAIN.pem`, then append the certificate) and pass that")]
    EncryptedKey { path: PathBuf },

    #[error("unsupported private key in {path} ({detail}): use an RSA key of 2048 to 8192 bits or an ECDSA P-256/P-384 key")]
    UnsupportedKey { path: PathBuf, detail: String },

    #[error("cannot parse the certificate in {path} ({detail}): pass a PEM X.509 CA certificate")]
    BadCert { path: PathBuf, detail: String },

    #[error("the private key in {path} does not belong to its certificate: put the CA's own key beside it")]
    KeyMismatch { path: PathBuf },

    #[error("the certificate in {path} is not a CA (no basicConstraints CA:TRUE): pass a CA certificate, not a leaf")]
    NotCa { path: PathBuf },

    #[error("the CA in {path} expired on {not_after}: move it away and run `record ca init` to create a new one")]
    Expired { path: PathBuf, not_after: String },

    #[error(
        "cannot generate a key or certificate ({detail}); this is a bug in cctap, please report it"
    )]
    Generate { detail: String },

    #[error("cannot mint a certificate for host {host:?}: {detail}")]
    Mint { host: String, detail: String },

    #[error("cannot read the existing NODE_EXTRA_CA_CERTS file {path}: {source}: fix the path or unset NODE_EXTRA_CA_CERTS")]
    NodeExtraCaCerts { path: PathBuf, source: io::Error },
}

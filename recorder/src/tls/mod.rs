//! TLS for forward mode: the local CA and the leaf certificates minted from it.
//!
//! Layout (bytes flow top to bottom when a client connects through the proxy):
//! - [`layout`]: where the CA lives (mitmproxy's confdir layout, basename `cctap`) and how its
//!   files are written (directory 0700, key file created 0600).
//! - [`key`]: private key PEM (PKCS#8, PKCS#1 RSA, SEC1 EC) to a signing key.
//! - [`ca`]: [`CertificateAuthority`], loaded from a confdir or a `--ca` file, or created.
//! - [`leaf`]: [`LeafMinter`], a per-host leaf as a ready `rustls::ServerConfig`, cached.
//! - [`trust`]: files that make a wrapped child process trust the CA.
//! - [`pem`]: DER to PEM text.
//!
//! This module also holds what `record ca init | path | export` needs.

pub mod ca;
pub mod command;
pub mod error;
pub mod key;
pub mod layout;
pub mod leaf;
pub mod pem;
pub mod trust;

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod test_support;

use std::path::{Path, PathBuf};

pub use ca::CertificateAuthority;
pub use error::{Result, TlsError};
pub use layout::{default_confdir, CaFiles};
pub use leaf::{Alpn, LeafMinter};
pub use trust::ChildTrust;

/// Where the CA comes from: `--ca FILE` wins over `--confdir DIR`, which defaults to `~/.cctap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaSource {
    /// A confdir in mitmproxy's layout; the CA is created there when missing.
    Confdir(PathBuf),
    /// One PEM file with key and certificate, used as is (never created or rewritten).
    File(PathBuf),
}

impl CaSource {
    /// Resolves the `--confdir` and `--ca` options.
    pub fn from_options(confdir: Option<PathBuf>, ca_file: Option<PathBuf>) -> Result<Self> {
        match (ca_file, confdir) {
            (Some(file), _) => Ok(CaSource::File(file)),
            (None, Some(dir)) => Ok(CaSource::Confdir(dir)),
            (None, None) => Ok(CaSource::Confdir(default_confdir()?)),
        }
    }
}

/// Opens the CA for a proxy run: loads it, creating it first in a confdir without one.
/// The flag is true when it was created now (worth telling the user how to trust it).
pub fn open(source: &CaSource) -> Result<(CertificateAuthority, bool)> {
    match source {
        CaSource::Confdir(dir) => {
            let opened = CertificateAuthority::load_or_create(dir)?;
            Ok((opened.ca, opened.created))
        }
        CaSource::File(path) => Ok((CertificateAuthority::load_file(path)?, false)),
    }
}

/// `record ca init`: creates the CA in `confdir` if missing; returns its files and whether it
/// was created now.
pub fn init(confdir: &Path) -> Result<(CaFiles, bool)> {
    let opened = CertificateAuthority::load_or_create(confdir)?;
    Ok((opened.files, opened.created))
}

/// `record ca path`: the CA files of `confdir` (existing or to be created), touching nothing.
pub fn paths(confdir: &Path) -> CaFiles {
    CaFiles::in_use(confdir)
}

/// `record ca export`: the CA certificate as PEM, for `NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`
/// and system trust stores. Creates the CA in a confdir without one, as the first run would.
pub fn export_pem(source: &CaSource) -> Result<String> {
    Ok(open(source)?.0.cert_pem())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_wins_over_confdir() {
        let source = CaSource::from_options(Some("/d".into()), Some("/f.pem".into())).expect("src");
        assert_eq!(source, CaSource::File("/f.pem".into()));
        let source = CaSource::from_options(Some("/d".into()), None).expect("src");
        assert_eq!(source, CaSource::Confdir("/d".into()));
    }

    #[test]
    fn init_path_and_export_agree() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("cctap");
        let planned = paths(&dir);
        assert!(!dir.exists(), "path touches nothing");
        let (files, created) = init(&dir).expect("init");
        assert!(created);
        assert_eq!(files, planned);
        let (_, created_again) = init(&dir).expect("init again");
        assert!(!created_again);
        let exported = export_pem(&CaSource::Confdir(dir.clone())).expect("export");
        assert_eq!(
            exported,
            std::fs::read_to_string(&files.cert_pem).expect("read")
        );
        let by_file = export_pem(&CaSource::File(files.key_and_cert.clone())).expect("file");
        assert_eq!(by_file, exported);
        assert!(exported.starts_with("-----BEGIN CERTIFICATE-----\n"));
    }
}

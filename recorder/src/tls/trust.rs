//! Files that make a wrapped child process trust the CA.
//!
//! Node reads `NODE_EXTRA_CA_CERTS` *in addition to* its bundled roots, but only one file: if
//! the user already set one, the child gets a file holding theirs and ours. OpenSSL-based
//! stacks (curl, Python `requests`, git) *replace* their roots with `SSL_CERT_FILE`,
//! `CURL_CA_BUNDLE` or `REQUESTS_CA_BUNDLE`, so those get the system roots plus ours, or every
//! site the child reaches without interception (`--ignore-hosts`) would fail to verify.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use super::ca::CertificateAuthority;
use super::error::{Result, TlsError};
use super::layout;
use super::pem;

/// File name of the system-roots-plus-CA bundle.
pub const BUNDLE_FILE: &str = "cctap-ca-bundle.pem";
/// File name of the `NODE_EXTRA_CA_CERTS` file.
pub const NODE_EXTRA_FILE: &str = "cctap-node-extra-ca-certs.pem";

/// The trust files written for one child, and the environment that points at them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildTrust {
    /// For `NODE_EXTRA_CA_CERTS`: the user's previous file, if any, then our CA.
    pub node_extra_ca_certs: PathBuf,
    /// For `SSL_CERT_FILE`, `CURL_CA_BUNDLE`, `REQUESTS_CA_BUNDLE`: system roots, then our CA.
    pub ca_bundle: PathBuf,
    /// How many system roots went into the bundle (0 means the child trusts only our CA).
    pub system_roots: usize,
}

impl ChildTrust {
    /// Writes both files into `dir` (created 0700 if missing). `existing_node_extra` is the
    /// user's current `NODE_EXTRA_CA_CERTS`, if set. Concurrent runs sharing `dir` each write
    /// whole files (atomic rename); give each run its own `dir` if their inputs differ.
    pub fn write(
        ca: &CertificateAuthority,
        dir: &Path,
        existing_node_extra: Option<&OsStr>,
    ) -> Result<Self> {
        layout::ensure_private_dir(dir)?;
        let ca_pem = ca.cert_pem();
        let node_extra_ca_certs = dir.join(NODE_EXTRA_FILE);
        let existing = existing_node_extra.filter(|v| !v.is_empty()).map(Path::new);
        write_node_extra_ca_certs(&ca_pem, existing, &node_extra_ca_certs)?;
        let ca_bundle = dir.join(BUNDLE_FILE);
        let system_roots = write_ca_bundle(&ca_pem, &ca_bundle)?;
        Ok(Self {
            node_extra_ca_certs,
            ca_bundle,
            system_roots,
        })
    }

    /// Environment variables to set on the child.
    pub fn env(&self) -> [(&'static str, &Path); 4] {
        [
            ("NODE_EXTRA_CA_CERTS", self.node_extra_ca_certs.as_path()),
            ("SSL_CERT_FILE", self.ca_bundle.as_path()),
            ("CURL_CA_BUNDLE", self.ca_bundle.as_path()),
            ("REQUESTS_CA_BUNDLE", self.ca_bundle.as_path()),
        ]
    }
}

/// Writes the system roots (as `rustls-native-certs` finds them, which honours an inherited
/// `SSL_CERT_FILE`) followed by `ca_pem` to `dest`. Returns the number of system roots.
/// Roots that fail to load are skipped with a warning: the bundle still trusts our CA.
pub fn write_ca_bundle(ca_pem: &str, dest: &Path) -> Result<usize> {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "some system root certificates could not be loaded");
    }
    let mut text = String::with_capacity(found.certs.len() * 2000 + ca_pem.len());
    for cert in &found.certs {
        text.push_str(&pem::encode("CERTIFICATE", cert));
    }
    text.push_str(ca_pem);
    layout::write_public(dest, text.as_bytes())?;
    Ok(found.certs.len())
}

/// Writes `existing` (the user's `NODE_EXTRA_CA_CERTS` file) followed by `ca_pem` to `dest`,
/// or `ca_pem` alone. An existing file that already holds our CA is copied unchanged.
pub fn write_node_extra_ca_certs(ca_pem: &str, existing: Option<&Path>, dest: &Path) -> Result<()> {
    let mut text = match existing {
        Some(path) => fs::read_to_string(path).map_err(|source| TlsError::NodeExtraCaCerts {
            path: path.to_path_buf(),
            source,
        })?,
        None => String::new(),
    };
    if !text.contains(ca_pem.trim()) {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(ca_pem);
    }
    layout::write_public(dest, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::ca::generate_pem;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    fn ca() -> CertificateAuthority {
        let (text, _) = generate_pem().expect("generate");
        CertificateAuthority::from_pem(text.as_bytes(), Path::new("t")).expect("ca")
    }

    fn certs_in(path: &Path) -> Vec<CertificateDer<'static>> {
        let text = fs::read(path).expect("read");
        CertificateDer::pem_slice_iter(&text)
            .collect::<Result<_, _>>()
            .expect("pem")
    }

    #[test]
    fn node_extra_file_keeps_the_users_certificates_first() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ours = ca();
        let theirs = ca();
        let user_file = tmp.path().join("corp.pem");
        // No trailing newline: the join must still produce two parseable blocks.
        fs::write(&user_file, theirs.cert_pem().trim_end()).expect("write");
        let trust =
            ChildTrust::write(&ours, tmp.path(), Some(user_file.as_os_str())).expect("write");
        let certs = certs_in(&trust.node_extra_ca_certs);
        assert_eq!(
            certs,
            vec![theirs.cert_der().clone(), ours.cert_der().clone()]
        );

        // Wrapping again with our own file as "existing" does not duplicate our CA.
        let dest = tmp.path().join("again.pem");
        write_node_extra_ca_certs(&ours.cert_pem(), Some(&trust.node_extra_ca_certs), &dest)
            .expect("again");
        assert_eq!(certs_in(&dest).len(), 2);
    }

    #[test]
    fn bundle_holds_system_roots_then_our_ca() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ours = ca();
        let trust = ChildTrust::write(&ours, tmp.path(), None).expect("write");
        let bundle = certs_in(&trust.ca_bundle);
        assert_eq!(bundle.len(), trust.system_roots + 1);
        assert_eq!(bundle.last(), Some(ours.cert_der()));
        assert_eq!(
            certs_in(&trust.node_extra_ca_certs),
            vec![ours.cert_der().clone()]
        );
        let names: Vec<_> = trust.env().iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "NODE_EXTRA_CA_CERTS",
                "SSL_CERT_FILE",
                "CURL_CA_BUNDLE",
                "REQUESTS_CA_BUNDLE"
            ]
        );
    }

    #[test]
    fn unreadable_node_extra_file_is_named() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let missing = tmp.path().join("nope.pem");
        let err = ChildTrust::write(&ca(), tmp.path(), Some(missing.as_os_str())).expect_err("err");
        assert!(
            err.to_string().contains("nope.pem") && err.to_string().contains("NODE_EXTRA_CA_CERTS")
        );
    }
}

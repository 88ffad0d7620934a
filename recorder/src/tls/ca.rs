//! The certificate authority that signs our leaf certificates: loaded from a confdir or a single
//! PEM file (`--ca`), or created on first use.
//!
//! New CAs are ECDSA P-256 (ring cannot generate RSA keys; mitmproxy, Node, OpenSSL and rustls
//! all accept P-256), CN "cctap CA", O "cctap", CA:TRUE, keyCertSign+cRLSign, valid ten years
//! from two days ago (clock skew on the client). Loaded CAs may be RSA or ECDSA in any of the
//! key encodings `key.rs` reads, key and certificate in either order, as mitmproxy accepts.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, PublicKeyData, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use ring::digest::{digest, SHA1_FOR_LEGACY_USE_ONLY};
use ring::rand::{SecureRandom, SystemRandom};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use super::error::{Result, TlsError};
use super::layout::{self, CaFiles};
use super::{key, pem};

/// Subject of the CAs we create.
const CA_COMMON_NAME: &str = "cctap CA";
const CA_ORGANIZATION: &str = "cctap";
/// As mitmproxy: ten years, backdated two days.
const CA_LIFETIME: Duration = Duration::days(3650);
const CA_BACKDATE: Duration = Duration::days(2);

/// A loaded CA: its signing key, its certificate, and where it came from.
pub struct CertificateAuthority {
    /// Signs leaves; carries the CA's subject and key identifier for the leaves' issuer fields.
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, sent after each leaf and written to trust files.
    cert_der: CertificateDer<'static>,
    /// Leaves must not outlive their issuer.
    not_after: OffsetDateTime,
    /// The file the key was read from, for messages.
    origin: PathBuf,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("origin", &self.origin)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Outcome of [`CertificateAuthority::load_or_create`].
#[derive(Debug)]
pub struct OpenedCa {
    pub ca: CertificateAuthority,
    /// The files in use (ours, or mitmproxy's when the confdir only has those).
    pub files: CaFiles,
    /// True when this call created the CA.
    pub created: bool,
}

impl CertificateAuthority {
    /// Loads the CA in `confdir` (see [`CaFiles::in_use`]), creating the directory (0700) and a
    /// new CA (key file 0600) when there is none. Certificate-only files missing next to a key
    /// file are written again from it.
    pub fn load_or_create(confdir: &Path) -> Result<OpenedCa> {
        layout::ensure_private_dir(confdir)?;
        let files = CaFiles::in_use(confdir);
        let mut created = false;
        if !files.key_and_cert.exists() {
            let (text, _) = generate_pem()?;
            // Losing a creation race to another `record` is fine: we load the winner's CA.
            created = layout::write_new_secret(&files.key_and_cert, text.as_bytes())?;
        }
        let ca = Self::load_file(&files.key_and_cert)?;
        // mitmproxy's own files (a confdir such as ~/.mitmproxy) are used, never rewritten.
        if files == CaFiles::named(confdir, layout::BASENAME) {
            layout::refresh_public(&files.cert_pem, ca.cert_pem().as_bytes())?;
            layout::refresh_public(&files.cert_cer, ca.cert_pem().as_bytes())?;
        }
        if created {
            layout::link_mitmproxy_names(&files);
        }
        Ok(OpenedCa { ca, files, created })
    }

    /// Loads a CA from one PEM file holding its private key and certificate (`--ca FILE`).
    pub fn load_file(path: &Path) -> Result<Self> {
        let text = fs::read(path).map_err(|source| read_error(path, source))?;
        layout::warn_if_exposed(path);
        Self::from_pem(&text, path)
    }

    /// Builds a CA from PEM text (key and certificate, either order); `origin` names it in errors.
    pub fn from_pem(text: &[u8], origin: &Path) -> Result<Self> {
        let key = key::key_pair_from_pem(text, origin)?;
        // As mitmproxy: the first certificate is the CA, any others are its chain.
        let cert_der = match CertificateDer::pem_slice_iter(text).next() {
            Some(Ok(der)) => der,
            Some(Err(e)) => return Err(bad_cert(origin, e.to_string())),
            None => {
                return Err(TlsError::NoCert {
                    path: origin.to_path_buf(),
                })
            }
        };
        let not_after = check_ca_cert(&cert_der, &key, origin)?;
        let issuer = Issuer::from_ca_cert_der(&cert_der, key)
            .map_err(|e| bad_cert(origin, e.to_string()))?;
        Ok(Self {
            issuer,
            cert_der,
            not_after,
            origin: origin.to_path_buf(),
        })
    }

    /// The CA certificate as PEM (one block, LF line ends).
    pub fn cert_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.cert_der)
    }

    /// The CA certificate as DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// End of the CA's validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The file this CA was loaded from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// The signer for leaves.
    pub(crate) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }
}

/// A new CA as mitmproxy lays out `*-ca.pem`: private key PEM, then certificate PEM.
/// Also returns the certificate PEM alone.
pub fn generate_pem() -> Result<(String, String)> {
    let generate_err = |e: rcgen::Error| TlsError::Generate {
        detail: e.to_string(),
    };
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(generate_err)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, CA_ORGANIZATION);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - CA_BACKDATE;
    params.not_after = now + CA_LIFETIME;
    params.serial_number = Some(random_serial()?);
    params.key_identifier_method = KeyIdMethod::PreSpecified(subject_key_id(&key));
    let cert = params.self_signed(&key).map_err(generate_err)?;
    let cert_pem = pem::encode("CERTIFICATE", cert.der());
    Ok((format!("{}{}", key.serialize_pem(), cert_pem), cert_pem))
}

/// A positive 16-byte serial from the system RNG (RFC 5280 allows up to 20 bytes).
pub(crate) fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| TlsError::Generate {
            detail: "system random source failed".into(),
        })?;
    // High bit clear keeps it positive; a set second bit keeps the DER encoding minimal.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// RFC 5280 method 1: SHA-1 of the public key bits. mitmproxy (Python `cryptography`) and
/// OpenSSL compute the authority key identifier of the leaves they sign this way, and OpenSSL
/// rejects a leaf whose AKI differs from its issuer's SKI; rcgen's default (truncated SHA-256)
/// would make every leaf mitmproxy mints from our CA fail to verify.
fn subject_key_id(key: &KeyPair) -> Vec<u8> {
    digest(&SHA1_FOR_LEGACY_USE_ONLY, key.der_bytes())
        .as_ref()
        .to_vec()
}

/// Checks that `der` is a CA certificate, unexpired, for `key`; returns its notAfter.
fn check_ca_cert(der: &[u8], key: &KeyPair, origin: &Path) -> Result<OffsetDateTime> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| bad_cert(origin, e.to_string()))?;
    if !cert.is_ca() {
        return Err(TlsError::NotCa {
            path: origin.to_path_buf(),
        });
    }
    if cert.public_key().subject_public_key.data.as_ref() != key.der_bytes() {
        return Err(TlsError::KeyMismatch {
            path: origin.to_path_buf(),
        });
    }
    let not_after = cert.validity().not_after;
    let not_after = OffsetDateTime::from_unix_timestamp(not_after.timestamp())
        .map_err(|e| bad_cert(origin, e.to_string()))?;
    if not_after <= OffsetDateTime::now_utc() {
        let shown = cert.validity().not_after.to_string();
        return Err(TlsError::Expired {
            path: origin.to_path_buf(),
            not_after: shown,
        });
    }
    Ok(not_after)
}

fn read_error(path: &Path, source: io::Error) -> TlsError {
    TlsError::ReadCa {
        path: path.to_path_buf(),
        source,
    }
}

fn bad_cert(path: &Path, detail: String) -> TlsError {
    TlsError::BadCert {
        path: path.to_path_buf(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn creates_mitmproxy_layout_with_private_modes_then_reloads_the_same_ca() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let confdir = tmp.path().join("confdir");
        let first = CertificateAuthority::load_or_create(&confdir).expect("create");
        assert!(first.created);
        assert_eq!(mode(&confdir), 0o700);
        assert_eq!(mode(&first.files.key_and_cert), 0o600);
        assert_eq!(first.files.key_and_cert, confdir.join("cctap-ca.pem"));

        let key_file = fs::read_to_string(&first.files.key_and_cert).expect("read");
        let key_at = key_file.find("-----BEGIN PRIVATE KEY-----").expect("key");
        let cert_at = key_file.find("-----BEGIN CERTIFICATE-----").expect("cert");
        assert!(key_at < cert_at, "key first, as mitmproxy-ca.pem");
        let cert_pem = first.ca.cert_pem();
        assert_eq!(
            fs::read_to_string(&first.files.cert_pem).expect("pem"),
            cert_pem
        );
        assert_eq!(
            fs::read_to_string(&first.files.cert_cer).expect("cer"),
            cert_pem
        );
        for name in [
            "mitmproxy-ca.pem",
            "mitmproxy-ca-cert.pem",
            "mitmproxy-ca-cert.cer",
        ] {
            let alias = fs::read(confdir.join(name)).expect("mitmproxy alias");
            assert!(!alias.is_empty(), "{name}");
        }
        let via_alias = CertificateAuthority::load_file(&confdir.join("mitmproxy-ca.pem"));
        assert_eq!(via_alias.expect("alias").cert_der(), first.ca.cert_der());

        let again = CertificateAuthority::load_or_create(&confdir).expect("reload");
        assert!(!again.created);
        assert_eq!(again.ca.cert_der(), first.ca.cert_der());
    }

    #[test]
    fn new_ca_has_the_promised_subject_extensions_and_validity() {
        let (text, _) = generate_pem().expect("generate");
        let ca = CertificateAuthority::from_pem(text.as_bytes(), Path::new("t")).expect("load");
        let (_, cert) = x509_parser::parse_x509_certificate(ca.cert_der()).expect("parse");
        let subject = cert.subject().to_string();
        assert!(
            subject.contains("CN=cctap CA") && subject.contains("O=cctap"),
            "{subject}"
        );
        let bc = cert
            .basic_constraints()
            .expect("ext")
            .expect("present")
            .value;
        assert!(bc.ca);
        let ku = cert.key_usage().expect("ext").expect("present").value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let nb = cert.validity().not_before.timestamp();
        let na = cert.validity().not_after.timestamp();
        assert!((now - nb - 2 * 86_400).abs() < 120, "backdated two days");
        assert!((na - now - 3650 * 86_400).abs() < 120, "ten years");
        let ski = cert
            .iter_extensions()
            .find_map(|ext| match ext.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
                _ => None,
            })
            .expect("subject key identifier");
        let spk = cert.public_key().subject_public_key.data.as_ref();
        assert_eq!(
            ski,
            digest(&SHA1_FOR_LEGACY_USE_ONLY, spk).as_ref(),
            "RFC 5280 method 1"
        );
    }

    #[test]
    fn key_and_certificate_load_in_either_order() {
        let (text, cert_pem) = generate_pem().expect("generate");
        let key_pem = text.replace(&cert_pem, "");
        let swapped = format!("{cert_pem}{key_pem}");
        let a = CertificateAuthority::from_pem(text.as_bytes(), Path::new("a")).expect("a");
        let b = CertificateAuthority::from_pem(swapped.as_bytes(), Path::new("b")).expect("b");
        assert_eq!(a.cert_der(), b.cert_der());
    }

    #[test]
    fn mismatched_missing_and_unreadable_inputs_are_named_errors() {
        let (one, one_cert) = generate_pem().expect("one");
        let (two, _) = generate_pem().expect("two");
        let key_two = two
            .split("-----BEGIN CERTIFICATE-----")
            .next()
            .expect("key");
        let mixed = format!("{key_two}{one_cert}");
        let err = CertificateAuthority::from_pem(mixed.as_bytes(), Path::new("m.pem"))
            .expect_err("mismatch");
        assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");

        let key_one = one.replace(&one_cert, "");
        let err = CertificateAuthority::from_pem(key_one.as_bytes(), Path::new("k.pem"))
            .expect_err("no cert");
        assert!(matches!(err, TlsError::NoCert { .. }), "{err}");

        let err = CertificateAuthority::load_file(Path::new("/nonexistent/cctap-ca.pem"))
            .expect_err("missing");
        let text = err.to_string();
        assert!(
            text.starts_with("cannot read CA key at /nonexistent/cctap-ca.pem"),
            "{text}"
        );
    }

    #[test]
    fn a_confdir_with_only_mitmproxy_files_is_used_not_overwritten() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (text, cert_pem) = generate_pem().expect("generate");
        fs::write(tmp.path().join("mitmproxy-ca.pem"), &text).expect("write");
        let opened = CertificateAuthority::load_or_create(tmp.path()).expect("open");
        assert!(!opened.created);
        assert_eq!(opened.ca.cert_pem(), cert_pem);
        assert!(!tmp.path().join("cctap-ca.pem").exists());
    }

    #[test]
    fn racing_first_starts_agree_on_one_ca() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let confdir = tmp.path().join("race");
        let opened: Vec<OpenedCa> = std::thread::scope(|scope| {
            let runs: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| CertificateAuthority::load_or_create(&confdir)))
                .collect();
            runs.into_iter()
                .map(|run| run.join().expect("thread").expect("open"))
                .collect()
        });
        assert_eq!(opened.iter().filter(|o| o.created).count(), 1);
        assert!(opened
            .iter()
            .all(|o| o.ca.cert_der() == opened[0].ca.cert_der()));
        let on_disk = CertificateAuthority::load_file(&opened[0].files.key_and_cert).expect("load");
        assert_eq!(on_disk.cert_der(), opened[0].ca.cert_der());
    }
}

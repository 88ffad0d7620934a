//! Interoperability with OpenSSL-made CAs (mitmproxy's `mitmproxy-ca.pem` layout) and the
//! OpenSSL verifier, each ending in a real handshake. Skipped, saying so, without `openssl`.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use super::ca::CertificateAuthority;
use super::leaf::{Alpn, LeafMinter};
use super::pem;
use super::test_support::{handshake, have_openssl, openssl};

/// Makes a CA with `openssl` in `dir` from `key_cmd` (which writes `ca.key`), then concatenates
/// key and certificate into `ca.pem`, key first, as mitmproxy writes `mitmproxy-ca.pem`.
fn openssl_ca(dir: &Path, key_cmd: &[&str]) -> String {
    openssl(dir, key_cmd);
    let subject = "/CN=mitmproxy/O=mitmproxy";
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            subject,
            "-days",
            "3650",
            "-sha256",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "ca-cert.pem",
        ],
    );
    let key = fs::read_to_string(dir.join("ca.key")).expect("key");
    let cert = fs::read_to_string(dir.join("ca-cert.pem")).expect("cert");
    fs::write(dir.join("ca.pem"), format!("{key}{cert}")).expect("write");
    key
}

/// Loads `dir/ca.pem`, mints for localhost and 127.0.0.1, handshakes with a client trusting
/// only the OpenSSL-written certificate, and has `openssl verify` accept the leaves.
async fn assert_usable(dir: &Path) {
    let ca = CertificateAuthority::load_file(&dir.join("ca.pem")).expect("load openssl CA");
    let cert_pem = fs::read_to_string(dir.join("ca-cert.pem")).expect("cert");
    let minter = LeafMinter::new(Arc::new(ca)).expect("minter");
    for (host, offer) in [
        ("localhost", &[b"h2".as_slice()][..]),
        ("127.0.0.1", &[][..]),
    ] {
        let config = minter
            .server_config(host, Alpn::H2AndHttp11)
            .expect("config");
        let seen = handshake(config, &cert_pem, host, offer)
            .await
            .expect("handshake");
        assert_eq!(seen.chain.len(), 2);
        let leaf = dir.join(format!("leaf-{host}.pem"));
        fs::write(&leaf, pem::encode("CERTIFICATE", &seen.chain[0])).expect("leaf");
        let check = if host == "localhost" {
            "-verify_hostname"
        } else {
            "-verify_ip"
        };
        let leaf_name = leaf.to_string_lossy().into_owned();
        let out = openssl(
            dir,
            &[
                "verify",
                "-CAfile",
                "ca-cert.pem",
                "-purpose",
                "sslserver",
                check,
                host,
                &leaf_name,
            ],
        );
        assert!(out.trim_end().ends_with("OK"), "{out}");
    }
}

#[tokio::test]
async fn openssl_rsa_pkcs8_ca() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = openssl_ca(
        tmp.path(),
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "ca.key",
        ],
    );
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_usable(tmp.path()).await;
}

#[tokio::test]
async fn openssl_rsa_pkcs1_ca_as_mitmproxy_writes_it() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = openssl_ca(
        tmp.path(),
        &["genrsa", "-traditional", "-out", "ca.key", "2048"],
    );
    assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----"), "{key}");
    assert_usable(tmp.path()).await;
}

#[tokio::test]
async fn openssl_ec_sec1_ca_with_parameters_block() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = openssl_ca(
        tmp.path(),
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            "ca.key",
        ],
    );
    assert!(key.contains("-----BEGIN EC PARAMETERS-----") && key.contains("EC PRIVATE KEY"));
    assert_usable(tmp.path()).await;
}

#[tokio::test]
async fn openssl_ec_p384_pkcs8_ca() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = openssl_ca(
        tmp.path(),
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            "ca.key",
        ],
    );
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_usable(tmp.path()).await;
}

#[test]
fn openssl_rejects_small_rsa_with_a_clear_error() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    openssl_ca(
        tmp.path(),
        &["genrsa", "-traditional", "-out", "ca.key", "1024"],
    );
    let err = CertificateAuthority::load_file(&tmp.path().join("ca.pem")).expect_err("1024-bit");
    let text = err.to_string();
    assert!(
        text.contains("unsupported private key") && text.contains("ca.pem"),
        "{text}"
    );
}

#[test]
fn openssl_reads_our_ca_files_and_verifies_our_leaves() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let opened = CertificateAuthority::load_or_create(&tmp.path().join("confdir")).expect("ca");
    let text = openssl(
        tmp.path(),
        &[
            "x509",
            "-in",
            &opened.files.cert_cer.to_string_lossy(),
            "-noout",
            "-subject",
            "-ext",
            "basicConstraints,keyUsage",
        ],
    );
    assert!(
        text.contains("CN = cctap CA") && text.contains("CA:TRUE"),
        "{text}"
    );
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    // The key file parses as a key for OpenSSL too (mitmproxy reads it with `cryptography`).
    openssl(
        tmp.path(),
        &[
            "pkey",
            "-in",
            &opened.files.key_and_cert.to_string_lossy(),
            "-noout",
        ],
    );
    let minter = LeafMinter::new(Arc::new(opened.ca)).expect("minter");
    for host in ["localhost", "127.0.0.1"] {
        let leaf = tmp.path().join(format!("{host}.pem"));
        fs::write(
            &leaf,
            pem::encode("CERTIFICATE", &minter.mint_der(host).expect("mint")),
        )
        .expect("w");
        let check = if host == "localhost" {
            "-verify_hostname"
        } else {
            "-verify_ip"
        };
        let out = openssl(
            tmp.path(),
            &[
                "verify",
                "-CAfile",
                &opened.files.cert_pem.to_string_lossy(),
                "-purpose",
                "sslserver",
                "-x509_strict",
                check,
                host,
                &leaf.to_string_lossy(),
            ],
        );
        assert!(out.trim_end().ends_with("OK"), "{out}");
    }
}

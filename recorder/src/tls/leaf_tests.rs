//! Tests for `leaf.rs`: real handshakes over loopback, certificate fields, the cache.

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::GeneralName;

use super::*;
use crate::tls::ca::{generate_pem, CertificateAuthority};
use crate::tls::test_support::handshake;

fn new_ca() -> (Arc<CertificateAuthority>, String) {
    let (text, cert_pem) = generate_pem().expect("generate");
    let ca = CertificateAuthority::from_pem(text.as_bytes(), Path::new("test-ca.pem")).expect("ca");
    (Arc::new(ca), cert_pem)
}

#[tokio::test]
async fn localhost_with_sni_completes_a_handshake_trusting_only_the_ca() {
    let (ca, ca_pem) = new_ca();
    let minter = LeafMinter::new(ca).expect("minter");
    let config = minter
        .server_config("localhost", Alpn::H2AndHttp11)
        .expect("config");
    let seen = handshake(config, &ca_pem, "localhost", &[b"h2", b"http/1.1"])
        .await
        .expect("tls");
    assert_eq!(seen.sni.as_deref(), Some("localhost"));
    assert_eq!(seen.alpn.as_deref(), Some(b"h2".as_slice()));
    assert_eq!(seen.chain.len(), 2, "leaf + CA");

    let http1 = minter
        .server_config("localhost", Alpn::Http11)
        .expect("config");
    let seen = handshake(http1, &ca_pem, "localhost", &[b"h2", b"http/1.1"])
        .await
        .expect("tls");
    assert_eq!(seen.alpn.as_deref(), Some(b"http/1.1".as_slice()));
}

#[tokio::test]
async fn ip_literal_without_sni_verifies_by_ip_san() {
    let (ca, ca_pem) = new_ca();
    let minter = LeafMinter::new(ca).expect("minter");
    let config = minter
        .server_config("127.0.0.1", Alpn::Http11)
        .expect("config");
    let seen = handshake(config, &ca_pem, "127.0.0.1", &[b"http/1.1"])
        .await
        .expect("tls");
    assert_eq!(seen.sni, None, "clients send no SNI for IP literals");

    let v6 = minter.mint_der("[::1]").expect("v6 leaf");
    let (_, leaf) = x509_parser::parse_x509_certificate(&v6).expect("parse");
    let san = leaf
        .subject_alternative_name()
        .expect("ext")
        .expect("san")
        .value;
    assert!(matches!(san.general_names[0], GeneralName::IPAddress(ip) if ip.len() == 16));
}

#[tokio::test]
async fn clients_reject_other_cas_and_other_names() {
    let (ca, our_ca_pem) = new_ca();
    let (_, other_ca_pem) = new_ca();
    let minter = LeafMinter::new(ca).expect("minter");
    let config = minter
        .server_config("localhost", Alpn::Http11)
        .expect("config");
    let err = handshake(Arc::clone(&config), &other_ca_pem, "localhost", &[])
        .await
        .expect_err("ca");
    // Same subject "cctap CA", other key: webpki finds the namesake and rejects its signature.
    assert!(
        err.contains("invalid peer certificate: BadSignature"),
        "{err}"
    );
    let err = handshake(config, &our_ca_pem, "api.example.test", &[])
        .await
        .expect_err("name");
    assert!(
        err.contains("not valid for name \"api.example.test\""),
        "{err}"
    );
}

#[test]
fn leaf_fields_follow_the_brief() {
    let (ca, _) = new_ca();
    let minter = LeafMinter::new(Arc::clone(&ca)).expect("minter");
    let der = minter.mint_der("API.Example.Test.").expect("mint");
    let (_, leaf) = x509_parser::parse_x509_certificate(&der).expect("parse");
    assert_eq!(leaf.subject().to_string(), "CN=api.example.test");
    let (_, ca_cert) = x509_parser::parse_x509_certificate(ca.cert_der()).expect("ca");
    assert_eq!(
        leaf.issuer().as_raw(),
        ca_cert.subject().as_raw(),
        "issuer bytes = CA subject"
    );
    let san = leaf
        .subject_alternative_name()
        .expect("ext")
        .expect("san")
        .value;
    assert_eq!(
        san.general_names,
        vec![GeneralName::DNSName("api.example.test")]
    );
    let eku = leaf.extended_key_usage().expect("ext").expect("eku").value;
    assert!(eku.server_auth);
    assert!(!leaf.is_ca());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert!((now - leaf.validity().not_before.timestamp() - 86_400).abs() < 120);
    assert!((leaf.validity().not_after.timestamp() - now - 365 * 86_400).abs() < 120);

    let again = minter.mint_der("api.example.test").expect("mint");
    let (_, again) = x509_parser::parse_x509_certificate(&again).expect("parse");
    assert_ne!(leaf.raw_serial(), again.raw_serial(), "random serials");
    assert!(leaf.raw_serial().len() >= 16 && leaf.raw_serial()[0] < 0x80);
}

#[test]
fn leaves_never_outlive_a_ca_that_expires_sooner() {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "short-lived CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(30);
    let cert = params.self_signed(&key).expect("self-signed");
    let text = format!("{}{}", key.serialize_pem(), cert.pem());
    let ca = CertificateAuthority::from_pem(text.as_bytes(), Path::new("short")).expect("ca");
    let ca_end = ca.not_after().unix_timestamp();
    let minter = LeafMinter::new(Arc::new(ca)).expect("minter");
    let der = minter.mint_der("localhost").expect("mint");
    let (_, leaf) = x509_parser::parse_x509_certificate(&der).expect("parse");
    assert_eq!(leaf.validity().not_after.timestamp(), ca_end);
}

#[test]
fn cache_returns_the_same_arc_per_host_and_alpn_and_stays_bounded() {
    let (ca, _) = new_ca();
    let minter = LeafMinter::with_capacity(ca, 2).expect("minter");
    let a = minter.server_config("localhost", Alpn::Http11).expect("a");
    let b = minter.server_config("LOCALHOST.", Alpn::Http11).expect("b");
    assert!(Arc::ptr_eq(&a, &b), "same host after normalising");
    let h2 = minter
        .server_config("localhost", Alpn::H2AndHttp11)
        .expect("h2");
    assert!(!Arc::ptr_eq(&a, &h2), "ALPN is part of the key");
    assert_eq!(minter.cached_len(), 2);
    minter
        .server_config("127.0.0.1", Alpn::Http11)
        .expect("third");
    assert_eq!(minter.cached_len(), 2, "bounded");
    let a_again = minter
        .server_config("localhost", Alpn::Http11)
        .expect("again");
    assert!(!Arc::ptr_eq(&a, &a_again), "oldest entry was evicted first");
}

#[test]
fn host_names_are_normalised_or_rejected() {
    assert_eq!(
        LeafName::parse(" Example.COM. ").expect("dns"),
        LeafName::Dns("example.com".into())
    );
    assert_eq!(
        LeafName::parse("[::1]").expect("v6"),
        LeafName::Ip("::1".parse().expect("ip"))
    );
    assert_eq!(
        LeafName::parse("10.0.0.1").expect("v4"),
        LeafName::Ip([10, 0, 0, 1].into())
    );
    for bad in [
        "",
        "exa mple.com",
        "bücher.de",
        "a/b",
        "*.example.test",
        &"x".repeat(254),
    ] {
        let err = LeafName::parse(bad).expect_err(bad);
        assert!(matches!(err, TlsError::Mint { .. }), "{bad}: {err}");
    }
    let long = format!("{}.example.test", "a".repeat(60));
    let (ca, _) = new_ca();
    let minter = LeafMinter::new(ca).expect("minter");
    let der = minter
        .mint_der(&long)
        .expect("long names get a SAN and no CN");
    let (_, leaf) = x509_parser::parse_x509_certificate(&der).expect("parse");
    assert_eq!(leaf.subject().iter_common_name().count(), 0);
}

//! Private key PEM to an rcgen signing key.
//!
//! rcgen on the `ring` backend accepts PKCS#8 only, but CA files in the wild hold all three
//! encodings: mitmproxy writes PKCS#1 (`RSA PRIVATE KEY`), `openssl ecparam -genkey` writes SEC1
//! (`EC PRIVATE KEY`), OpenSSL 3 `req`/`genpkey` write PKCS#8 (`PRIVATE KEY`). The first two are
//! wrapped into a PKCS#8 `PrivateKeyInfo` here (a few bytes of DER), after which ring signs with
//! RSA (PKCS#1 v1.5, SHA-256) and ECDSA (P-256, P-384) alike.

use std::path::Path;

use rcgen::KeyPair;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::PrivateKeyDer;

use super::error::{Result, TlsError};

/// DER tags used below.
const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const NULL: u8 = 0x05;
const CONTEXT_0: u8 = 0xa0;

/// rsaEncryption, 1.2.840.113549.1.1.1.
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1.
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 and secp384r1: tried in turn when a SEC1 key does not name its curve.
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

/// Reads the first private key in `pem_text` (any of PKCS#8, PKCS#1, SEC1), as found at `origin`.
pub fn key_pair_from_pem(pem_text: &[u8], origin: &Path) -> Result<KeyPair> {
    if is_encrypted(pem_text) {
        return Err(TlsError::EncryptedKey {
            path: origin.to_path_buf(),
        });
    }
    let unsupported = |detail: String| TlsError::UnsupportedKey {
        path: origin.to_path_buf(),
        detail,
    };
    let key = match PrivateKeyDer::from_pem_slice(pem_text) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => {
            return Err(TlsError::NoKey {
                path: origin.to_path_buf(),
            })
        }
        Err(e) => return Err(unsupported(format!("bad PEM: {e}"))),
    };
    match key {
        PrivateKeyDer::Pkcs8(k) => {
            KeyPair::try_from(k.secret_pkcs8_der()).map_err(|e| unsupported(format!("PKCS#8: {e}")))
        }
        PrivateKeyDer::Pkcs1(k) => KeyPair::try_from(wrap_pkcs1(k.secret_pkcs1_der()).as_slice())
            .map_err(|e| unsupported(format!("PKCS#1 RSA: {e}"))),
        PrivateKeyDer::Sec1(k) => sec1_key_pair(k.secret_sec1_der())
            .ok_or_else(|| unsupported("SEC1 EC key on a curve other than P-256/P-384".into())),
        _ => Err(unsupported("unknown key encoding".into())),
    }
}

/// Encrypted PEM keys (PKCS#8 `ENCRYPTED PRIVATE KEY` or legacy `Proc-Type: 4,ENCRYPTED`).
fn is_encrypted(pem_text: &[u8]) -> bool {
    let has = |needle: &[u8]| pem_text.windows(needle.len()).any(|w| w == needle);
    has(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || has(b"Proc-Type: 4,ENCRYPTED")
}

/// PKCS#1 RSAPrivateKey to PKCS#8 PrivateKeyInfo { 0, {rsaEncryption, NULL}, OCTET STRING }.
fn wrap_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let alg = tlv(
        SEQUENCE,
        &[tlv(OID, OID_RSA_ENCRYPTION), tlv(NULL, &[])].concat(),
    );
    tlv(
        SEQUENCE,
        &[tlv(INTEGER, &[0]), alg, tlv(OCTET_STRING, pkcs1)].concat(),
    )
}

/// SEC1 ECPrivateKey to PKCS#8 PrivateKeyInfo { 0, {id-ecPublicKey, curve}, OCTET STRING }.
fn wrap_sec1(sec1: &[u8], curve_oid: &[u8]) -> Vec<u8> {
    let alg = tlv(
        SEQUENCE,
        &[tlv(OID, OID_EC_PUBLIC_KEY), tlv(OID, curve_oid)].concat(),
    );
    tlv(
        SEQUENCE,
        &[tlv(INTEGER, &[0]), alg, tlv(OCTET_STRING, sec1)].concat(),
    )
}

/// Tries the curve named inside the SEC1 key, or P-256 then P-384 when it names none.
fn sec1_key_pair(sec1: &[u8]) -> Option<KeyPair> {
    let named = sec1_curve(sec1);
    let candidates: Vec<&[u8]> = match named {
        Some(oid) => vec![oid],
        None => vec![OID_P256, OID_P384],
    };
    candidates
        .into_iter()
        .find_map(|oid| KeyPair::try_from(wrap_sec1(sec1, oid).as_slice()).ok())
}

/// The namedCurve OID in ECPrivateKey's optional `[0] parameters`, if present.
fn sec1_curve(sec1: &[u8]) -> Option<&[u8]> {
    let (tag, body, _) = read_tlv(sec1)?;
    if tag != SEQUENCE {
        return None;
    }
    let (_, _, rest) = read_tlv(body)?; // version
    let (_, _, mut rest) = read_tlv(rest)?; // privateKey
    while let Some((tag, value, next)) = read_tlv(rest) {
        if tag == CONTEXT_0 {
            let (inner_tag, oid, _) = read_tlv(value)?;
            return (inner_tag == OID).then_some(oid);
        }
        rest = next;
    }
    None
}

/// One DER element: tag, definite length, content.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Splits the first DER element off `input`: (tag, content, rest). Single-byte tags only.
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > std::mem::size_of::<usize>() || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{PublicKeyData, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384};

    #[test]
    fn tlv_lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 70_000] {
            let content = vec![7u8; len];
            let der = tlv(OCTET_STRING, &content);
            let (tag, body, rest) = read_tlv(&der).expect("parse");
            assert_eq!((tag, body.len(), rest.len()), (OCTET_STRING, len, 0));
        }
        assert!(
            read_tlv(&[SEQUENCE, 0x85, 1, 2]).is_none(),
            "truncated long length"
        );
        assert!(
            read_tlv(&[SEQUENCE, 3, 1]).is_none(),
            "content shorter than length"
        );
    }

    #[test]
    fn pkcs8_pem_loads_and_keeps_its_algorithm() {
        for alg in [&PKCS_ECDSA_P256_SHA256, &PKCS_ECDSA_P384_SHA384] {
            let key = KeyPair::generate_for(alg).expect("generate");
            let loaded = key_pair_from_pem(key.serialize_pem().as_bytes(), Path::new("k.pem"))
                .expect("load");
            assert_eq!(loaded.algorithm(), alg);
            assert_eq!(loaded.der_bytes(), key.der_bytes());
        }
    }

    #[test]
    fn missing_and_encrypted_keys_say_so() {
        let cert_only = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = key_pair_from_pem(cert_only, Path::new("/x/ca.pem")).expect_err("no key");
        assert!(matches!(err, TlsError::NoKey { .. }), "{err}");
        assert!(err.to_string().contains("/x/ca.pem"));

        let enc =
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let err = key_pair_from_pem(enc, Path::new("e.pem")).expect_err("encrypted");
        assert!(matches!(err, TlsError::EncryptedKey { .. }), "{err}");
    }

    #[test]
    fn garbage_pkcs8_is_unsupported_not_a_panic() {
        let junk = b"-----BEGIN PRIVATE KEY-----\nAAECAwQF\n-----END PRIVATE KEY-----\n";
        let err = key_pair_from_pem(junk, Path::new("j.pem")).expect_err("junk");
        assert!(matches!(err, TlsError::UnsupportedKey { .. }), "{err}");
    }

    #[test]
    fn sec1_curve_is_found_in_parameters() {
        // SEQUENCE { INTEGER 1, OCTET STRING 32 bytes, [0] { OID P-256 } }
        let body = [
            tlv(INTEGER, &[1]),
            tlv(OCTET_STRING, &[9u8; 32]),
            tlv(CONTEXT_0, &tlv(OID, OID_P256)),
        ]
        .concat();
        assert_eq!(sec1_curve(&tlv(SEQUENCE, &body)), Some(OID_P256));
        let no_params = [tlv(INTEGER, &[1]), tlv(OCTET_STRING, &[9u8; 32])].concat();
        assert_eq!(sec1_curve(&tlv(SEQUENCE, &no_params)), None);
    }
}

//! DER to PEM text. Decoding PEM is left to `rustls-pki-types`; encoding is the small part it lacks.
//! Output follows RFC 7468 as OpenSSL and Python's `cryptography` write it (64-column base64, LF),
//! so the files we write look like the ones mitmproxy writes.

/// Encodes `der` as one PEM block with the given label (e.g. `CERTIFICATE`), ending in a newline.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = cctap_archive::base64::encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // The alphabet is ASCII, so every 64-byte chunk is valid UTF-8 on a char boundary.
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    #[test]
    fn pem_round_trips_through_pki_types_at_every_length() {
        for len in 0..200usize {
            let der: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let text = encode("CERTIFICATE", &der);
            assert!(
                text.lines().all(|l| l.len() <= 64),
                "line too long at len {len}"
            );
            if len == 0 {
                continue; // pki-types rejects an empty body, as it should
            }
            let back = CertificateDer::from_pem_slice(text.as_bytes()).expect("parse back");
            assert_eq!(back.as_ref(), der.as_slice(), "len {len}");
        }
    }
}

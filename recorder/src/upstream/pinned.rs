//! A server certificate given itself with `--upstream-ca`.
//!
//! `openssl req -x509` makes a self-signed certificate marked as a CA, and
//! people serve it as the server's own certificate. WebPKI refuses that
//! (`CaUsedAsEndEntity`); curl and OpenSSL accept it when the very
//! certificate is in the trust file. So does cctap: when the server presents
//! a certificate byte for byte equal to one of the `--upstream-ca` file's,
//! it is believed if it is valid now and names the host (its
//! subjectAltName, or its common name when it has none, as OpenSSL checks).
//! Everything else goes through the WebPKI verifier unchanged.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::net::IpAddr;
use std::sync::Arc;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// WebPKI, plus the certificates the user pinned.
#[derive(Debug)]
pub struct PinnedOrWebPki {
    pub webpki: Arc<WebPkiServerVerifier>,
    pub pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refused = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        if !self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return Err(refused);
        }
        check_pinned(end_entity, server_name, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A pinned certificate still has to be in date and name the server.
fn check_pinned(
    der: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let bad = |e: CertificateError| rustls::Error::InvalidCertificate(e);
    let (_, cert) =
        X509Certificate::from_der(der.as_ref()).map_err(|_| bad(CertificateError::BadEncoding))?;
    let now = now.as_secs() as i64;
    let validity = cert.validity();
    if now < validity.not_before.timestamp() {
        return Err(bad(CertificateError::NotValidYet));
    }
    if now > validity.not_after.timestamp() {
        return Err(bad(CertificateError::Expired));
    }
    if names_server(&cert, server_name) {
        Ok(())
    } else {
        Err(bad(CertificateError::NotValidForName))
    }
}

/// The subjectAltName's DNS names and addresses; without that extension,
/// the subject's common names.
fn names_server(cert: &X509Certificate<'_>, server_name: &ServerName<'_>) -> bool {
    let alt = cert.subject_alternative_name().ok().flatten();
    match (server_name, alt) {
        (ServerName::DnsName(name), Some(alt)) => alt.value.general_names.iter().any(
            |n| matches!(n, GeneralName::DNSName(pattern) if dns_matches(pattern, name.as_ref())),
        ),
        (ServerName::IpAddress(ip), Some(alt)) => {
            let ip = IpAddr::from(*ip);
            alt.value
                .general_names
                .iter()
                .any(|n| matches!(n, GeneralName::IPAddress(bytes) if ip_bytes(bytes) == Some(ip)))
        }
        (server_name, None) => {
            let wanted = match server_name {
                ServerName::DnsName(name) => name.as_ref().to_owned(),
                ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
                _ => return false,
            };
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok())
                .any(|cn| dns_matches(cn, &wanted))
        }
        _ => false,
    }
}

/// Case-insensitive; `*.` matches exactly one leftmost label.
fn dns_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(rest) => name
            .split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
        None => pattern == name,
    }
}

fn ip_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_one_label() {
        assert!(dns_matches("*.example.test", "api.example.test"));
        assert!(dns_matches("API.example.test.", "api.example.test"));
        assert!(!dns_matches("*.example.test", "a.b.example.test"));
        assert!(!dns_matches("*.example.test", "example.test"));
        assert!(!dns_matches("localhost", "otherhost"));
    }
}

//! Leaf certificates for intercepted hosts, minted from the CA and handed out as ready
//! `rustls::ServerConfig`s, one per (host, ALPN offer), from a small bounded cache.
//!
//! Every leaf shares one P-256 key generated per minter: minting is then one signature, and the
//! key never leaves memory. Each leaf: CN and SAN = the host (dNSName, or iPAddress for an IP
//! literal), EKU serverAuth, a random serial, valid from a day ago for a year but never past the
//! CA. The chain sent is leaf + CA, as mitmproxy sends it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose, SanType,
    PKCS_ECDSA_P256_SHA256,
};
use rustls::crypto::CryptoProvider;
use rustls::server::ServerConfig;
use rustls::sign::{CertifiedKey, SigningKey, SingleCertAndKey};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use super::ca::{random_serial, CertificateAuthority};
use super::error::{Result, TlsError};

/// Default bound on cached configs (mitmproxy keeps 100 certificates; configs are small).
pub const DEFAULT_CACHE_CAPACITY: usize = 1000;
const LEAF_LIFETIME: Duration = Duration::days(365);
const LEAF_BACKDATE: Duration = Duration::days(1);
/// A cached leaf is re-minted this long before it expires, for proxies left running.
const RENEW_MARGIN: Duration = Duration::days(7);
/// X.520 upper bound for a common name; longer hosts get a SAN only (as mitmproxy does).
const MAX_COMMON_NAME: usize = 64;

/// Which application protocols the leaf's TLS server offers by ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alpn {
    /// `h2` then `http/1.1`: for a client that offered h2.
    H2AndHttp11,
    /// `http/1.1` only.
    Http11,
}

impl Alpn {
    fn protocols(self) -> Vec<Vec<u8>> {
        match self {
            Alpn::H2AndHttp11 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            Alpn::Http11 => vec![b"http/1.1".to_vec()],
        }
    }
}

/// The name a leaf is minted for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LeafName {
    Dns(String),
    Ip(IpAddr),
}

impl LeafName {
    /// Normalises a host from SNI or a CONNECT line: `[::1]` and `127.0.0.1` become IPs; names
    /// are lower-cased without a trailing dot. Rejects what cannot be a DNS name.
    pub fn parse(host: &str) -> Result<Self> {
        let trimmed = host.trim();
        let unbracketed = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        if let Ok(ip) = unbracketed.unwrap_or(trimmed).parse::<IpAddr>() {
            return Ok(LeafName::Ip(ip));
        }
        let name = trimmed
            .strip_suffix('.')
            .unwrap_or(trimmed)
            .to_ascii_lowercase();
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        if name.is_empty() || name.len() > 253 || !name.chars().all(valid_char) {
            let detail = "not a DNS name or IP address (IDNs must arrive punycoded)".into();
            return Err(TlsError::Mint {
                host: host.to_string(),
                detail,
            });
        }
        Ok(LeafName::Dns(name))
    }

    fn as_text(&self) -> String {
        match self {
            LeafName::Dns(name) => name.clone(),
            LeafName::Ip(ip) => ip.to_string(),
        }
    }
}

/// Mints leaves from one CA and caches their server configs.
pub struct LeafMinter {
    ca: Arc<CertificateAuthority>,
    /// Explicit provider: never depend on a process-wide default being installed.
    provider: Arc<CryptoProvider>,
    /// The public half goes into every leaf.
    leaf_key: KeyPair,
    /// The same key as rustls signs with it in handshakes.
    signing_key: Arc<dyn SigningKey>,
    cache: Mutex<LeafCache>,
}

impl std::fmt::Debug for LeafMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafMinter")
            .field("ca", &self.ca)
            .finish_non_exhaustive()
    }
}

impl LeafMinter {
    /// A minter with the default cache bound.
    pub fn new(ca: Arc<CertificateAuthority>) -> Result<Self> {
        Self::with_capacity(ca, DEFAULT_CACHE_CAPACITY)
    }

    /// A minter caching at most `capacity` server configs (at least one).
    pub fn with_capacity(ca: Arc<CertificateAuthority>, capacity: usize) -> Result<Self> {
        let generate_err = |detail: String| TlsError::Generate { detail };
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(|e| generate_err(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let signing_key = provider
            .key_provider
            .load_private_key(der)
            .map_err(|e| generate_err(e.to_string()))?;
        let cache = Mutex::new(LeafCache::new(capacity.max(1)));
        Ok(Self {
            ca,
            provider,
            leaf_key,
            signing_key,
            cache,
        })
    }

    /// The CA this minter signs with.
    pub fn ca(&self) -> &Arc<CertificateAuthority> {
        &self.ca
    }

    /// The TLS server config presenting a leaf for `host` (SNI name, CONNECT host or IP
    /// literal), offering `alpn`. The same `Arc` comes back for the same (host, alpn) while it
    /// stays cached and fresh.
    pub fn server_config(&self, host: &str, alpn: Alpn) -> Result<Arc<ServerConfig>> {
        let name = LeafName::parse(host)?;
        let key = (name.clone(), alpn);
        let now = OffsetDateTime::now_utc();
        if let Some(config) = self.lock_cache().get(&key, now) {
            return Ok(config);
        }
        let (leaf, renew_after) = self.mint(&name, now)?;
        let config = self.build_config(leaf, alpn, host)?;
        // Two threads may mint the same host at once; both get whichever landed first.
        Ok(self.lock_cache().insert(key, config, renew_after, now))
    }

    /// Mints a leaf certificate (DER) for `host` without caching: for tests and diagnostics.
    #[cfg(test)]
    pub fn mint_der(&self, host: &str) -> Result<CertificateDer<'static>> {
        let name = LeafName::parse(host)?;
        Ok(self.mint(&name, OffsetDateTime::now_utc())?.0)
    }

    /// Signs a leaf for `name`; returns it and when to replace it.
    fn mint(
        &self,
        name: &LeafName,
        now: OffsetDateTime,
    ) -> Result<(CertificateDer<'static>, OffsetDateTime)> {
        let text = name.as_text();
        let mint_err = |e: rcgen::Error| TlsError::Mint {
            host: text.clone(),
            detail: e.to_string(),
        };
        if self.ca.not_after() <= now + Duration::minutes(1) {
            return Err(TlsError::Mint {
                host: text,
                detail: format!(
                    "the CA in {} has expired: move it away and restart to create a new one",
                    self.ca.origin().display()
                ),
            });
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if text.len() < MAX_COMMON_NAME {
            params
                .distinguished_name
                .push(DnType::CommonName, text.as_str());
        }
        params.subject_alt_names = vec![match name {
            LeafName::Dns(dns) => SanType::DnsName(dns.as_str().try_into().map_err(mint_err)?),
            LeafName::Ip(ip) => SanType::IpAddress(*ip),
        }];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial()?);
        params.not_before = now - LEAF_BACKDATE;
        params.not_after = (now + LEAF_LIFETIME).min(self.ca.not_after());
        let cert = params
            .signed_by(&self.leaf_key, self.ca.issuer())
            .map_err(mint_err)?;
        let renew_after = params.not_after - RENEW_MARGIN;
        Ok((cert.der().clone(), renew_after))
    }

    /// A rustls server config presenting `leaf` + CA with the shared key.
    fn build_config(
        &self,
        leaf: CertificateDer<'static>,
        alpn: Alpn,
        host: &str,
    ) -> Result<Arc<ServerConfig>> {
        let chain = vec![leaf, self.ca.cert_der().clone()];
        let certified = CertifiedKey::new(chain, Arc::clone(&self.signing_key));
        let builder = ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Mint {
                host: host.to_string(),
                detail: e.to_string(),
            })?;
        let mut config = builder
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
        config.alpn_protocols = alpn.protocols();
        Ok(Arc::new(config))
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, LeafCache> {
        // The cache holds no invariant a panicking holder could break half-way.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn cached_len(&self) -> usize {
        self.lock_cache().map.len()
    }
}

type CacheKey = (LeafName, Alpn);

/// Bounded map with first-in-first-out eviction, like mitmproxy's certificate store.
struct LeafCache {
    capacity: usize,
    map: HashMap<CacheKey, (Arc<ServerConfig>, OffsetDateTime)>,
    order: VecDeque<CacheKey>,
}

impl LeafCache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn get(&self, key: &CacheKey, now: OffsetDateTime) -> Option<Arc<ServerConfig>> {
        let (config, renew_after) = self.map.get(key)?;
        (now < *renew_after).then(|| Arc::clone(config))
    }

    /// Stores `config` unless a fresh one is already there; returns the one stored.
    fn insert(
        &mut self,
        key: CacheKey,
        config: Arc<ServerConfig>,
        renew_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Arc<ServerConfig> {
        if let Some(existing) = self.get(&key, now) {
            return existing;
        }
        if self
            .map
            .insert(key.clone(), (Arc::clone(&config), renew_after))
            .is_none()
        {
            self.order.push_back(key);
        }
        while self.map.len() > self.capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.map.remove(&oldest);
                }
                None => break,
            }
        }
        config
    }
}

#[cfg(test)]
#[path = "leaf_tests.rs"]
mod tests;

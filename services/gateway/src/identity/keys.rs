//! The issuer's signing keys: found through its discovery document, cached, and
//! fetched again when a token names a key id not seen yet — at most once every
//! `min_interval`, so that tokens with made-up key ids cannot make the gateway
//! hammer the issuer.
//!
//! Only asymmetric keys are trusted, each for the one algorithm its type allows
//! (RSA → RS256, P-256 → ES256, Ed25519 → EdDSA): a symmetric (`oct`) key in the
//! set is ignored, so a token can never be checked as HMAC with a public key.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// A key the gateway trusts, and the one algorithm it is trusted for.
#[derive(Clone)]
pub struct TrustedKey {
    pub key: DecodingKey,
    pub algorithm: Algorithm,
}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The algorithm a JWK is trusted for, if any.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    // A key that declares an algorithm must declare the one its type allows.
    let declared = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(_) => return None,
    };
    match declared {
        Some(alg) if alg != by_type => None,
        _ => Some(by_type),
    }
}

fn trusted(set: &JwkSet) -> HashMap<String, TrustedKey> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let algorithm = algorithm_of(jwk)?;
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, TrustedKey { key, algorithm }))
        })
        .collect()
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// The issuer's keys, by key id.
#[derive(Debug)]
pub struct KeySet {
    http: reqwest::Client,
    jwks_uri: String,
    keys: RwLock<HashMap<String, TrustedKey>>,
    /// When the keys were last fetched; held while fetching, so one fetch serves
    /// every request waiting for it.
    fetched: tokio::sync::Mutex<Instant>,
    min_interval: Duration,
    /// Counts the key sets fetched: what was verified with an earlier one is
    /// verified again.
    generation: std::sync::atomic::AtomicU64,
}

impl KeySet {
    /// Reads `issuer`'s discovery document and fetches its keys.
    pub async fn discover(
        http: reqwest::Client,
        issuer: &str,
        min_interval: Duration,
    ) -> anyhow::Result<KeySet> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery: Discovery = http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .with_context(|| format!("fetching {url}"))?
            .json()
            .await
            .with_context(|| format!("reading {url}"))?;
        anyhow::ensure!(
            discovery.issuer == issuer,
            "the discovery document at {url} names issuer {}, not {issuer}",
            discovery.issuer
        );
        let set = KeySet {
            http,
            jwks_uri: discovery.jwks_uri,
            keys: RwLock::new(HashMap::new()),
            fetched: tokio::sync::Mutex::new(Instant::now()),
            min_interval,
            generation: std::sync::atomic::AtomicU64::new(0),
        };
        let keys = set.fetch().await?;
        anyhow::ensure!(
            !keys.is_empty(),
            "{} holds no key the gateway can trust",
            set.jwks_uri
        );
        *set.keys.write() = keys;
        Ok(set)
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, TrustedKey>> {
        let set: JwkSet = self
            .http
            .get(&self.jwks_uri)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .with_context(|| format!("fetching {}", self.jwks_uri))?
            .json()
            .await
            .with_context(|| format!("reading {}", self.jwks_uri))?;
        Ok(trusted(&set))
    }

    fn cached(&self, kid: &str) -> Option<TrustedKey> {
        self.keys.read().get(kid).cloned()
    }

    /// Which key set is in use: changes whenever the keys are fetched again.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The key `kid`: from the cache, or — if the keys were not fetched within
    /// the minimum interval — from a new fetch (the issuer may have rotated).
    pub async fn key(&self, kid: &str) -> Option<TrustedKey> {
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        let mut fetched = self.fetched.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        if fetched.elapsed() < self.min_interval {
            return None;
        }
        *fetched = Instant::now();
        match self.fetch().await {
            Ok(keys) => {
                *self.keys.write() = keys;
                self.generation
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            Err(e) => tracing::warn!(error = %e, "refreshing the issuer's keys failed"),
        }
        self.cached(kid)
    }
}

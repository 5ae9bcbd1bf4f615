//! Bearer tokens: JWTs from the configured issuer, for the configured audience,
//! signed with one of the issuer's published keys in the algorithm that key is
//! trusted for (RS256, ES256 or EdDSA; never `none`, never HMAC), within `exp`
//! and `nbf` give or take a small leeway, and naming their subject.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use plinth_core::ApiError;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::keys::KeySet;
use crate::settings::OidcSettings;

/// The algorithms a token may be signed with.
pub const ALLOWED: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// Who a verified token says is calling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The issuer's subject (`sub`).
    pub subject: String,
    /// The person's email, only when the identity provider says it is verified.
    pub email: Option<String>,
    /// The identity provider's groups, mapped to roles by the role bindings.
    pub groups: Vec<String>,
    pub issuer: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    groups: Vec<String>,
}

/// Checks bearer tokens.
#[derive(Debug)]
pub struct BearerVerifier {
    keys: KeySet,
    issuer: String,
    audience: String,
    leeway: u64,
    /// Tokens already checked, by the SHA-256 of their text: an API client sends
    /// the same token with every request, and the signature check is most of the
    /// cost of a request. An entry serves until the token expires (within the
    /// leeway), for at most `VERIFIED_FOR_SECONDS`, and only with the key set it was
    /// checked against.
    verified: RwLock<HashMap<[u8; 32], Verified>>,
}

#[derive(Debug, Clone)]
struct Verified {
    identity: Identity,
    until: i64,
    generation: u64,
}

/// How long a checked token is taken on trust before it is checked again.
const VERIFIED_FOR_SECONDS: i64 = 300;
/// The most checked tokens kept; past it, expired entries go, then all.
const VERIFIED_MAX: usize = 10_000;

/// Every refusal is the same `401 unauthenticated` to the caller; the reason is
/// logged and audited, not told.
fn refuse(reason: &str) -> ApiError {
    ApiError::unauthenticated("the bearer token is not valid").with_internal(reason)
}

impl BearerVerifier {
    /// Discovers the issuer's keys.
    pub async fn new(http: reqwest::Client, oidc: &OidcSettings) -> anyhow::Result<Self> {
        let keys = KeySet::discover(
            http,
            &oidc.issuer,
            Duration::from_secs(oidc.jwks_refresh_min_seconds),
        )
        .await?;
        Ok(BearerVerifier {
            keys,
            issuer: oidc.issuer.clone(),
            audience: oidc.audience.clone(),
            leeway: oidc.leeway_seconds,
            verified: RwLock::new(HashMap::new()),
        })
    }

    /// The identity `token` proves, or `401`.
    pub async fn verify(&self, token: &str) -> Result<Identity, ApiError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let generation = self.keys.generation();
        if let Some(known) = self.verified.read().get(&digest)
            && known.until > now
            && known.generation == generation
        {
            return Ok(known.identity.clone());
        }
        let (identity, exp) = self.check(token).await?;
        let mut verified = self.verified.write();
        if verified.len() >= VERIFIED_MAX {
            verified.retain(|_, v| v.until > now);
            if verified.len() >= VERIFIED_MAX {
                verified.clear();
            }
        }
        verified.insert(
            digest,
            Verified {
                identity: identity.clone(),
                until: (exp + self.leeway as i64).min(now + VERIFIED_FOR_SECONDS),
                generation,
            },
        );
        Ok(identity)
    }

    /// The full check of a token: its identity and expiry.
    async fn check(&self, token: &str) -> Result<(Identity, i64), ApiError> {
        let header = decode_header(token).map_err(|e| refuse(&format!("header: {e}")))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(refuse(&format!(
                "algorithm {:?} is not allowed",
                header.alg
            )));
        }
        let kid = header.kid.ok_or_else(|| refuse("no key id"))?;
        let key = self
            .keys
            .key(&kid)
            .await
            .ok_or_else(|| refuse(&format!("unknown key id {kid}")))?;
        if key.algorithm != header.alg {
            return Err(refuse(&format!(
                "key {kid} is trusted for {:?}, not {:?}",
                key.algorithm, header.alg
            )));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway;
        let claims = decode::<Claims>(token, &key.key, &validation)
            .map_err(|e| {
                refuse(match e.kind() {
                    ErrorKind::ExpiredSignature => "expired",
                    ErrorKind::ImmatureSignature => "not yet valid (nbf)",
                    ErrorKind::InvalidAudience => "wrong audience",
                    ErrorKind::InvalidIssuer => "wrong issuer",
                    ErrorKind::InvalidSignature => "bad signature",
                    ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
                    _ => "malformed",
                })
            })?
            .claims;
        if claims.sub.trim().is_empty() {
            return Err(refuse("empty subject"));
        }
        Ok((
            Identity {
                subject: claims.sub,
                // An address the identity provider has not verified could be
                // anyone's: it is not shown as who acted.
                email: claims.email.filter(|_| claims.email_verified == Some(true)),
                groups: claims.groups,
                issuer: self.issuer.clone(),
            },
            claims.exp,
        ))
    }
}

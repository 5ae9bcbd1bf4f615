//! The internal token: how a request's verified identity travels from the gateway to
//! a service.
//!
//! A compact JWS (EdDSA over Ed25519) with a short lifetime, issued by
//! [`ISSUER`] for exactly one service (`aud`). Services hold only the public key, so
//! a compromised service cannot mint tokens for another. A token names its region;
//! a deployment refuses tokens of the other region.

use std::time::Duration;

use actix_web::{HttpMessage as _, HttpRequest, http::header, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use plinth_core::{ApiError, Principal, Region, ReqCtx, RequestId, Role, TenantId};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The `iss` of every internal token.
pub const ISSUER: &str = "plinth-gateway";

/// What an internal token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalClaims {
    /// Always [`ISSUER`].
    pub iss: String,
    /// The one service the token is for, e.g. `tenant-registry`.
    pub aud: String,
    /// The principal's subject.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The principal's display name.
    pub name: Option<String>,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// The region of the deployment that minted it.
    pub region: Region,
    /// The tenant the request acts on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    /// The roles the principal holds for `tenant` (or platform-wide).
    pub roles: Vec<Role>,
    /// For platform roles: the tenants the principal is bound to. Absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenants: Option<Vec<TenantId>>,
    /// For platform roles bound to chosen tenants: each role with its tenants, so a
    /// role bound in one tenant does not act in another the principal reaches
    /// through a different role. Absent: every role in every tenant it reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<Grant>>,
    /// The request id the gateway assigned, in a token for one request. A token
    /// the gateway reuses for a caller's requests (`mint_reusable`) has none: the
    /// request id comes in `x-request-id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<RequestId>,
}

/// A platform role bound to chosen tenants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grant {
    /// The platform role.
    pub role: Role,
    /// The tenants it is held in.
    pub tenants: Vec<TenantId>,
}

/// The tenants a set of grants reaches, each once.
fn tenants_of(grants: &[Grant]) -> Vec<TenantId> {
    let mut tenants: Vec<TenantId> = grants.iter().flat_map(|g| g.tenants.clone()).collect();
    tenants.sort();
    tenants.dedup();
    tenants
}

#[derive(Debug, thiserror::Error)]
/// Why a token was refused, or a key not read.
pub enum TokenError {
    #[error("no bearer token")]
    /// No `Authorization: Bearer` header.
    Missing,
    #[error("the token is not valid: {0}")]
    /// Not a valid token for this service: signature, audience, issuer or lifetime.
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("the token is for region {0}, this deployment serves {1}")]
    /// Minted for another region: (the token's, this deployment's).
    WrongRegion(Region, Region),
    #[error("key: {0}")]
    /// A key that could not be read.
    Key(String),
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        ApiError::unauthenticated("a valid internal token is required").with_internal(err)
    }
}

/// A new Ed25519 key pair: the private key as PKCS#8 DER (for the issuer) and the
/// public key's 32 bytes (for verifiers).
#[expect(clippy::expect_used, reason = "an Ed25519 key always encodes")]
pub fn keypair() -> (Vec<u8>, [u8; 32]) {
    let signing = SigningKey::generate(&mut rand_core::OsRng);
    let der = signing
        .to_pkcs8_der()
        .expect("an Ed25519 key always encodes")
        .as_bytes()
        .to_vec();
    (der, signing.verifying_key().to_bytes())
}

/// Mints internal tokens (the gateway; tests acting as the gateway).
pub struct TokenIssuer {
    key: EncodingKey,
    lifetime: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// The issuer of a PKCS#8 PEM Ed25519 private key (`openssl genpkey -algorithm
    /// ED25519`).
    pub fn from_pem(pem: &str, lifetime: Duration) -> Result<Self, TokenError> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        let key = SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|e| TokenError::Key(format!("the internal-token private key: {e}")))?;
        let der = key
            .to_pkcs8_der()
            .map_err(|e| TokenError::Key(e.to_string()))?;
        Ok(Self::new(der.as_bytes(), lifetime))
    }

    /// `private_key` is PKCS#8 DER; tokens live for `lifetime`.
    pub fn new(private_key: &[u8], lifetime: Duration) -> Self {
        TokenIssuer {
            key: EncodingKey::from_ed_der(private_key),
            lifetime,
        }
    }

    /// A token for `audience` carrying `ctx`, and for platform roles bound to chosen
    /// tenants each role's tenants (`None`: every tenant).
    pub fn mint(
        &self,
        audience: &str,
        ctx: &ReqCtx,
        bound: Option<&[Grant]>,
    ) -> Result<String, TokenError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = InternalClaims {
            iss: ISSUER.to_owned(),
            aud: audience.to_owned(),
            sub: ctx.principal.subject.clone(),
            name: ctx.principal.display.clone(),
            iat: now,
            exp: now + self.lifetime.as_secs() as i64,
            region: ctx.region,
            tenant: ctx.tenant,
            roles: ctx.roles.clone(),
            tenants: bound.map(tenants_of),
            grants: bound.map(<[Grant]>::to_vec),
            rid: Some(ctx.request_id),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::EdDSA),
            &claims,
            &self.key,
        )?)
    }
}

impl TokenIssuer {
    /// A token for `audience` carrying `ctx` without its request id, for every
    /// request of the same caller in the same place until it expires (the service
    /// reads each request's id from `x-request-id`): signing is most of the cost of
    /// a forwarded request. Also its expiry (Unix seconds).
    pub fn mint_reusable(
        &self,
        audience: &str,
        ctx: &ReqCtx,
        bound: Option<&[Grant]>,
    ) -> Result<(String, i64), TokenError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let exp = now + self.lifetime.as_secs() as i64;
        let claims = InternalClaims {
            iss: ISSUER.to_owned(),
            aud: audience.to_owned(),
            sub: ctx.principal.subject.clone(),
            name: ctx.principal.display.clone(),
            iat: now,
            exp,
            region: ctx.region,
            tenant: ctx.tenant,
            roles: ctx.roles.clone(),
            tenants: bound.map(tenants_of),
            grants: bound.map(<[Grant]>::to_vec),
            rid: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)?;
        Ok((token, exp))
    }

    /// How long minted tokens live.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

fn decoding_key(public_key: &[u8; 32]) -> Result<DecodingKey, TokenError> {
    DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(public_key))
        .map_err(|e| TokenError::Key(e.to_string()))
}

/// Verifies internal tokens for one service in one region.
pub struct TokenVerifier {
    /// The keys a token may be signed with: one, or during a rotation the new
    /// and the old.
    keys: Vec<DecodingKey>,
    validation: Validation,
    region: Region,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// The verifier of the keys services are configured with
    /// (`auth.internal_token_public_key`: the 32 bytes of an Ed25519 public key,
    /// base64url without padding; during a rotation two, comma-separated, and a
    /// token signed with either passes).
    pub fn from_base64url(
        encoded: &str,
        audience: &str,
        region: Region,
    ) -> Result<Self, TokenError> {
        let mut keys = encoded.split(',').map(|one| {
            let bytes = URL_SAFE_NO_PAD.decode(one.trim()).map_err(|_| {
                TokenError::Key("the internal-token public key is not base64url".into())
            })?;
            <[u8; 32]>::try_from(bytes).map_err(|_| {
                TokenError::Key("the internal-token public key must be 32 bytes (Ed25519)".into())
            })
        });
        let first = keys
            .next()
            .unwrap_or_else(|| Err(TokenError::Key("no internal-token public key".into())))?;
        let mut verifier = Self::new(&first, audience, region)?;
        for key in keys {
            verifier.keys.push(decoding_key(&key?)?);
        }
        Ok(verifier)
    }

    /// `public_key` is the issuer's Ed25519 public key; only tokens for `audience`
    /// and `region` pass.
    pub fn new(public_key: &[u8; 32], audience: &str, region: Region) -> Result<Self, TokenError> {
        let key = decoding_key(public_key)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(TokenVerifier {
            keys: vec![key],
            validation,
            region,
        })
    }

    /// The caller a token describes, if it is genuine, current, for this service and
    /// for this region.
    pub fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        self.verify_with(token, RequestId::new)
    }

    /// As [`verify`](Self::verify); a token without a request id gets
    /// `request_id()`'s.
    pub fn verify_with(
        &self,
        token: &str,
        request_id: impl FnOnce() -> RequestId,
    ) -> Result<Caller, TokenError> {
        let mut decoded =
            jsonwebtoken::decode::<InternalClaims>(token, &self.keys[0], &self.validation);
        for key in &self.keys[1..] {
            match &decoded {
                Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    decoded = jsonwebtoken::decode::<InternalClaims>(token, key, &self.validation);
                }
                _ => break,
            }
        }
        let claims = decoded?.claims;
        if claims.region != self.region {
            return Err(TokenError::WrongRegion(claims.region, self.region));
        }
        Ok(Caller {
            ctx: ReqCtx {
                principal: Principal {
                    subject: claims.sub,
                    display: claims.name,
                },
                tenant: claims.tenant,
                roles: claims.roles,
                region: claims.region,
                request_id: claims.rid.unwrap_or_else(request_id),
            },
            bound_tenants: claims.tenants,
            grants: claims.grants,
        })
    }
}

/// The verified caller of a request: its context, and for platform roles the tenants
/// the principal is bound to (`None`: every tenant). A handler gets it from
/// [`Authorized`](crate::Authorized), once the route's permission allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who is calling, for which tenant, with which roles.
    pub ctx: ReqCtx,
    /// For platform roles: the tenants the principal is bound to (`None`: every tenant).
    pub bound_tenants: Option<Vec<TenantId>>,
    /// Each bound platform role with its tenants (`None`: every role everywhere
    /// the caller reaches).
    pub grants: Option<Vec<Grant>>,
}

impl Caller {
    /// Whether the caller may act on `tenant` at all: a tenant role only on its own
    /// tenant, a platform role on the tenants it is bound to.
    /// Answers `not_found` for a tenant the caller does not reach, exactly as for
    /// one that does not exist, and `wrong_region` for one of the other region.
    pub fn reach(&self, tenant: TenantId) -> Result<(), ApiError> {
        self.ctx.require_local(tenant)?;
        if self.reaches(tenant) {
            Ok(())
        } else {
            Err(ApiError::not_found("tenant"))
        }
    }

    /// The roles the caller acts with in `tenant`: a platform role bound to chosen
    /// tenants only in those, tenant roles as they are.
    pub fn roles_in(&self, tenant: TenantId) -> Vec<Role> {
        let Some(grants) = &self.grants else {
            return self.ctx.roles.clone();
        };
        self.ctx
            .roles
            .iter()
            .copied()
            .filter(|role| {
                !role.is_platform()
                    || grants
                        .iter()
                        .any(|g| g.role == *role && g.tenants.contains(&tenant))
            })
            .collect()
    }

    /// Whether the caller reaches `tenant`: a platform role bound to it (or to
    /// every tenant), or a tenant role of that tenant.
    pub fn reaches(&self, tenant: TenantId) -> bool {
        let platform = self.ctx.roles.iter().any(|r| r.is_platform());
        if platform {
            self.bound_tenants
                .as_ref()
                .is_none_or(|bound| bound.contains(&tenant))
        } else {
            self.ctx.tenant == Some(tenant)
        }
    }
}

/// The request's caller, from `Authorization: Bearer <internal token>` and the
/// app's [`TokenVerifier`]. Handlers get it only through
/// [`Authorized`](crate::Authorized).
pub(crate) fn caller_of(req: &HttpRequest) -> Result<Caller, ApiError> {
    let verifier = req
        .app_data::<web::Data<TokenVerifier>>()
        .ok_or_else(|| ApiError::internal("no token verifier configured"))?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(TokenError::Missing)?;
    // A reusable token leaves the request id to `x-request-id`, which the request-id
    // middleware has read.
    Ok(verifier.verify_with(token.trim(), || {
        req.extensions()
            .get::<RequestId>()
            .copied()
            .unwrap_or_else(RequestId::new)
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(region: Region, tenant: Option<TenantId>, roles: Vec<Role>) -> ReqCtx {
        ReqCtx {
            principal: Principal {
                subject: "alice".into(),
                display: Some("Alice".into()),
            },
            tenant,
            roles,
            region,
            request_id: RequestId::new(),
        }
    }

    #[test]
    fn a_token_carries_the_context_to_its_service_only() {
        let (private, public) = keypair();
        let issuer = TokenIssuer::new(&private, Duration::from_secs(60));
        let tenant = TenantId::new(Region::Eu);
        let sent = ctx(Region::Eu, Some(tenant), vec![Role::Operator]);
        let token = issuer.mint("tenant-registry", &sent, None).unwrap();

        let verifier = TokenVerifier::new(&public, "tenant-registry", Region::Eu).unwrap();
        let caller = verifier.verify(&token).unwrap();
        assert_eq!(caller.ctx, sent);
        assert!(caller.reaches(tenant));
        assert!(!caller.reaches(TenantId::new(Region::Eu)));

        let other_service = TokenVerifier::new(&public, "audit", Region::Eu).unwrap();
        assert!(other_service.verify(&token).is_err());
        let other_region = TokenVerifier::new(&public, "tenant-registry", Region::Us).unwrap();
        assert!(matches!(
            other_region.verify(&token),
            Err(TokenError::WrongRegion(Region::Eu, Region::Us))
        ));
        let (_, stranger) = keypair();
        let forged = TokenVerifier::new(&stranger, "tenant-registry", Region::Eu).unwrap();
        assert!(forged.verify(&token).is_err());
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 3, 'A');
        assert!(verifier.verify(&tampered).is_err());
    }

    #[test]
    fn during_a_rotation_tokens_signed_with_the_new_or_the_old_key_pass() {
        let (old_private, old_public) = keypair();
        let (new_private, new_public) = keypair();
        let (stranger_private, _) = keypair();
        let encode = |key: &[u8; 32]| URL_SAFE_NO_PAD.encode(key);
        let sent = ctx(Region::Us, None, vec![Role::PlatformAdmin]);
        let mint = |private: &[u8]| {
            TokenIssuer::new(private, Duration::from_secs(60))
                .mint("pack-service", &sent, None)
                .unwrap()
        };
        let both = TokenVerifier::from_base64url(
            &format!("{}, {}", encode(&new_public), encode(&old_public)),
            "pack-service",
            Region::Us,
        )
        .unwrap();
        assert_eq!(both.verify(&mint(&new_private)).unwrap().ctx, sent);
        assert_eq!(both.verify(&mint(&old_private)).unwrap().ctx, sent);
        assert!(both.verify(&mint(&stranger_private)).is_err());
        let new_only =
            TokenVerifier::from_base64url(&encode(&new_public), "pack-service", Region::Us)
                .unwrap();
        assert!(new_only.verify(&mint(&old_private)).is_err());
        assert!(
            TokenVerifier::from_base64url(
                &format!("{},", encode(&new_public)),
                "pack-service",
                Region::Us
            )
            .is_err(),
            "an empty key is refused"
        );
    }

    #[test]
    fn a_reusable_token_leaves_the_request_id_to_each_request() {
        let (private, public) = keypair();
        let issuer = TokenIssuer::new(&private, Duration::from_secs(60));
        let sent = ctx(Region::Us, None, vec![Role::PlatformAuditor]);
        let (token, exp) = issuer.mint_reusable("audit", &sent, None).unwrap();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        assert!((now + 59..=now + 61).contains(&exp));
        let verifier = TokenVerifier::new(&public, "audit", Region::Us).unwrap();
        let (first, second) = (RequestId::new(), RequestId::new());
        let a = verifier.verify_with(&token, || first).unwrap();
        let b = verifier.verify_with(&token, || second).unwrap();
        assert_eq!((a.ctx.request_id, b.ctx.request_id), (first, second));
        assert_eq!(a.ctx.principal, sent.principal);
        assert_eq!(a.ctx.roles, sent.roles);
        // A token for one request keeps its own.
        let once = issuer.mint("audit", &sent, None).unwrap();
        let c = verifier.verify_with(&once, || first).unwrap();
        assert_eq!(c.ctx.request_id, sent.request_id);
    }

    #[test]
    fn expired_tokens_are_refused() {
        let (private, public) = keypair();
        let issuer = TokenIssuer::new(&private, Duration::from_secs(60));
        let verifier = TokenVerifier::new(&public, "tenant-registry", Region::Us).unwrap();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = |exp| InternalClaims {
            iss: ISSUER.into(),
            aud: "tenant-registry".into(),
            sub: "alice".into(),
            name: None,
            iat: now - 120,
            exp,
            region: Region::Us,
            tenant: None,
            roles: vec![Role::PlatformAdmin],
            tenants: None,
            grants: None,
            rid: Some(RequestId::new()),
        };
        let sign = |c: &InternalClaims| {
            jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), c, &issuer.key).unwrap()
        };
        assert!(verifier.verify(&sign(&claims(now + 60))).is_ok());
        assert!(matches!(
            verifier.verify(&sign(&claims(now - 60))),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn platform_roles_reach_the_tenants_they_are_bound_to() {
        let (private, public) = keypair();
        let issuer = TokenIssuer::new(&private, Duration::from_secs(60));
        let (a, b) = (TenantId::new(Region::Us), TenantId::new(Region::Us));
        let staff = ctx(Region::Us, None, vec![Role::PlatformAdmin]);
        let verifier = TokenVerifier::new(&public, "tenant-registry", Region::Us).unwrap();
        let grant = Grant {
            role: Role::PlatformAdmin,
            tenants: vec![a],
        };
        let bound = verifier
            .verify(
                &issuer
                    .mint("tenant-registry", &staff, Some(&[grant]))
                    .unwrap(),
            )
            .unwrap();
        assert!(bound.reaches(a) && !bound.reaches(b));
        let everyone = verifier
            .verify(&issuer.mint("tenant-registry", &staff, None).unwrap())
            .unwrap();
        assert!(everyone.reaches(a) && everyone.reaches(b));
    }

    #[test]
    fn a_platform_role_bound_in_one_tenant_does_not_act_in_another() {
        let (private, public) = keypair();
        let issuer = TokenIssuer::new(&private, Duration::from_secs(60));
        let (a, b) = (TenantId::new(Region::Us), TenantId::new(Region::Us));
        let staff = ctx(
            Region::Us,
            None,
            vec![Role::PlatformAdmin, Role::PlatformAuditor],
        );
        let grants = [
            Grant {
                role: Role::PlatformAdmin,
                tenants: vec![a],
            },
            Grant {
                role: Role::PlatformAuditor,
                tenants: vec![b],
            },
        ];
        let verifier = TokenVerifier::new(&public, "pack-service", Region::Us).unwrap();
        let caller = verifier
            .verify(&issuer.mint("pack-service", &staff, Some(&grants)).unwrap())
            .unwrap();
        assert!(caller.reaches(a) && caller.reaches(b));
        let write = |t| {
            crate::Authorized::<crate::on::PackActivation, crate::to::Create>::decide(
                caller.clone(),
                Some(t),
            )
        };
        assert!(write(a).permit().is_ok());
        assert_eq!(
            write(b).permit().unwrap_err().code(),
            plinth_core::Code::Forbidden
        );
        let read = crate::Authorized::<crate::on::PackActivation, crate::to::Read>::decide(
            caller.clone(),
            Some(b),
        );
        assert!(read.permit().is_ok());
        assert_eq!(caller.roles_in(b), vec![Role::PlatformAuditor]);
    }
}

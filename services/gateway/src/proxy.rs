//! The reverse proxy: a request under a configured prefix is authenticated, held
//! to its region, given the caller's roles, and forwarded to the service behind the
//! prefix with a short-lived internal token in place of the caller's credentials.
//! Bodies stream through in both directions, up to the body limit; hop-by-hop
//! headers stay on their hop; `x-request-id` and `traceparent` go with the request.

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::SizedStream;
use actix_web::http::header::{self, HeaderName};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, ResponseError as _, web};
use futures_util::StreamExt as _;
use plinth_authz::{Grant, TokenIssuer};
use plinth_core::{
    ApiError, Code, ErrorKind, Principal, REQUEST_ID_HEADER, Region, ReqCtx, RequestId, Role,
    TenantId,
};
use tracing::Instrument as _;

use crate::denials::Denials;
use crate::http::bearer_token;
use crate::identity::ended::EndedSessions;
use crate::identity::session::{Found, Session, Sessions, check_csrf};
use crate::identity::{BearerVerifier, Identity};
use crate::limits::{Allowance, Decision, RateLimits};
use crate::roles::Roles;
use crate::settings::{Route, Settings};

/// What the proxy works with.
pub struct Proxy {
    pub verifier: BearerVerifier,
    pub sessions: Sessions,
    /// Sessions ended by a logout, here or at another gateway of the region.
    pub ended: Arc<EndedSessions>,
    issuer: TokenIssuer,
    /// The region this gateway serves.
    pub region: Region,
    routes: Vec<Route>,
    /// Each service's operators' listener, by service, for the region's readiness.
    pub readiness: std::collections::BTreeMap<String, String>,
    regions: std::collections::BTreeMap<Region, String>,
    pub roles: Arc<Roles>,
    limits: Arc<RateLimits>,
    body_limit: usize,
    /// Internal tokens by what they say, with their expiry.
    tokens: parking_lot::RwLock<std::collections::HashMap<TokenKey, (String, i64)>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("region", &self.region)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn forwardable(name: &HeaderName, connection_listed: &[String]) -> bool {
    let name = name.as_str();
    !HOP_BY_HOP.contains(&name)
        && name != header::HOST.as_str()
        && name != header::AUTHORIZATION.as_str()
        // The session cookie is the gateway's alone.
        && name != header::COOKIE.as_str()
        && name != header::CONTENT_LENGTH.as_str()
        && !connection_listed.iter().any(|c| c == name)
}

/// The header names a `Connection` header lists: hop-by-hop too.
fn connection_listed(headers: &actix_web::http::header::HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect()
}

/// The tenant a path names: its first segment that is a tenant id, each segment
/// read percent-decoded as the services read it (`%74en_eu_…` names `ten_eu_…`).
pub fn tenant_in_path(path: &str) -> Option<TenantId> {
    path.split('/').find_map(|segment| {
        let segment = if segment.contains('%') {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .ok()?
        } else {
            segment.into()
        };
        segment
            .starts_with("ten_")
            .then(|| TenantId::parse(&segment).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use plinth_core::Region;

    use super::*;

    #[test]
    fn a_tenant_id_is_found_in_a_segment_plain_or_percent_encoded() {
        let eu = TenantId::new(Region::Eu);
        let plain = format!("/admin/tenants/{eu}/workspaces");
        assert_eq!(tenant_in_path(&plain), Some(eu));
        let id = eu.to_string();
        let encoded = format!("/admin/tenants/%74{}/workspaces", &id[1..]);
        assert_eq!(tenant_in_path(&encoded), Some(eu));
        let all = id.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
        assert_eq!(tenant_in_path(&format!("/admin/tenants/{all}")), Some(eu));
        assert_eq!(tenant_in_path("/admin/tenants/%ZZ"), None);
        assert_eq!(tenant_in_path("/admin/tenants"), None);
    }
}

impl Proxy {
    pub fn new(
        settings: &Settings,
        verifier: BearerVerifier,
        sessions: Sessions,
        ended: Arc<EndedSessions>,
        roles: Arc<Roles>,
        limits: Arc<RateLimits>,
    ) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret as _;
        let lifetime = settings.internal_token.lifetime_seconds.clamp(1, 60);
        Ok(Proxy {
            verifier,
            sessions,
            ended,
            issuer: TokenIssuer::from_pem(
                settings.internal_token.private_key_pem.expose_secret(),
                Duration::from_secs(lifetime),
            )?,
            region: settings.region,
            routes: settings.routes.clone(),
            readiness: settings.readiness.clone(),
            regions: settings.regions.clone(),
            roles,
            limits,
            body_limit: settings.http.server.body_limit_bytes,
            tokens: Default::default(),
        })
    }

    /// The prefix of the service route `path` is forwarded by, if one is.
    pub fn route_prefix(&self, path: &str) -> Option<&str> {
        self.route(path).map(|r| r.prefix.as_str())
    }

    /// The rate limits requests are checked against.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// The route of `path`: the one with the longest prefix that matches it.
    fn route(&self, path: &str) -> Option<&Route> {
        self.routes
            .iter()
            .filter(|r| {
                path == r.prefix
                    || path
                        .strip_prefix(r.prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|r| r.prefix.len())
    }

    /// The request's session: live only if its cookie opens, it is within its
    /// deadlines, and no logout ended it.
    pub fn session(&self, req: &HttpRequest) -> Found {
        match self.sessions.find(req) {
            Found::Valid(session) if session.id.is_empty() || self.ended.contains(&session.id) => {
                Found::Ended
            }
            found => found,
        }
    }

    /// The session with its person's groups and email as the identity provider
    /// says now, when they are due to be asked again: a person the provider no
    /// longer knows (or whose refresh token it revoked) is logged out here. When
    /// the provider cannot be reached the session goes on as it was until the
    /// next interval.
    async fn recheck(&self, req: &HttpRequest, mut session: Session) -> Result<Session, ApiError> {
        let (Some(login), Some(refresh_token)) = (
            req.app_data::<web::Data<crate::login::Login>>(),
            session.refresh_token.clone(),
        ) else {
            return Ok(session);
        };
        if !self.sessions.recheck_due(&session) {
            return Ok(session);
        }
        session.checked_at = crate::identity::session::now();
        session.changed = true;
        match login.recheck(&refresh_token, self).await {
            Ok(Some((identity, next))) if identity.subject == session.subject => {
                session.groups = identity.groups;
                session.email = identity.email;
                session.refresh_token = next.or(Some(refresh_token));
                Ok(session)
            }
            Ok(_) => {
                // Ended everywhere, so the provider is not asked again for it.
                let deadline = self.sessions.expires_at(&session);
                if let Err(e) = self
                    .ended
                    .end(&session.id, &session.subject, deadline)
                    .await
                {
                    tracing::warn!(error = %e, "ending a session the provider ended");
                }
                Err(ApiError::unauthenticated(
                    "the identity provider ended your session: log in again",
                ))
            }
            Err(unreachable) => {
                tracing::warn!(error = %unreachable, "the session's person could not be asked again");
                Ok(session)
            }
        }
    }

    /// Who is calling: the bearer token's person, or else the session cookie's —
    /// with a rewritten cookie when the session's idle deadline should move.
    pub async fn authenticate(
        &self,
        req: &HttpRequest,
    ) -> Result<(Identity, Option<Session>), ApiError> {
        if req.headers().contains_key(header::AUTHORIZATION) {
            return Ok((self.verifier.verify(bearer_token(req)?).await?, None));
        }
        match self.session(req) {
            Found::Valid(session) => {
                check_csrf(req, &session)?;
                let session = self.recheck(req, *session).await?;
                Ok((session.identity(), Some(session)))
            }
            Found::Ended => Err(ApiError::unauthenticated(
                "your session has ended: log in again",
            )),
            Found::None => Err(ApiError::unauthenticated(
                "a bearer token or a session is required",
            )),
        }
    }

    /// The internal token for a caller acting with `ctx` at `audience`: the one
    /// minted for the same caller, place and roles while at least half its life
    /// is left, else a new one. Signing is most of the cost of a forwarded request.
    fn internal_token(
        &self,
        audience: &str,
        ctx: &ReqCtx,
        bound: Option<&[Grant]>,
    ) -> Result<String, ApiError> {
        let key = TokenKey {
            audience: audience.to_owned(),
            subject: ctx.principal.subject.clone(),
            display: ctx.principal.display.clone(),
            tenant: ctx.tenant,
            roles: ctx.roles.clone(),
            bound: bound.map(<[Grant]>::to_vec),
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let half = (self.issuer.lifetime().as_secs() / 2) as i64;
        if let Some((token, exp)) = self.tokens.read().get(&key)
            && exp - now > half
        {
            return Ok(token.clone());
        }
        let (token, exp) = self
            .issuer
            .mint_reusable(audience, ctx, bound)
            .map_err(ApiError::internal)?;
        let mut tokens = self.tokens.write();
        if tokens.len() >= TOKENS_MAX {
            tokens.retain(|_, (_, exp)| *exp - now > half);
            if tokens.len() >= TOKENS_MAX {
                tokens.clear();
            }
        }
        tokens.insert(key, (token.clone(), exp));
        Ok(token)
    }

    /// How many rate limiters the gateway holds.
    pub fn limiters(&self) -> usize {
        self.limits.limiters()
    }

    /// The region this gateway serves.
    pub fn region(&self) -> Region {
        self.region
    }

    /// Every region's public address.
    pub fn regions(&self) -> impl Iterator<Item = (Region, &str)> {
        self.regions
            .iter()
            .map(|(region, url)| (*region, url.as_str()))
    }

    fn wrong_region(&self, region: Region) -> ApiError {
        ApiError::wrong_region(region, self.regions.get(&region).cloned())
    }

    /// How a request acts: in which tenant, with which roles, and — for MSP staff
    /// bound to chosen tenants — over which tenants. Platform roles from the
    /// caller's groups reach every tenant; bound platform roles reach their tenants
    /// (a service answers any other as not found); tenant roles act in the tenant
    /// the path names, or, when it names none, in the caller's one tenant.
    pub(crate) fn acting(
        &self,
        identity: &Identity,
        path_tenant: Option<TenantId>,
    ) -> Result<Acting, ApiError> {
        let held = self.roles.held(identity);
        if held.platform.is_empty() && !held.bound.is_empty() {
            // Each bound role with its tenants travels in the token, so a service
            // acting in a tenant a request names in its body uses only the roles
            // bound there (`Authorized`).
            let grants: Vec<Grant> = held
                .bound
                .iter()
                .map(|(role, tenants)| Grant {
                    role: *role,
                    tenants: tenants.clone(),
                })
                .collect();
            // In a tenant the path names, only the platform roles bound in that
            // tenant: PlatformAdmin in one tenant and PlatformAuditor in another
            // must not make an admin of the auditor. A tenant none of the bindings
            // reaches keeps them all, and the service answers it as not found,
            // like a tenant that does not exist.
            let in_tenant: Vec<Role> = path_tenant
                .map(|t| {
                    held.bound
                        .iter()
                        .filter(|(_, tenants)| tenants.contains(&t))
                        .map(|(role, _)| *role)
                        .collect()
                })
                .unwrap_or_default();
            let mut roles: Vec<Role> = if in_tenant.is_empty() {
                held.bound.keys().copied().collect()
            } else {
                in_tenant
            };
            let own = path_tenant.and_then(|t| held.tenants.get(&t));
            roles.extend(own.into_iter().flatten().copied());
            return Ok(Acting {
                tenant: path_tenant,
                member: own.is_some_and(|r| !r.is_empty()),
                roles,
                bound: Some(grants),
            });
        }
        let tenant = match path_tenant {
            Some(t) => Some(t),
            // Naming no tenant, tenant people act in their home tenant: the one
            // where they first held a role. A later binding by another tenant's
            // administrator adds that tenant's roles where it is named, and
            // changes nothing else.
            None if held.platform.is_empty() => held.home,
            None => None,
        };
        let mut roles = held.platform.clone();
        let own = tenant.and_then(|t| held.tenants.get(&t));
        roles.extend(own.into_iter().flatten().copied());
        if roles.is_empty() {
            return Err(ApiError::forbidden(
                "you hold no role here; ask your administrator for one",
            ));
        }
        Ok(Acting {
            tenant,
            member: own.is_some_and(|r| !r.is_empty()),
            roles,
            bound: None,
        })
    }
}

/// What an internal token says, but the request id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    audience: String,
    subject: String,
    display: Option<String>,
    tenant: Option<TenantId>,
    roles: Vec<Role>,
    bound: Option<Vec<Grant>>,
}

/// The most internal tokens kept for reuse; past it, the stale ones go, then all.
const TOKENS_MAX: usize = 10_000;

/// How a request acts.
#[derive(Debug)]
pub(crate) struct Acting {
    pub(crate) tenant: Option<TenantId>,
    /// Whether the caller acts there through a tenant role: one of the tenant's
    /// own people, whose requests take from the tenant's allowance.
    member: bool,
    pub(crate) roles: Vec<Role>,
    /// The roles of MSP staff bound to chosen tenants, each with its tenants;
    /// `None`: every tenant, or the one tenant.
    bound: Option<Vec<Grant>>,
}

/// What a request turned out to be, as far as it got: for its audit record if it
/// is refused.
#[derive(Debug, Default)]
struct Seen {
    actor: Option<String>,
    tenant: Option<TenantId>,
}

/// Forwards a request to the service behind its prefix; every refusal on the way
/// (401, 403, 421, 429) is audited.
pub async fn forward(
    req: HttpRequest,
    payload: web::Payload,
    proxy: web::Data<Proxy>,
    client: web::Data<awc::Client>,
    denials: web::Data<Denials>,
) -> Result<HttpResponse, ApiError> {
    let mut seen = Seen::default();
    let result = if plinth_telemetry::exporting() {
        // The request's span continues the caller's trace (`traceparent`), or
        // starts one; the service is called as its child.
        let span =
            tracing::info_span!("gateway.forward", method = %req.method(), path = %req.path());
        plinth_core::http::continue_trace(&span, req.headers());
        forward_checked(&req, payload, &proxy, &client, &mut seen)
            .instrument(span)
            .await
    } else {
        // No collector: the caller's trace context goes on as it came (or a new
        // trace begins), and the gateway makes no span nobody would see.
        forward_checked(&req, payload, &proxy, &client, &mut seen).await
    };
    // A rate-limited request is answered here (with its RateLimit headers), not as
    // an error.
    let refused = match &result {
        Err(e) => Some(e.clone()),
        Ok(response) if response.status() == actix_web::http::StatusCode::TOO_MANY_REQUESTS => {
            Some(ApiError::too_many_requests(0))
        }
        Ok(_) => None,
    };
    if let Some(error) = refused
        && matches!(
            error.kind(),
            ErrorKind::Unauthenticated
                | ErrorKind::Forbidden
                | ErrorKind::WrongRegion { .. }
                | ErrorKind::TooManyRequests { .. }
        )
    {
        // The tenant the caller acted in; a refusal before that (no token, no
        // role, another region) names a tenant nobody vouched for, so it goes to
        // the platform's log, the path recorded.
        denials.record_request(&req, seen.actor, seen.tenant, &error);
    }
    result
}

/// The steps of a forwarded request, in order; each refuses with the answer the
/// caller gets.
async fn forward_checked(
    req: &HttpRequest,
    payload: web::Payload,
    proxy: &Proxy,
    client: &awc::Client,
    seen: &mut Seen,
) -> Result<HttpResponse, ApiError> {
    let path = req.uri().path().to_owned();
    let route = proxy
        .route(&path)
        .ok_or_else(|| ApiError::not_found("route"))?
        .clone();
    if route.public {
        return forward_public(req, payload, proxy, client, &route).await;
    }
    let (identity, session) = authenticate_address(proxy, req).await?;
    seen.actor = Some(identity.subject.clone());
    let tenant = tenant_in_path(&path);
    if let Some(tenant) = tenant
        && tenant.region() != proxy.region
    {
        return Err(proxy.wrong_region(tenant.region()));
    }
    let acting = proxy.acting(&identity, tenant)?;
    seen.tenant = vouched_tenant(&acting);
    let (limit, remaining) = match spend_allowance(proxy, &identity, &acting) {
        Decision::Allowed { limit, remaining } => (limit, remaining),
        Decision::Limited { limit, retry_after } => {
            return Ok(over_the_limit(limit, retry_after));
        }
    };
    let creates = route.create_names_region
        && req.method() == actix_web::http::Method::POST
        && path == route.prefix;
    let cookie = session.and_then(|s| proxy.sessions.touch(&s));
    send_and_pass_on(
        req,
        payload,
        proxy,
        || upstream_request(req, proxy, client, &route, &identity, acting),
        creates,
        (limit, remaining),
        cookie,
    )
    .await
}

/// What every forwarded request ends with: the body limit checked, the
/// request built and sent, the answer passed on with the allowance's headers
/// (and a session's renewed cookie).
async fn send_and_pass_on(
    req: &HttpRequest,
    payload: web::Payload,
    proxy: &Proxy,
    upstream: impl FnOnce() -> Result<awc::ClientRequest, ApiError>,
    creates: bool,
    (limit, remaining): (u32, u32),
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> Result<HttpResponse, ApiError> {
    let length = content_length(req.headers());
    if length.is_some_and(|length| length > proxy.body_limit as u64) {
        return Err(ApiError::payload_too_large(proxy.body_limit));
    }
    let response = send(req, payload, proxy, upstream()?, creates, length).await?;
    let mut answer = HttpResponse::build(response.status());
    answer.insert_header(("ratelimit-limit", limit.to_string()));
    answer.insert_header(("ratelimit-remaining", remaining.to_string()));
    if let Some(cookie) = cookie {
        answer.cookie(cookie);
    }
    pass_on(req, response, answer).await
}

/// A request to a public route: nobody is authenticated, so the client
/// address's allowance is spent, and the request goes on without credentials.
async fn forward_public(
    req: &HttpRequest,
    payload: web::Payload,
    proxy: &Proxy,
    client: &awc::Client,
    route: &Route,
) -> Result<HttpResponse, ApiError> {
    let address = req
        .peer_addr()
        .map(|a| a.ip())
        .ok_or_else(|| ApiError::forbidden("a public route needs the client's address"))?;
    let (limit, remaining) = match proxy.limits.check(&Allowance::Anonymous(address)) {
        Decision::Allowed { limit, remaining } => (limit, remaining),
        Decision::Limited { limit, retry_after } => {
            return Ok(over_the_limit(limit, retry_after));
        }
    };
    send_and_pass_on(
        req,
        payload,
        proxy,
        || upstream_base(req, client, route),
        false,
        (limit, remaining),
        None,
    )
    .await
}

/// Who is calling. An address that keeps failing authentication is refused
/// before any credential is checked, until its allowance refills; each failure
/// counts against it.
async fn authenticate_address(
    proxy: &Proxy,
    req: &HttpRequest,
) -> Result<(Identity, Option<Session>), ApiError> {
    let address = req.peer_addr().map(|a| a.ip());
    if let Some(wait) = address.and_then(|ip| proxy.limits.blocked(ip)) {
        return Err(
            ApiError::too_many_requests(wait.as_secs_f64().ceil().max(1.0) as u64)
                .with_internal("too many failed authentications from this address"),
        );
    }
    proxy.authenticate(req).await.inspect_err(|_| {
        if let Some(ip) = address {
            proxy.limits.failed_authentication(ip);
        }
    })
}

/// The tenant a refusal from here on is recorded for: only one someone vouched
/// for, where the caller holds a role (its own people, or staff bound to it). A
/// tenant merely named by staff who reach every tenant may not exist, and its
/// path is recorded in the platform's log instead.
fn vouched_tenant(acting: &Acting) -> Option<TenantId> {
    let bound_here = |t: TenantId| {
        acting
            .bound
            .as_ref()
            .is_some_and(|grants| grants.iter().any(|g| g.tenants.contains(&t)))
    };
    acting.tenant.filter(|t| acting.member || bound_here(*t))
}

/// Takes the request from an allowance: a tenant's own people from the
/// tenant's, anyone else from their own, so nobody can spend a tenant's allowance
/// and a made-up tenant id creates no limiter.
fn spend_allowance(proxy: &Proxy, identity: &Identity, acting: &Acting) -> Decision {
    let key = match acting.tenant {
        Some(t) if acting.member => Allowance::Tenant(t),
        _ => Allowance::Caller(identity.subject.clone()),
    };
    proxy.limits.check(&key)
}

/// The `429` of an allowance spent, with its rate-limit headers.
fn over_the_limit(limit: u32, retry_after: Duration) -> HttpResponse {
    let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut refused = ApiError::too_many_requests(seconds).error_response();
    let headers = refused.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", u64::from(limit)),
        ("ratelimit-remaining", 0),
        ("ratelimit-reset", seconds),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            header::HeaderValue::from(value),
        );
    }
    refused
}

/// The request to the service: the caller's end-to-end headers, the internal
/// token for the route's audience, the request id, the trace context and the
/// caller's address.
fn upstream_request(
    req: &HttpRequest,
    proxy: &Proxy,
    client: &awc::Client,
    route: &Route,
    identity: &Identity,
    acting: Acting,
) -> Result<awc::ClientRequest, ApiError> {
    let ctx = ReqCtx {
        principal: Principal {
            subject: identity.subject.clone(),
            display: identity.email.clone(),
        },
        tenant: acting.tenant,
        roles: acting.roles,
        region: proxy.region,
        request_id: request_id_of(req),
    };
    let token = proxy.internal_token(&route.audience, &ctx, acting.bound.as_deref())?;
    Ok(upstream_base(req, client, route)?
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}"))))
}

/// The request's id: the caller's, or the one the request-id middleware made.
fn request_id_of(req: &HttpRequest) -> RequestId {
    req.extensions()
        .get::<RequestId>()
        .copied()
        .unwrap_or_else(RequestId::new)
}

/// The request to the service without credentials: the caller's end-to-end
/// headers, the request id, the trace context and the caller's address.
fn upstream_base(
    req: &HttpRequest,
    client: &awc::Client,
    route: &Route,
) -> Result<awc::ClientRequest, ApiError> {
    let request_id = request_id_of(req);
    let url = format!(
        "{}{}",
        route.upstream.trim_end_matches('/'),
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let listed = connection_listed(req.headers());
    let mut upstream = client.request(req.method().clone(), url).no_decompress();
    for (name, value) in req.headers() {
        if forwardable(name, &listed) {
            upstream = upstream.append_header((name.clone(), value.clone()));
        }
    }
    upstream = upstream.insert_header((REQUEST_ID_HEADER, request_id.to_string()));
    if plinth_telemetry::exporting() {
        let mut trace = Vec::new();
        plinth_telemetry::inject(&tracing::Span::current(), |name, value| {
            trace.push((name, value));
        });
        for (name, value) in trace {
            upstream = upstream.insert_header((name, value));
        }
    } else if !req.headers().contains_key(plinth_telemetry::TRACEPARENT) {
        upstream = upstream.insert_header((
            plinth_telemetry::TRACEPARENT,
            plinth_telemetry::new_traceparent(),
        ));
    }
    if let Some(peer) = req.peer_addr() {
        upstream = upstream.insert_header(("x-forwarded-for", peer.ip().to_string()));
    }
    Ok(upstream)
}

/// Sends the request with its body, within the body limit: read whole when the
/// route creates what names its region (another region's is refused here, before
/// anything is written), none when there is none, else streamed as it came.
async fn send(
    req: &HttpRequest,
    payload: web::Payload,
    proxy: &Proxy,
    upstream: awc::ClientRequest,
    creates: bool,
    length: Option<u64>,
) -> Result<awc::ClientResponse, ApiError> {
    let sent = if creates {
        let body = read_limited(payload, proxy.body_limit).await?;
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body)
            && let Some(region) = json["region"]
                .as_str()
                .and_then(|r| r.parse::<Region>().ok())
            && region != proxy.region
        {
            return Err(proxy.wrong_region(region));
        }
        let upstream = freeze(upstream)?;
        let sent = upstream.send_body(body.clone()).await;
        if again(req, &sent, false) {
            upstream.send_body(body).await
        } else {
            sent
        }
    } else if length.unwrap_or(0) == 0 && !req.headers().contains_key(header::TRANSFER_ENCODING) {
        // No body: none is sent (not an empty chunked one).
        let upstream = freeze(upstream)?;
        let sent = upstream.send().await;
        if again(req, &sent, true) {
            upstream.send().await
        } else {
            sent
        }
    } else {
        let limit = proxy.body_limit;
        let mut seen = 0usize;
        let limited = payload.map(move |chunk| {
            let chunk = chunk?;
            seen += chunk.len();
            if seen > limit {
                Err(actix_web::error::PayloadError::Overflow)
            } else {
                Ok(chunk)
            }
        });
        match length {
            // Its length known, the body goes as it came, not chunked.
            Some(length) => upstream.send_body(SizedStream::new(length, limited)).await,
            None => upstream.send_stream(limited).await,
        }
    };
    sent.map_err(|e| match e {
        awc::error::SendRequestError::Timeout => {
            ApiError::unavailable("the service did not answer in time")
                .with_code(Code::UpstreamTimeout)
        }
        awc::error::SendRequestError::Body(_) => ApiError::payload_too_large(proxy.body_limit),
        other => ApiError::unavailable("the service is unavailable").with_internal(other),
    })
}

/// The request, ready to be sent more than once.
fn freeze(upstream: awc::ClientRequest) -> Result<awc::FrozenClientRequest, ApiError> {
    upstream
        .freeze()
        .map_err(|e| ApiError::internal("building the upstream request").with_internal(e))
}

/// Whether a request whose body the gateway holds is sent once more, to the
/// same address (where a replica restarting in place, or behind a load
/// balancer, may answer): when no connection could be made (nothing reached the
/// service), and — for a read (`GET`, `HEAD`, `reads_again`) — when the
/// connection broke before the answer. A write whose connection broke is not:
/// it may have been applied; the caller gets `503` and decides.
fn again(
    req: &HttpRequest,
    sent: &Result<awc::ClientResponse, awc::error::SendRequestError>,
    reads_again: bool,
) -> bool {
    use awc::error::{ConnectError, SendRequestError};
    let read = reads_again
        && matches!(
            *req.method(),
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        );
    let retry = match sent {
        Ok(_) | Err(SendRequestError::Timeout | SendRequestError::Body(_)) => false,
        // Refused or unreachable: the request never left the gateway. (A
        // connection that ends before the answer is `Disconnected`: it broke.)
        Err(SendRequestError::Connect(ConnectError::Io(_))) => true,
        Err(_) => read,
    };
    if retry {
        tracing::info!(method = %req.method(), path = %req.path(), "the service's connection failed; sending once more");
    }
    retry
}

/// The service's answer passed on with its end-to-end headers: a small one of
/// known length read whole and written at once, a larger one streamed.
async fn pass_on(
    req: &HttpRequest,
    mut response: awc::ClientResponse,
    mut answer: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, ApiError> {
    let listed = connection_listed(response.headers());
    for (name, value) in response.headers() {
        if forwardable(name, &listed) {
            answer.append_header((name.clone(), value.clone()));
        }
    }
    let length = content_length(response.headers());
    if req.method() == actix_web::http::Method::HEAD {
        return Ok(answer.streaming(response));
    }
    Ok(match length {
        // A small answer of known length is read whole and written at once.
        Some(length) if length <= BUFFERED_ANSWER_BYTES => {
            let body = response.body().limit(length as usize).await.map_err(|e| {
                ApiError::unavailable("the service's answer broke off").with_internal(e)
            })?;
            answer.body(body)
        }
        Some(length) => answer.no_chunking(length).streaming(response),
        None => answer.streaming(response),
    })
}

/// Answers up to this long are read whole before they are passed on: one write
/// to the caller instead of a stream of chunks.
const BUFFERED_ANSWER_BYTES: u64 = 64 * 1024;

/// The `Content-Length` of a message, when it has a valid one.
fn content_length(headers: &header::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
}

async fn read_limited(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::invalid_request("body", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

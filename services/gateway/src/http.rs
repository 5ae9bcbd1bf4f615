//! The gateway's own endpoints.

use std::collections::BTreeMap;

use actix_web::http::header::{self, AUTHORIZATION};
use actix_web::{HttpRequest, HttpResponse, web};
use plinth_authz::{Action, Resource};
use plinth_core::{ApiError, TenantId};
use serde::Deserialize;

use crate::identity::session::now;
use crate::login;
use crate::openapi::{Me, Membership, Permissions, Problem, RegionLink, SessionInfo};
use crate::proxy::{Proxy, forward};

/// The gateway's routes; the browser login's only when it is on, and the
/// console's when its files are given.
pub fn routes(cfg: &mut web::ServiceConfig, browser_login: bool, console_dir: &str) {
    if browser_login {
        cfg.route("/auth/login", web::get().to(login::start))
            .route("/auth/callback", web::get().to(login::callback))
            .route("/auth/logout", web::post().to(login::logout));
    }
    cfg.route("/auth/me", web::get().to(me))
        .route("/auth/permissions", web::get().to(permissions))
        .route(
            "/admin/readiness",
            web::get().to(crate::ops::region_readiness),
        );
    if console_dir.is_empty() {
        cfg.default_service(web::to(forward));
        return;
    }
    let dir = std::path::PathBuf::from(console_dir);
    cfg.app_data(web::Data::new(Console {
        index: dir.join("index.html"),
    }))
    .service(
        web::scope("/assets")
            .wrap(page_headers())
            .service(actix_files::Files::new("/", dir.join("assets"))),
    )
    .default_service(web::to(console_or_forward));
}

/// The admin console's page: what a browser asking for a page the services do
/// not route gets, whatever the path (one of the console's own screens).
#[derive(Debug)]
struct Console {
    index: std::path::PathBuf,
}

/// A browser's `GET` of a page no service routes is the console's (its page,
/// which shows the screen of the path); everything else goes to the service
/// behind its prefix, or is answered as not found.
async fn console_or_forward(
    req: HttpRequest,
    payload: web::Payload,
    proxy: web::Data<Proxy>,
    client: web::Data<awc::Client>,
    denials: web::Data<crate::denials::Denials>,
    console: web::Data<Console>,
) -> Result<HttpResponse, ApiError> {
    let wants_page = matches!(
        *req.method(),
        actix_web::http::Method::GET | actix_web::http::Method::HEAD
    ) && proxy.route_prefix(req.path()).is_none()
        && !req.path().starts_with("/auth/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if !wants_page {
        return forward(req, payload, proxy, client, denials).await;
    }
    let page = actix_files::NamedFile::open_async(&console.index)
        .await
        .map_err(|e| ApiError::unavailable("the console's files are missing").with_internal(e))?;
    let mut answer = page.into_response(&req);
    let headers = answer.headers_mut();
    for (name, value) in PAGE_HEADERS {
        headers.insert(
            header::HeaderName::from_static(name),
            header::HeaderValue::from_static(value),
        );
    }
    Ok(answer)
}

/// What every page and script of the console carries: this origin's scripts
/// and styles only, never framed, never sniffed, always revalidated.
const PAGE_HEADERS: [(&str, &str); 3] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-cache"),
];

fn page_headers() -> actix_web::middleware::DefaultHeaders {
    PAGE_HEADERS
        .into_iter()
        .fold(actix_web::middleware::DefaultHeaders::new(), |h, header| {
            h.add(header)
        })
}

/// The bearer token of a request, if it carries one.
pub fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated("a bearer token is required"))?
        .to_str()
        .map_err(|_| ApiError::unauthenticated("the Authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthenticated(
            "the Authorization header is not `Bearer <token>`",
        )),
    }
}

/// Who is calling: what an API client checks its token with, and what the
/// console learns its person, session deadlines and CSRF token from.
#[utoipa::path(
    get,
    path = "/auth/me",
    operation_id = "caller_get",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "`unauthenticated`: no valid bearer token or session", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("session" = [])),
    tag = "caller"
)]
pub async fn me(req: HttpRequest, proxy: web::Data<Proxy>) -> Result<HttpResponse, ApiError> {
    let (identity, session) = proxy.authenticate(&req).await?;
    let mut answer = HttpResponse::Ok();
    answer.insert_header((header::CACHE_CONTROL, "no-store"));
    let session = session.map(|session| {
        let touched = proxy.sessions.touch(&session);
        let last_seen = touched.as_ref().map_or(session.last_seen, |_| now());
        if let Some(cookie) = touched {
            answer.cookie(cookie);
        }
        SessionInfo {
            idle_expires_at: last_seen + proxy.sessions.idle_seconds(),
            expires_at: proxy.sessions.expires_at(&session),
            csrf_token: session.csrf,
        }
    });
    Ok(answer.json(Me {
        subject: identity.subject,
        email: identity.email,
        groups: identity.groups,
        issuer: identity.issuer,
        region: proxy.region.to_string(),
        regions: proxy
            .regions()
            .map(|(region, base_url)| RegionLink {
                region: region.to_string(),
                base_url: base_url.to_owned(),
            })
            .collect(),
        session,
    }))
}

/// `tenant_id` of `GET /auth/permissions`.
#[derive(Debug, Deserialize)]
pub struct PermissionsQuery {
    tenant_id: Option<String>,
}

/// What the caller may do in the platform, or in the tenant `tenant_id` names:
/// the permission table the services enforce (`plinth_authz`), applied to the
/// roles the gateway would put in the caller's internal token there.
#[utoipa::path(
    get,
    path = "/auth/permissions",
    operation_id = "caller_permissions",
    params(("tenant_id" = Option<String>, Query, description = "A tenant's id; absent: the platform (or, for a tenant's own people, their tenant)")),
    responses(
        (status = 200, description = "The caller's roles and the actions they allow", body = Permissions),
        (status = 400, description = "`invalid_request`: `tenant_id` is not a tenant id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`: no valid bearer token or session", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("session" = [])),
    tag = "caller"
)]
pub async fn permissions(
    req: HttpRequest,
    proxy: web::Data<Proxy>,
    query: web::Query<PermissionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = query
        .tenant_id
        .as_deref()
        .map(|t| {
            TenantId::parse(t).map_err(|_| {
                ApiError::invalid_request("tenant_id", "`tenant_id` is not a tenant id")
            })
        })
        .transpose()?;
    let (identity, _) = proxy.authenticate(&req).await?;
    let held = proxy.roles.held(&identity);
    // No role here is an answer, not a refusal: the caller may do nothing.
    let (acting_tenant, roles) = match proxy.acting(&identity, tenant) {
        Ok(acting) => (acting.tenant, acting.roles),
        Err(_) => (tenant, Vec::new()),
    };
    let mut allowed = BTreeMap::new();
    for resource in Resource::ALL {
        let actions: Vec<String> = Action::ALL
            .into_iter()
            .filter(|action| plinth_authz::allows(&roles, resource, *action))
            .map(|action| action.as_str().to_owned())
            .collect();
        if !actions.is_empty() {
            allowed.insert(resource.as_str().to_owned(), actions);
        }
    }
    let mut memberships: BTreeMap<TenantId, Vec<String>> = BTreeMap::new();
    for (role, tenants) in &held.bound {
        for tenant in tenants {
            memberships
                .entry(*tenant)
                .or_default()
                .push(role.as_str().to_owned());
        }
    }
    for (tenant, roles) in &held.tenants {
        memberships
            .entry(*tenant)
            .or_default()
            .extend(roles.iter().map(|r| r.as_str().to_owned()));
    }
    let mut roles: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
    roles.sort();
    roles.dedup();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Permissions {
            tenant_id: acting_tenant.map(|t| t.to_string()),
            roles,
            platform_wide: !held.platform.is_empty(),
            allowed,
            memberships: memberships
                .into_iter()
                .map(|(tenant, roles)| Membership {
                    tenant_id: tenant.to_string(),
                    roles,
                })
                .collect(),
        }))
}

/// Only this origin's scripts, styles and requests; never framed.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

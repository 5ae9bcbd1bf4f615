//! The gateway's own API — who is calling, what they may do, and the region's
//! readiness — as an OpenAPI document checked in at `schemas/openapi/gateway.json`
//! (a test fails when they drift). The console's client is generated from it
//! like from every service's document.

use std::collections::BTreeMap;

pub use plinth_authz::openapi::Problem;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::{http, ops};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Plinth gateway",
        description = "The gateway's own endpoints: who is calling (with the browser session's CSRF token), what the caller may do in the platform or in one tenant (derived from the same permission table the services enforce), and every service's readiness in this region. Every other path is a service's, forwarded with a short-lived internal token.",
        version = "1"
    ),
    paths(http::me, http::permissions, ops::region_readiness),
    components(schemas(
        Me,
        SessionInfo,
        RegionLink,
        Permissions,
        Membership,
        RegionReadiness,
        GatewayReadiness,
        ServiceReadiness,
        ReadinessCheck,
        Problem
    )),
    modifiers(&CallerAuth),
    tags(
        (name = "caller", description = "Who is calling and what they may do"),
        (name = "operations", description = "The region's health, for the platform team")
    )
)]
pub struct ApiDoc;

/// The document as checked in: pretty JSON with a final newline.
pub fn document() -> Result<String, serde_json::Error> {
    plinth_service::document(&ApiDoc::openapi())
}

/// Adds the two ways a caller proves who it is: an identity provider's bearer
/// token (API clients) or the session cookie of a browser login (the console,
/// whose writes carry the session's CSRF token in `x-csrf-token`).
#[derive(Debug)]
struct CallerAuth;

impl Modify for CallerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT from the region's identity provider")
                        .build(),
                ),
            );
            components.add_security_scheme(
                "session",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                    "plinth_<region>_session",
                    "A browser session begun at `/auth/login`",
                ))),
            );
        }
    }
}

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The identity provider's subject.
    pub subject: String,
    /// The person's email, when the identity provider says it is verified.
    pub email: Option<String>,
    /// The identity provider's groups.
    pub groups: Vec<String>,
    pub issuer: String,
    /// The region this gateway serves.
    #[schema(example = "us")]
    pub region: String,
    /// Every region's public address, this one's included: where a tenant of
    /// another region is managed.
    pub regions: Vec<RegionLink>,
    /// For a browser session: its CSRF token and deadlines. Absent for a bearer
    /// token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionInfo>,
}

/// A browser session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// What every write of the session carries in `x-csrf-token`.
    pub csrf_token: String,
    /// When the session ends unless used again (Unix seconds).
    pub idle_expires_at: i64,
    /// When the session ends regardless (Unix seconds).
    pub expires_at: i64,
}

/// A region and its gateway's public address.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionLink {
    #[schema(example = "eu")]
    pub region: String,
    #[schema(example = "https://eu.plinth.example")]
    pub base_url: String,
}

/// What the caller may do: in the platform, or in the tenant asked about. The
/// services decide every request again; this is what a client hides or shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Permissions {
    /// The tenant asked about; absent for the platform.
    pub tenant_id: Option<String>,
    /// The roles the caller acts with there (none: the caller may do nothing).
    #[schema(example = json!(["PlatformAdmin"]))]
    pub roles: Vec<String>,
    /// Whether the caller's platform roles reach every tenant (not only tenants
    /// they are bound to).
    pub platform_wide: bool,
    /// By resource (`tenant`, `domain_pack`, …), the actions allowed on it
    /// (`read`, `create`, `update`, `delete`); a resource allowing nothing is
    /// absent.
    #[schema(example = json!({"tenant": ["read", "create", "update", "delete"]}))]
    pub allowed: BTreeMap<String, Vec<String>>,
    /// Every tenant where the caller holds a role of its own or a platform role
    /// bound there.
    pub memberships: Vec<Membership>,
}

/// The roles a caller holds in one tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Membership {
    pub tenant_id: String,
    pub roles: Vec<String>,
}

/// Every service's readiness in this region, and the gateway's own.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionReadiness {
    #[schema(example = "us")]
    pub region: String,
    /// Whether the gateway and every service are ready.
    pub ready: bool,
    pub gateway: GatewayReadiness,
    /// Each service, as its operators' listener answered just now.
    pub services: Vec<ServiceReadiness>,
}

/// The gateway's readiness: its projections have caught up with their topics.
#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayReadiness {
    pub ready: bool,
}

/// One service's readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceReadiness {
    #[schema(example = "tenant-registry")]
    pub service: String,
    pub ready: bool,
    /// Each check the service ran, in order.
    pub checks: Vec<ReadinessCheck>,
    /// Why it is not ready, when the service could not be asked or said so.
    pub reason: Option<String>,
}

/// One check of a service's readiness.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReadinessCheck {
    #[schema(example = "database")]
    pub name: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

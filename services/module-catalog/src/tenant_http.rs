//! The tenant side's HTTP edge: `/admin/tenant-modules/{tenant_id}` — readiness
//! of a release for the tenant, its enablements, enabling, upgrading, disabling
//! and the cleanup checklist.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::http::body_of;
use plinth_core::{ApiError, TenantId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::enablement::{
    EnableRequest, Enablement, enablement_cleanup_done, enablement_disable, enablement_enable,
    enablement_get, enablement_list, enablement_readiness, enablement_upgrade,
};
use crate::http::Problem;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/tenant-modules/{tenant_id}")
            .route("", web::get().to(list))
            .route("/readiness", web::get().to(readiness))
            .route("/enable", web::post().to(enable))
            .route("/{enablement_id}", web::get().to(get))
            .route("/{enablement_id}/upgrade", web::post().to(upgrade))
            .route("/{enablement_id}/disable", web::post().to(disable))
            .route(
                "/{enablement_id}/cleanup/{step_id}",
                web::post().to(cleanup_done),
            ),
    );
}

fn tenant_of(raw: &str) -> Result<TenantId, ApiError> {
    TenantId::parse(raw).map_err(|_| ApiError::not_found("tenant"))
}

/// The unknown checks acknowledged: known check names only.
fn acknowledged(names: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let names = names.unwrap_or_default();
    if let Some(bad) = names
        .iter()
        .find(|n| !["connectors", "ai_providers", "policy"].contains(&n.as_str()))
    {
        return Err(ApiError::invalid_request(
            "acknowledge",
            format!(
                "{bad:?} cannot be acknowledged: only `connectors`, `ai_providers` and `policy` may be unknown"
            ),
        ));
    }
    Ok(names)
}

/// Which release, and for which workspace.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadinessQuery {
    /// The module's id.
    module_id: String,
    /// The release's version.
    version: String,
    /// A workspace of the tenant; none: the whole tenant.
    workspace_id: Option<String>,
}

/// Readiness of a release for the tenant, every check with its state: `ready`,
/// `not_ready`, or `unknown` (what this deployment cannot tell yet).
#[utoipa::path(
    get,
    path = "/admin/tenant-modules/{tenant_id}/readiness",
    operation_id = "enablement_readiness",
    params(("tenant_id" = String, Path, description = "The tenant"), ReadinessQuery),
    responses(
        (status = 200, description = "The checks", body = crate::enablement::Readiness),
        (status = 404, description = "No such tenant, workspace or release", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "enablement"
)]
pub async fn readiness(
    auth: Authorized<on::ModuleEnablement, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: Result<web::Query<ReadinessQuery>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_of(&path)?;
    let query = query
        .map_err(|_| {
            ApiError::invalid_request("module_id", "give `module_id` and `version` as parameters")
        })?
        .into_inner();
    let answer = enablement_readiness(
        &auth,
        &app,
        tenant,
        &query.module_id,
        &query.version,
        query.workspace_id.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The tenant's enablements.
#[derive(Debug, ToSchema)]
pub struct EnablementItems {
    pub items: Vec<Enablement>,
}

/// The tenant's modules, enabled and disabled.
#[utoipa::path(
    get,
    path = "/admin/tenant-modules/{tenant_id}",
    operation_id = "enablement_list",
    params(("tenant_id" = String, Path, description = "The tenant")),
    responses(
        (status = 200, description = "Its enablements, by module", body = EnablementItems),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "enablement"
)]
pub async fn list(
    auth: Authorized<on::ModuleEnablement, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let items = enablement_list(&auth, &app, tenant_of(&path)?).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// One enablement, with its cleanup checklist once disabled.
#[utoipa::path(
    get,
    path = "/admin/tenant-modules/{tenant_id}/{enablement_id}",
    operation_id = "enablement_get",
    params(
        ("tenant_id" = String, Path, description = "The tenant"),
        ("enablement_id" = String, Path, description = "The enablement"),
    ),
    responses(
        (status = 200, description = "The enablement", body = Enablement),
        (status = 404, description = "No such enablement", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "enablement"
)]
pub async fn get(
    auth: Authorized<on::ModuleEnablement, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(enablement_get(&auth, &app, tenant_of(&tenant)?, &id).await?))
}

/// `POST …/enable`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableBody {
    #[schema(example = "itsm-triage-agent")]
    module_id: String,
    #[schema(example = "1.1.0")]
    version: String,
    /// A workspace of the tenant; none: every workspace.
    workspace_id: Option<String>,
    /// The unknown checks (`connectors`, `ai_providers`, `policy`) enabled over,
    /// knowingly: recorded with the enablement.
    acknowledge: Option<Vec<String>>,
}

/// Enable an approved release for the tenant (or one workspace): only when every
/// readiness check is ready, or unknown and acknowledged.
#[utoipa::path(
    post,
    path = "/admin/tenant-modules/{tenant_id}/enable",
    operation_id = "enablement_enable",
    params(("tenant_id" = String, Path, description = "The tenant")),
    request_body = EnableBody,
    responses(
        (status = 200, description = "Enabled already: the stored enablement", body = Enablement),
        (status = 201, description = "Enabled", body = Enablement),
        (status = 400, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the tenant's administrators or the platform team", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, workspace or release", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`module_not_ready`: `checks` lists the checks in the way; or another release of the module is enabled here (upgrade it)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "enablement"
)]
pub async fn enable(
    auth: Authorized<on::ModuleEnablement, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<EnableBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_of(&path)?;
    let request = body_of(body).and_then(|b| {
        Ok(EnableRequest {
            module_id: b.module_id,
            version: b.version,
            workspace_id: b.workspace_id.filter(|w| !w.is_empty()),
            acknowledge: acknowledged(b.acknowledge)?,
        })
    });
    let (enablement, created) = enablement_enable(&auth, &app, tenant, request).await?;
    Ok(if created {
        HttpResponse::Created().json(enablement)
    } else {
        HttpResponse::Ok().json(enablement)
    })
}

/// `POST …/upgrade`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeBody {
    /// A newer approved release of the module.
    #[schema(example = "1.1.0")]
    version: String,
    /// The unknown checks upgraded over, knowingly.
    acknowledge: Option<Vec<String>>,
}

/// Upgrade an enabled module to a newer approved release, ready for the tenant.
#[utoipa::path(
    post,
    path = "/admin/tenant-modules/{tenant_id}/{enablement_id}/upgrade",
    operation_id = "enablement_upgrade",
    params(
        ("tenant_id" = String, Path, description = "The tenant"),
        ("enablement_id" = String, Path, description = "The enablement"),
    ),
    request_body = UpgradeBody,
    responses(
        (status = 200, description = "Upgraded", body = Enablement),
        (status = 400, description = "The version is not newer; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such enablement or release", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`module_not_ready` (`checks`), or `invalid_transition`: the module is disabled", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "enablement"
)]
pub async fn upgrade(
    auth: Authorized<on::ModuleEnablement, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<UpgradeBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let target = body_of(body).and_then(|b| Ok((b.version, acknowledged(b.acknowledge)?)));
    let answer = enablement_upgrade(&auth, &app, tenant_of(&tenant)?, &id, target).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Disable a module for the tenant: its state is kept (`DISABLED`), and the
/// answer carries the manifest's cleanup steps as a checklist to follow through.
#[utoipa::path(
    post,
    path = "/admin/tenant-modules/{tenant_id}/{enablement_id}/disable",
    operation_id = "enablement_disable",
    params(
        ("tenant_id" = String, Path, description = "The tenant"),
        ("enablement_id" = String, Path, description = "The enablement"),
    ),
    responses(
        (status = 200, description = "Disabled, with the cleanup checklist", body = Enablement),
        (status = 404, description = "No such enablement", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "enablement"
)]
pub async fn disable(
    auth: Authorized<on::ModuleEnablement, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let answer = enablement_disable(&auth, &app, tenant_of(&tenant)?, &id).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Mark a cleanup step of a disabled module done.
#[utoipa::path(
    post,
    path = "/admin/tenant-modules/{tenant_id}/{enablement_id}/cleanup/{step_id}",
    operation_id = "enablement_cleanup_done",
    params(
        ("tenant_id" = String, Path, description = "The tenant"),
        ("enablement_id" = String, Path, description = "The enablement"),
        ("step_id" = String, Path, description = "The cleanup step's id in the manifest"),
    ),
    responses(
        (status = 200, description = "Done: the checklist", body = Enablement),
        (status = 404, description = "No such enablement or step", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the module is enabled", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "enablement"
)]
pub async fn cleanup_done(
    auth: Authorized<on::ModuleEnablement, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id, step) = path.into_inner();
    let answer = enablement_cleanup_done(&auth, &app, tenant_of(&tenant)?, &id, &step).await?;
    Ok(HttpResponse::Ok().json(answer))
}

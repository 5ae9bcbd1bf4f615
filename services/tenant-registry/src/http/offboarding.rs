//! `/admin/tenants/{tenant_id}/offboarding`: the request that takes a suspended
//! tenant out, the cleanup checklist with each service's guidance, and an operator's
//! confirmations and retries.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::openapi::Problem;
use super::{body_of, item_path, tenant_path};
use crate::app::AppState;
use crate::app::checklist::{flow_get, item_confirm, item_retry};
use crate::app::offboarding::{Offboarding, offboarding_request};

/// An offboarding request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffboardingBody {
    /// Why the tenant leaves (1 to 500 characters), e.g. "contract ended".
    #[schema(example = "contract ended 2026-12-31")]
    reason: String,
}

impl OffboardingBody {
    fn parse(self) -> Result<String, ApiError> {
        let reason = self.reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(ApiError::invalid_request(
                "reason",
                "reason: 1 to 500 characters saying why the tenant leaves",
            ));
        }
        Ok(reason.to_owned())
    }
}

/// Offboard a SUSPENDED tenant: opens its cleanup checklist, with the guidance of
/// every service.
#[utoipa::path(
    post,
    path = "/admin/tenants/{tenant_id}/offboarding",
    operation_id = "offboarding_request",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = OffboardingBody,
    responses(
        (status = 201, description = "The cleanup checklist, every item pending; the tenant is OFFBOARDING", body = Offboarding),
        (status = 400, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators offboard tenants", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The tenant is not SUSPENDED (`invalid_transition`, with `allowed`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "offboarding"
)]
pub async fn request(
    auth: Authorized<on::Offboarding, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<OffboardingBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let reason = body_of(body).and_then(OffboardingBody::parse);
    let offboarding = offboarding_request(&auth, &app, tenant, reason).await?;
    Ok(HttpResponse::Created().json(offboarding))
}

/// The tenant's offboarding: why, and the state of every cleanup item.
#[utoipa::path(
    get,
    path = "/admin/tenants/{tenant_id}/offboarding",
    operation_id = "offboarding_get",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The cleanup checklist", body = Offboarding),
        (status = 404, description = "No such tenant or no request yet, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "offboarding"
)]
pub async fn get(
    auth: Authorized<on::Offboarding, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let offboarding: Offboarding = flow_get(&auth, &app, tenant).await?;
    Ok(HttpResponse::Ok().json(offboarding))
}

/// Confirm a cleanup item no service owns (e.g. `provider_keys_revoked`).
#[utoipa::path(
    post,
    path = "/admin/tenants/{tenant_id}/offboarding/items/{key}/confirm",
    operation_id = "offboarding_item_confirm",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("key" = String, Path, description = "The checklist item"),
    ),
    responses(
        (status = 200, description = "The checklist after the confirmation", body = Offboarding),
        (status = 404, description = "No such tenant or item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A service owns the item, or the tenant is no longer OFFBOARDING (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "offboarding"
)]
pub async fn confirm(
    auth: Authorized<on::Offboarding, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, key) = item_path(&path)?;
    let offboarding: Offboarding = item_confirm(&auth, &app, tenant, key).await?;
    Ok(HttpResponse::Ok().json(offboarding))
}

/// Ask the owning service again for a failed cleanup item.
#[utoipa::path(
    post,
    path = "/admin/tenants/{tenant_id}/offboarding/items/{key}/retry",
    operation_id = "offboarding_item_retry",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("key" = String, Path, description = "The checklist item"),
    ),
    responses(
        (status = 200, description = "The checklist; the item is pending again", body = Offboarding),
        (status = 404, description = "No such tenant or item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The item has not failed, or the tenant is no longer OFFBOARDING (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "offboarding"
)]
pub async fn retry(
    auth: Authorized<on::Offboarding, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, key) = item_path(&path)?;
    let offboarding: Offboarding = item_retry(&auth, &app, tenant, key).await?;
    Ok(HttpResponse::Ok().json(offboarding))
}

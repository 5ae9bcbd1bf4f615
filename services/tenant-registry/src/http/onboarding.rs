//! `/admin/tenants/{tenant_id}/onboarding`: the activation request, the readiness
//! checklist, and an operator's confirmations and retries.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::openapi::Problem;
use super::tenants::OwnerContactBody;
use super::{body_of, item_path, tenant_path};
use crate::app::AppState;
use crate::app::checklist::{flow_get, item_confirm, item_retry};
use crate::app::onboarding::{ActivationRequest, Onboarding, onboarding_request};
use crate::domain::DeploymentModel;

/// An activation request. Every field is optional: the tenant's deployment model and
/// owner contact are used when absent.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivationBody {
    #[schema(value_type = Option<DeploymentModel>)]
    deployment_model: Option<String>,
    owner_contact: Option<OwnerContactBody>,
    /// Modules the client asked for, by name (reviewed later by the module catalog).
    #[serde(default)]
    requested_modules: Vec<String>,
    /// Packs the client asked for, by name.
    #[serde(default)]
    requested_packs: Vec<String>,
}

impl ActivationBody {
    fn parse(self) -> Result<ActivationRequest, ApiError> {
        let names = |field: &str, list: Vec<String>| -> Result<Vec<String>, ApiError> {
            let ok =
                list.len() <= 100 && list.iter().all(|n| !n.trim().is_empty() && n.len() <= 100);
            if ok {
                Ok(list.into_iter().map(|n| n.trim().to_owned()).collect())
            } else {
                Err(ApiError::invalid_request(
                    field,
                    format!("{field}: up to 100 names of 1 to 100 characters"),
                ))
            }
        };
        Ok(ActivationRequest {
            deployment_model: self.deployment_model.map(|m| m.parse()).transpose()?,
            owner_contact: self
                .owner_contact
                .map(OwnerContactBody::parse)
                .transpose()?,
            requested_modules: names("requested_modules", self.requested_modules)?,
            requested_packs: names("requested_packs", self.requested_packs)?,
        })
    }
}

/// Request a PENDING tenant's activation: opens its readiness checklist.
#[utoipa::path(
    post,
    path = "/admin/tenants/{tenant_id}/onboarding",
    operation_id = "onboarding_request",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = ActivationBody,
    responses(
        (status = 201, description = "The checklist, every item pending; the tenant is ONBOARDING", body = Onboarding),
        (status = 400, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators request activation", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The tenant is not PENDING (`invalid_transition`), or this installation does not offer the deployment model (`deployment_model_not_offered`, with `available` and `remedy`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "onboarding"
)]
pub async fn request(
    auth: Authorized<on::Onboarding, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<ActivationBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let activation = body_of(body).and_then(ActivationBody::parse);
    let onboarding = onboarding_request(&auth, &app, tenant, activation).await?;
    Ok(HttpResponse::Created().json(onboarding))
}

/// The tenant's readiness: its request and the state of every checklist item.
#[utoipa::path(
    get,
    path = "/admin/tenants/{tenant_id}/onboarding",
    operation_id = "onboarding_get",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The checklist", body = Onboarding),
        (status = 404, description = "No such tenant or no request yet, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "onboarding"
)]
pub async fn get(
    auth: Authorized<on::Onboarding, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let onboarding: Onboarding = flow_get(&auth, &app, tenant).await?;
    Ok(HttpResponse::Ok().json(onboarding))
}

/// Confirm an item no service owns (e.g. `owner_contact_confirmed`, `sso_mapping`).
#[utoipa::path(
    post,
    path = "/admin/tenants/{tenant_id}/onboarding/items/{key}/confirm",
    operation_id = "onboarding_item_confirm",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("key" = String, Path, description = "The checklist item"),
    ),
    responses(
        (status = 200, description = "The checklist after the confirmation", body = Onboarding),
        (status = 404, description = "No such tenant or item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A service owns the item", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "onboarding"
)]
pub async fn confirm(
    auth: Authorized<on::Onboarding, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, key) = item_path(&path)?;
    let onboarding: Onboarding = item_confirm(&auth, &app, tenant, key).await?;
    Ok(HttpResponse::Ok().json(onboarding))
}

/// Ask the owning service again for a failed item.
#[utoipa::path(
    post,
    path = "/admin/tenants/{tenant_id}/onboarding/items/{key}/retry",
    operation_id = "onboarding_item_retry",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("key" = String, Path, description = "The checklist item"),
    ),
    responses(
        (status = 200, description = "The checklist; the item is pending again", body = Onboarding),
        (status = 404, description = "No such tenant or item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The item has not failed (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "onboarding"
)]
pub async fn retry(
    auth: Authorized<on::Onboarding, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, key) = item_path(&path)?;
    let onboarding: Onboarding = item_retry(&auth, &app, tenant, key).await?;
    Ok(HttpResponse::Ok().json(onboarding))
}

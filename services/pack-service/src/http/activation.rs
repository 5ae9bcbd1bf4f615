//! `/admin/packs/activate` and a tenant's active configuration, pack settings
//! and change requests.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::openapi::{ConfigChangeItems, Problem};
use super::{Items, body_of, tenant_field, tenant_path};
use crate::app::AppState;
use crate::app::activation::{
    Activated, Activation, ActivationRequest, ActiveConfig, ConfigChange, PackSettings, active_get,
    change_decide, change_list, pack_activate, settings_get as settings_read,
    settings_set as settings_write,
};
use crate::domain::{ChangeId, Domain, PackVersion};

/// The body of an activation (seed payload, with the domain for a pair without a
/// Tenant Pack).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    #[schema(example = "ten_us_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    tenant_id: String,
    /// The domain; may be left out when a Tenant Pack version names it.
    #[schema(example = "finance")]
    domain: Option<String>,
    #[schema(example = "3.2.0")]
    domain_pack_version: String,
    /// One of the tenant's Tenant Pack versions, or none.
    #[schema(example = "1.4.0")]
    tenant_pack_version: Option<String>,
}

impl ActivateBody {
    fn parse(self) -> Result<ActivationRequest, ApiError> {
        Ok(ActivationRequest {
            tenant: tenant_field(&self.tenant_id)?,
            domain: self
                .domain
                .map(|d| Domain::parse(&d).map_err(|e| ApiError::invalid_request("domain", e)))
                .transpose()?,
            domain_pack_version: PackVersion::parse(&self.domain_pack_version)
                .map_err(|e| ApiError::invalid_request("domain_pack_version", e))?,
            tenant_pack_version: self
                .tenant_pack_version
                .map(|v| {
                    PackVersion::parse(&v)
                        .map_err(|e| ApiError::invalid_request("tenant_pack_version", e))
                })
                .transpose()?,
        })
    }
}

/// Activate a (Domain Pack version, Tenant Pack version) pair for a tenant —
/// or, when its activations need approval, ask for it.
#[utoipa::path(
    post,
    path = "/admin/packs/activate",
    operation_id = "pack_activate",
    request_body = ActivateBody,
    responses(
        (status = 200, description = "Activated: the tenant runs the pair now", body = Activation),
        (status = 202, description = "Approval required: a change request waits for an approver", body = ConfigChange),
        (status = 400, description = "A field is missing or invalid, or names no imported version", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`activation_incompatible`: `reasons` lists why the pair (or a linked playbook) does not fit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "activation"
)]
pub async fn activate(
    auth: Authorized<on::PackActivation, to::Create>,
    app: web::Data<AppState>,
    body: Result<web::Json<ActivateBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let body = body_of(body);
    let tenant = body
        .as_ref()
        .ok()
        .and_then(|b| plinth_core::TenantId::parse(&b.tenant_id).ok());
    let request = body.and_then(ActivateBody::parse);
    Ok(match pack_activate(&auth, &app, tenant, request).await? {
        Activated::Now(activation) => HttpResponse::Ok().json(activation),
        Activated::Requested(change) => HttpResponse::Accepted().json(change),
    })
}

/// A tenant's active configuration — who activated what, when — and its history.
#[utoipa::path(
    get,
    path = "/admin/packs/tenant/{tenant_id}/active",
    operation_id = "pack_active_get",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "What the tenant runs (`active` null before its first activation)", body = ActiveConfig),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "activation"
)]
pub async fn active(
    auth: Authorized<on::PackActivation, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(active_get(&auth, &app, tenant).await?))
}

/// A tenant's pack settings.
#[utoipa::path(
    get,
    path = "/admin/packs/tenant/{tenant_id}/settings",
    operation_id = "pack_settings_get",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The settings", body = PackSettings),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "activation"
)]
pub async fn settings_get(
    auth: Authorized<on::PackSettings, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(settings_read(&auth, &app, tenant).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Whether an activation waits for an approver.
    approval_required: bool,
}

/// Turn approval of activations on or off for a tenant.
#[utoipa::path(
    put,
    path = "/admin/packs/tenant/{tenant_id}/settings",
    operation_id = "pack_settings_set",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = SettingsBody,
    responses(
        (status = 200, description = "The settings now", body = PackSettings),
        (status = 400, description = "A field is missing or invalid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "activation"
)]
pub async fn settings_set(
    auth: Authorized<on::ApprovalSetting, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<SettingsBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let approval = body_of(body).map(|b| b.approval_required);
    Ok(HttpResponse::Ok().json(settings_write(&auth, &app, tenant, approval).await?))
}

/// A tenant's change requests, newest first.
#[utoipa::path(
    get,
    path = "/admin/packs/tenant/{tenant_id}/changes",
    operation_id = "config_change_list",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The requests (at most 100)", body = ConfigChangeItems),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "activation"
)]
pub async fn changes(
    auth: Authorized<on::ConfigChange, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(Items::of(change_list(&auth, &app, tenant).await?)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Why, for the record.
    note: Option<String>,
}

type Decision = Result<(ChangeId, Option<String>), ApiError>;

fn decision(
    path: &(String, String),
    body: Result<web::Json<DecisionBody>, actix_web::Error>,
) -> Result<(plinth_core::TenantId, Decision), ApiError> {
    let tenant = tenant_path(&path.0)?;
    let decided = ChangeId::parse(&path.1)
        .map_err(|_| ApiError::not_found("config change"))
        .and_then(|change| {
            let note = body_of(body)?.note;
            if note.as_ref().is_some_and(|n| n.len() > 2000) {
                return Err(ApiError::invalid_request(
                    "note",
                    "the note is at most 2000 characters",
                ));
            }
            Ok((change, note))
        });
    Ok((tenant, decided))
}

/// Approve a pending change request: the pair is activated if it still fits.
#[utoipa::path(
    post,
    path = "/admin/packs/tenant/{tenant_id}/changes/{change_id}/approve",
    operation_id = "config_change_approve",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("change_id" = String, Path, description = "The change request's id"),
    ),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "Approved and activated", body = ConfigChange),
        (status = 403, description = "Only the tenant's approvers, and never the person who asked (`own_change`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`change_decided`, or `activation_incompatible`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "activation"
)]
pub async fn approve(
    auth: Authorized<on::ConfigChange, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<DecisionBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, decided) = decision(&path, body)?;
    Ok(HttpResponse::Ok().json(change_decide(&auth, &app, tenant, decided, true).await?))
}

/// Reject a pending change request: the active configuration stays as it is.
#[utoipa::path(
    post,
    path = "/admin/packs/tenant/{tenant_id}/changes/{change_id}/reject",
    operation_id = "config_change_reject",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("change_id" = String, Path, description = "The change request's id"),
    ),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "Rejected", body = ConfigChange),
        (status = 403, description = "Only the tenant's approvers, and never the person who asked (`own_change`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`change_decided`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "activation"
)]
pub async fn reject(
    auth: Authorized<on::ConfigChange, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<DecisionBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, decided) = decision(&path, body)?;
    Ok(HttpResponse::Ok().json(change_decide(&auth, &app, tenant, decided, false).await?))
}

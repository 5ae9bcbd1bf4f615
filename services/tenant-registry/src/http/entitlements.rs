//! `/admin/tenants/{tenant_id}/entitlements`: plan, modules and quotas, and the
//! entitlement status.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::openapi::Problem;
use super::{body_of, tenant_path};
use crate::app::AppState;
use crate::app::entitlements::{
    EntitlementChange, EntitlementStatus, Entitlements, entitlement_get, entitlement_set,
    entitlement_status,
};

/// New entitlements; every field is required (they replace the old ones).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitlementBody {
    /// 1 to 50 lower-case letters, digits, `-` and `_`.
    #[schema(value_type = String, example = "standard")]
    plan: Option<String>,
    /// Modules the tenant may enable, by name.
    #[schema(value_type = Vec<String>)]
    modules: Option<Vec<String>>,
    #[schema(value_type = i32, example = 50)]
    api_rate_per_second: Option<i32>,
    #[schema(value_type = i32, example = 10)]
    max_workspaces: Option<i32>,
    #[schema(value_type = i32, example = 3)]
    max_provider_connections: Option<i32>,
    #[schema(value_type = i64, example = 50000000)]
    monthly_token_budget: Option<i64>,
}

fn given<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid_request(field, format!("{field} is required")))
}

fn at_least<T: PartialOrd + std::fmt::Display>(
    value: T,
    min: T,
    field: &str,
) -> Result<T, ApiError> {
    if value >= min {
        Ok(value)
    } else {
        Err(ApiError::invalid_request(
            field,
            format!("{field} is at least {min}"),
        ))
    }
}

impl EntitlementBody {
    fn parse(self) -> Result<EntitlementChange, ApiError> {
        let plan = given(self.plan, "plan")?;
        let plan_ok = (1..=50).contains(&plan.len())
            && plan
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !plan_ok {
            return Err(ApiError::invalid_request(
                "plan",
                "plan is 1 to 50 lower-case letters, digits, - and _",
            ));
        }
        let modules = given(self.modules, "modules")?;
        if modules.len() > 200 || modules.iter().any(|m| m.trim().is_empty() || m.len() > 100) {
            return Err(ApiError::invalid_request(
                "modules",
                "modules: up to 200 names of 1 to 100 characters",
            ));
        }
        Ok(EntitlementChange {
            plan,
            modules,
            api_rate_per_second: at_least(
                given(self.api_rate_per_second, "api_rate_per_second")?,
                1,
                "api_rate_per_second",
            )?,
            max_workspaces: at_least(
                given(self.max_workspaces, "max_workspaces")?,
                0,
                "max_workspaces",
            )?,
            max_provider_connections: at_least(
                given(self.max_provider_connections, "max_provider_connections")?,
                0,
                "max_provider_connections",
            )?,
            monthly_token_budget: at_least(
                given(self.monthly_token_budget, "monthly_token_budget")?,
                0,
                "monthly_token_budget",
            )?,
        })
    }
}

/// The tenant's entitlements (the installation's defaults until set).
#[utoipa::path(
    get,
    path = "/admin/tenants/{tenant_id}/entitlements",
    operation_id = "entitlement_get",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The entitlements", body = Entitlements),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "entitlements"
)]
pub async fn get(
    auth: Authorized<on::Entitlement, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(entitlement_get(&auth, &app, tenant).await?))
}

/// Set the tenant's plan, modules and quotas.
#[utoipa::path(
    put,
    path = "/admin/tenants/{tenant_id}/entitlements",
    operation_id = "entitlement_set",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = EntitlementBody,
    responses(
        (status = 200, description = "The entitlements after the change", body = Entitlements),
        (status = 400, description = "A field is missing or invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators set entitlements", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "entitlements"
)]
pub async fn set(
    auth: Authorized<on::Entitlement, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<EntitlementBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let change = body_of(body).and_then(EntitlementBody::parse);
    Ok(HttpResponse::Ok().json(entitlement_set(&auth, &app, tenant, change).await?))
}

/// Whether the tenant may use the platform now, why not, its plan and its usage.
#[utoipa::path(
    get,
    path = "/admin/tenants/{tenant_id}/entitlements/status",
    operation_id = "entitlement_status",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The status", body = EntitlementStatus),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "entitlements"
)]
pub async fn status(
    auth: Authorized<on::Entitlement, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(entitlement_status(&auth, &app, tenant).await?))
}

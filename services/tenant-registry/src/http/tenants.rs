//! `/admin/tenants`: register, list, read, and set the status of tenants.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::{ApiError, DataMode, PageParams, Region};
use serde::Deserialize;

use super::{body_of, tenant_path};
use crate::app::AppState;
use crate::app::tenants::{
    NewTenant, StatusChange, TenantFilter, tenant_create, tenant_get, tenant_list,
    tenant_status_set,
};
use utoipa::ToSchema;

use super::openapi::{Problem, TenantPage};
use crate::app::tenants::Tenant;
use crate::domain::{DeploymentModel, OwnerContact, TenantSlug, TenantStatus};

/// `POST /admin/tenants`. Every field is checked here, so that a missing one is
/// named in the error.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantBody {
    /// 3 to 40 lower-case letters, digits and single hyphens; unique in the region.
    #[schema(value_type = String, example = "acme")]
    slug: Option<String>,
    #[schema(value_type = String, example = "Acme Corporation")]
    display_name: Option<String>,
    /// `us` or `eu`: must be this deployment's region; never changes.
    #[schema(value_type = String, example = "us")]
    region: Option<String>,
    #[schema(value_type = DeploymentModel)]
    deployment_model: Option<String>,
    /// `metadata_only` (the default) or `content`.
    #[schema(value_type = Option<String>, example = "metadata_only")]
    data_mode: Option<String>,
    #[schema(value_type = OwnerContactBody)]
    owner_contact: Option<OwnerContactBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerContactBody {
    #[schema(value_type = String)]
    name: Option<String>,
    #[schema(value_type = String, example = "owner@acme.example")]
    email: Option<String>,
    #[schema(example = "+1 555 0100 200")]
    phone: Option<String>,
}

impl OwnerContactBody {
    pub(super) fn parse(self) -> Result<OwnerContact, ApiError> {
        OwnerContact::parse(
            required(&self.name, "owner_contact.name")?,
            required(&self.email, "owner_contact.email")?,
            self.phone.as_deref(),
        )
    }
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, ApiError> {
    value
        .as_deref()
        .ok_or_else(|| ApiError::invalid_request(field, format!("{field} is required")))
}

impl CreateTenantBody {
    fn parse(self) -> Result<NewTenant, ApiError> {
        let region: Region = required(&self.region, "region")?
            .parse()
            .map_err(|_| ApiError::invalid_request("region", "region is us or eu"))?;
        let slug = TenantSlug::parse(required(&self.slug, "slug")?)?;
        let display_name = required(&self.display_name, "display_name")?
            .trim()
            .to_owned();
        if display_name.is_empty() || display_name.chars().count() > 200 {
            return Err(ApiError::invalid_request(
                "display_name",
                "display_name is 1 to 200 characters",
            ));
        }
        let deployment_model: DeploymentModel =
            required(&self.deployment_model, "deployment_model")?.parse()?;
        let data_mode = match self.data_mode.as_deref() {
            None => DataMode::default(),
            Some(m) => m.parse().map_err(|_| {
                ApiError::invalid_request("data_mode", "data_mode is metadata_only or content")
            })?,
        };
        let contact = self.owner_contact.ok_or_else(|| {
            ApiError::invalid_request("owner_contact", "owner_contact is required")
        })?;
        let owner_contact = OwnerContact::parse(
            required(&contact.name, "owner_contact.name")?,
            required(&contact.email, "owner_contact.email")?,
            contact.phone.as_deref(),
        )?;
        Ok(NewTenant {
            slug,
            display_name,
            region,
            deployment_model,
            data_mode,
            owner_contact,
        })
    }
}

/// Register a tenant (PENDING) in this deployment's region.
#[utoipa::path(
    post,
    path = "/admin/tenants",
    operation_id = "tenant_create",
    request_body = CreateTenantBody,
    responses(
        (status = 201, description = "Registered", body = Tenant),
        (status = 400, description = "A field is missing or invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid internal token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators bound to every tenant register tenants", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken in this region (`already_exists`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 421, description = "The region is another deployment's (`wrong_region`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "tenants"
)]
pub async fn create(
    auth: Authorized<on::Tenant, to::Create>,
    app: web::Data<AppState>,
    body: Result<web::Json<CreateTenantBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let new = body_of(body).and_then(|b| b.parse());
    let tenant = tenant_create(&auth, &app, new).await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/admin/tenants/{}", tenant.tenant_id)))
        .json(tenant))
}

/// The tenants the caller reaches, in id order, a page at a time.
#[utoipa::path(
    get,
    path = "/admin/tenants",
    operation_id = "tenant_list",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page (with the same filters)"),
        ("status" = Option<TenantStatus>, Query, description = "Only tenants in this status"),
        ("deployment_model" = Option<DeploymentModel>, Query, description = "Only tenants of this deployment model"),
        ("data_mode" = Option<String>, Query, description = "Only tenants of this data mode: `metadata_only` or `content`"),
    ),
    responses(
        (status = 200, description = "One page", body = TenantPage),
        (status = 400, description = "A bad limit, cursor or filter (`field` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid internal token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "tenants"
)]
pub async fn list(
    auth: Authorized<on::Tenant, to::Read>,
    app: web::Data<AppState>,
    params: web::Query<PageParams>,
    filter: web::Query<FilterQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.into_inner().parse()?;
    Ok(HttpResponse::Ok().json(tenant_list(&auth, &app, &params, filter).await?))
}

/// The filters of `GET /admin/tenants`, as given.
#[derive(Debug, Deserialize)]
pub struct FilterQuery {
    status: Option<String>,
    deployment_model: Option<String>,
    data_mode: Option<String>,
}

impl FilterQuery {
    fn parse(self) -> Result<TenantFilter, ApiError> {
        fn field<T: std::str::FromStr>(
            name: &str,
            value: Option<String>,
        ) -> Result<Option<T>, ApiError> {
            value
                .map(|v| {
                    v.parse().map_err(|_| {
                        ApiError::invalid_request(name, format!("`{name}` has no value `{v}`"))
                    })
                })
                .transpose()
        }
        Ok(TenantFilter {
            status: field("status", self.status)?,
            deployment_model: field("deployment_model", self.deployment_model)?,
            data_mode: field("data_mode", self.data_mode)?,
        })
    }
}

/// One tenant.
#[utoipa::path(
    get,
    path = "/admin/tenants/{tenant_id}",
    operation_id = "tenant_get",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant", body = Tenant),
        (status = 401, description = "No valid internal token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 421, description = "The tenant lives in the other region (`wrong_region`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "tenants"
)]
pub async fn get(
    auth: Authorized<on::Tenant, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(tenant_get(&auth, &app, id).await?))
}

/// `PATCH /admin/tenants/{tenant_id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    #[schema(value_type = TenantStatus)]
    status: Option<String>,
    /// Why, for the audit trail and the event.
    reason: Option<String>,
}

/// Suspend an ACTIVE tenant or reactivate a SUSPENDED one.
#[utoipa::path(
    patch,
    path = "/admin/tenants/{tenant_id}/status",
    operation_id = "tenant_status_set",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = StatusBody,
    responses(
        (status = 200, description = "The tenant after the change", body = Tenant),
        (status = 400, description = "A missing or unknown status", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid internal token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators change a tenant's status", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a transition this endpoint makes (`invalid_transition`, with `allowed`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "tenants"
)]
pub async fn set_status(
    auth: Authorized<on::TenantStatus, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<StatusBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let id = tenant_path(&path)?;
    let change = body_of(body).and_then(|body| {
        Ok(StatusChange {
            to: required(&body.status, "status")?.parse()?,
            reason: body.reason.filter(|r| !r.trim().is_empty()),
        })
    });
    Ok(HttpResponse::Ok().json(tenant_status_set(&auth, &app, id, change).await?))
}

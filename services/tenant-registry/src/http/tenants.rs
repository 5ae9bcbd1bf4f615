//! `/admin/tenants`: register, list, read, and set the status of tenants.

use actix_web::{HttpResponse, web};
use plinth_access::Caller;
use plinth_core::{ApiError, DataMode, PageParams, Region};
use serde::Deserialize;

use super::{body_of, tenant_path};
use crate::app::AppState;
use crate::app::tenants::{NewTenant, tenant_create, tenant_get, tenant_list, tenant_status_set};
use crate::domain::{DeploymentModel, OwnerContact, TenantSlug, TenantStatus};
use crate::events::Audited;

/// `POST /admin/tenants`. Every field is checked here, so that a missing one is
/// named in the error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantBody {
    slug: Option<String>,
    display_name: Option<String>,
    region: Option<String>,
    deployment_model: Option<String>,
    data_mode: Option<String>,
    owner_contact: Option<OwnerContactBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerContactBody {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
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

pub async fn create(
    caller: Caller,
    app: web::Data<AppState>,
    body: Result<web::Json<CreateTenantBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let audited = Audited::new("tenant.create", "tenant");
    let new = app
        .audited(&caller, &audited, body_of(body).and_then(|b| b.parse()))
        .await?;
    let tenant = tenant_create(&caller, &app, new).await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/admin/tenants/{}", tenant.tenant_id)))
        .json(tenant))
}

pub async fn list(
    caller: Caller,
    app: web::Data<AppState>,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(tenant_list(&caller, &app, &params).await?))
}

pub async fn get(
    caller: Caller,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(tenant_get(&caller, &app, id).await?))
}

/// `PATCH /admin/tenants/{tenant_id}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: Option<String>,
    reason: Option<String>,
}

pub async fn set_status(
    caller: Caller,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<StatusBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let id = tenant_path(&path)?;
    let audited = Audited::new("tenant.status_set", "tenant").on_tenant(id);
    let parsed = body_of(body).and_then(|body| {
        let to: TenantStatus = required(&body.status, "status")?.parse()?;
        Ok((to, body.reason.filter(|r| !r.trim().is_empty())))
    });
    let (to, reason) = app.audited(&caller, &audited, parsed).await?;
    Ok(HttpResponse::Ok().json(tenant_status_set(&caller, &app, id, to, reason).await?))
}

//! `/admin/tenants/{tenant_id}/workspaces`: a tenant's workspaces.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::{ApiError, DataMode, PageParams, WorkspaceId};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::openapi::{Problem, WorkspacePage};
use super::{body_of, tenant_path};
use crate::app::AppState;
use crate::app::workspaces::{
    Workspace, WorkspaceChange, workspace_create, workspace_delete, workspace_get, workspace_list,
    workspace_update,
};
use crate::domain::ApprovalTier;

/// The body of `POST` (where `name` is required) and `PATCH` (where every field is
/// optional and an absent one stays as it is).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceBody {
    /// 1 to 100 characters, unique within the tenant.
    #[schema(example = "Service desk")]
    name: Option<String>,
    /// `metadata_only` (the default) or `content`; never looser than the tenant's.
    #[schema(example = "metadata_only")]
    data_mode: Option<String>,
    /// 1 to 3650 (default 90).
    retention_days: Option<i32>,
    /// Most write actions per day, or null for no cap (the default).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>)]
    write_cap_per_day: Option<Option<i32>>,
    /// Default gate level, L0 to L3 (default L2).
    #[schema(value_type = Option<ApprovalTier>)]
    approval_tier: Option<String>,
}

/// Tells a field that is present and null (`Some(None)`) from one that is absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl WorkspaceBody {
    fn parse(self) -> Result<WorkspaceChange, ApiError> {
        Ok(WorkspaceChange {
            name: self.name,
            data_mode: self
                .data_mode
                .map(|m| {
                    m.parse::<DataMode>().map_err(|_| {
                        ApiError::invalid_request(
                            "data_mode",
                            "data_mode is metadata_only or content",
                        )
                    })
                })
                .transpose()?,
            retention_days: self.retention_days,
            write_cap_per_day: self.write_cap_per_day,
            approval_tier: self.approval_tier.map(|t| t.parse()).transpose()?,
        })
    }
}

fn workspace_path(raw: &str) -> Result<WorkspaceId, ApiError> {
    WorkspaceId::parse(raw).map_err(|_| ApiError::not_found("workspace"))
}

/// Create a workspace in a tenant.
#[utoipa::path(
    post,
    path = "/admin/tenants/{tenant_id}/workspaces",
    operation_id = "workspace_create",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = WorkspaceBody,
    responses(
        (status = 201, description = "Created", body = Workspace),
        (status = 400, description = "A field is missing or invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken in the tenant, or the tenant is being offboarded", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "workspaces"
)]
pub async fn create(
    auth: Authorized<on::Workspace, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<WorkspaceBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let change = body_of(body).and_then(WorkspaceBody::parse);
    let workspace = workspace_create(&auth, &app, tenant, change).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "location",
            format!(
                "/admin/tenants/{tenant}/workspaces/{}",
                workspace.workspace_id
            ),
        ))
        .json(workspace))
}

/// The tenant's workspaces, in id order, a page at a time.
#[utoipa::path(
    get,
    path = "/admin/tenants/{tenant_id}/workspaces",
    operation_id = "workspace_list",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page", body = WorkspacePage),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "workspaces"
)]
pub async fn list(
    auth: Authorized<on::Workspace, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(workspace_list(&auth, &app, tenant, &params).await?))
}

/// One workspace.
#[utoipa::path(
    get,
    path = "/admin/tenants/{tenant_id}/workspaces/{workspace_id}",
    operation_id = "workspace_get",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("workspace_id" = String, Path, description = "The workspace's id"),
    ),
    responses(
        (status = 200, description = "The workspace", body = Workspace),
        (status = 404, description = "No such tenant or workspace, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "workspaces"
)]
pub async fn get(
    auth: Authorized<on::Workspace, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, workspace) = path.into_inner();
    let (tenant, workspace) = (tenant_path(&tenant)?, workspace_path(&workspace)?);
    Ok(HttpResponse::Ok().json(workspace_get(&auth, &app, tenant, workspace).await?))
}

/// Change a workspace's settings; absent fields stay as they are.
#[utoipa::path(
    patch,
    path = "/admin/tenants/{tenant_id}/workspaces/{workspace_id}",
    operation_id = "workspace_update",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("workspace_id" = String, Path, description = "The workspace's id"),
    ),
    request_body = WorkspaceBody,
    responses(
        (status = 200, description = "The workspace after the change", body = Workspace),
        (status = 400, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or workspace, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken in the tenant, or the tenant is being offboarded", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "workspaces"
)]
pub async fn update(
    auth: Authorized<on::Workspace, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<WorkspaceBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, workspace) = path.into_inner();
    let (tenant, workspace) = (tenant_path(&tenant)?, workspace_path(&workspace)?);
    let change = body_of(body).and_then(WorkspaceBody::parse);
    Ok(HttpResponse::Ok().json(workspace_update(&auth, &app, tenant, workspace, change).await?))
}

/// Delete a workspace.
#[utoipa::path(
    delete,
    path = "/admin/tenants/{tenant_id}/workspaces/{workspace_id}",
    operation_id = "workspace_delete",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("workspace_id" = String, Path, description = "The workspace's id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or workspace, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "workspaces"
)]
pub async fn delete(
    auth: Authorized<on::Workspace, to::Delete>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, workspace) = path.into_inner();
    let (tenant, workspace) = (tenant_path(&tenant)?, workspace_path(&workspace)?);
    workspace_delete(&auth, &app, tenant, workspace).await?;
    Ok(HttpResponse::NoContent().finish())
}

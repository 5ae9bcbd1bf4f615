//! `/admin/tenants/{tenant_id}/role-bindings` and `…/group-mappings`: who holds which
//! role in a tenant.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::{ApiError, PageParams};
use serde::Deserialize;
use utoipa::ToSchema;

use super::openapi::{Problem, RoleBindingPage};
use super::{body_of, tenant_path};
use crate::app::AppState;
use crate::app::role_bindings::{
    BindingKind, BindingResource, NewBinding, RoleBinding, binding_create, binding_delete,
    binding_list,
};

/// `POST …/role-bindings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBindingBody {
    /// The principal's subject at the identity provider.
    #[schema(value_type = String, example = "ana@acme.example")]
    subject: Option<String>,
    /// WorkspaceAdmin, Operator, Approver, Auditor or IntegrationAdmin.
    #[schema(value_type = String, example = "Operator")]
    role: Option<String>,
    /// The workspace the role is held in; absent: the whole tenant.
    workspace_id: Option<String>,
}

/// `POST …/group-mappings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMappingBody {
    /// The group's name at the client's identity provider.
    #[schema(value_type = String, example = "acme-service-desk")]
    idp_group: Option<String>,
    #[schema(value_type = String, example = "Operator")]
    role: Option<String>,
    workspace_id: Option<String>,
}

fn parse(
    kind: BindingKind,
    principal: Option<String>,
    role: Option<String>,
    workspace: Option<String>,
) -> Result<NewBinding, ApiError> {
    let principal = principal.ok_or_else(|| {
        ApiError::invalid_request(kind.field(), format!("{} is required", kind.field()))
    })?;
    let role = role.ok_or_else(|| ApiError::invalid_request("role", "role is required"))?;
    NewBinding::parse(kind, &principal, &role, workspace.as_deref())
}

async fn create<R: BindingResource>(
    auth: Authorized<R, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    parsed: Result<NewBinding, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Created().json(binding_create(&auth, &app, tenant, parsed).await?))
}

/// Bind a principal to a role in the tenant (or one of its workspaces).
#[utoipa::path(
    post,
    path = "/admin/tenants/{tenant_id}/role-bindings",
    operation_id = "role_binding_create",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = RoleBindingBody,
    responses(
        (status = 201, description = "Bound", body = RoleBinding),
        (status = 400, description = "A field is missing or invalid (a platform role, an unknown workspace); `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The principal already holds this role here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "access"
)]
pub async fn create_binding(
    auth: Authorized<on::RoleBinding, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<RoleBindingBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let kind = BindingKind::Subject;
    let parsed = body_of(body).and_then(|b| parse(kind, b.subject, b.role, b.workspace_id));
    create(auth, app, path, parsed).await
}

/// Map an identity-provider group to a role in the tenant (or one of its workspaces).
#[utoipa::path(
    post,
    path = "/admin/tenants/{tenant_id}/group-mappings",
    operation_id = "group_mapping_create",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = GroupMappingBody,
    responses(
        (status = 201, description = "Mapped", body = RoleBinding),
        (status = 400, description = "A field is missing or invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The group already maps to this role here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "access"
)]
pub async fn create_mapping(
    auth: Authorized<on::GroupMapping, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<GroupMappingBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let kind = BindingKind::Group;
    let parsed = body_of(body).and_then(|b| parse(kind, b.idp_group, b.role, b.workspace_id));
    create(auth, app, path, parsed).await
}

/// The tenant's role bindings, a page at a time.
#[utoipa::path(
    get,
    path = "/admin/tenants/{tenant_id}/role-bindings",
    operation_id = "role_binding_list",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page", body = RoleBindingPage),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "access"
)]
pub async fn list_bindings(
    auth: Authorized<on::RoleBinding, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(binding_list(&auth, &app, tenant, &params).await?))
}

/// The tenant's group mappings, a page at a time.
#[utoipa::path(
    get,
    path = "/admin/tenants/{tenant_id}/group-mappings",
    operation_id = "group_mapping_list",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page", body = RoleBindingPage),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "access"
)]
pub async fn list_mappings(
    auth: Authorized<on::GroupMapping, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(binding_list(&auth, &app, tenant, &params).await?))
}

/// Withdraw a role binding.
#[utoipa::path(
    delete,
    path = "/admin/tenants/{tenant_id}/role-bindings/{binding_id}",
    operation_id = "role_binding_delete",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("binding_id" = String, Path, description = "The binding's id"),
    ),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such binding in this tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "access"
)]
pub async fn delete_binding(
    auth: Authorized<on::RoleBinding, to::Delete>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    binding_delete(&auth, &app, tenant_path(&tenant)?, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Withdraw a group mapping.
#[utoipa::path(
    delete,
    path = "/admin/tenants/{tenant_id}/group-mappings/{binding_id}",
    operation_id = "group_mapping_delete",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("binding_id" = String, Path, description = "The mapping's id"),
    ),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such mapping in this tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "access"
)]
pub async fn delete_mapping(
    auth: Authorized<on::GroupMapping, to::Delete>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    binding_delete(&auth, &app, tenant_path(&tenant)?, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

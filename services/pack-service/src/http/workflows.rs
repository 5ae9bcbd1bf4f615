//! `/admin/packs/tenant/{tenant_id}/workspaces/{workspace_id}/workflows`: a
//! workspace's workflows — playbooks at its scope — published and read.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::openapi::{Problem, WorkflowVersionItems};
use super::{Items, body_of, tenant_path};
use crate::app::AppState;
use crate::app::workflows::{WorkflowVersion, workflow_get, workflow_list, workflow_publish};
use crate::domain::{PackVersion, PlaybookName};

/// Publish a workflow version into a workspace (the body is the version, a
/// playbook document).
#[utoipa::path(
    post,
    path = "/admin/packs/tenant/{tenant_id}/workspaces/{workspace_id}/workflows",
    operation_id = "workflow_publish",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("workspace_id" = String, Path, description = "The workspace's id"),
    ),
    request_body(content = Object, description = "A workflow version: a playbook document (schemas/json/playbook.schema.json)"),
    responses(
        (status = 201, description = "Published", body = WorkflowVersion),
        (status = 200, description = "The same version with the same content was already published", body = WorkflowVersion),
        (status = 400, description = "`playbook_invalid`: `errors` lists every problem", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the tenant's workspace administrators and the platform team", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or workspace, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_exists`: published with other content; or the workspace is deleted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "workflows"
)]
pub async fn publish(
    auth: Authorized<on::Workflow, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<Value>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path.0)?;
    let (version, created) = workflow_publish(&auth, &app, tenant, &path.1, body_of(body)).await?;
    Ok(if created {
        HttpResponse::Created().json(version)
    } else {
        HttpResponse::Ok().json(version)
    })
}

/// `GET …/workflows`: only one workflow's versions.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// A workflow's id.
    workflow: Option<String>,
}

/// A workspace's workflow versions.
#[utoipa::path(
    get,
    path = "/admin/packs/tenant/{tenant_id}/workspaces/{workspace_id}/workflows",
    operation_id = "workflow_list",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("workspace_id" = String, Path, description = "The workspace's id"),
        ListQuery,
    ),
    responses(
        (status = 200, description = "The versions, each workflow's newest first", body = WorkflowVersionItems),
        (status = 404, description = "No such tenant or workspace, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "workflows"
)]
pub async fn list(
    auth: Authorized<on::Workflow, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path.0)?;
    let workflow = match &query.workflow {
        Some(id) => {
            Some(PlaybookName::parse(id).map_err(|e| ApiError::invalid_request("workflow", e))?)
        }
        None => None,
    };
    let versions = workflow_list(&auth, &app, tenant, &path.1, workflow.as_ref()).await?;
    Ok(HttpResponse::Ok().json(Items::of(versions)))
}

/// One workflow version of a workspace, with its document.
#[utoipa::path(
    get,
    path = "/admin/packs/tenant/{tenant_id}/workspaces/{workspace_id}/workflows/{workflow}/{version}",
    operation_id = "workflow_get",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("workspace_id" = String, Path, description = "The workspace's id"),
        ("workflow" = String, Path, description = "The workflow's id"),
        ("version" = String, Path, description = "The version"),
    ),
    responses(
        (status = 200, description = "The version", body = WorkflowVersion),
        (status = 404, description = "No such tenant, workspace or version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "workflows"
)]
pub async fn get(
    auth: Authorized<on::Workflow, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path.0)?;
    let not_found = |_| ApiError::not_found("workflow version");
    let workflow = PlaybookName::parse(&path.2).map_err(not_found)?;
    let version = PackVersion::parse(&path.3).map_err(not_found)?;
    let found = workflow_get(&auth, &app, tenant, &path.1, &workflow, &version).await?;
    Ok(HttpResponse::Ok().json(found))
}

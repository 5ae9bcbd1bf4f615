//! `/admin/playbooks`: publishing and reading playbook versions; and
//! `/admin/packs/tenant/{tenant_id}/playbooks`: a tenant's links.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::openapi::{PlaybookLinkItems, PlaybookVersionItems, Problem};
use super::{Items, body_of, tenant_path};
use crate::app::AppState;
use crate::app::playbooks::{
    PlaybookLink, PlaybookVersion, link_create, link_delete, link_list, playbook_get,
    playbook_list, playbook_publish,
};
use crate::domain::{PackVersion, PlaybookName};

/// Publish a playbook version (the body is the version).
#[utoipa::path(
    post,
    path = "/admin/playbooks",
    operation_id = "playbook_publish",
    request_body(content = Object, description = "A playbook version (schemas/json/playbook.schema.json)"),
    responses(
        (status = 201, description = "Published", body = PlaybookVersion),
        (status = 200, description = "The same version with the same content was already published", body = PlaybookVersion),
        (status = 400, description = "`playbook_invalid`: `errors` lists every problem", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_exists`: published with other content", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "playbooks"
)]
pub async fn publish(
    auth: Authorized<on::Playbook, to::Create>,
    app: web::Data<AppState>,
    body: Result<web::Json<Value>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (version, created) = playbook_publish(&auth, &app, body_of(body)).await?;
    Ok(if created {
        HttpResponse::Created().json(version)
    } else {
        HttpResponse::Ok().json(version)
    })
}

/// Every published playbook version.
#[utoipa::path(
    get,
    path = "/admin/playbooks",
    operation_id = "playbook_list",
    responses((status = 200, description = "The versions, each playbook's newest first", body = PlaybookVersionItems)),
    security(("internal_token" = [])),
    tag = "playbooks"
)]
pub async fn list(
    auth: Authorized<on::Playbook, to::Read>,
    app: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(Items::of(playbook_list(&auth, &app).await?)))
}

/// One published playbook version, with its content.
#[utoipa::path(
    get,
    path = "/admin/playbooks/{playbook}/{version}",
    operation_id = "playbook_get",
    params(
        ("playbook" = String, Path, description = "The playbook's id"),
        ("version" = String, Path, description = "The version"),
    ),
    responses(
        (status = 200, description = "The version", body = PlaybookVersion),
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "playbooks"
)]
pub async fn get(
    auth: Authorized<on::Playbook, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let not_found = |_| ApiError::not_found("playbook version");
    let playbook = PlaybookName::parse(&path.0).map_err(not_found)?;
    let version = PackVersion::parse(&path.1).map_err(not_found)?;
    Ok(HttpResponse::Ok().json(playbook_get(&auth, &app, &playbook, &version).await?))
}

/// A tenant's linked playbook versions.
#[utoipa::path(
    get,
    path = "/admin/packs/tenant/{tenant_id}/playbooks",
    operation_id = "playbook_link_list",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The links", body = PlaybookLinkItems),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "playbooks"
)]
pub async fn links(
    auth: Authorized<on::PlaybookLink, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(Items::of(link_list(&auth, &app, tenant).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    #[schema(example = "invoice-dispute-triage")]
    playbook: String,
    #[schema(example = "1.0.0")]
    version: String,
}

/// Link a published playbook version to the tenant's active configuration.
#[utoipa::path(
    post,
    path = "/admin/packs/tenant/{tenant_id}/playbooks",
    operation_id = "playbook_link",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = LinkBody,
    responses(
        (status = 200, description = "Linked (replacing the tenant's link of the same playbook)", body = PlaybookLink),
        (status = 400, description = "A field is missing or invalid, or names no published version", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_active_config`, or `playbook_incompatible` with `reasons`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "playbooks"
)]
pub async fn link(
    auth: Authorized<on::PlaybookLink, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<LinkBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let request = body_of(body).and_then(|b| {
        let playbook = PlaybookName::parse(&b.playbook)
            .map_err(|e| ApiError::invalid_request("playbook", e))?;
        let version =
            PackVersion::parse(&b.version).map_err(|e| ApiError::invalid_request("version", e))?;
        Ok((playbook, version))
    });
    Ok(HttpResponse::Ok().json(link_create(&auth, &app, tenant, request).await?))
}

/// Remove the tenant's link of a playbook.
#[utoipa::path(
    delete,
    path = "/admin/packs/tenant/{tenant_id}/playbooks/{playbook}",
    operation_id = "playbook_unlink",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("playbook" = String, Path, description = "The playbook's id"),
    ),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or link", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "playbooks"
)]
pub async fn unlink(
    auth: Authorized<on::PlaybookLink, to::Delete>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path.0)?;
    let playbook = PlaybookName::parse(&path.1).map_err(|_| ApiError::not_found("playbook link"));
    link_delete(&auth, &app, tenant, playbook).await?;
    Ok(HttpResponse::NoContent().finish())
}

//! `/admin/packs/…`: importing, validating, listing, reading and deprecating
//! Domain and Tenant Pack versions, and the import attempts.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::openapi::{AttemptItems, DomainPackItems, Problem, TenantPackItems, ToolItems};
use super::{Items, body_of, tenant_field, tenant_path};
use crate::app::AppState;
use crate::app::import::{
    Imported, Report, Submission, domain_pack_import, pack_validate, tenant_pack_import,
};
use crate::app::packs::{
    Attempt, DomainPack, TenantPack, attempt_get, attempt_list, domain_pack_deprecate,
    domain_pack_get, domain_pack_list, domain_version_path, tenant_pack_deprecate, tenant_pack_get,
    tenant_pack_list,
};
use crate::app::tools::tool_list;
use crate::domain::{AttemptId, PackVersion};

fn imported<T: serde::Serialize>(result: (Imported<T>, bool)) -> HttpResponse {
    let (imported, created) = result;
    if created {
        HttpResponse::Created().json(imported)
    } else {
        HttpResponse::Ok().json(imported)
    }
}

/// Import a Domain Pack version (the body is the pack).
#[utoipa::path(
    post,
    path = "/admin/packs/domain/import",
    operation_id = "domain_pack_import",
    request_body(content = Object, description = "A Domain Pack (schemas/json/domain-pack.schema.json)"),
    responses(
        (status = 201, description = "Imported", body = ImportedDomainPack),
        (status = 200, description = "The same version with the same content was already imported", body = ImportedDomainPack),
        (status = 400, description = "`pack_invalid`: `errors` lists every problem (pointer, code, message) and `attempt_id` the stored attempt", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_exists`: the version is stored with other content", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn domain_import(
    auth: Authorized<on::DomainPack, to::Create>,
    app: web::Data<AppState>,
    body: Result<web::Json<Value>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    Ok(imported(
        domain_pack_import(&auth, &app, body_of(body)).await?,
    ))
}

/// The body of a Tenant Pack import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantImportBody {
    #[schema(example = "ten_us_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    tenant_id: String,
    /// The Tenant Pack (schemas/json/tenant-pack.schema.json).
    #[schema(value_type = Object)]
    pack: Value,
}

/// Import a Tenant Pack version for a tenant.
#[utoipa::path(
    post,
    path = "/admin/packs/tenant/import",
    operation_id = "tenant_pack_import",
    request_body = TenantImportBody,
    responses(
        (status = 201, description = "Imported", body = ImportedTenantPack),
        (status = 200, description = "The same version with the same content was already imported", body = ImportedTenantPack),
        (status = 400, description = "`pack_invalid`: `errors` lists every problem and `attempt_id` the stored attempt", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_exists`, or the tenant is being offboarded", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn tenant_import(
    auth: Authorized<on::TenantPack, to::Create>,
    app: web::Data<AppState>,
    body: Result<web::Json<TenantImportBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let request = body_of(body).and_then(|b| Ok((tenant_field(&b.tenant_id)?, b.pack)));
    Ok(imported(tenant_pack_import(&auth, &app, request).await?))
}

/// The body of a dry run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateBody {
    /// `domain` or `tenant`.
    #[schema(example = "domain")]
    kind: String,
    /// For a Tenant Pack: the tenant it is for.
    tenant_id: Option<String>,
    #[schema(value_type = Object)]
    pack: Value,
}

impl ValidateBody {
    fn parse(self) -> Result<Submission, ApiError> {
        match (self.kind.as_str(), self.tenant_id) {
            ("domain", None) => Ok(Submission::Domain(Arc::new(self.pack))),
            ("domain", Some(_)) => Err(ApiError::invalid_request(
                "tenant_id",
                "a Domain Pack belongs to no tenant",
            )),
            ("tenant", Some(t)) => Ok(Submission::Tenant(tenant_field(&t)?, Arc::new(self.pack))),
            ("tenant", None) => Err(ApiError::invalid_request(
                "tenant_id",
                "a Tenant Pack is validated for a tenant",
            )),
            _ => Err(ApiError::invalid_request(
                "kind",
                "kind is domain or tenant",
            )),
        }
    }
}

/// Validate a pack without importing it; the attempt and its results are stored.
#[utoipa::path(
    post,
    path = "/admin/packs/validate",
    operation_id = "pack_validate",
    request_body = ValidateBody,
    responses(
        (status = 200, description = "What validation found (`valid`, `errors`)", body = Report),
        (status = 400, description = "The request itself is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not import this kind of pack", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn validate(
    auth: Authorized<on::Pack, to::Create>,
    app: web::Data<AppState>,
    body: Result<web::Json<ValidateBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let submission = body_of(body).and_then(ValidateBody::parse);
    Ok(HttpResponse::Ok().json(pack_validate(&auth, &app, submission).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DomainFilter {
    /// Only this domain's versions.
    domain: Option<String>,
}

/// Every Domain Pack version, by domain, newest first.
#[utoipa::path(
    get,
    path = "/admin/packs/domain",
    operation_id = "domain_pack_list",
    params(DomainFilter),
    responses(
        (status = 200, description = "The versions, each ACTIVE, DRAFT or DEPRECATED", body = DomainPackItems),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn domain_list(
    auth: Authorized<on::DomainPack, to::Read>,
    app: web::Data<AppState>,
    filter: web::Query<DomainFilter>,
) -> Result<HttpResponse, ApiError> {
    let items = domain_pack_list(&auth, &app, filter.domain.as_deref()).await?;
    Ok(HttpResponse::Ok().json(Items::of(items)))
}

/// One Domain Pack version, with its content.
#[utoipa::path(
    get,
    path = "/admin/packs/domain/{domain}/{version}",
    operation_id = "domain_pack_get",
    params(
        ("domain" = String, Path, description = "The domain, e.g. finance"),
        ("version" = String, Path, description = "The version, e.g. 3.2.0"),
    ),
    responses(
        (status = 200, description = "The version", body = DomainPack),
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn domain_get(
    auth: Authorized<on::DomainPack, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (domain, version) = domain_version_path(&path.0, &path.1)?;
    Ok(HttpResponse::Ok().json(domain_pack_get(&auth, &app, &domain, &version).await?))
}

/// Deprecate a Domain Pack version no tenant runs.
#[utoipa::path(
    post,
    path = "/admin/packs/domain/{domain}/{version}/deprecate",
    operation_id = "domain_pack_deprecate",
    params(
        ("domain" = String, Path, description = "The domain"),
        ("version" = String, Path, description = "The version"),
    ),
    responses(
        (status = 200, description = "Deprecated (or already)", body = DomainPack),
        (status = 403, description = "Only platform administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`pack_in_use`: tenants run it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn domain_deprecate(
    auth: Authorized<on::DomainPack, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let version = domain_version_path(&path.0, &path.1);
    Ok(HttpResponse::Ok().json(domain_pack_deprecate(&auth, &app, version).await?))
}

/// A tenant's Tenant Pack versions, newest first.
#[utoipa::path(
    get,
    path = "/admin/packs/tenant/{tenant_id}",
    operation_id = "tenant_pack_list",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The versions, each ACTIVE, DRAFT or DEPRECATED", body = TenantPackItems),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn tenant_list(
    auth: Authorized<on::TenantPack, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(Items::of(tenant_pack_list(&auth, &app, tenant).await?)))
}

fn version_path(raw: &str, what: &str) -> Result<PackVersion, ApiError> {
    PackVersion::parse(raw).map_err(|_| ApiError::not_found(what.to_owned()))
}

/// One of a tenant's Tenant Pack versions, with its content.
#[utoipa::path(
    get,
    path = "/admin/packs/tenant/{tenant_id}/{version}",
    operation_id = "tenant_pack_get",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("version" = String, Path, description = "The version, e.g. 1.4.0"),
    ),
    responses(
        (status = 200, description = "The version", body = TenantPack),
        (status = 404, description = "No such tenant or version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn tenant_get(
    auth: Authorized<on::TenantPack, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path.0)?;
    let version = version_path(&path.1, "tenant pack")?;
    Ok(HttpResponse::Ok().json(tenant_pack_get(&auth, &app, tenant, &version).await?))
}

/// Deprecate one of a tenant's Tenant Pack versions it does not run.
#[utoipa::path(
    post,
    path = "/admin/packs/tenant/{tenant_id}/{version}/deprecate",
    operation_id = "tenant_pack_deprecate",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("version" = String, Path, description = "The version"),
    ),
    responses(
        (status = 200, description = "Deprecated (or already)", body = TenantPack),
        (status = 403, description = "Only platform administrators and the tenant's workspace administrators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`pack_in_use`: the tenant runs it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn tenant_deprecate(
    auth: Authorized<on::TenantPack, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path.0)?;
    let version = version_path(&path.1, "tenant pack");
    Ok(HttpResponse::Ok().json(tenant_pack_deprecate(&auth, &app, tenant, version).await?))
}

/// The platform's newest Domain Pack import attempts, with what validation found.
#[utoipa::path(
    get,
    path = "/admin/packs/attempts",
    operation_id = "pack_attempt_list",
    responses(
        (status = 200, description = "The newest attempts (at most 100)", body = AttemptItems),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn platform_attempts(
    auth: Authorized<on::Pack, to::Read>,
    app: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(Items::of(attempt_list(&auth, &app, None).await?)))
}

/// A tenant's newest Tenant Pack import attempts.
#[utoipa::path(
    get,
    path = "/admin/packs/tenant/{tenant_id}/attempts",
    operation_id = "tenant_pack_attempt_list",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The newest attempts (at most 100)", body = AttemptItems),
        (status = 404, description = "No such tenant, or not one the caller reaches", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn tenant_attempts(
    auth: Authorized<on::Pack, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(Items::of(attempt_list(&auth, &app, Some(tenant)).await?)))
}

/// One import attempt and what validation found.
#[utoipa::path(
    get,
    path = "/admin/packs/attempts/{attempt_id}",
    operation_id = "pack_attempt_get",
    params(("attempt_id" = String, Path, description = "The attempt's id")),
    responses(
        (status = 200, description = "The attempt", body = Attempt),
        (status = 404, description = "No such attempt, or a tenant's the caller does not reach", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn attempt(
    auth: Authorized<on::Pack, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = AttemptId::parse(&path).map_err(|_| ApiError::not_found("import attempt"))?;
    Ok(HttpResponse::Ok().json(attempt_get(&auth, &app, &id).await?))
}

/// What a Domain Pack import answers.
#[derive(Debug, ToSchema)]
pub struct ImportedDomainPack {
    pub attempt_id: String,
    /// `imported` or `unchanged`.
    pub outcome: String,
    pub pack: DomainPack,
}

/// What a Tenant Pack import answers.
#[derive(Debug, ToSchema)]
pub struct ImportedTenantPack {
    pub attempt_id: String,
    /// `imported` or `unchanged`.
    pub outcome: String,
    pub pack: TenantPack,
}

/// The tool catalog: every tool of every decided module release, and whether
/// packs and playbooks may call it (a release providing it is approved or
/// deprecated). It follows the module catalog's decisions.
#[utoipa::path(
    get,
    path = "/admin/packs/tools",
    operation_id = "tool_list",
    responses((status = 200, description = "The tools by id, each with the releases that provide it", body = ToolItems)),
    security(("internal_token" = [])),
    tag = "packs"
)]
pub async fn tools(
    auth: Authorized<on::DomainPack, to::Read>,
    app: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(Items::of(tool_list(&auth, &app).await?)))
}

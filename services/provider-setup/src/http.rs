//! The HTTP edge: extract, call the app, map the result. Bodies are JSON with a
//! size limit; every error is problem+json with a stable code.
//!
//! `/admin/providers/tenants/{tenant_id}/…`: a tenant's connections, their
//! setup requests and links. `/admin/providers/pooled/…`: the platform's
//! pooled connections and the tenants they are shared with. `/setup/…`: the
//! delegated setup surface ([`crate::surface`]).

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use plinth_core::http::{body_of, tenant_path};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub use plinth_authz::openapi::{EdgeResponses, InternalToken, Problem};

use crate::app::{
    AppState, Connection, Grant, GrantBody, KeyVersion, Link, MintedLink, NewConnection, Owner,
    SetupRequest, Validation, connection_create, connection_get, connection_list, link_mint,
    link_revoke, pool_grant, pool_grants, pool_withdraw, request_cancel, rotation_request,
};
use crate::runtime::{ReleaseBody, SelectionQuery, key_release, provider_select};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/providers/tenants/{tenant_id}")
            .route("/connections", web::get().to(list))
            .route("/connections", web::post().to(create))
            .route("/connections/{connection_id}", web::get().to(get))
            .route(
                "/connections/{connection_id}/rotate",
                web::post().to(rotate),
            )
            .route(
                "/connections/{connection_id}/health",
                web::post().to(submit_health),
            )
            .route(
                "/connections/{connection_id}/health/check",
                web::post().to(check_health),
            )
            .route("/setup-requests/{request_id}/links", web::post().to(mint))
            .route(
                "/setup-requests/{request_id}/cancel",
                web::post().to(cancel),
            )
            .route("/links/{link_id}/revoke", web::post().to(revoke))
            .route("/connector-kinds", web::get().to(connector_kinds))
            .route("/connectors", web::get().to(connectors))
            .route("/connectors", web::post().to(connector_create))
            .route(
                "/connectors/setup-requests/{request_id}/links",
                web::post().to(connector_mint),
            )
            .route(
                "/connectors/setup-requests/{request_id}/cancel",
                web::post().to(connector_cancel),
            )
            .route(
                "/connectors/links/{link_id}/revoke",
                web::post().to(connector_revoke),
            )
            .route("/connectors/{connector_id}", web::get().to(connector))
            .route(
                "/connectors/{connector_id}/rotate",
                web::post().to(connector_rotate),
            ),
    )
    .service(
        web::scope("/admin/providers/pooled")
            .route("", web::get().to(pooled_list))
            .route("", web::post().to(pooled_create))
            .route(
                "/setup-requests/{request_id}/links",
                web::post().to(pooled_mint),
            )
            .route(
                "/setup-requests/{request_id}/cancel",
                web::post().to(pooled_cancel),
            )
            .route("/links/{link_id}/revoke", web::post().to(pooled_revoke))
            .route("/{connection_id}", web::get().to(pooled_get))
            .route("/{connection_id}/rotate", web::post().to(pooled_rotate))
            .route(
                "/{connection_id}/health/check",
                web::post().to(pooled_check_health),
            )
            .route("/{connection_id}/grants", web::get().to(grants))
            .route("/{connection_id}/grants/{tenant_id}", web::put().to(grant))
            .route(
                "/{connection_id}/grants/{tenant_id}",
                web::delete().to(withdraw),
            ),
    )
    .service(
        web::scope("/runtime/providers/tenants/{tenant_id}")
            .route("/selection", web::get().to(select))
            .route("/connections/{connection_id}/key", web::post().to(release)),
    )
    .configure(crate::surface::routes);
}

/// The service's OpenAPI document, checked in at
/// `schemas/openapi/provider-setup.json` (a test fails when they drift).
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Plinth provider setup",
        description = "AI provider connections — a tenant's own (OpenAI, Azure OpenAI, Anthropic), or the platform's pooled ones shared with chosen tenants under limits — and the delegated setup their keys are entered through: a setup request, a single-use link minted from the region's configuration, and the setup surface where whoever holds the link enters the key, validated with the provider and sealed by envelope encryption. No operation here takes or returns a key. Called through the gateway, which forwards each request with a short-lived internal token; the setup surface's two calls take the link's token instead.",
        version = "1"
    ),
    paths(
        list, create, get, rotate, mint, cancel, revoke,
        pooled_list, pooled_create, pooled_get, pooled_rotate, pooled_mint, pooled_cancel, pooled_revoke,
        grants, grant, withdraw, select, release, submit_health, check_health, pooled_check_health,
        crate::surface::link, crate::surface::enter,
        connector_kinds, connectors, connector_create, connector, connector_rotate, connector_mint, connector_cancel,
        connector_revoke
    ),
    components(schemas(
        Connection, ConnectionItems, NewConnection, KeyVersion, SetupRequest, Link, MintedLink,
        Validation, Grant, GrantBody, GrantItems, RotateBody, MintBody,
        crate::surface::LinkBody, crate::surface::RedeemBody, crate::redeem::LinkFacts,
        crate::redeem::Redeemed, crate::runtime::Selection, crate::runtime::Considered,
        crate::runtime::ReleasedKey, crate::runtime::ReleaseBody, crate::health::HealthRecord,
        crate::health::HealthSubmission, crate::connectors::Connector,
        crate::connectors::NewConnector, crate::connectors::CredentialField, crate::connectors::ConnectorKindInfo,
        ConnectorItems, ConnectorKindItems, Problem
    )),
    modifiers(&InternalToken, &EdgeResponses),
    tags(
        (name = "connections", description = "A tenant's provider connections, their setup requests and delegated links"),
        (name = "pooled", description = "The platform's pooled connections and the tenants they are shared with"),
        (name = "connectors", description = "Connectors installed in a tenant's workspaces (ConnectWise Manage, Datto Autotask, HaloPSA, Microsoft Graph) and the setup of their credentials, through the same delegated links as provider keys"),
        (name = "runtime", description = "The runtime's side: which connection to call, and its key, released to the runtime alone"),
        (name = "setup surface", description = "The delegated setup surface's calls: what a link is for, and entering its key")
    )
)]
pub struct ApiDoc;

/// The document as checked in: pretty JSON with a final newline.
pub fn document() -> Result<String, serde_json::Error> {
    plinth_service::document(&ApiDoc::openapi())
}

/// Connector installations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorItems {
    pub items: Vec<crate::connectors::Connector>,
}

/// The connector kinds a workspace can install.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorKindItems {
    pub items: Vec<crate::connectors::ConnectorKindInfo>,
}

/// `GET …/connectors`: the workspace to list, all the tenant's otherwise.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ConnectorQuery {
    /// Only the connectors installed in this workspace.
    workspace_id: Option<String>,
}

/// Connections.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionItems {
    pub items: Vec<Connection>,
}

/// The tenants a pooled connection is shared with.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantItems {
    pub items: Vec<Grant>,
}

/// `POST …/rotate`: a rotation request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// Shown to whoever opens the link.
    note: Option<String>,
}

/// `POST …/links`: how long the link lives.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintBody {
    /// Minutes; the region's default (30) when absent.
    #[schema(example = 30)]
    minutes: Option<u32>,
}

/// An optional JSON body: none is the default.
fn optional<T: Default>(body: Option<web::Json<T>>) -> T {
    body.map(web::Json::into_inner).unwrap_or_default()
}

fn tenant_owner(raw: &str) -> Result<Owner, ApiError> {
    tenant_path(raw).map(Owner::Tenant)
}

/// The tenant's connections: its own, then the pooled ones shared with it
/// (each with the tenant's limits on it).
#[utoipa::path(
    get,
    path = "/admin/providers/tenants/{tenant_id}/connections",
    operation_id = "connection_list",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The connections", body = ConnectionItems),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connections"
)]
pub async fn list(
    auth: Authorized<on::ProviderConnection, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let owner = tenant_owner(&path)?;
    let items = connection_list(&auth, &app, owner).await?;
    Ok(HttpResponse::Ok().json(ConnectionItems { items }))
}

/// Creates a connection without a key, and its initial setup request: mint a
/// link for the request and hand it to whoever enters the key.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/connections",
    operation_id = "connection_create",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = NewConnection,
    responses(
        (status = 201, description = "Created (PENDING), with its open setup request", body = Connection),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_exists`: a connection of that name; `invalid_transition`: the tenant is offboarding", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connections"
)]
pub async fn create(
    auth: Authorized<on::ProviderConnection, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<NewConnection>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let owner = tenant_owner(&path)?;
    let created = connection_create(&auth, &app, owner, body_of(body)).await?;
    Ok(HttpResponse::Created().json(created))
}

/// A connection with its key versions (never a key), setup requests and
/// links, and validations; a pooled connection shared with the tenant shows
/// the tenant's limits only.
#[utoipa::path(
    get,
    path = "/admin/providers/tenants/{tenant_id}/connections/{connection_id}",
    operation_id = "connection_get",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("connection_id" = String, Path, description = "The connection's id"),
    ),
    responses(
        (status = 200, description = "The connection", body = Connection),
        (status = 404, description = "No such connection for the tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connections"
)]
pub async fn get(
    auth: Authorized<on::ProviderConnection, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    Ok(HttpResponse::Ok().json(connection_get(&auth, &app, owner, &id).await?))
}

/// Opens a rotation request for an active connection: the key entered
/// through its link becomes active, and the current one stays usable for the
/// grace period.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/connections/{connection_id}/rotate",
    operation_id = "connection_rotate",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("connection_id" = String, Path, description = "The connection's id"),
    ),
    request_body(content = Option<RotateBody>),
    responses(
        (status = 201, description = "The rotation request (OPEN)", body = SetupRequest),
        (status = 404, description = "No such connection for the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the connection is not ACTIVE; `conflict`: a request is open already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connections"
)]
pub async fn rotate(
    auth: Authorized<on::ProviderConnection, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Option<web::Json<RotateBody>>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    let body = optional(body);
    let request = rotation_request(&auth, &app, owner, &id, body.note).await?;
    Ok(HttpResponse::Created().json(request))
}

/// Mints the delegated link of an open setup request: the setup surface's URL
/// with a single-use token, shown in this answer only. Earlier unused links of
/// the request are revoked.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/setup-requests/{request_id}/links",
    operation_id = "setup_link_mint",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("request_id" = String, Path, description = "The setup request's id"),
    ),
    request_body(content = Option<MintBody>),
    responses(
        (status = 201, description = "The link, with its URL (shown once)", body = MintedLink),
        (status = 404, description = "No such request for the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the request is not OPEN", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connections"
)]
pub async fn mint(
    auth: Authorized<on::ProviderConnection, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Option<web::Json<MintBody>>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    let minted = link_mint(&auth, &app, owner, &id, optional(body).minutes).await?;
    Ok(HttpResponse::Created().json(minted))
}

/// Cancels an open setup request and revokes its unused links.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/setup-requests/{request_id}/cancel",
    operation_id = "setup_request_cancel",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("request_id" = String, Path, description = "The setup request's id"),
    ),
    responses(
        (status = 200, description = "The request (CANCELLED)", body = SetupRequest),
        (status = 404, description = "No such request for the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the request is not OPEN", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connections"
)]
pub async fn cancel(
    auth: Authorized<on::ProviderConnection, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    Ok(HttpResponse::Ok().json(request_cancel(&auth, &app, owner, &id).await?))
}

/// Revokes an unused link.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/links/{link_id}/revoke",
    operation_id = "setup_link_revoke",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("link_id" = String, Path, description = "The link's id"),
    ),
    responses(
        (status = 200, description = "The link (revoked)", body = Link),
        (status = 404, description = "No such link for the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the link was used or revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connections"
)]
pub async fn revoke(
    auth: Authorized<on::ProviderConnection, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    Ok(HttpResponse::Ok().json(link_revoke(&auth, &app, owner, &id).await?))
}

/// The platform's pooled connections.
#[utoipa::path(
    get,
    path = "/admin/providers/pooled",
    operation_id = "pooled_list",
    responses((status = 200, description = "The pooled connections", body = ConnectionItems)),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn pooled_list(
    auth: Authorized<on::ProviderPool, to::Read>,
    app: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let items = connection_list(&auth, &app, Owner::Pool).await?;
    Ok(HttpResponse::Ok().json(ConnectionItems { items }))
}

/// Creates a pooled connection (the platform's key, entered through a link
/// like any other) and its initial setup request.
#[utoipa::path(
    post,
    path = "/admin/providers/pooled",
    operation_id = "pooled_create",
    request_body = NewConnection,
    responses(
        (status = 201, description = "Created (PENDING), with its open setup request", body = Connection),
        (status = 409, description = "`already_exists`: a pooled connection of that name", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn pooled_create(
    auth: Authorized<on::ProviderPool, to::Create>,
    app: web::Data<AppState>,
    body: Result<web::Json<NewConnection>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let created = connection_create(&auth, &app, Owner::Pool, body_of(body)).await?;
    Ok(HttpResponse::Created().json(created))
}

/// A pooled connection with its key versions, setup requests and validations.
#[utoipa::path(
    get,
    path = "/admin/providers/pooled/{connection_id}",
    operation_id = "pooled_get",
    params(("connection_id" = String, Path, description = "The connection's id")),
    responses(
        (status = 200, description = "The connection", body = Connection),
        (status = 404, description = "No such pooled connection", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn pooled_get(
    auth: Authorized<on::ProviderPool, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(connection_get(&auth, &app, Owner::Pool, &path).await?))
}

/// Opens a rotation request for an active pooled connection.
#[utoipa::path(
    post,
    path = "/admin/providers/pooled/{connection_id}/rotate",
    operation_id = "pooled_rotate",
    params(("connection_id" = String, Path, description = "The connection's id")),
    request_body(content = Option<RotateBody>),
    responses(
        (status = 201, description = "The rotation request (OPEN)", body = SetupRequest),
        (status = 404, description = "No such pooled connection", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the connection is not ACTIVE; `conflict`: a request is open already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn pooled_rotate(
    auth: Authorized<on::ProviderPool, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Option<web::Json<RotateBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = optional(body);
    let request = rotation_request(&auth, &app, Owner::Pool, &path, body.note).await?;
    Ok(HttpResponse::Created().json(request))
}

/// Mints the delegated link of a pooled connection's open setup request.
#[utoipa::path(
    post,
    path = "/admin/providers/pooled/setup-requests/{request_id}/links",
    operation_id = "pooled_link_mint",
    params(("request_id" = String, Path, description = "The setup request's id")),
    request_body(content = Option<MintBody>),
    responses(
        (status = 201, description = "The link, with its URL (shown once)", body = MintedLink),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the request is not OPEN", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn pooled_mint(
    auth: Authorized<on::ProviderPool, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Option<web::Json<MintBody>>,
) -> Result<HttpResponse, ApiError> {
    let minted = link_mint(&auth, &app, Owner::Pool, &path, optional(body).minutes).await?;
    Ok(HttpResponse::Created().json(minted))
}

/// Cancels a pooled connection's open setup request.
#[utoipa::path(
    post,
    path = "/admin/providers/pooled/setup-requests/{request_id}/cancel",
    operation_id = "pooled_request_cancel",
    params(("request_id" = String, Path, description = "The setup request's id")),
    responses(
        (status = 200, description = "The request (CANCELLED)", body = SetupRequest),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the request is not OPEN", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn pooled_cancel(
    auth: Authorized<on::ProviderPool, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(request_cancel(&auth, &app, Owner::Pool, &path).await?))
}

/// Revokes an unused link of a pooled connection.
#[utoipa::path(
    post,
    path = "/admin/providers/pooled/links/{link_id}/revoke",
    operation_id = "pooled_link_revoke",
    params(("link_id" = String, Path, description = "The link's id")),
    responses(
        (status = 200, description = "The link (revoked)", body = Link),
        (status = 404, description = "No such link", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the link was used or revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn pooled_revoke(
    auth: Authorized<on::ProviderPool, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(link_revoke(&auth, &app, Owner::Pool, &path).await?))
}

/// The tenants a pooled connection is shared with, and their limits.
#[utoipa::path(
    get,
    path = "/admin/providers/pooled/{connection_id}/grants",
    operation_id = "pool_grant_list",
    params(("connection_id" = String, Path, description = "The connection's id")),
    responses(
        (status = 200, description = "The grants", body = GrantItems),
        (status = 404, description = "No such pooled connection", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn grants(
    auth: Authorized<on::ProviderPool, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let items = pool_grants(&auth, &app, &path).await?;
    Ok(HttpResponse::Ok().json(GrantItems { items }))
}

/// Shares a pooled connection with a tenant under limits, or changes them.
#[utoipa::path(
    put,
    path = "/admin/providers/pooled/{connection_id}/grants/{tenant_id}",
    operation_id = "pool_grant_put",
    params(
        ("connection_id" = String, Path, description = "The connection's id"),
        ("tenant_id" = String, Path, description = "The tenant's id"),
    ),
    request_body = GrantBody,
    responses(
        (status = 200, description = "The grant", body = Grant),
        (status = 404, description = "No such pooled connection or tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the tenant is offboarding", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn grant(
    auth: Authorized<on::ProviderPool, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<GrantBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (id, tenant) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    Ok(HttpResponse::Ok().json(pool_grant(&auth, &app, &id, tenant, body_of(body)).await?))
}

/// Stops sharing a pooled connection with a tenant.
#[utoipa::path(
    delete,
    path = "/admin/providers/pooled/{connection_id}/grants/{tenant_id}",
    operation_id = "pool_grant_delete",
    params(
        ("connection_id" = String, Path, description = "The connection's id"),
        ("tenant_id" = String, Path, description = "The tenant's id"),
    ),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 404, description = "No such pooled connection or grant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn withdraw(
    auth: Authorized<on::ProviderPool, to::Delete>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, tenant) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    pool_withdraw(&auth, &app, &id, tenant).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Which connection the runtime should call for the tenant: its own active
/// connections first, then pooled ones shared with it, with the reason and
/// what was passed over.
#[utoipa::path(
    get,
    path = "/runtime/providers/tenants/{tenant_id}/selection",
    operation_id = "provider_select",
    params(("tenant_id" = String, Path, description = "The tenant's id"), SelectionQuery),
    responses(
        (status = 200, description = "The connection to call", body = crate::runtime::Selection),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_ready_connection`: nothing the tenant may use is ready (`considered` says why)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runtime"
)]
pub async fn select(
    auth: Authorized<on::ProviderSelection, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SelectionQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let selection = provider_select(&auth, &app, tenant, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(selection))
}

/// The connection's key in the clear, for the runtime alone: the active
/// version, or a previous one still in its grace period. Every release is in
/// the tenant's audit log; the answer is never cached.
#[utoipa::path(
    post,
    path = "/runtime/providers/tenants/{tenant_id}/connections/{connection_id}/key",
    operation_id = "provider_key_release",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("connection_id" = String, Path, description = "The connection's id"),
    ),
    request_body(content = Option<ReleaseBody>),
    responses(
        (status = 200, description = "The key", body = crate::runtime::ReleasedKey),
        (status = 404, description = "No connection the tenant may use", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_ready_connection`: the connection has no active key", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`gone`: the version asked for is past its grace period or destroyed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runtime"
)]
pub async fn release(
    auth: Authorized<on::ProviderKey, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Option<web::Json<ReleaseBody>>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    let key = key_release(&auth, &app, tenant, &id, optional(body)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(key))
}

/// Checks the connection with its provider now (the smallest completion, with
/// its active key): the result, recorded.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/connections/{connection_id}/health/check",
    operation_id = "connection_health_check",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("connection_id" = String, Path, description = "The connection's id"),
    ),
    responses(
        (status = 200, description = "The result", body = crate::health::HealthRecord),
        (status = 404, description = "No such connection for the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the connection is not ACTIVE", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connections"
)]
pub async fn check_health(
    auth: Authorized<on::ProviderConnection, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    Ok(HttpResponse::Ok().json(crate::health::health_check(&auth, &app, owner, &id).await?))
}

/// Submits a health result observed elsewhere (the runtime, an
/// administrator): recorded once the platform's gate accepts it.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/connections/{connection_id}/health",
    operation_id = "connection_health_submit",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("connection_id" = String, Path, description = "The connection's id"),
    ),
    request_body = crate::health::HealthSubmission,
    responses(
        (status = 201, description = "Recorded", body = crate::health::HealthRecord),
        (status = 403, description = "`policy_refused`: the platform's gate refuses it (`rule`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the connection is not ACTIVE", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connections"
)]
pub async fn submit_health(
    auth: Authorized<on::ProviderHealth, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<crate::health::HealthSubmission>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    let record = crate::health::health_submit(&auth, &app, owner, &id, body_of(body)).await?;
    Ok(HttpResponse::Created().json(record))
}

/// Checks a pooled connection with its provider now.
#[utoipa::path(
    post,
    path = "/admin/providers/pooled/{connection_id}/health/check",
    operation_id = "pooled_health_check",
    params(("connection_id" = String, Path, description = "The connection's id")),
    responses(
        (status = 200, description = "The result", body = crate::health::HealthRecord),
        (status = 404, description = "No such pooled connection", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the connection is not ACTIVE", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "pooled"
)]
pub async fn pooled_check_health(
    auth: Authorized<on::ProviderPool, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(
        HttpResponse::Ok()
            .json(crate::health::health_check(&auth, &app, Owner::Pool, &path).await?),
    )
}

/// The connector kinds a workspace of the tenant can install: each one's
/// settings and the credentials its setup link asks for.
#[utoipa::path(
    get,
    path = "/admin/providers/tenants/{tenant_id}/connector-kinds",
    operation_id = "connector_kinds",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The kinds", body = ConnectorKindItems),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connectors"
)]
pub async fn connector_kinds(
    auth: Authorized<on::ConnectorInstallation, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    crate::app::permit_for(&app, &auth, connector_owner(&path)?).await?;
    Ok(HttpResponse::Ok().json(ConnectorKindItems {
        items: crate::connectors::kinds(),
    }))
}

fn connector_owner(raw: &str) -> Result<Owner, ApiError> {
    tenant_path(raw).map(Owner::Connectors)
}

/// The connectors installed in the tenant's workspaces (in one, when named).
#[utoipa::path(
    get,
    path = "/admin/providers/tenants/{tenant_id}/connectors",
    operation_id = "connector_list",
    params(("tenant_id" = String, Path, description = "The tenant's id"), ConnectorQuery),
    responses(
        (status = 200, description = "The connectors", body = ConnectorItems),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connectors"
)]
pub async fn connectors(
    auth: Authorized<on::ConnectorInstallation, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ConnectorQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let items =
        crate::connectors::connector_list(&auth, &app, tenant, query.workspace_id.as_deref())
            .await?;
    Ok(HttpResponse::Ok().json(ConnectorItems { items }))
}

/// Installs a connector in one of the tenant's workspaces, without
/// credentials, with its initial setup request: mint a link for the request
/// and hand it to whoever enters the credentials.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/connectors",
    operation_id = "connector_install",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = crate::connectors::NewConnector,
    responses(
        (status = 201, description = "Installed (PENDING), with its open setup request", body = crate::connectors::Connector),
        (status = 404, description = "No such tenant or workspace here", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_exists`: a connection of that name; `invalid_transition`: the tenant is offboarding or the workspace was deleted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connectors"
)]
pub async fn connector_create(
    auth: Authorized<on::ConnectorInstallation, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<crate::connectors::NewConnector>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let created = crate::connectors::connector_install(&auth, &app, tenant, body_of(body)).await?;
    Ok(HttpResponse::Created().json(created))
}

/// A connector with its credential versions (never the credentials), setup
/// requests and links, and validations.
#[utoipa::path(
    get,
    path = "/admin/providers/tenants/{tenant_id}/connectors/{connector_id}",
    operation_id = "connector_get",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("connector_id" = String, Path, description = "The connector's id"),
    ),
    responses(
        (status = 200, description = "The connector", body = crate::connectors::Connector),
        (status = 404, description = "No such connector for the tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connectors"
)]
pub async fn connector(
    auth: Authorized<on::ConnectorInstallation, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    Ok(HttpResponse::Ok().json(crate::connectors::connector_get(&auth, &app, tenant, &id).await?))
}

/// Opens a rotation request for an active connector: the credentials entered
/// through its link become active, the current ones stay usable for the grace
/// period.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/connectors/{connector_id}/rotate",
    operation_id = "connector_rotate",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("connector_id" = String, Path, description = "The connector's id"),
    ),
    request_body(content = Option<RotateBody>),
    responses(
        (status = 201, description = "The rotation request (OPEN)", body = SetupRequest),
        (status = 404, description = "No such connector for the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the connector is not ACTIVE; `conflict`: a request is open already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connectors"
)]
pub async fn connector_rotate(
    auth: Authorized<on::ConnectorInstallation, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Option<web::Json<RotateBody>>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = connector_owner(&tenant)?;
    let request = rotation_request(&auth, &app, owner, &id, optional(body).note).await?;
    Ok(HttpResponse::Created().json(request))
}

/// Mints the delegated link of a connector's open setup request (shown in
/// this answer only); earlier unused links of the request are revoked.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/connectors/setup-requests/{request_id}/links",
    operation_id = "connector_link_mint",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("request_id" = String, Path, description = "The setup request's id"),
    ),
    request_body(content = Option<MintBody>),
    responses(
        (status = 201, description = "The link, with its URL (shown once)", body = MintedLink),
        (status = 404, description = "No such request for the tenant's connectors", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the request is not OPEN", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connectors"
)]
pub async fn connector_mint(
    auth: Authorized<on::ConnectorInstallation, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Option<web::Json<MintBody>>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = connector_owner(&tenant)?;
    let minted = link_mint(&auth, &app, owner, &id, optional(body).minutes).await?;
    Ok(HttpResponse::Created().json(minted))
}

/// Cancels a connector's open setup request and revokes its unused links.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/connectors/setup-requests/{request_id}/cancel",
    operation_id = "connector_request_cancel",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("request_id" = String, Path, description = "The setup request's id"),
    ),
    responses(
        (status = 200, description = "The request (CANCELLED)", body = SetupRequest),
        (status = 404, description = "No such request for the tenant's connectors", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the request is not OPEN", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connectors"
)]
pub async fn connector_cancel(
    auth: Authorized<on::ConnectorInstallation, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = connector_owner(&tenant)?;
    Ok(HttpResponse::Ok().json(request_cancel(&auth, &app, owner, &id).await?))
}

/// Revokes an unused link of a connector.
#[utoipa::path(
    post,
    path = "/admin/providers/tenants/{tenant_id}/connectors/links/{link_id}/revoke",
    operation_id = "connector_link_revoke",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("link_id" = String, Path, description = "The link's id"),
    ),
    responses(
        (status = 200, description = "The link (revoked)", body = Link),
        (status = 404, description = "No such link for the tenant's connectors", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the link was used or revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "connectors"
)]
pub async fn connector_revoke(
    auth: Authorized<on::ConnectorInstallation, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = connector_owner(&tenant)?;
    Ok(HttpResponse::Ok().json(link_revoke(&auth, &app, owner, &id).await?))
}

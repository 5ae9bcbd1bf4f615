//! The HTTP edge: extract, call the app, map the result. Bodies are JSON with a
//! size limit; every error is problem+json with a stable code.
//!
//! `/admin/policies/records/…`: the platform's and the modules' records.
//! `/admin/policies/tenants/{tenant_id}/…`: a tenant's records, its
//! effective policy, its runs, approval requests and notifications.
//! `/runtime/policy/tenants/{tenant_id}/…`: decisions, the bundle, and the
//! runs the runtime reports (`runs`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use plinth_core::http::{body_of, tenant_path};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

pub use plinth_authz::openapi::{EdgeResponses, InternalToken, Problem};

mod runs;

use crate::decisions::{
    DecisionBody, DecisionView, EffectiveView, bundle_get, decide, effective_get,
};
use crate::records::{
    AppState, Owner, ReasonBody, Record, RecordQuery, Version, draft_save, publish, record_create,
    record_get, record_list, retire,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/policies/records")
            .route("", web::get().to(list))
            .route("", web::post().to(create))
            .route("/{record_id}", web::get().to(get))
            .route("/{record_id}/draft", web::put().to(draft))
            .route("/{record_id}/publish", web::post().to(publish_version))
            .route("/{record_id}/retire", web::post().to(retire_record)),
    )
    .service(
        web::scope("/admin/policies/tenants/{tenant_id}")
            .route("/records", web::get().to(tenant_list))
            .route("/records", web::post().to(tenant_create))
            .route("/records/{record_id}", web::get().to(tenant_get))
            .route("/records/{record_id}/draft", web::put().to(tenant_draft))
            .route(
                "/records/{record_id}/publish",
                web::post().to(tenant_publish),
            )
            .route("/records/{record_id}/retire", web::post().to(tenant_retire))
            .route("/effective", web::get().to(effective))
            .route("/usage", web::get().to(usage))
            .route("/runs", web::get().to(runs::list))
            .route("/runs/{run_id}", web::get().to(runs::get))
            .route(
                "/runs/{run_id}/steps/{seq}/done",
                web::post().to(runs::human_done),
            )
            .route("/approvals", web::get().to(runs::approval_list))
            .route(
                "/approvals/{request_id}/decision",
                web::post().to(runs::approval_decide),
            )
            .route("/notifications", web::get().to(runs::notification_list)),
    )
    .service(
        web::scope("/runtime/policy/tenants/{tenant_id}")
            .route("/decisions", web::post().to(decision))
            .route("/bundle", web::get().to(bundle))
            .route("/runs", web::post().to(runs::start))
            .route("/runs/{run_id}", web::get().to(runs::runtime_get))
            .route("/runs/{run_id}/steps", web::post().to(runs::step_report))
            .route("/runs/{run_id}/steps/{seq}", web::get().to(runs::step_get))
            .route(
                "/runs/{run_id}/steps/{seq}/end",
                web::post().to(runs::step_end),
            )
            .route("/runs/{run_id}/end", web::post().to(runs::end)),
    );
}

/// The service's OpenAPI document, checked in at `schemas/openapi/policy.json`
/// (a test fails when they drift).
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Plinth policy",
        description = "Structured AI policy records at the platform, tenant, module and tenant/module scopes — versioned, immutable once published, retired with a reason — merged into each tenant's effective policy, where a lower scope only ever tightens, with the provenance of every field; decisions on a step the runtime is about to take (allow, allow and notify, require approval, human only, deny) with their reasons; and the compiled bundle a runtime decides with in-process. Called through the gateway, which forwards each request with a short-lived internal token.",
        version = "1"
    ),
    paths(
        list, create, get, draft, publish_version, retire_record,
        tenant_list, tenant_create, tenant_get, tenant_draft, tenant_publish, tenant_retire,
        effective, usage, decision, bundle,
        runs::start, runs::runtime_get, runs::step_report, runs::step_get, runs::step_end, runs::end,
        runs::list, runs::get, runs::human_done, runs::approval_list, runs::approval_decide,
        runs::notification_list
    ),
    components(schemas(
        Record, Version, RecordItems, ReasonBody, EffectiveView, DecisionBody, DecisionView,
        crate::decisions::UsageView, crate::decisions::UsageItem, Problem,
        crate::runs::RunBody, crate::runs::Subject, crate::runs::Trigger, crate::runs::RunView,
        crate::runs::StepBody, crate::runs::Support, crate::runs::StepView,
        crate::runs::StepEndBody, crate::runs::RunEndBody, crate::runs::HumanDoneBody,
        crate::runs::ApprovalView, crate::approvals::ApprovalItem, crate::approvals::ApprovalDecisionBody,
        crate::approvals::NotificationView, runs::RunItems, runs::ApprovalItems,
        runs::NotificationItems
    )),
    modifiers(&InternalToken, &EdgeResponses),
    tags(
        (name = "platform records", description = "The platform's and the modules' policy records: the platform team's"),
        (name = "tenant records", description = "A tenant's own policy records (tenant, tenant/module): they only tighten the platform's"),
        (name = "decisions", description = "The policy in force: effective policy with provenance, decisions, and the bundle a runtime decides with"),
        (name = "runs", description = "Runs as the runtime reports them, each step decided at its human-in-the-loop gate (L0–L3) before it runs"),
        (name = "approvals", description = "Approval requests of steps at L2, decided by the tenant's approvers; human-only steps marked done; notifications of steps at L1")
    )
)]
pub struct ApiDoc;

/// The document as checked in: pretty JSON with a final newline.
pub fn document() -> Result<String, serde_json::Error> {
    plinth_service::document(&ApiDoc::openapi())
}

/// Policy records.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordItems {
    pub items: Vec<Record>,
}

/// `GET …/effective`: the module whose policy to show (the tenant's without).
#[derive(Debug, Deserialize, IntoParams)]
pub struct EffectiveQuery {
    pub module_id: Option<String>,
}

/// The platform's and the modules' records.
#[utoipa::path(
    get,
    path = "/admin/policies/records",
    operation_id = "policy_record_list",
    params(RecordQuery),
    responses((status = 200, description = "The records", body = RecordItems)),
    security(("internal_token" = [])),
    tag = "platform records"
)]
pub async fn list(
    auth: Authorized<on::PolicyRecord, to::Read>,
    app: web::Data<AppState>,
    query: web::Query<RecordQuery>,
) -> Result<HttpResponse, ApiError> {
    let items = record_list(&auth, &app, Owner::Platform, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(RecordItems { items }))
}

/// Creates a platform or module record, its first version a draft.
#[utoipa::path(
    post,
    path = "/admin/policies/records",
    operation_id = "policy_record_create",
    request_body(content = Object, description = "The record, as schemas/json/policy-record.schema.json has it (scope `platform` or `module`)"),
    responses(
        (status = 201, description = "Created, its version 1 a draft", body = Record),
        (status = 400, description = "`policy_invalid`: the record's problems in `errors`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "platform records"
)]
pub async fn create(
    auth: Authorized<on::PolicyRecord, to::Create>,
    app: web::Data<AppState>,
    body: Result<web::Json<Value>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let record = record_create(&auth, &app, Owner::Platform, body_of(body)).await?;
    Ok(HttpResponse::Created().json(record))
}

/// A platform or module record with its versions.
#[utoipa::path(
    get,
    path = "/admin/policies/records/{record_id}",
    operation_id = "policy_record_get",
    params(("record_id" = String, Path, description = "The record's id")),
    responses(
        (status = 200, description = "The record", body = Record),
        (status = 404, description = "No such platform or module record", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "platform records"
)]
pub async fn get(
    auth: Authorized<on::PolicyRecord, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(record_get(&auth, &app, Owner::Platform, &path).await?))
}

/// Saves the record's draft (or opens its next version as a draft).
#[utoipa::path(
    put,
    path = "/admin/policies/records/{record_id}/draft",
    operation_id = "policy_record_draft",
    params(("record_id" = String, Path, description = "The record's id")),
    request_body(content = Object, description = "The record's next version; its scope is the record's"),
    responses(
        (status = 200, description = "The record with its draft", body = Record),
        (status = 400, description = "`policy_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such platform or module record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the record is retired", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "platform records"
)]
pub async fn draft(
    auth: Authorized<on::PolicyRecord, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<Value>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let record = draft_save(&auth, &app, Owner::Platform, &path, body_of(body)).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// Publishes the record's draft, with the reason: in force from now, and
/// immutable.
#[utoipa::path(
    post,
    path = "/admin/policies/records/{record_id}/publish",
    operation_id = "policy_record_publish",
    params(("record_id" = String, Path, description = "The record's id")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The record, its draft published", body = Record),
        (status = 404, description = "No such platform or module record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: no draft, or the record is retired", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "platform records"
)]
pub async fn publish_version(
    auth: Authorized<on::PolicyRecord, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<ReasonBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let record = publish(&auth, &app, Owner::Platform, &path, body_of(body)).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// Retires the record, with the reason: none of its versions is in force.
#[utoipa::path(
    post,
    path = "/admin/policies/records/{record_id}/retire",
    operation_id = "policy_record_retire",
    params(("record_id" = String, Path, description = "The record's id")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The record, retired", body = Record),
        (status = 404, description = "No such platform or module record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: retired already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "platform records"
)]
pub async fn retire_record(
    auth: Authorized<on::PolicyRecord, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<ReasonBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let record = retire(&auth, &app, Owner::Platform, &path, body_of(body)).await?;
    Ok(HttpResponse::Ok().json(record))
}

fn tenant_owner(raw: &str) -> Result<Owner, ApiError> {
    tenant_path(raw).map(Owner::Tenant)
}

/// The tenant's own records (tenant and tenant/module scopes).
#[utoipa::path(
    get,
    path = "/admin/policies/tenants/{tenant_id}/records",
    operation_id = "tenant_policy_record_list",
    params(("tenant_id" = String, Path, description = "The tenant's id"), RecordQuery),
    responses(
        (status = 200, description = "The records", body = RecordItems),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "tenant records"
)]
pub async fn tenant_list(
    auth: Authorized<on::TenantPolicyRecord, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<RecordQuery>,
) -> Result<HttpResponse, ApiError> {
    let owner = tenant_owner(&path)?;
    let items = record_list(&auth, &app, owner, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(RecordItems { items }))
}

/// Creates a record of the tenant, its first version a draft.
#[utoipa::path(
    post,
    path = "/admin/policies/tenants/{tenant_id}/records",
    operation_id = "tenant_policy_record_create",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body(content = Object, description = "The record (scope `tenant` or `tenant_module`, naming this tenant)"),
    responses(
        (status = 201, description = "Created, its version 1 a draft", body = Record),
        (status = 400, description = "`policy_invalid`: the record's problems in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "tenant records"
)]
pub async fn tenant_create(
    auth: Authorized<on::TenantPolicyRecord, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<Value>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let owner = tenant_owner(&path)?;
    let record = record_create(&auth, &app, owner, body_of(body)).await?;
    Ok(HttpResponse::Created().json(record))
}

/// A record of the tenant with its versions.
#[utoipa::path(
    get,
    path = "/admin/policies/tenants/{tenant_id}/records/{record_id}",
    operation_id = "tenant_policy_record_get",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("record_id" = String, Path, description = "The record's id"),
    ),
    responses(
        (status = 200, description = "The record", body = Record),
        (status = 404, description = "No such record of the tenant", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "tenant records"
)]
pub async fn tenant_get(
    auth: Authorized<on::TenantPolicyRecord, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    Ok(HttpResponse::Ok().json(record_get(&auth, &app, owner, &id).await?))
}

/// Saves the draft of a record of the tenant.
#[utoipa::path(
    put,
    path = "/admin/policies/tenants/{tenant_id}/records/{record_id}/draft",
    operation_id = "tenant_policy_record_draft",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("record_id" = String, Path, description = "The record's id"),
    ),
    request_body(content = Object, description = "The record's next version; its scope is the record's"),
    responses(
        (status = 200, description = "The record with its draft", body = Record),
        (status = 400, description = "`policy_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record of the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the record is retired", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "tenant records"
)]
pub async fn tenant_draft(
    auth: Authorized<on::TenantPolicyRecord, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<Value>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    let record = draft_save(&auth, &app, owner, &id, body_of(body)).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// Publishes the draft of a record of the tenant, with the reason.
#[utoipa::path(
    post,
    path = "/admin/policies/tenants/{tenant_id}/records/{record_id}/publish",
    operation_id = "tenant_policy_record_publish",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("record_id" = String, Path, description = "The record's id"),
    ),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The record, its draft published", body = Record),
        (status = 404, description = "No such record of the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: no draft, or the record is retired", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "tenant records"
)]
pub async fn tenant_publish(
    auth: Authorized<on::TenantPolicyRecord, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<ReasonBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    let record = publish(&auth, &app, owner, &id, body_of(body)).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// Retires a record of the tenant, with the reason.
#[utoipa::path(
    post,
    path = "/admin/policies/tenants/{tenant_id}/records/{record_id}/retire",
    operation_id = "tenant_policy_record_retire",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("record_id" = String, Path, description = "The record's id"),
    ),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The record, retired", body = Record),
        (status = 404, description = "No such record of the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: retired already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "tenant records"
)]
pub async fn tenant_retire(
    auth: Authorized<on::TenantPolicyRecord, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<ReasonBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = path.into_inner();
    let owner = tenant_owner(&tenant)?;
    let record = retire(&auth, &app, owner, &id, body_of(body)).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// The tenant's (or one of its module's) effective policy, with the record
/// versions that decided each field.
#[utoipa::path(
    get,
    path = "/admin/policies/tenants/{tenant_id}/effective",
    operation_id = "policy_effective",
    params(("tenant_id" = String, Path, description = "The tenant's id"), EffectiveQuery),
    responses(
        (status = 200, description = "The policy in force", body = EffectiveView),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "decisions"
)]
pub async fn effective(
    auth: Authorized<on::PolicyDecision, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<EffectiveQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let view = effective_get(&auth, &app, tenant, query.into_inner().module_id).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Decides a step the runtime is about to take: the outcome, the gate level,
/// every reason with the record versions behind it, and the policy version.
#[utoipa::path(
    post,
    path = "/runtime/policy/tenants/{tenant_id}/decisions",
    operation_id = "policy_decide",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The decision", body = DecisionView),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "decisions"
)]
pub async fn decision(
    auth: Authorized<on::PolicyDecision, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<DecisionBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    Ok(HttpResponse::Ok().json(decide(&auth, &app, tenant, body_of(body)).await?))
}

/// The tenant's compiled policy, to decide with in-process: answered `304`
/// when the caller's `If-None-Match` is its current entity tag.
#[utoipa::path(
    get,
    path = "/runtime/policy/tenants/{tenant_id}/bundle",
    operation_id = "policy_bundle",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The bundle, its entity tag in `ETag`", body = Object),
        (status = 304, description = "Unchanged since the entity tag asked with"),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "decisions"
)]
pub async fn bundle(
    auth: Authorized<on::PolicyDecision, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let (bundle, etag) = bundle_get(&auth, &app, tenant).await?;
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|asked| asked.split(',').any(|tag| tag.trim() == etag));
    let mut answer = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    Ok(if unchanged {
        answer.finish()
    } else {
        answer.json(bundle)
    })
}

/// The tenant's usage in a month — tokens in and out, connector operations —
/// by workspace, module, provider model and connector, with its budget.
#[utoipa::path(
    get,
    path = "/admin/policies/tenants/{tenant_id}/usage",
    operation_id = "policy_usage",
    params(("tenant_id" = String, Path, description = "The tenant's id"), crate::decisions::UsageQuery),
    responses(
        (status = 200, description = "The month's usage", body = crate::decisions::UsageView),
        (status = 400, description = "`invalid_request`: not a month", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "decisions"
)]
pub async fn usage(
    auth: Authorized<on::PolicyDecision, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<crate::decisions::UsageQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let view = crate::decisions::usage_get(&auth, &app, tenant, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

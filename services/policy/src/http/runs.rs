//! The edge of runs, approvals and notifications.
//!
//! `/runtime/policy/tenants/{tenant_id}/runs/…`: what the runtime reports — a
//! run, each step before it runs (answered with its gate's decision), how
//! steps and runs ended. `/admin/policies/tenants/{tenant_id}/…`: runs to
//! read, approval requests to decide, human-only steps to mark done, and
//! notifications.

use actix_web::{HttpResponse, web};
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use plinth_core::http::{body_of, tenant_path};
use serde::Serialize;
use utoipa::ToSchema;

use super::Problem;
use crate::approvals::{
    self, ApprovalDecisionBody, ApprovalQuery, NotificationQuery, NotificationView,
};
use crate::records::AppState;
use crate::runs::{
    ApprovalView, HumanDoneBody, RunBody, RunEndBody, RunQuery, RunView, StepBody, StepEndBody,
    StepView,
};

/// Runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunItems {
    pub items: Vec<RunView>,
}

/// Approval requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalItems {
    pub items: Vec<approvals::ApprovalItem>,
}

/// Notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationItems {
    pub items: Vec<NotificationView>,
}

/// The step's place in the run: a positive number (anything else names no
/// step).
fn seq_of(raw: &str) -> Result<i32, ApiError> {
    raw.parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found("step"))
}

/// Starts a run, as the runtime reports it: what runs (pinned version), in
/// which workspace, under which configuration, triggered by what.
#[utoipa::path(
    post,
    path = "/runtime/policy/tenants/{tenant_id}/runs",
    operation_id = "run_start",
    params(("tenant_id" = String, Path, description = "The tenant's id")),
    request_body = RunBody,
    responses(
        (status = 201, description = "Started", body = RunView),
        (status = 400, description = "`invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant or workspace here", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`tenant_not_active`", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The workspace was deleted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runs"
)]
pub async fn start(
    auth: Authorized<on::Run, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<RunBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let run = crate::runs::run_start(&auth, &app, tenant, body_of(body)).await?;
    Ok(HttpResponse::Created().json(run))
}

/// A run with its steps, as the runtime reads it.
#[utoipa::path(
    get,
    path = "/runtime/policy/tenants/{tenant_id}/runs/{run_id}",
    operation_id = "runtime_run_get",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("run_id" = String, Path, description = "The run's id"),
    ),
    responses(
        (status = 200, description = "The run", body = RunView),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runs"
)]
pub async fn runtime_get(
    auth: Authorized<on::Run, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, run) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    Ok(HttpResponse::Ok().json(crate::runs::run_get(&auth, &app, tenant, &run).await?))
}

/// Reports the step the runtime is about to take, and answers its gate's
/// decision: it proceeds (L0; L1 notifies), waits for an approver (L2, with
/// its approval request) or a person (L3), or is denied. One step is open at
/// a time.
#[utoipa::path(
    post,
    path = "/runtime/policy/tenants/{tenant_id}/runs/{run_id}/steps",
    operation_id = "run_step_report",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("run_id" = String, Path, description = "The run's id"),
    ),
    request_body = StepBody,
    responses(
        (status = 201, description = "Decided and recorded; `proceed` says whether it runs now", body = StepView),
        (status = 400, description = "`invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the run ended, or a step is still open", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runs"
)]
pub async fn step_report(
    auth: Authorized<on::Run, to::Create>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<StepBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, run) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    let step = crate::runs::step_report(&auth, &app, tenant, &run, body_of(body)).await?;
    Ok(HttpResponse::Created().json(step))
}

/// A step as it stands: the runtime polls it while it waits for an approver
/// or a person.
#[utoipa::path(
    get,
    path = "/runtime/policy/tenants/{tenant_id}/runs/{run_id}/steps/{seq}",
    operation_id = "run_step_get",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("run_id" = String, Path, description = "The run's id"),
        ("seq" = i32, Path, description = "The step's place in the run, from 1"),
    ),
    responses(
        (status = 200, description = "The step", body = StepView),
        (status = 404, description = "No such step", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runs"
)]
pub async fn step_get(
    auth: Authorized<on::Run, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, run, seq) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    let seq = seq_of(&seq)?;
    Ok(HttpResponse::Ok().json(crate::runs::step_get(&auth, &app, tenant, &run, seq).await?))
}

/// Reports how a step that proceeded (or was approved) ended: done, failed or
/// rolled back, with the provider, model and tokens it used.
#[utoipa::path(
    post,
    path = "/runtime/policy/tenants/{tenant_id}/runs/{run_id}/steps/{seq}/end",
    operation_id = "run_step_end",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("run_id" = String, Path, description = "The run's id"),
        ("seq" = i32, Path, description = "The step's place in the run, from 1"),
    ),
    request_body = StepEndBody,
    responses(
        (status = 200, description = "The step, ended", body = StepView),
        (status = 400, description = "`invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such step", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the step did not proceed, was not approved, or ended already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runs"
)]
pub async fn step_end(
    auth: Authorized<on::Run, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    body: Result<web::Json<StepEndBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, run, seq) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    let seq = seq_of(&seq)?;
    let step = crate::runs::step_end(&auth, &app, tenant, &run, seq, body_of(body)).await?;
    Ok(HttpResponse::Ok().json(step))
}

/// Reports how the run ended: succeeded, failed or cancelled. None of its
/// steps may still be open.
#[utoipa::path(
    post,
    path = "/runtime/policy/tenants/{tenant_id}/runs/{run_id}/end",
    operation_id = "run_end",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("run_id" = String, Path, description = "The run's id"),
    ),
    request_body = RunEndBody,
    responses(
        (status = 200, description = "The run, ended", body = RunView),
        (status = 400, description = "`invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: it ended already, or a step is open", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runs"
)]
pub async fn end(
    auth: Authorized<on::Run, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<RunEndBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, run) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    let run = crate::runs::run_end(&auth, &app, tenant, &run, body_of(body)).await?;
    Ok(HttpResponse::Ok().json(run))
}

/// The tenant's runs, newest first, narrowed by workspace, status and
/// workflow or playbook.
#[utoipa::path(
    get,
    path = "/admin/policies/tenants/{tenant_id}/runs",
    operation_id = "run_list",
    params(("tenant_id" = String, Path, description = "The tenant's id"), RunQuery),
    responses(
        (status = 200, description = "The runs", body = RunItems),
        (status = 400, description = "`invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runs"
)]
pub async fn list(
    auth: Authorized<on::Run, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<RunQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let items = crate::runs::run_list(&auth, &app, tenant, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(RunItems { items }))
}

/// A run with its steps: each step's gate decision with its reasons, its
/// approval request (who decided, when, why), and how it ended.
#[utoipa::path(
    get,
    path = "/admin/policies/tenants/{tenant_id}/runs/{run_id}",
    operation_id = "run_get",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("run_id" = String, Path, description = "The run's id"),
    ),
    responses(
        (status = 200, description = "The run", body = RunView),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "runs"
)]
pub async fn get(
    auth: Authorized<on::Run, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, run) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    Ok(HttpResponse::Ok().json(crate::runs::run_get(&auth, &app, tenant, &run).await?))
}

/// Marks a human-only step (L3) done, or failed, by the person who did it,
/// with a note of what they did.
#[utoipa::path(
    post,
    path = "/admin/policies/tenants/{tenant_id}/runs/{run_id}/steps/{seq}/done",
    operation_id = "human_step_done",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("run_id" = String, Path, description = "The run's id"),
        ("seq" = i32, Path, description = "The step's place in the run, from 1"),
    ),
    request_body = HumanDoneBody,
    responses(
        (status = 200, description = "The step, ended", body = StepView),
        (status = 400, description = "`invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such step", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not a human-only step waiting for a person", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "approvals"
)]
pub async fn human_done(
    auth: Authorized<on::HumanStep, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    body: Result<web::Json<HumanDoneBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, run, seq) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    let seq = seq_of(&seq)?;
    let step = crate::runs::human_done(&auth, &app, tenant, &run, seq, body_of(body)).await?;
    Ok(HttpResponse::Ok().json(step))
}

/// The tenant's approval requests, newest first, each with its run and step
/// (the AI's decision support included): `status=PENDING` is the approvers'
/// inbox.
#[utoipa::path(
    get,
    path = "/admin/policies/tenants/{tenant_id}/approvals",
    operation_id = "approval_list",
    params(("tenant_id" = String, Path, description = "The tenant's id"), ApprovalQuery),
    responses(
        (status = 200, description = "The requests", body = ApprovalItems),
        (status = 400, description = "`invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "approvals"
)]
pub async fn approval_list(
    auth: Authorized<on::ApprovalRequest, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ApprovalQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let items = approvals::list(&auth, &app, tenant, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ApprovalItems { items }))
}

/// Approves or rejects the request, with a reason. An approver of the tenant
/// decides, never the person the run acts for; the first decision stands.
#[utoipa::path(
    post,
    path = "/admin/policies/tenants/{tenant_id}/approvals/{request_id}/decision",
    operation_id = "approval_decide",
    params(
        ("tenant_id" = String, Path, description = "The tenant's id"),
        ("request_id" = String, Path, description = "The approval request's id"),
    ),
    request_body = ApprovalDecisionBody,
    responses(
        (status = 200, description = "Decided", body = ApprovalView),
        (status = 400, description = "`invalid_request`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`own_request`: the run acts for the caller", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_decided` (`decision` says which), or `approval_expired`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "approvals"
)]
pub async fn approval_decide(
    auth: Authorized<on::ApprovalRequest, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<ApprovalDecisionBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, request) = path.into_inner();
    let tenant = tenant_path(&tenant)?;
    let view = approvals::decide(&auth, &app, tenant, &request, body_of(body)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The tenant's notifications for the caller's roles (every one, for the
/// platform team), newest first.
#[utoipa::path(
    get,
    path = "/admin/policies/tenants/{tenant_id}/notifications",
    operation_id = "notification_list",
    params(("tenant_id" = String, Path, description = "The tenant's id"), NotificationQuery),
    responses(
        (status = 200, description = "The notifications", body = NotificationItems),
        (status = 404, description = "No such tenant here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "approvals"
)]
pub async fn notification_list(
    auth: Authorized<on::Notification, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<NotificationQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_path(&path)?;
    let items = approvals::notifications(&auth, &app, tenant, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(NotificationItems { items }))
}

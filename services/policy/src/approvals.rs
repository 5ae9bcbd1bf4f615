//! Approval requests of steps at gate L2, decided by an approver of the tenant
//! — approved or rejected, with a reason — and the notifications of steps at
//! L1. Whoever the run acts for never decides its requests; a request past its
//! expiry counts as rejected. Racing approvers queue on the request's row: the
//! first decision is recorded, every other one is told it came too late.

use std::collections::HashMap;

use plinth_authz::{Act, Authorized, Resources};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, TenantId};
use plinth_db::{TenantScope, scoped_transaction};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::events::{APPROVAL_APPROVED, APPROVAL_REJECTED, Audited, Outcome};
use crate::records::{AppState, now};
use crate::runs::{
    ApprovalView, RunView, StepView, check_text, expire_due_on_conn, limit_param, permit_local,
    permit_on, resolve_on_conn,
};
use crate::store::runs::{
    RunRow, StepRow, approval_decide_on_conn, approval_get_on_conn, approval_list_on_conn,
    notification_list_on_conn, runs_of_ids_on_conn, steps_of_runs_on_conn,
};
use plinth_service::ServiceState as _;

/// An approver's decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalDecisionBody {
    /// `approve` or `reject`.
    #[schema(example = "approve")]
    pub decision: String,
    /// Why: kept with the decision, and in the audit trail.
    #[schema(example = "Credit is within the customer's contract terms")]
    pub reason: String,
}

/// Approves or rejects the request, once.
pub async fn decide<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    request_id: &str,
    body: Result<ApprovalDecisionBody, ApiError>,
) -> Result<ApprovalView, ApiError> {
    let audit = Audited::new("approval.decide", "approval_request")
        .in_tenant(tenant)
        .on_resource(request_id);
    let result = async {
        // The request, read in the tenant's scope, is not found in a tenant
        // the service does not know.
        let caller = permit_local(auth, tenant)?;
        let body = body?;
        let status = match body.decision.as_str() {
            "approve" => "APPROVED",
            "reject" => "REJECTED",
            _ => {
                return Err(ApiError::invalid_request(
                    "decision",
                    "`decision` is approve or reject",
                ));
            }
        };
        check_text("reason", &body.reason, 500)?;
        let by = caller.ctx.principal.subject.clone();
        let audit = audit.clone().with_detail("decision", status);
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            let expired = expire_due_on_conn(app, conn, tenant).await?;
            let request = approval_get_on_conn(conn, request_id)
                .await?
                .ok_or_else(|| ApiError::not_found("approval request"))?;
            if request.requested_by.as_deref() == Some(by.as_str()) {
                return Err(ApiError::forbidden(
                    "the run acts for you: another approver decides its requests",
                )
                .with_code(Code::OwnRequest));
            }
            let at = now();
            let Some(decided) =
                approval_decide_on_conn(conn, request_id, status, &by, &body.reason, at).await?
            else {
                // Another decision, or the expiry, came first: say which.
                let current = approval_get_on_conn(conn, request_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("approval request"))?;
                // What this transaction expired is recorded even so.
                Outbox::enqueue(conn, &expired).await?;
                return Err(match current.status.as_str() {
                    "EXPIRED" => ApiError::conflict(format!(
                        "the request expired undecided at {}: it counts as rejected",
                        current.expires_at
                    ))
                    .with_code(Code::ApprovalExpired),
                    other => ApiError::conflict(format!(
                        "the request was {} already, by {}",
                        other.to_lowercase(),
                        current.decided_by.as_deref().unwrap_or("someone else")
                    ))
                    .with_code(Code::AlreadyDecided)
                    .with_extension("decision", other),
                });
            };
            let mut events = expired;
            let (step, run) =
                resolve_on_conn(app, conn, &decided, status, at, &by, &mut events).await?;
            let ty = if status == "APPROVED" {
                APPROVAL_APPROVED
            } else {
                APPROVAL_REJECTED
            };
            events.push(app.events.approval_changed(ty, &decided, at, &by)?);
            let audit = audit
                .clone()
                .with_detail("run_id", &run.run_id)
                .with_detail("seq", step.seq)
                .with_detail("step_key", &step.step_key)
                .with_detail(
                    "requested_by",
                    decided.requested_by.as_deref().unwrap_or("-"),
                )
                .with_detail("reason", &body.reason);
            events.push(
                app.events
                    .audit(&caller.ctx, &audit, Outcome::Allowed, None)?,
            );
            Outbox::enqueue(conn, &events).await?;
            Ok(ApprovalView::from(decided))
        })
        .await
    }
    .await;
    app.audited(auth, &audit, result).await
}

/// `GET …/approvals`: which.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ApprovalQuery {
    /// `PENDING` (the inbox), `APPROVED`, `REJECTED` or `EXPIRED`; every one
    /// without.
    pub status: Option<String>,
    /// At most this many (1 to 200; 50 by default).
    pub limit: Option<i64>,
}

/// An approval request with the run and the step it is for: what an approver
/// decides on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalItem {
    #[serde(flatten)]
    pub approval: ApprovalView,
    pub run: RunView,
    /// The step, with the AI's decision support.
    pub step: StepView,
}

/// The tenant's approval requests, newest first, each with its run and step.
pub async fn list<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    query: ApprovalQuery,
) -> Result<Vec<ApprovalItem>, ApiError> {
    if let Some(status) = &query.status
        && !["PENDING", "APPROVED", "REJECTED", "EXPIRED"].contains(&status.as_str())
    {
        return Err(ApiError::invalid_request(
            "status",
            "`status` is PENDING, APPROVED, REJECTED or EXPIRED",
        ));
    }
    let limit = limit_param(query.limit)?;
    permit_on(app, auth, tenant).await?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
        let events = expire_due_on_conn(app, conn, tenant).await?;
        Outbox::enqueue(conn, &events).await?;
        let rows = approval_list_on_conn(conn, &tenant.to_string(), query.status.as_deref(), limit)
            .await?;
        // Their runs and steps in two queries, whatever the page's length.
        let ids: Vec<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
        let runs: HashMap<String, RunRow> = runs_of_ids_on_conn(conn, &ids)
            .await?
            .into_iter()
            .map(|r| (r.run_id.clone(), r))
            .collect();
        let mut steps: HashMap<(String, i32), StepRow> = steps_of_runs_on_conn(conn, &ids)
            .await?
            .into_iter()
            .map(|s| ((s.run_id.clone(), s.seq), s))
            .collect();
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let step = steps
                .remove(&(row.run_id.clone(), row.seq))
                .ok_or_else(|| ApiError::internal("an approval request's step exists"))?;
            let run = runs
                .get(&row.run_id)
                .cloned()
                .ok_or_else(|| ApiError::internal("an approval request's run exists"))?;
            items.push(ApprovalItem {
                approval: ApprovalView::from(row),
                run: RunView::of(run, None)?,
                step: StepView::of(step, None, None),
            });
        }
        Ok(items)
    })
    .await
}

/// A notification of a step at L1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub notification_id: String,
    pub workspace_id: String,
    pub run_id: String,
    pub seq: i32,
    /// The roles of the people it is for.
    pub roles: Vec<String>,
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET …/notifications`: how many.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct NotificationQuery {
    /// At most this many (1 to 200; 50 by default).
    pub limit: Option<i64>,
}

/// The tenant's notifications for the caller's roles (every one, for the
/// platform team), newest first.
pub async fn notifications<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    query: NotificationQuery,
) -> Result<Vec<NotificationView>, ApiError> {
    let limit = limit_param(query.limit)?;
    let caller = permit_on(app, auth, tenant).await?;
    let roles: Option<Vec<String>> =
        (!caller.ctx.roles.iter().any(|r| r.is_platform())).then(|| {
            caller
                .ctx
                .roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect()
        });
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
        notification_list_on_conn(conn, &tenant.to_string(), roles.as_deref(), limit).await
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| NotificationView {
            notification_id: r.notification_id,
            workspace_id: r.workspace_id,
            run_id: r.run_id,
            seq: r.seq,
            roles: r.roles.into_iter().flatten().collect(),
            title: r.title,
            created_at: r.created_at,
        })
        .collect())
}

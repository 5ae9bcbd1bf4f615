//! Runs: what the runtime does for a tenant, reported step by step. Before a
//! step runs, the runtime reports it and gets its gate's decision — the
//! stricter of the tenant's policy and the workspace's approval tier:
//!
//! - L0 (`allow`): the step proceeds, logged;
//! - L1 (`allow_and_notify`): it proceeds, and the tenant's operators and
//!   administrators are notified;
//! - L2 (`require_approval`): an approval request waits for an approver of the
//!   tenant (`approvals`); rejected or expired, the step does not run;
//! - L3 (`human_only`): a person of the tenant does it and marks it done, with
//!   the AI's decision support attached;
//! - `deny`: the step does not run.
//!
//! One step is open at a time. Every change is one transaction with its events
//! and audit event; pending approval requests past their expiry are marked
//! expired first, by the service's clock, in every transaction on the
//! tenant's runs.
//!
//! Metadata only: a run's trigger is a ticket's identifiers; a step's decision
//! support texts (what will change, the AI's recommendation) are kept only for
//! a workspace in `content` mode — its risk and confidence always.

use diesel_async::AsyncPgConnection;
use plinth_authz::{Act, Authorized, Caller, Resources};
use plinth_bus::{Event, Outbox};
use plinth_core::{ApiError, Code, ReqCtx, Role, TenantId};
use plinth_db::{TenantScope, scoped_transaction};
use plinth_policy::{Gate, Outcome as Decided, Request};
use plinth_service::ServiceState;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::decisions::{check_action_class, decide_by_row, this_month};
use crate::events::{
    APPROVAL_EXPIRED, APPROVAL_REQUESTED, Audited, Outcome, RUN_ENDED, RUN_RESUMED, RUN_STARTED,
    RUN_WAITING, STEP_DECIDED, STEP_ENDED,
};
use crate::records::{AppState, now};
use crate::store::runs::{
    ApprovalRow, NotificationRow, RunFilter, RunRow, StepEndRow, StepRow, WorkspaceRow,
    approval_insert_on_conn, approval_of_step_on_conn, approvals_expire_on_conn,
    approvals_of_run_on_conn, notification_insert_on_conn, open_step_of_on_conn, run_get_on_conn,
    run_insert_on_conn, run_list_on_conn, run_update_on_conn, step_context_on_conn,
    step_end_insert_on_conn, step_end_of_on_conn, step_ends_of_on_conn, step_get_on_conn,
    step_insert_on_conn, step_status_on_conn, steps_of_on_conn, workspace_get_on_conn,
};
use crate::store::tenant_get_on_conn;

/// The service, as the actor of what its clock does (an expiry).
const SELF: &str = "policy";

/// How long an approval request waits by default, and at most (seconds).
const EXPIRY_DEFAULT: u32 = 3600;
const EXPIRY_MIN: u32 = 60;
const EXPIRY_MAX: u32 = 7 * 24 * 3600;

/// The roles a step at L1 notifies.
pub const NOTIFIED: [Role; 2] = [Role::Operator, Role::WorkspaceAdmin];

/// The statuses of a step that has not ended.
const OPEN: [&str; 4] = [
    "PROCEEDING",
    "WAITING_APPROVAL",
    "APPROVED",
    "WAITING_HUMAN",
];

/// The statuses of a run that has ended.
const ENDED: [&str; 3] = ["SUCCEEDED", "FAILED", "CANCELLED"];

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// `value` as a field of at most `max` characters, none of them a control
/// character, and not blank.
pub(crate) fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_request(
            field,
            format!("`{field}` is 1 to {max} characters, none of them a control character"),
        ));
    }
    Ok(())
}

fn check_optional(field: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    value.map_or(Ok(()), |v| check_text(field, v, max))
}

/// `value` as one of `allowed`.
fn one_of<'a>(field: &str, value: &str, allowed: &[&'a str]) -> Result<&'a str, ApiError> {
    allowed
        .iter()
        .find(|a| **a == value)
        .copied()
        .ok_or_else(|| {
            ApiError::invalid_request(field, format!("`{field}` is {}", allowed.join(", ")))
        })
}

/// The caller, when it reaches `tenant` and the service knows the tenant.
pub(crate) async fn permit_on<'a, R: Resources, A: Act>(
    app: &AppState,
    auth: &'a Authorized<R, A>,
    tenant: TenantId,
) -> Result<&'a Caller, ApiError> {
    let caller = auth.permit()?;
    caller.ctx.require_local(tenant)?;
    if !app.knows_tenant(tenant).await {
        return Err(ApiError::not_found("tenant"));
    }
    Ok(caller)
}

/// The caller, when it reaches `tenant`: for what names a run, which is not
/// found in a tenant the service does not know.
pub(crate) fn permit_local<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    tenant: TenantId,
) -> Result<&Caller, ApiError> {
    let caller = auth.permit()?;
    caller.ctx.require_local(tenant)?;
    Ok(caller)
}

fn audited(action: &'static str, resource: &'static str, tenant: TenantId) -> Audited {
    Audited::new(action, resource).in_tenant(tenant)
}

/// What runs: a workspace's workflow version or a linked playbook version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// `workflow` or `playbook`.
    #[schema(example = "workflow")]
    pub kind: String,
    #[schema(example = "invoice-dispute-triage")]
    pub id: String,
    /// The version it is pinned to.
    #[schema(example = "1.2.0")]
    pub version: String,
}

/// What triggered a run: identifiers only, never a ticket's text.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Where it came from, e.g. `ops` (a ticket submitted in the console),
    /// `psa`, `schedule`, `event`.
    #[schema(example = "psa")]
    pub source: String,
    #[schema(example = "T-10442")]
    pub ticket_id: Option<String>,
    #[schema(example = "ticket.created")]
    pub event_type: Option<String>,
    /// The category the tenant's configuration classified it as.
    #[schema(example = "billing_dispute")]
    pub category: Option<String>,
    #[schema(example = "P2")]
    pub priority: Option<String>,
}

/// A run the runtime starts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    pub workspace_id: String,
    pub subject: Subject,
    /// The tenant's active configuration it runs under.
    #[schema(example = "acme-msp-ops@2.1.0")]
    pub config_version: Option<String>,
    pub trigger: Trigger,
    /// The person it acts for (who submitted the ticket), by subject: never an
    /// approver of its requests.
    pub requested_by: Option<String>,
}

impl RunBody {
    fn check(&self) -> Result<(), ApiError> {
        check_text("workspace_id", &self.workspace_id, 128)?;
        one_of(
            "subject.kind",
            &self.subject.kind,
            &["workflow", "playbook"],
        )?;
        check_text("subject.id", &self.subject.id, 128)?;
        check_text("subject.version", &self.subject.version, 64)?;
        check_optional("config_version", self.config_version.as_deref(), 128)?;
        let t = &self.trigger;
        if t.source.is_empty()
            || t.source.len() > 32
            || !t.source.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            return Err(ApiError::invalid_request(
                "trigger.source",
                "`trigger.source` is 1 to 32 lower-case letters and `_`, e.g. `psa`",
            ));
        }
        check_optional("trigger.ticket_id", t.ticket_id.as_deref(), 128)?;
        check_optional("trigger.event_type", t.event_type.as_deref(), 128)?;
        check_optional("trigger.category", t.category.as_deref(), 128)?;
        check_optional("trigger.priority", t.priority.as_deref(), 32)?;
        check_optional("requested_by", self.requested_by.as_deref(), 256)
    }
}

/// A run, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    #[schema(example = "run_5f1c…")]
    pub run_id: String,
    pub tenant_id: String,
    pub workspace_id: String,
    pub subject: Subject,
    pub config_version: Option<String>,
    pub trigger: Trigger,
    pub requested_by: Option<String>,
    /// `RUNNING`, `WAITING_APPROVAL`, `WAITING_HUMAN`, `SUCCEEDED`, `FAILED`
    /// or `CANCELLED`.
    #[schema(example = "WAITING_APPROVAL")]
    pub status: String,
    /// The steps reported so far.
    pub step_count: i32,
    /// The runtime's identity that reported it.
    pub reported_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// On a single run: its steps, in order, each with its gate's decision
    /// and approval request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepView>>,
}

impl RunView {
    pub(crate) fn of(row: RunRow, steps: Option<Vec<StepView>>) -> Result<RunView, ApiError> {
        let trigger = serde_json::from_value(row.trigger_json)
            .map_err(|e| ApiError::internal(format!("a stored trigger reads: {e}")))?;
        Ok(RunView {
            run_id: row.run_id,
            tenant_id: row.tenant_id,
            workspace_id: row.workspace_id,
            subject: Subject {
                kind: row.subject_kind,
                id: row.subject_id,
                version: row.subject_version,
            },
            config_version: row.config_version,
            trigger,
            requested_by: row.requested_by,
            status: row.status,
            step_count: row.steps,
            reported_by: row.reported_by,
            started_at: row.started_at,
            updated_at: row.updated_at,
            ended_at: row.ended_at,
            steps,
        })
    }
}

/// What a person deciding (L2) or doing (L3) the step is given: the AI's
/// decision support, as the runtime reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Support {
    /// What the step will change.
    pub change: Option<String>,
    /// What the AI recommends, and why.
    pub recommendation: Option<String>,
    /// `low`, `medium`, `high` or `critical`.
    #[schema(example = "medium")]
    pub risk: Option<String>,
    /// The AI's confidence, 0 to 1.
    pub confidence: Option<f64>,
    /// Set when the texts were not kept: the workspace is metadata-only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

impl Support {
    fn check(&self) -> Result<(), ApiError> {
        check_optional("support.change", self.change.as_deref(), 2000)?;
        check_optional(
            "support.recommendation",
            self.recommendation.as_deref(),
            4000,
        )?;
        if let Some(risk) = &self.risk {
            one_of("support.risk", risk, &["low", "medium", "high", "critical"])?;
        }
        if self.confidence.is_some_and(|c| !(0.0..=1.0).contains(&c)) {
            return Err(ApiError::invalid_request(
                "support.confidence",
                "`support.confidence` is 0 to 1",
            ));
        }
        Ok(())
    }

    /// What is kept of it in a workspace in `data_mode`.
    fn kept(mut self, data_mode: &str) -> Support {
        if data_mode != "content" && (self.change.is_some() || self.recommendation.is_some()) {
            self.change = None;
            self.recommendation = None;
            self.withheld = true;
        }
        self
    }
}

/// A step the runtime is about to take: decided at its gate.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// The step's id in the workflow or playbook.
    #[schema(example = "issue_credit")]
    pub step_key: String,
    #[schema(example = "ticket_update")]
    pub action_class: String,
    #[schema(example = "psa.ticket.update")]
    pub tool: Option<String>,
    /// The module taking it, if any: its policy applies.
    pub module_id: Option<String>,
    #[schema(example = "openai")]
    pub provider_kind: Option<String>,
    #[schema(example = "gpt-4o-mini")]
    pub model: Option<String>,
    #[serde(default)]
    pub estimated_tokens: u64,
    /// Whether ticket content (not only metadata) goes to the provider.
    #[serde(default)]
    pub content_included: bool,
    pub connector: Option<String>,
    /// The AI's decision support, for a person deciding or doing the step.
    pub support: Option<Support>,
    /// The gate the workflow or playbook itself sets on the step (`L0`…`L3`):
    /// the gate is the strictest of it, the policy's and the workspace's tier.
    #[schema(value_type = Option<String>, example = "L1")]
    pub step_gate: Option<Gate>,
    /// How long an approval request waits, in seconds (60 to 604800; 3600 by
    /// default); past it, the request counts as rejected.
    pub approval_expires_in: Option<u32>,
}

impl StepBody {
    fn check(&self) -> Result<(), ApiError> {
        check_text("step_key", &self.step_key, 128)?;
        check_action_class(&self.action_class)?;
        check_optional("tool", self.tool.as_deref(), 128)?;
        check_optional("module_id", self.module_id.as_deref(), 128)?;
        check_optional("provider_kind", self.provider_kind.as_deref(), 64)?;
        check_optional("model", self.model.as_deref(), 128)?;
        check_optional("connector", self.connector.as_deref(), 64)?;
        if let Some(support) = &self.support {
            support.check()?;
        }
        if self
            .approval_expires_in
            .is_some_and(|s| !(EXPIRY_MIN..=EXPIRY_MAX).contains(&s))
        {
            return Err(ApiError::invalid_request(
                "approval_expires_in",
                format!("`approval_expires_in` is {EXPIRY_MIN} to {EXPIRY_MAX} seconds"),
            ));
        }
        Ok(())
    }
}

/// An approval request, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalView {
    #[schema(example = "apr_5f1c…")]
    pub request_id: String,
    pub run_id: String,
    pub seq: i32,
    pub workspace_id: String,
    /// `PENDING`, `APPROVED`, `REJECTED` or `EXPIRED` (counts as rejected).
    #[schema(example = "PENDING")]
    pub status: String,
    /// The person the run acts for, who may not decide it.
    pub requested_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    /// The approver's reason.
    pub reason: Option<String>,
}

impl From<ApprovalRow> for ApprovalView {
    fn from(row: ApprovalRow) -> Self {
        ApprovalView {
            request_id: row.request_id,
            run_id: row.run_id,
            seq: row.seq,
            workspace_id: row.workspace_id,
            status: row.status,
            requested_by: row.requested_by,
            created_at: row.created_at,
            expires_at: row.expires_at,
            decided_at: row.decided_at,
            decided_by: row.decided_by,
            reason: row.reason,
        }
    }
}

/// A step, with its gate's decision and how it ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    pub run_id: String,
    /// Its place in the run, from 1.
    pub seq: i32,
    pub step_key: String,
    pub action_class: String,
    pub tool: Option<String>,
    pub module_id: Option<String>,
    /// `L0`…`L3`: the stricter of the policy's gate and the workspace's tier.
    #[schema(example = "L2")]
    pub gate: String,
    /// The workspace's approval tier when it was decided.
    #[schema(example = "L1")]
    pub workspace_tier: String,
    /// `allow`, `allow_and_notify`, `require_approval`, `human_only` or `deny`.
    #[schema(example = "require_approval")]
    pub decision: String,
    /// `PROCEEDING`, `WAITING_APPROVAL`, `APPROVED`, `REJECTED`, `EXPIRED`,
    /// `WAITING_HUMAN`, `DENIED`, `DONE`, `FAILED` or `ROLLED_BACK`.
    #[schema(example = "WAITING_APPROVAL")]
    pub status: String,
    /// Whether the runtime may run it now: it proceeds (L0, L1) or was
    /// approved.
    pub proceed: bool,
    /// Every rule the step met, with the record versions that decided it.
    #[schema(value_type = Vec<Object>)]
    pub reasons: Value,
    /// What the runtime must do if it proceeds (`redact_content`).
    pub obligations: Vec<String>,
    /// The tag of the policy bundle it was decided under.
    pub policy_etag: String,
    pub support: Option<Support>,
    pub provider_kind: Option<String>,
    pub model: Option<String>,
    pub connection_id: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    /// How it ended, in the runtime's or the person's words.
    pub outcome: Option<String>,
    /// What was undone, when it was rolled back.
    pub rollback: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Who ended it: the runtime, or the person who did a human-only step.
    pub ended_by: Option<String>,
    /// Its approval request, at L2.
    pub approval: Option<ApprovalView>,
}

impl StepView {
    pub(crate) fn of(
        row: StepRow,
        end: Option<StepEndRow>,
        approval: Option<ApprovalRow>,
    ) -> StepView {
        let mut detail = row.detail;
        StepView {
            proceed: matches!(row.status.as_str(), "PROCEEDING" | "APPROVED"),
            reasons: detail["reasons"].take(),
            obligations: serde_json::from_value(detail["obligations"].take()).unwrap_or_default(),
            support: row.support.and_then(|s| serde_json::from_value(s).ok()),
            approval: approval.map(ApprovalView::from),
            run_id: row.run_id,
            seq: row.seq,
            step_key: row.step_key,
            action_class: row.action_class,
            tool: row.tool,
            module_id: row.module_id,
            gate: row.gate,
            workspace_tier: row.workspace_tier,
            decision: row.decision,
            status: row.status,
            policy_etag: row.policy_etag,
            decided_at: row.decided_at,
            provider_kind: end.as_ref().and_then(|e| e.provider_kind.clone()),
            model: end.as_ref().and_then(|e| e.model.clone()),
            connection_id: end.as_ref().and_then(|e| e.connection_id.clone()),
            tokens_in: end.as_ref().map_or(0, |e| e.tokens_in),
            tokens_out: end.as_ref().map_or(0, |e| e.tokens_out),
            outcome: end.as_ref().and_then(|e| e.outcome.clone()),
            rollback: end.as_ref().and_then(|e| e.rollback.clone()),
            ended_at: end.as_ref().map(|e| e.ended_at),
            ended_by: end.map(|e| e.ended_by),
        }
    }
}

/// How a step ended, with nothing used: it did not run.
fn not_run(step: &StepRow, at: OffsetDateTime, by: &str) -> StepEndRow {
    StepEndRow {
        run_id: step.run_id.clone(),
        seq: step.seq,
        tenant_id: step.tenant_id.clone(),
        provider_kind: None,
        model: None,
        connection_id: None,
        tokens_in: 0,
        tokens_out: 0,
        outcome: None,
        rollback: None,
        ended_at: at,
        ended_by: by.to_owned(),
    }
}

/// The run of the tenant (the scope hides every other tenant's), locked.
pub(crate) async fn run_of_on_conn(
    conn: &mut AsyncPgConnection,
    run: &str,
) -> Result<RunRow, ApiError> {
    run_get_on_conn(conn, run, true)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))
}

/// Sets the run's status at `at`: the event to publish.
pub(crate) async fn run_move_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    run: &mut RunRow,
    ty: &str,
    status: &str,
    at: OffsetDateTime,
    by: &str,
) -> Result<Event, ApiError> {
    status.clone_into(&mut run.status);
    run.updated_at = at;
    if ENDED.contains(&status) {
        run.ended_at = Some(at);
    }
    run_update_on_conn(conn, run).await?;
    app.events.run_changed(ty, run, by)
}

/// Moves `run` back to `RUNNING` once the step it waited on was decided or
/// done, unless it ended meanwhile: the event to publish, if any.
async fn resume_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    run: &mut RunRow,
    at: OffsetDateTime,
    by: &str,
) -> Result<Option<Event>, ApiError> {
    if ENDED.contains(&run.status.as_str()) {
        return Ok(None);
    }
    run_move_on_conn(app, conn, run, RUN_RESUMED, "RUNNING", at, by)
        .await
        .map(Some)
}

/// Marks the tenant's pending approval requests past their expiry (by the
/// service's clock) expired — each counts as a rejection: its step does not
/// run, and its run resumes. The events to publish.
pub(crate) async fn expire_due_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<Vec<Event>, ApiError> {
    let at = now();
    let expired = approvals_expire_on_conn(conn, &tenant.to_string(), at).await?;
    let mut events = Vec::new();
    if expired.is_empty() {
        return Ok(events);
    }
    let ctx = ReqCtx::for_service(SELF, app.region, Some(tenant));
    let by = ctx.principal.subject.clone();
    for request in expired {
        let (step, run) =
            resolve_on_conn(app, conn, &request, "EXPIRED", at, &by, &mut events).await?;
        events.push(
            app.events
                .approval_changed(APPROVAL_EXPIRED, &request, at, &by)?,
        );
        let audited = audited("approval.expire", "approval_request", tenant)
            .on_resource(&request.request_id)
            .with_detail("run_id", &run.run_id)
            .with_detail("seq", step.seq)
            .with_detail("expires_at", request.expires_at);
        events.push(app.events.audit(&ctx, &audited, Outcome::Allowed, None)?);
    }
    Ok(events)
}

/// Moves the step of the decided `request` to `status` (`APPROVED`,
/// `REJECTED`, `EXPIRED`) and its run back to `RUNNING`, adding the events.
pub(crate) async fn resolve_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    request: &ApprovalRow,
    status: &str,
    at: OffsetDateTime,
    by: &str,
    events: &mut Vec<Event>,
) -> Result<(StepRow, RunRow), ApiError> {
    let mut run = run_of_on_conn(conn, &request.run_id).await?;
    let mut step = step_get_on_conn(conn, &request.run_id, request.seq)
        .await?
        .ok_or_else(|| ApiError::internal("an approval request's step exists"))?;
    if status == "APPROVED" {
        status.clone_into(&mut step.status);
        step_status_on_conn(conn, &step.run_id, step.seq, status).await?;
    } else {
        let end = not_run(&step, at, by);
        end_step_on_conn(
            app,
            conn,
            &mut step,
            status,
            &end,
            &run.workspace_id,
            events,
        )
        .await?;
    }
    events.extend(resume_on_conn(app, conn, &mut run, at, by).await?);
    Ok((step, run))
}

/// Ends `step` of `run` with `status` as `end` says: the step's status, its
/// end and the `plinth.run.step_ended` event.
async fn end_step_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    step: &mut StepRow,
    status: &str,
    end: &StepEndRow,
    workspace: &str,
    events: &mut Vec<Event>,
) -> Result<(), ApiError> {
    status.clone_into(&mut step.status);
    step_status_on_conn(conn, &step.run_id, step.seq, status).await?;
    step_end_insert_on_conn(conn, end).await?;
    events.push(app.events.step_changed(
        STEP_ENDED,
        step,
        Some(end),
        workspace,
        end.ended_at,
        &end.ended_by,
    )?);
    Ok(())
}

/// Starts a run of `tenant`, as the runtime reports it.
pub async fn run_start<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    body: Result<RunBody, ApiError>,
) -> Result<RunView, ApiError> {
    let mut audit = audited("run.start", "run", tenant);
    let result = async {
        let caller = permit_local(auth, tenant)?;
        let body = body?;
        body.check()?;
        let at = now();
        let by = caller.ctx.principal.subject.clone();
        let row = RunRow {
            run_id: new_id("run"),
            tenant_id: tenant.to_string(),
            workspace_id: body.workspace_id.clone(),
            subject_kind: body.subject.kind.clone(),
            subject_id: body.subject.id.clone(),
            subject_version: body.subject.version.clone(),
            config_version: body.config_version.clone(),
            trigger_json: serde_json::to_value(&body.trigger).map_err(ApiError::internal)?,
            requested_by: body.requested_by.clone(),
            status: "RUNNING".to_owned(),
            steps: 0,
            reported_by: by.clone(),
            started_at: at,
            updated_at: at,
            ended_at: None,
        };
        let audit = audit
            .clone()
            .on_resource(&row.run_id)
            .with_detail("workspace_id", &row.workspace_id)
            .with_detail(
                &body.subject.kind,
                format!("{}@{}", body.subject.id, body.subject.version),
            )
            .with_detail(
                "config_version",
                row.config_version.as_deref().unwrap_or("-"),
            )
            .with_detail("trigger", trigger_summary(&body.trigger))
            .with_detail("requested_by", row.requested_by.as_deref().unwrap_or("-"));
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            let known = tenant_get_on_conn(conn, &row.tenant_id)
                .await?
                .ok_or_else(|| ApiError::not_found("tenant"))?;
            if known.status != "ACTIVE" || known.withdrawn_at.is_some() {
                return Err(ApiError::conflict(format!(
                    "the tenant is {}: the runtime does not serve it",
                    known.status
                ))
                .with_code(Code::TenantNotActive));
            }
            workspace_in_use_on_conn(conn, &row.workspace_id).await?;
            run_insert_on_conn(conn, &row).await?;
            let events = [
                app.events.run_changed(RUN_STARTED, &row, &by)?,
                app.events
                    .audit(&caller.ctx, &audit, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok::<_, ApiError>(())
        })
        .await?;
        RunView::of(row, Some(Vec::new()))
    }
    .await;
    if let Ok(run) = &result {
        audit = audit.on_resource(&run.run_id);
    }
    app.audited(auth, &audit, result).await
}

/// The trigger as one audit detail: `source ticket event_type category`.
fn trigger_summary(trigger: &Trigger) -> String {
    [
        Some(trigger.source.as_str()),
        trigger.ticket_id.as_deref(),
        trigger.event_type.as_deref(),
        trigger.category.as_deref(),
        trigger.priority.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

/// The workspace, when runs may use it: known here and not deleted.
async fn workspace_in_use_on_conn(
    conn: &mut AsyncPgConnection,
    workspace: &str,
) -> Result<WorkspaceRow, ApiError> {
    let row = workspace_get_on_conn(conn, workspace)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))?;
    if row.deleted_at.is_some() {
        return Err(ApiError::gone("the workspace was deleted"));
    }
    Ok(row)
}

/// Decides the step `body` of `run` at its gate and records it: it proceeds,
/// notifies, waits for an approver or a person, or is denied.
pub async fn step_report<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    run_id: &str,
    body: Result<StepBody, ApiError>,
) -> Result<StepView, ApiError> {
    let audit = audited("run.step_decide", "run", tenant).on_resource(run_id);
    let result = async {
        let caller = permit_local(auth, tenant)?;
        let body = body?;
        body.check()?;
        let by = caller.ctx.principal.subject.clone();
        let expires_in = body.approval_expires_in.unwrap_or(EXPIRY_DEFAULT);
        let mut conn = app.conn().await?;
        // One transaction: the run locked, the workspace's tier and mode and
        // what is in force read, the decision recorded with its events.
        scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            let read = async |conn: &mut AsyncPgConnection| {
                step_context_on_conn(conn, &tenant.to_string(), run_id, this_month()?)
                    .await?
                    .ok_or_else(|| ApiError::not_found("run"))
            };
            let mut context = read(conn).await?;
            // Only a run waiting for an approver can have a request past its
            // expiry: its expiry is judged first (and the run read again).
            let mut events = Vec::new();
            if context.run.status == "WAITING_APPROVAL" {
                events = expire_due_on_conn(app, conn, tenant).await?;
                context = read(conn).await?;
            }
            let mut run = context.run;
            if ENDED.contains(&run.status.as_str()) {
                return Err(ApiError::conflict(format!("the run is {}", run.status))
                    .with_code(Code::InvalidTransition));
            }
            if context.workspace_deleted {
                return Err(ApiError::gone("the workspace was deleted"));
            }
            let tier: Gate = serde_json::from_value(json!(context.approval_tier))
                .map_err(|e| ApiError::internal(format!("a stored approval tier: {e}")))?;
            let request = Request {
                action_class: body.action_class.clone(),
                provider_kind: body.provider_kind.clone(),
                model: body.model.clone(),
                estimated_tokens: body.estimated_tokens,
                content_included: body.content_included,
                connector: body.connector.clone(),
                // The least gate: the workspace's tier, or the step's own if
                // stricter; the policy's gate may be stricter still.
                workspace_tier: Some(body.step_gate.map_or(tier, |g| g.max(tier))),
            };
            let (decision, etag) = decide_by_row(
                context.in_force,
                tenant,
                body.module_id.as_deref(),
                &request,
            )?;
            let status = match decision.outcome {
                Decided::Allow | Decided::AllowAndNotify => "PROCEEDING",
                Decided::RequireApproval => "WAITING_APPROVAL",
                Decided::HumanOnly => "WAITING_HUMAN",
                Decided::Deny => "DENIED",
            };
            let support = body.support.clone().map(|s| s.kept(&context.data_mode));
            let audit = audit
                .clone()
                .with_detail("step_key", &body.step_key)
                .with_detail("action_class", &body.action_class)
                .with_detail("gate", decision.gate)
                .with_detail("workspace_tier", tier)
                .with_detail("decision", decision.outcome.as_str())
                .with_detail("policy_etag", &etag)
                .with_detail(
                    "risk",
                    support
                        .as_ref()
                        .and_then(|s| s.risk.as_deref())
                        .unwrap_or("-"),
                )
                .with_detail(
                    "confidence",
                    support
                        .as_ref()
                        .and_then(|s| s.confidence)
                        .map_or_else(|| "-".to_owned(), |c| format!("{c:.2}")),
                );
            let at = now();
            run.steps += 1;
            let step = StepRow {
                run_id: run.run_id.clone(),
                seq: run.steps,
                tenant_id: run.tenant_id.clone(),
                step_key: body.step_key.clone(),
                action_class: body.action_class.clone(),
                tool: body.tool.clone(),
                module_id: body.module_id.clone(),
                gate: decision.gate.as_str().to_owned(),
                workspace_tier: tier.as_str().to_owned(),
                decision: decision.outcome.as_str().to_owned(),
                detail: json!({
                    "reasons": decision.reasons,
                    "obligations": decision.obligations,
                    "request": request,
                }),
                policy_etag: etag.clone(),
                support: support
                    .as_ref()
                    .map(serde_json::to_value)
                    .transpose()
                    .map_err(ApiError::internal)?,
                status: status.to_owned(),
                decided_at: at,
            };
            // The index of open steps refuses a second one.
            step_insert_on_conn(conn, &step)
                .await
                .map_err(|e| match e {
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    ) => {
                        ApiError::conflict("a step of the run is still open: report its end first")
                            .with_code(Code::InvalidTransition)
                            .with_extension("allowed", json!([]))
                    }
                    other => ApiError::from(other),
                })?;
            let end = (status == "DENIED").then(|| not_run(&step, at, &by));
            if let Some(end) = &end {
                step_end_insert_on_conn(conn, end).await?;
            }
            events.push(app.events.step_changed(
                STEP_DECIDED,
                &step,
                end.as_ref(),
                &run.workspace_id,
                at,
                &by,
            )?);
            let mut audit = audit.clone().with_detail("seq", step.seq);
            let mut approval = None;
            match decision.outcome {
                Decided::AllowAndNotify => {
                    let row = NotificationRow {
                        notification_id: new_id("ntf"),
                        tenant_id: run.tenant_id.clone(),
                        workspace_id: run.workspace_id.clone(),
                        run_id: run.run_id.clone(),
                        seq: step.seq,
                        roles: NOTIFIED
                            .iter()
                            .map(|r| Some(r.as_str().to_owned()))
                            .collect(),
                        title: format!(
                            "{} ran {} ({}) at L1",
                            run.subject_id, step.step_key, step.action_class
                        ),
                        created_at: at,
                    };
                    notification_insert_on_conn(conn, &row).await?;
                    events.push(app.events.notification_created(&row)?);
                    audit = audit.with_detail("notification_id", &row.notification_id);
                }
                Decided::RequireApproval => {
                    let row = ApprovalRow {
                        request_id: new_id("apr"),
                        tenant_id: run.tenant_id.clone(),
                        workspace_id: run.workspace_id.clone(),
                        run_id: run.run_id.clone(),
                        seq: step.seq,
                        requested_by: run.requested_by.clone(),
                        status: "PENDING".to_owned(),
                        created_at: at,
                        expires_at: at + time::Duration::seconds(i64::from(expires_in)),
                        decided_at: None,
                        decided_by: None,
                        reason: None,
                    };
                    approval_insert_on_conn(conn, &row).await?;
                    events.push(
                        app.events
                            .approval_changed(APPROVAL_REQUESTED, &row, at, &by)?,
                    );
                    audit = audit
                        .with_detail("approval_request", &row.request_id)
                        .with_detail("expires_at", row.expires_at);
                    events.push(
                        run_move_on_conn(
                            app,
                            conn,
                            &mut run,
                            RUN_WAITING,
                            "WAITING_APPROVAL",
                            at,
                            &by,
                        )
                        .await?,
                    );
                    approval = Some(row);
                }
                Decided::HumanOnly => {
                    events.push(
                        run_move_on_conn(
                            app,
                            conn,
                            &mut run,
                            RUN_WAITING,
                            "WAITING_HUMAN",
                            at,
                            &by,
                        )
                        .await?,
                    );
                }
                // The step's insert counted it in the run (a trigger).
                Decided::Allow | Decided::Deny => {}
            }
            events.push(
                app.events
                    .audit(&caller.ctx, &audit, Outcome::Allowed, None)?,
            );
            Outbox::enqueue(conn, &events).await?;
            Ok::<_, ApiError>(StepView::of(step, end, approval))
        })
        .await
    }
    .await;
    app.audited(auth, &audit, result).await
}

/// A step as it stands, with its approval request; the runtime polls it
/// while it waits.
pub async fn step_get<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    run_id: &str,
    seq: i32,
) -> Result<StepView, ApiError> {
    permit_local(auth, tenant)?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
        let events = expire_due_on_conn(app, conn, tenant).await?;
        Outbox::enqueue(conn, &events).await?;
        let step = step_get_on_conn(conn, run_id, seq)
            .await?
            .ok_or_else(|| ApiError::not_found("step"))?;
        let approval = approval_of_step_on_conn(conn, run_id, seq).await?;
        let end = step_end_of_on_conn(conn, run_id, seq).await?;
        Ok(StepView::of(step, end, approval))
    })
    .await
}

/// How a step ended, as the runtime reports it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepEndBody {
    /// `done`, `failed` or `rolled_back`.
    #[schema(example = "done")]
    pub status: String,
    /// A short summary of the result, metadata only (no ticket text).
    #[schema(example = "credit note CN-2207 issued")]
    pub outcome: Option<String>,
    /// What was undone, when it was rolled back.
    pub rollback: Option<String>,
    pub provider_kind: Option<String>,
    pub model: Option<String>,
    /// The provider connection the step used.
    pub connection_id: Option<String>,
    #[serde(default)]
    pub tokens_in: u32,
    #[serde(default)]
    pub tokens_out: u32,
}

/// Records how the step ended: it had proceeded, or was approved.
pub async fn step_end<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    run_id: &str,
    seq: i32,
    body: Result<StepEndBody, ApiError>,
) -> Result<StepView, ApiError> {
    let audit = audited("run.step_end", "run", tenant)
        .on_resource(run_id)
        .with_detail("seq", seq);
    let result = async {
        let caller = permit_local(auth, tenant)?;
        let body = body?;
        let status = match one_of("status", &body.status, &["done", "failed", "rolled_back"])? {
            "done" => "DONE",
            "failed" => "FAILED",
            _ => "ROLLED_BACK",
        };
        check_optional("outcome", body.outcome.as_deref(), 500)?;
        check_optional("rollback", body.rollback.as_deref(), 500)?;
        if status == "ROLLED_BACK" && body.rollback.is_none() {
            return Err(ApiError::invalid_request(
                "rollback",
                "a rolled-back step says what was undone",
            ));
        }
        check_optional("provider_kind", body.provider_kind.as_deref(), 64)?;
        check_optional("model", body.model.as_deref(), 128)?;
        check_optional("connection_id", body.connection_id.as_deref(), 128)?;
        let by = caller.ctx.principal.subject.clone();
        let audit = audit
            .clone()
            .with_detail("status", status)
            .with_detail(
                "tokens",
                u64::from(body.tokens_in) + u64::from(body.tokens_out),
            )
            .with_detail("rollback", body.rollback.as_deref().unwrap_or("-"));
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            let mut events = expire_due_on_conn(app, conn, tenant).await?;
            let run = run_of_on_conn(conn, run_id).await?;
            let mut step = step_get_on_conn(conn, run_id, seq)
                .await?
                .ok_or_else(|| ApiError::not_found("step"))?;
            if !matches!(step.status.as_str(), "PROCEEDING" | "APPROVED") {
                return Err(ApiError::conflict(format!(
                    "the step is {}: only a step that proceeds or was approved ends here",
                    step.status
                ))
                .with_code(Code::InvalidTransition)
                .with_extension("allowed", json!(["PROCEEDING", "APPROVED"])));
            }
            let end = StepEndRow {
                provider_kind: body.provider_kind.clone(),
                model: body.model.clone(),
                connection_id: body.connection_id.clone(),
                tokens_in: i64::from(body.tokens_in),
                tokens_out: i64::from(body.tokens_out),
                outcome: body.outcome.clone(),
                rollback: body.rollback.clone(),
                ..not_run(&step, now(), &by)
            };
            end_step_on_conn(
                app,
                conn,
                &mut step,
                status,
                &end,
                &run.workspace_id,
                &mut events,
            )
            .await?;
            events.push(
                app.events
                    .audit(&caller.ctx, &audit, Outcome::Allowed, None)?,
            );
            Outbox::enqueue(conn, &events).await?;
            let approval = approval_of_step_on_conn(conn, run_id, seq).await?;
            Ok(StepView::of(step, Some(end), approval))
        })
        .await
    }
    .await;
    app.audited(auth, &audit, result).await
}

/// How a person ended a human-only step.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HumanDoneBody {
    /// `done` or `failed`.
    #[schema(example = "done")]
    pub status: String,
    /// What they did.
    #[schema(example = "Reset the MFA device after a call-back to the user's desk phone")]
    pub note: String,
}

/// Marks a human-only step (L3) done (or failed) by the person who did it.
pub async fn human_done<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    run_id: &str,
    seq: i32,
    body: Result<HumanDoneBody, ApiError>,
) -> Result<StepView, ApiError> {
    let audit = audited("run.human_step_done", "run", tenant)
        .on_resource(run_id)
        .with_detail("seq", seq);
    let result = async {
        let caller = permit_local(auth, tenant)?;
        let body = body?;
        let status = match one_of("status", &body.status, &["done", "failed"])? {
            "done" => "DONE",
            _ => "FAILED",
        };
        check_text("note", &body.note, 500)?;
        let by = caller.ctx.principal.subject.clone();
        let audit = audit.clone().with_detail("status", status);
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            let mut events = expire_due_on_conn(app, conn, tenant).await?;
            let mut run = run_of_on_conn(conn, run_id).await?;
            let mut step = step_get_on_conn(conn, run_id, seq)
                .await?
                .ok_or_else(|| ApiError::not_found("step"))?;
            if step.status != "WAITING_HUMAN" {
                return Err(ApiError::conflict(format!(
                    "the step is {}: only a human-only step waiting for a person is marked done",
                    step.status
                ))
                .with_code(Code::InvalidTransition)
                .with_extension("allowed", json!(["WAITING_HUMAN"])));
            }
            let at = now();
            let end = StepEndRow {
                outcome: Some(body.note.clone()),
                ..not_run(&step, at, &by)
            };
            end_step_on_conn(
                app,
                conn,
                &mut step,
                status,
                &end,
                &run.workspace_id,
                &mut events,
            )
            .await?;
            events.extend(resume_on_conn(app, conn, &mut run, at, &by).await?);
            events.push(
                app.events
                    .audit(&caller.ctx, &audit, Outcome::Allowed, None)?,
            );
            Outbox::enqueue(conn, &events).await?;
            Ok(StepView::of(step, Some(end), None))
        })
        .await
    }
    .await;
    app.audited(auth, &audit, result).await
}

/// How a run ended, as the runtime reports it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunEndBody {
    /// `succeeded`, `failed` or `cancelled`.
    #[schema(example = "succeeded")]
    pub status: String,
}

/// Ends the run; none of its steps may still be open.
pub async fn run_end<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    run_id: &str,
    body: Result<RunEndBody, ApiError>,
) -> Result<RunView, ApiError> {
    let audit = audited("run.end", "run", tenant).on_resource(run_id);
    let result = async {
        let caller = permit_local(auth, tenant)?;
        let body = body?;
        let status = match one_of(
            "status",
            &body.status,
            &["succeeded", "failed", "cancelled"],
        )? {
            "succeeded" => "SUCCEEDED",
            "failed" => "FAILED",
            _ => "CANCELLED",
        };
        let by = caller.ctx.principal.subject.clone();
        let audit = audit.clone().with_detail("status", status);
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            let mut events = expire_due_on_conn(app, conn, tenant).await?;
            let mut run = run_of_on_conn(conn, run_id).await?;
            if ENDED.contains(&run.status.as_str()) {
                return Err(ApiError::conflict(format!("the run is {}", run.status))
                    .with_code(Code::InvalidTransition));
            }
            if let Some(open) = open_step_of_on_conn(conn, run_id, &OPEN).await? {
                return Err(ApiError::conflict(format!(
                    "step {} ({}) is {}: report its end first",
                    open.seq, open.step_key, open.status
                ))
                .with_code(Code::InvalidTransition));
            }
            let at = now();
            events.push(run_move_on_conn(app, conn, &mut run, RUN_ENDED, status, at, &by).await?);
            events.push(
                app.events
                    .audit(&caller.ctx, &audit, Outcome::Allowed, None)?,
            );
            Outbox::enqueue(conn, &events).await?;
            let steps = steps_of_on_conn(conn, run_id).await?;
            let ends = step_ends_of_on_conn(conn, run_id).await?;
            let approvals = approvals_of_run_on_conn(conn, run_id).await?;
            RunView::of(run, Some(step_views(steps, ends, approvals)))
        })
        .await
    }
    .await;
    app.audited(auth, &audit, result).await
}

/// The steps, each with its end and approval request (all in step order).
fn step_views(
    steps: Vec<StepRow>,
    ends: Vec<StepEndRow>,
    approvals: Vec<ApprovalRow>,
) -> Vec<StepView> {
    let mut ends = ends.into_iter().peekable();
    let mut approvals = approvals.into_iter().peekable();
    steps
        .into_iter()
        .map(|step| {
            let end = ends.next_if(|e| e.seq == step.seq);
            let approval = approvals.next_if(|a| a.seq == step.seq);
            StepView::of(step, end, approval)
        })
        .collect()
}

/// A run with its steps.
pub async fn run_get<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    run_id: &str,
) -> Result<RunView, ApiError> {
    permit_local(auth, tenant)?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
        let events = expire_due_on_conn(app, conn, tenant).await?;
        Outbox::enqueue(conn, &events).await?;
        let run = run_get_on_conn(conn, run_id, false)
            .await?
            .ok_or_else(|| ApiError::not_found("run"))?;
        let steps = steps_of_on_conn(conn, run_id).await?;
        let ends = step_ends_of_on_conn(conn, run_id).await?;
        let approvals = approvals_of_run_on_conn(conn, run_id).await?;
        RunView::of(run, Some(step_views(steps, ends, approvals)))
    })
    .await
}

/// `GET …/runs`: what to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct RunQuery {
    pub workspace_id: Option<String>,
    /// `RUNNING`, `WAITING_APPROVAL`, `WAITING_HUMAN`, `SUCCEEDED`, `FAILED`
    /// or `CANCELLED`.
    pub status: Option<String>,
    /// The workflow's or playbook's id.
    pub subject_id: Option<String>,
    /// Only runs started before this time (RFC 3339): the next page starts
    /// before the last run's `started_at`.
    pub before: Option<String>,
    /// At most this many (1 to 200; 50 by default).
    pub limit: Option<i64>,
}

/// The tenant's runs, newest first.
pub async fn run_list<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    tenant: TenantId,
    query: RunQuery,
) -> Result<Vec<RunView>, ApiError> {
    if let Some(status) = &query.status {
        one_of(
            "status",
            status,
            &[
                "RUNNING",
                "WAITING_APPROVAL",
                "WAITING_HUMAN",
                "SUCCEEDED",
                "FAILED",
                "CANCELLED",
            ],
        )?;
    }
    let before = query
        .before
        .as_deref()
        .map(|b| {
            OffsetDateTime::parse(b, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::invalid_request("before", "`before` is an RFC 3339 time"))
        })
        .transpose()?;
    let limit = limit_param(query.limit)?;
    permit_on(app, auth, tenant).await?;
    let filter = RunFilter {
        workspace: query.workspace_id.as_deref(),
        status: query.status.as_deref(),
        subject: query.subject_id.as_deref(),
        before,
    };
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
        let events = expire_due_on_conn(app, conn, tenant).await?;
        Outbox::enqueue(conn, &events).await?;
        run_list_on_conn(conn, &tenant.to_string(), &filter, limit)
            .await?
            .into_iter()
            .map(|row| RunView::of(row, None))
            .collect()
    })
    .await
}

/// A list's `limit`: 1 to 200, 50 by default.
pub(crate) fn limit_param(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid_request("limit", "`limit` is 1 to 200")),
    }
}

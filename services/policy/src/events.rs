//! What the policy service publishes on `plinth.policy.v1`: a record's version
//! published, a record retired — keyed by the tenant for a tenant's records,
//! `platform` otherwise — runs, their steps, approval requests and
//! notifications, keyed by the tenant; and an audit event on `plinth.audit.v1`
//! for every action, allowed or refused.

use plinth_bus::{Area, Auditor, BusConfig, Event, PLATFORM_KEY, Schemas, TopicSpec, micros};
use plinth_core::{ApiError, Region, ReqCtx};
use serde::Serialize;
use time::OffsetDateTime;

use crate::store::runs::{ApprovalRow, NotificationRow, RunRow, StepEndRow, StepRow};
use crate::store::{RecordRow, VersionRow};

pub use plinth_bus::{Audited, Outcome};

const SERVICE: &str = "policy";
pub const RECORD_PUBLISHED: &str = "plinth.policy.record_published";
pub const RECORD_RETIRED: &str = "plinth.policy.record_retired";
pub const RUN_STARTED: &str = "plinth.run.started";
pub const RUN_WAITING: &str = "plinth.run.waiting";
pub const RUN_RESUMED: &str = "plinth.run.resumed";
pub const RUN_ENDED: &str = "plinth.run.ended";
pub const STEP_DECIDED: &str = "plinth.run.step_decided";
pub const STEP_ENDED: &str = "plinth.run.step_ended";
pub const APPROVAL_REQUESTED: &str = "plinth.approval.requested";
pub const APPROVAL_APPROVED: &str = "plinth.approval.approved";
pub const APPROVAL_REJECTED: &str = "plinth.approval.rejected";
pub const APPROVAL_EXPIRED: &str = "plinth.approval.expired";
pub const NOTIFICATION_CREATED: &str = "plinth.notification.created";

#[expect(
    clippy::expect_used,
    reason = "the service's Avro schemas are compiled in and parse"
)]
fn schemas() -> Schemas {
    Schemas::from_sources([
        include_str!("../../../schemas/avro/policy/record_changed.avsc"),
        include_str!("../../../schemas/avro/policy/run_changed.avsc"),
        include_str!("../../../schemas/avro/policy/step_changed.avsc"),
        include_str!("../../../schemas/avro/policy/approval_changed.avsc"),
        include_str!("../../../schemas/avro/policy/notification_created.avsc"),
        include_str!("../../../schemas/avro/tenant/workspace_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/tenant_created.avsc"),
        include_str!("../../../schemas/avro/tenant/tenant_status_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/entitlement_changed.avsc"),
        include_str!("../../../schemas/avro/metering/usage_recorded.avsc"),
        include_str!("../../../schemas/avro/tenant/onboarding_requested.avsc"),
        include_str!("../../../schemas/avro/tenant/offboarding_requested.avsc"),
        include_str!("../../../schemas/avro/provisioning/provisioning_result.avsc"),
        include_str!("../../../schemas/avro/audit/audit_event.avsc"),
    ])
    .expect("the service's Avro schemas parse")
}

#[derive(Serialize)]
struct PolicyRecordChanged<'a> {
    record_id: &'a str,
    version: i32,
    level: &'a str,
    tenant_id: Option<&'a str>,
    module_id: Option<&'a str>,
    name: &'a str,
    reason: &'a str,
    rules: String,
    occurred_at: i64,
    occurred_by: &'a str,
}

#[derive(Serialize)]
struct RunChanged<'a> {
    run_id: &'a str,
    tenant_id: &'a str,
    workspace_id: &'a str,
    subject_kind: &'a str,
    subject_id: &'a str,
    subject_version: &'a str,
    config_version: Option<&'a str>,
    status: &'a str,
    steps: i32,
    occurred_at: i64,
    occurred_by: &'a str,
}

#[derive(Serialize)]
struct StepChanged<'a> {
    run_id: &'a str,
    seq: i32,
    tenant_id: &'a str,
    workspace_id: &'a str,
    step_key: &'a str,
    action_class: &'a str,
    tool: Option<&'a str>,
    module_id: Option<&'a str>,
    gate: &'a str,
    decision: &'a str,
    status: &'a str,
    policy_etag: &'a str,
    provider_kind: Option<&'a str>,
    model: Option<&'a str>,
    tokens_in: i64,
    tokens_out: i64,
    occurred_at: i64,
    occurred_by: &'a str,
}

#[derive(Serialize)]
struct ApprovalChanged<'a> {
    request_id: &'a str,
    tenant_id: &'a str,
    workspace_id: &'a str,
    run_id: &'a str,
    seq: i32,
    status: &'a str,
    requested_by: Option<&'a str>,
    expires_at: i64,
    decided_by: Option<&'a str>,
    reason: Option<&'a str>,
    occurred_at: i64,
    occurred_by: &'a str,
}

#[derive(Serialize)]
struct NotificationCreated<'a> {
    notification_id: &'a str,
    tenant_id: &'a str,
    workspace_id: &'a str,
    run_id: &'a str,
    seq: i32,
    roles: Vec<&'a str>,
    title: &'a str,
    occurred_at: i64,
}

/// Builds this service's events.
#[derive(Debug)]
pub struct Events {
    schemas: Schemas,
    policy_topic: String,
    tenant_topic: String,
    metering_topic: String,
    audit_topic: String,
    source: String,
    auditor: Auditor,
}

impl Events {
    pub fn new(bus: &BusConfig, region: Region) -> Self {
        Events {
            schemas: schemas(),
            policy_topic: bus.topic(Area::Policy),
            tenant_topic: bus.topic(Area::Tenant),
            metering_topic: bus.topic(Area::Metering),
            audit_topic: bus.topic(Area::Audit),
            source: format!("/plinth/{region}/{SERVICE}"),
            auditor: Auditor::new(bus.topic(Area::Audit), region, SERVICE),
        }
    }

    /// The registry's topic, whose events it projects, and the runtimes'
    /// usage.
    /// The registry's topic, which the workspaces' consumer reads.
    pub fn tenant_topic(&self) -> String {
        self.tenant_topic.clone()
    }

    pub fn consumed_topics(&self) -> Vec<String> {
        vec![self.tenant_topic.clone(), self.metering_topic.clone()]
    }

    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// The topics it writes to and reads, with their dead-letter topics.
    pub fn topics(&self, partitions: i32) -> Vec<TopicSpec> {
        [
            &self.policy_topic,
            &self.tenant_topic,
            &self.metering_topic,
            &self.audit_topic,
        ]
        .into_iter()
        .flat_map(|t| {
            let spec = TopicSpec::new(t, partitions);
            [spec.dlq(), spec]
        })
        .collect()
    }

    /// `plinth.policy.record_published` or `plinth.policy.record_retired`, of
    /// `version` (the one published, or the one in force when retired).
    pub fn record_changed(
        &self,
        ty: &str,
        record: &RecordRow,
        version: &VersionRow,
        reason: &str,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(
                "plinth.policy.PolicyRecordChanged",
                &PolicyRecordChanged {
                    record_id: &record.record_id,
                    version: version.version,
                    level: &record.level,
                    tenant_id: record.tenant_id.as_deref(),
                    module_id: record.module_id.as_deref(),
                    name: &record.name,
                    reason,
                    rules: version.document["rules"].to_string(),
                    occurred_at: micros(at),
                    occurred_by: by,
                },
            )
            .map_err(ApiError::internal)?;
        Ok(Event::new(
            &self.policy_topic,
            record.tenant_id.as_deref().unwrap_or(PLATFORM_KEY),
            ty,
            &self.source,
            payload,
        )
        .with_subject(record.record_id.clone()))
    }

    /// An event of a tenant on `plinth.policy.v1`, about `subject`.
    fn tenant_event(
        &self,
        ty: &str,
        schema: &str,
        tenant: &str,
        subject: String,
        payload: &impl Serialize,
    ) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(schema, payload)
            .map_err(ApiError::internal)?;
        Ok(Event::new(&self.policy_topic, tenant, ty, &self.source, payload).with_subject(subject))
    }

    /// `plinth.run.started`, `.waiting`, `.resumed` or `.ended`: the run as it
    /// stands now.
    pub fn run_changed(&self, ty: &str, run: &RunRow, by: &str) -> Result<Event, ApiError> {
        self.tenant_event(
            ty,
            "plinth.policy.RunChanged",
            &run.tenant_id,
            run.run_id.clone(),
            &RunChanged {
                run_id: &run.run_id,
                tenant_id: &run.tenant_id,
                workspace_id: &run.workspace_id,
                subject_kind: &run.subject_kind,
                subject_id: &run.subject_id,
                subject_version: &run.subject_version,
                config_version: run.config_version.as_deref(),
                status: &run.status,
                steps: run.steps,
                occurred_at: micros(run.updated_at),
                occurred_by: by,
            },
        )
    }

    /// `plinth.run.step_decided` or `.step_ended`: the step of the run in
    /// `workspace` as it stands now, and how it ended.
    pub fn step_changed(
        &self,
        ty: &str,
        step: &StepRow,
        end: Option<&StepEndRow>,
        workspace: &str,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        self.tenant_event(
            ty,
            "plinth.policy.StepChanged",
            &step.tenant_id,
            format!("{}/{}", step.run_id, step.seq),
            &StepChanged {
                run_id: &step.run_id,
                seq: step.seq,
                tenant_id: &step.tenant_id,
                workspace_id: workspace,
                step_key: &step.step_key,
                action_class: &step.action_class,
                tool: step.tool.as_deref(),
                module_id: step.module_id.as_deref(),
                gate: &step.gate,
                decision: &step.decision,
                status: &step.status,
                policy_etag: &step.policy_etag,
                provider_kind: end.and_then(|e| e.provider_kind.as_deref()),
                model: end.and_then(|e| e.model.as_deref()),
                tokens_in: end.map_or(0, |e| e.tokens_in),
                tokens_out: end.map_or(0, |e| e.tokens_out),
                occurred_at: micros(at),
                occurred_by: by,
            },
        )
    }

    /// `plinth.approval.requested`, `.approved`, `.rejected` or `.expired`.
    pub fn approval_changed(
        &self,
        ty: &str,
        request: &ApprovalRow,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        self.tenant_event(
            ty,
            "plinth.policy.ApprovalChanged",
            &request.tenant_id,
            request.request_id.clone(),
            &ApprovalChanged {
                request_id: &request.request_id,
                tenant_id: &request.tenant_id,
                workspace_id: &request.workspace_id,
                run_id: &request.run_id,
                seq: request.seq,
                status: &request.status,
                requested_by: request.requested_by.as_deref(),
                expires_at: micros(request.expires_at),
                decided_by: request.decided_by.as_deref(),
                reason: request.reason.as_deref(),
                occurred_at: micros(at),
                occurred_by: by,
            },
        )
    }

    /// `plinth.notification.created`.
    pub fn notification_created(&self, row: &NotificationRow) -> Result<Event, ApiError> {
        self.tenant_event(
            NOTIFICATION_CREATED,
            "plinth.policy.NotificationCreated",
            &row.tenant_id,
            row.notification_id.clone(),
            &NotificationCreated {
                notification_id: &row.notification_id,
                tenant_id: &row.tenant_id,
                workspace_id: &row.workspace_id,
                run_id: &row.run_id,
                seq: row.seq,
                roles: row.roles.iter().flatten().map(String::as_str).collect(),
                title: &row.title,
                occurred_at: micros(row.created_at),
            },
        )
    }

    /// The answer for one of the service's lifecycle items.
    pub fn item_result(
        &self,
        ty: &str,
        tenant: &str,
        item: &str,
        reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Event, ApiError> {
        plinth_bus::lifecycle::ProvisioningResult::event(
            &self.schemas,
            &self.policy_topic,
            &self.source,
            ty,
            SERVICE,
            tenant,
            item,
            reason,
            at,
        )
        .map_err(ApiError::internal)
    }

    pub fn audit(
        &self,
        ctx: &ReqCtx,
        audited: &Audited,
        outcome: Outcome,
        reason: Option<&str>,
    ) -> Result<Event, ApiError> {
        self.auditor
            .event(&self.schemas, ctx, audited, outcome, reason)
    }
}

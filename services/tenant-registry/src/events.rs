//! What the tenant registry publishes: tenant lifecycle events on
//! `plinth.tenant.v1` and audit events on `plinth.audit.v1`, key = tenant id, Avro
//! payloads from `schemas/avro/`, written to the outbox in the same transaction as
//! the change.

use plinth_bus::{Area, Auditor, BusConfig, Event, Schemas, TopicSpec, micros};
pub use plinth_bus::{Audited, Outcome};
use plinth_core::{ApiError, Region, ReqCtx, TenantId};
use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::TenantStatus;
use crate::store::checklist::ChecklistItemRow;
use crate::store::entitlements::EntitlementRow;
use crate::store::offboarding::OffboardingRequestRow;
use crate::store::onboarding::OnboardingRequestRow;
use crate::store::role_bindings::RoleBindingRow;
use crate::store::tenants::TenantRow;
use crate::store::workspaces::WorkspaceRow;

pub const TENANT_CREATED: &str = "plinth.tenant.created";
pub const TENANT_STATUS_CHANGED: &str = "plinth.tenant.status_changed";
pub const TENANT_ACTIVATED: &str = "plinth.tenant.activated";
pub const TENANT_SUSPENDED: &str = "plinth.tenant.suspended";
pub use plinth_bus::lifecycle::{
    OFFBOARDING_ITEM_RETRY as TENANT_OFFBOARDING_ITEM_RETRY,
    OFFBOARDING_REQUESTED as TENANT_OFFBOARDING_REQUESTED,
    ONBOARDING_ITEM_RETRY as TENANT_ONBOARDING_ITEM_RETRY,
    ONBOARDING_REQUESTED as TENANT_ONBOARDING_REQUESTED, ProvisioningResult,
};
pub const TENANT_OFFBOARDED: &str = "plinth.tenant.offboarded";
pub const ENTITLEMENT_CHANGED: &str = "plinth.entitlement.changed";
pub const ROLE_BINDING_CREATED: &str = "plinth.role_binding.created";
pub const ROLE_BINDING_DELETED: &str = "plinth.role_binding.deleted";
pub const GROUP_MAPPING_CREATED: &str = "plinth.group_mapping.created";
pub const GROUP_MAPPING_DELETED: &str = "plinth.group_mapping.deleted";
pub const WORKSPACE_CREATED: &str = "plinth.workspace.created";
pub const WORKSPACE_UPDATED: &str = "plinth.workspace.updated";
pub const WORKSPACE_DELETED: &str = "plinth.workspace.deleted";

const SERVICE: &str = "tenant-registry";

/// The schemas this service writes with, compiled in.
#[expect(
    clippy::expect_used,
    reason = "the service's Avro schemas are compiled in and parse"
)]
fn schemas() -> Schemas {
    Schemas::from_sources([
        include_str!("../../../schemas/avro/tenant/tenant_created.avsc"),
        include_str!("../../../schemas/avro/tenant/tenant_status_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/workspace_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/onboarding_requested.avsc"),
        include_str!("../../../schemas/avro/tenant/offboarding_requested.avsc"),
        include_str!("../../../schemas/avro/tenant/entitlement_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/role_binding_changed.avsc"),
        include_str!("../../../schemas/avro/provisioning/provisioning_result.avsc"),
        include_str!("../../../schemas/avro/audit/audit_event.avsc"),
    ])
    .expect("the service's Avro schemas parse")
}

/// Builds this service's events.
#[derive(Debug)]
pub struct Events {
    schemas: Schemas,
    tenant_topic: String,
    audit_topic: String,
    source: String,
    auditor: Auditor,
}

#[derive(Serialize)]
struct TenantCreated<'a> {
    tenant_id: &'a str,
    slug: &'a str,
    display_name: &'a str,
    region: &'a str,
    status: &'a str,
    deployment_model: &'a str,
    data_mode: &'a str,
    created_at: i64,
    created_by: &'a str,
}

#[derive(Serialize)]
struct TenantStatusChanged<'a> {
    tenant_id: &'a str,
    from_status: &'a str,
    to_status: &'a str,
    reason: Option<&'a str>,
    changed_at: i64,
    changed_by: &'a str,
}

#[derive(Serialize)]
struct WorkspaceChanged<'a> {
    tenant_id: &'a str,
    workspace_id: &'a str,
    name: &'a str,
    data_mode: &'a str,
    retention_days: i32,
    write_cap_per_day: Option<i32>,
    approval_tier: &'a str,
    changed_at: i64,
    changed_by: &'a str,
}

#[derive(Serialize)]
struct ChecklistItemRef<'a> {
    key: &'a str,
    owner: &'a str,
}

#[derive(Serialize)]
struct OnboardingRequested<'a> {
    tenant_id: &'a str,
    deployment_model: &'a str,
    data_mode: &'a str,
    items: Vec<ChecklistItemRef<'a>>,
    requested_modules: &'a [String],
    requested_packs: &'a [String],
    requested_at: i64,
    requested_by: &'a str,
}

#[derive(Serialize)]
struct OffboardingRequested<'a> {
    tenant_id: &'a str,
    reason: &'a str,
    items: Vec<ChecklistItemRef<'a>>,
    requested_at: i64,
    requested_by: &'a str,
}

fn item_refs(items: &[ChecklistItemRow]) -> Vec<ChecklistItemRef<'_>> {
    items
        .iter()
        .map(|i| ChecklistItemRef {
            key: &i.item_key,
            owner: &i.owner,
        })
        .collect()
}

/// The schema name of [`ProvisioningResult`].
pub const PROVISIONING_RESULT: &str = ProvisioningResult::SCHEMA;

#[derive(Serialize)]
struct EntitlementChanged<'a> {
    tenant_id: &'a str,
    plan: &'a str,
    modules: &'a [String],
    api_rate_per_second: i32,
    max_workspaces: i32,
    max_provider_connections: i32,
    monthly_token_budget: i64,
    changed_at: i64,
    changed_by: &'a str,
}

#[derive(Serialize)]
struct RoleBindingChanged<'a> {
    tenant_id: &'a str,
    binding_id: &'a str,
    workspace_id: Option<&'a str>,
    principal_kind: &'a str,
    principal: &'a str,
    role: &'a str,
    changed_at: i64,
    changed_by: &'a str,
}

impl Events {
    pub fn new(bus: &BusConfig, region: Region) -> Self {
        Events {
            schemas: schemas(),
            tenant_topic: bus.topic(Area::Tenant),
            audit_topic: bus.topic(Area::Audit),
            source: format!("/plinth/{region}/{SERVICE}"),
            auditor: Auditor::new(bus.topic(Area::Audit), region, SERVICE),
        }
    }

    /// The topics this service writes to, with their dead-letter topics.
    pub fn topics(&self, partitions: i32) -> Vec<TopicSpec> {
        [&self.tenant_topic, &self.audit_topic]
            .into_iter()
            .flat_map(|t| {
                let spec = TopicSpec::new(t, partitions);
                [spec.dlq(), spec]
            })
            .collect()
    }

    fn event(&self, topic: &str, key: String, ty: &str, payload: Vec<u8>) -> Event {
        Event::new(topic, key, ty, &self.source, payload)
    }

    pub fn tenant_created(&self, row: &TenantRow) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(
                "plinth.tenant.TenantCreated",
                &TenantCreated {
                    tenant_id: &row.tenant_id,
                    slug: &row.slug,
                    display_name: &row.display_name,
                    region: &row.region,
                    status: &row.status,
                    deployment_model: &row.deployment_model,
                    data_mode: &row.data_mode,
                    created_at: micros(row.created_at),
                    created_by: &row.created_by,
                },
            )
            .map_err(ApiError::internal)?;
        Ok(self
            .event(
                &self.tenant_topic,
                row.tenant_id.clone(),
                TENANT_CREATED,
                payload,
            )
            .with_subject(row.tenant_id.clone()))
    }

    /// `status_changed`, and `activated`, `suspended` or `offboarded` when the tenant
    /// became ACTIVE, SUSPENDED or OFFBOARDED.
    pub fn tenant_status_changed(
        &self,
        ctx: &ReqCtx,
        tenant: TenantId,
        from: TenantStatus,
        to: TenantStatus,
        reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Vec<Event>, ApiError> {
        let id = tenant.to_string();
        let payload = self
            .schemas
            .encode(
                "plinth.tenant.TenantStatusChanged",
                &TenantStatusChanged {
                    tenant_id: &id,
                    from_status: from.as_str(),
                    to_status: to.as_str(),
                    reason,
                    changed_at: micros(at),
                    changed_by: &ctx.principal.subject,
                },
            )
            .map_err(ApiError::internal)?;
        let mut types = vec![TENANT_STATUS_CHANGED];
        match to {
            TenantStatus::Active => types.push(TENANT_ACTIVATED),
            TenantStatus::Suspended => types.push(TENANT_SUSPENDED),
            TenantStatus::Offboarded => types.push(TENANT_OFFBOARDED),
            _ => {}
        }
        Ok(types
            .into_iter()
            .map(|ty| {
                self.event(&self.tenant_topic, id.clone(), ty, payload.clone())
                    .with_subject(id.clone())
            })
            .collect())
    }

    /// `plinth.workspace.created`, `…updated` or `…deleted` (`ty`), with the
    /// workspace's settings.
    pub fn workspace_changed(
        &self,
        ctx: &ReqCtx,
        ty: &'static str,
        row: &WorkspaceRow,
        at: OffsetDateTime,
    ) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(
                "plinth.tenant.WorkspaceChanged",
                &WorkspaceChanged {
                    tenant_id: &row.tenant_id,
                    workspace_id: &row.workspace_id,
                    name: &row.name,
                    data_mode: &row.data_mode,
                    retention_days: row.retention_days,
                    write_cap_per_day: row.write_cap_per_day,
                    approval_tier: &row.approval_tier,
                    changed_at: micros(at),
                    changed_by: &ctx.principal.subject,
                },
            )
            .map_err(ApiError::internal)?;
        Ok(self
            .event(&self.tenant_topic, row.tenant_id.clone(), ty, payload)
            .with_subject(row.workspace_id.clone()))
    }

    /// `plinth.tenant.onboarding_requested` (or `…onboarding_item_retry`, `ty`) for
    /// `items`: what each owning service is asked to provision.
    pub fn onboarding_requested(
        &self,
        ty: &'static str,
        request: &OnboardingRequestRow,
        data_mode: &str,
        items: &[ChecklistItemRow],
    ) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(
                "plinth.tenant.OnboardingRequested",
                &OnboardingRequested {
                    tenant_id: &request.tenant_id,
                    deployment_model: &request.deployment_model,
                    data_mode,
                    items: item_refs(items),
                    requested_modules: &request.requested_modules,
                    requested_packs: &request.requested_packs,
                    requested_at: micros(request.requested_at),
                    requested_by: &request.requested_by,
                },
            )
            .map_err(ApiError::internal)?;
        Ok(self
            .event(&self.tenant_topic, request.tenant_id.clone(), ty, payload)
            .with_subject(request.tenant_id.clone()))
    }

    /// `plinth.tenant.offboarding_requested` (or `…offboarding_item_retry`, `ty`) for
    /// `items`: what each owning service is asked to clean up.
    pub fn offboarding_requested(
        &self,
        ty: &'static str,
        request: &OffboardingRequestRow,
        items: &[ChecklistItemRow],
    ) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(
                "plinth.tenant.OffboardingRequested",
                &OffboardingRequested {
                    tenant_id: &request.tenant_id,
                    reason: &request.reason,
                    items: item_refs(items),
                    requested_at: micros(request.requested_at),
                    requested_by: &request.requested_by,
                },
            )
            .map_err(ApiError::internal)?;
        Ok(self
            .event(&self.tenant_topic, request.tenant_id.clone(), ty, payload)
            .with_subject(request.tenant_id.clone()))
    }

    pub fn entitlement_changed(
        &self,
        ctx: &ReqCtx,
        row: &EntitlementRow,
    ) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(
                "plinth.tenant.EntitlementChanged",
                &EntitlementChanged {
                    tenant_id: &row.tenant_id,
                    plan: &row.plan,
                    modules: &row.modules,
                    api_rate_per_second: row.api_rate_per_second,
                    max_workspaces: row.max_workspaces,
                    max_provider_connections: row.max_provider_connections,
                    monthly_token_budget: row.monthly_token_budget,
                    changed_at: micros(row.updated_at),
                    changed_by: &ctx.principal.subject,
                },
            )
            .map_err(ApiError::internal)?;
        Ok(self
            .event(
                &self.tenant_topic,
                row.tenant_id.clone(),
                ENTITLEMENT_CHANGED,
                payload,
            )
            .with_subject(row.tenant_id.clone()))
    }

    /// A binding created or deleted (`ty`).
    pub fn role_binding_changed(
        &self,
        ctx: &ReqCtx,
        ty: &'static str,
        row: &RoleBindingRow,
        at: OffsetDateTime,
    ) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(
                "plinth.tenant.RoleBindingChanged",
                &RoleBindingChanged {
                    tenant_id: &row.tenant_id,
                    binding_id: &row.binding_id,
                    workspace_id: row.workspace_id.as_deref(),
                    principal_kind: &row.principal_kind,
                    principal: &row.principal,
                    role: &row.role,
                    changed_at: micros(at),
                    changed_by: &ctx.principal.subject,
                },
            )
            .map_err(ApiError::internal)?;
        Ok(self
            .event(&self.tenant_topic, row.tenant_id.clone(), ty, payload)
            .with_subject(row.binding_id.clone()))
    }

    /// The schemas, for decoding what other services send.
    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// The audit event of an action, allowed or refused (`reason`: the error code).
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

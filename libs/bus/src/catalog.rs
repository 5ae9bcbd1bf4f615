//! Every event type Plinth publishes: its topic and the schema of its payload.
//!
//! This is the list partners rely on. `schemas/asyncapi.yaml` describes the same
//! events for them, and tests hold the three together: every type here has a schema
//! in `schemas/avro/` with a released copy, the AsyncAPI document lists exactly
//! these, and an event read from the broker whose type is not here fails.

use crate::Area;
use crate::lifecycle::{self, LifecycleRequest, ProvisioningResult};

/// One kind of event: its CloudEvents `type`, its topic and its payload's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    /// CloudEvents `type` (the `ce_type` header).
    pub ty: &'static str,
    /// The topic it is published on.
    pub area: Area,
    /// Full name of the Avro schema of its payload.
    pub schema: &'static str,
    /// The service that publishes it.
    pub publisher: &'static str,
}

const fn event(
    ty: &'static str,
    area: Area,
    schema: &'static str,
    publisher: &'static str,
) -> EventType {
    EventType {
        ty,
        area,
        schema,
        publisher,
    }
}

const TENANT_CREATED: &str = "plinth.tenant.TenantCreated";
const TENANT_STATUS: &str = "plinth.tenant.TenantStatusChanged";
const WORKSPACE: &str = "plinth.tenant.WorkspaceChanged";
const ONBOARDING: &str = LifecycleRequest::ONBOARDING;
const OFFBOARDING: &str = LifecycleRequest::OFFBOARDING;
const ENTITLEMENT: &str = "plinth.tenant.EntitlementChanged";
const BINDING: &str = "plinth.tenant.RoleBindingChanged";
const PROVISIONING: &str = ProvisioningResult::SCHEMA;
const REGISTRY: &str = "tenant-registry";
const PACKS: &str = "pack-service";
const AUDIT: &str = "audit";
const PROVIDERS: &str = "provider-setup";
const CONNECTION: &str = "plinth.provider.ProviderConnectionChanged";
const LINK: &str = "plinth.provider.SetupLinkChanged";
const POOL_GRANT: &str = "plinth.provider.PoolGrantChanged";
const MODULES: &str = "module-catalog";
const MODULE_DECIDED: &str = "plinth.module.ModuleDecided";
const SIGNER: &str = "plinth.module.TrustedSignerChanged";
const DRIFT: &str = "plinth.module.ModuleDriftChanged";
const ENABLEMENT: &str = "plinth.module.ModuleEnablementChanged";
const POLICY: &str = "policy";
const RECORD: &str = "plinth.policy.PolicyRecordChanged";
const RUN: &str = "plinth.policy.RunChanged";
const STEP: &str = "plinth.policy.StepChanged";
const APPROVAL: &str = "plinth.policy.ApprovalChanged";
const NOTIFICATION: &str = "plinth.policy.NotificationCreated";
const RUNTIME: &str = "runtime";

/// Every event type, grouped by topic.
pub const EVENT_TYPES: &[EventType] = &[
    event(
        "plinth.tenant.created",
        Area::Tenant,
        TENANT_CREATED,
        REGISTRY,
    ),
    event(
        "plinth.tenant.status_changed",
        Area::Tenant,
        TENANT_STATUS,
        REGISTRY,
    ),
    event(
        "plinth.tenant.activated",
        Area::Tenant,
        TENANT_STATUS,
        REGISTRY,
    ),
    event(
        "plinth.tenant.suspended",
        Area::Tenant,
        TENANT_STATUS,
        REGISTRY,
    ),
    event(
        "plinth.tenant.offboarded",
        Area::Tenant,
        TENANT_STATUS,
        REGISTRY,
    ),
    event(
        lifecycle::ONBOARDING_REQUESTED,
        Area::Tenant,
        ONBOARDING,
        REGISTRY,
    ),
    event(
        lifecycle::ONBOARDING_ITEM_RETRY,
        Area::Tenant,
        ONBOARDING,
        REGISTRY,
    ),
    event(
        lifecycle::OFFBOARDING_REQUESTED,
        Area::Tenant,
        OFFBOARDING,
        REGISTRY,
    ),
    event(
        lifecycle::OFFBOARDING_ITEM_RETRY,
        Area::Tenant,
        OFFBOARDING,
        REGISTRY,
    ),
    event(
        "plinth.workspace.created",
        Area::Tenant,
        WORKSPACE,
        REGISTRY,
    ),
    event(
        "plinth.workspace.updated",
        Area::Tenant,
        WORKSPACE,
        REGISTRY,
    ),
    event(
        "plinth.workspace.deleted",
        Area::Tenant,
        WORKSPACE,
        REGISTRY,
    ),
    event(
        "plinth.entitlement.changed",
        Area::Tenant,
        ENTITLEMENT,
        REGISTRY,
    ),
    event(
        "plinth.role_binding.created",
        Area::Tenant,
        BINDING,
        REGISTRY,
    ),
    event(
        "plinth.role_binding.deleted",
        Area::Tenant,
        BINDING,
        REGISTRY,
    ),
    event(
        "plinth.group_mapping.created",
        Area::Tenant,
        BINDING,
        REGISTRY,
    ),
    event(
        "plinth.group_mapping.deleted",
        Area::Tenant,
        BINDING,
        REGISTRY,
    ),
    event(
        "plinth.pack.imported",
        Area::Pack,
        "plinth.pack.PackImported",
        PACKS,
    ),
    event(
        "plinth.pack.validation_failed",
        Area::Pack,
        "plinth.pack.PackValidationFailed",
        PACKS,
    ),
    event(
        "plinth.pack.activated",
        Area::Pack,
        "plinth.pack.PackActivated",
        PACKS,
    ),
    event(
        "plinth.pack.deprecated",
        Area::Pack,
        "plinth.pack.PackDeprecated",
        PACKS,
    ),
    event(
        "plinth.playbook.published",
        Area::Pack,
        "plinth.pack.PlaybookPublished",
        PACKS,
    ),
    event(
        "plinth.workflow.published",
        Area::Pack,
        "plinth.pack.WorkflowPublished",
        PACKS,
    ),
    event(
        "plinth.playbook.linked",
        Area::Pack,
        "plinth.pack.PlaybookLinked",
        PACKS,
    ),
    event(
        "plinth.playbook.unlinked",
        Area::Pack,
        "plinth.pack.PlaybookLinked",
        PACKS,
    ),
    event(
        "plinth.config_change.requested",
        Area::Pack,
        "plinth.pack.ConfigChange",
        PACKS,
    ),
    event(
        "plinth.config_change.approved",
        Area::Pack,
        "plinth.pack.ConfigChange",
        PACKS,
    ),
    event(
        "plinth.config_change.rejected",
        Area::Pack,
        "plinth.pack.ConfigChange",
        PACKS,
    ),
    event(
        "plinth.pack.defaults_assigned",
        Area::Pack,
        PROVISIONING,
        PACKS,
    ),
    event(
        "plinth.pack.defaults_assignment_failed",
        Area::Pack,
        PROVISIONING,
        PACKS,
    ),
    event("plinth.pack.deprovisioned", Area::Pack, PROVISIONING, PACKS),
    event(
        "plinth.pack.deprovisioning_failed",
        Area::Pack,
        PROVISIONING,
        PACKS,
    ),
    event(
        "plinth.module.imported",
        Area::Module,
        "plinth.module.ModuleImported",
        MODULES,
    ),
    event(
        "plinth.module.approved",
        Area::Module,
        MODULE_DECIDED,
        MODULES,
    ),
    event(
        "plinth.module.rejected",
        Area::Module,
        MODULE_DECIDED,
        MODULES,
    ),
    event(
        "plinth.module.deprecated",
        Area::Module,
        MODULE_DECIDED,
        MODULES,
    ),
    event(
        "plinth.module.revoked",
        Area::Module,
        MODULE_DECIDED,
        MODULES,
    ),
    event("plinth.module.signer_added", Area::Module, SIGNER, MODULES),
    event(
        "plinth.module.signer_expired",
        Area::Module,
        SIGNER,
        MODULES,
    ),
    event(
        "plinth.module.signer_revoked",
        Area::Module,
        SIGNER,
        MODULES,
    ),
    event(
        "plinth.module.deployment_reported",
        Area::Module,
        "plinth.module.ModuleDeploymentReported",
        MODULES,
    ),
    event("plinth.module.drift_detected", Area::Module, DRIFT, MODULES),
    event("plinth.module.drift_resolved", Area::Module, DRIFT, MODULES),
    event("plinth.module.enabled", Area::Module, ENABLEMENT, MODULES),
    event("plinth.module.upgraded", Area::Module, ENABLEMENT, MODULES),
    event("plinth.module.disabled", Area::Module, ENABLEMENT, MODULES),
    event(
        "plinth.module.enablement_revoked",
        Area::Module,
        ENABLEMENT,
        MODULES,
    ),
    event(
        "plinth.module.defaults_enabled",
        Area::Module,
        PROVISIONING,
        MODULES,
    ),
    event(
        "plinth.module.defaults_enablement_failed",
        Area::Module,
        PROVISIONING,
        MODULES,
    ),
    event(
        "plinth.module.deprovisioned",
        Area::Module,
        PROVISIONING,
        MODULES,
    ),
    event(
        "plinth.provider.connection_created",
        Area::Provider,
        CONNECTION,
        PROVIDERS,
    ),
    event(
        "plinth.provider.key_activated",
        Area::Provider,
        CONNECTION,
        PROVIDERS,
    ),
    event(
        "plinth.provider.link_minted",
        Area::Provider,
        LINK,
        PROVIDERS,
    ),
    event(
        "plinth.provider.link_revoked",
        Area::Provider,
        LINK,
        PROVIDERS,
    ),
    event(
        "plinth.provider.link_redeemed",
        Area::Provider,
        LINK,
        PROVIDERS,
    ),
    event(
        "plinth.provider.key_validated",
        Area::Provider,
        "plinth.provider.KeyValidated",
        PROVIDERS,
    ),
    event(
        "plinth.provider.key_destroyed",
        Area::Provider,
        "plinth.provider.KeyDestroyed",
        PROVIDERS,
    ),
    event(
        "plinth.provider.health_changed",
        Area::Provider,
        "plinth.provider.ProviderHealthChanged",
        PROVIDERS,
    ),
    event(
        "plinth.provider.setup_ready",
        Area::Provider,
        PROVISIONING,
        PROVIDERS,
    ),
    event(
        "plinth.provider.setup_failed",
        Area::Provider,
        PROVISIONING,
        PROVIDERS,
    ),
    event(
        "plinth.provider.deprovisioned",
        Area::Provider,
        PROVISIONING,
        PROVIDERS,
    ),
    event(
        "plinth.provider.pool_granted",
        Area::Provider,
        POOL_GRANT,
        PROVIDERS,
    ),
    event(
        "plinth.provider.pool_withdrawn",
        Area::Provider,
        POOL_GRANT,
        PROVIDERS,
    ),
    event(
        "plinth.policy.record_published",
        Area::Policy,
        RECORD,
        POLICY,
    ),
    event("plinth.policy.record_retired", Area::Policy, RECORD, POLICY),
    event(
        "plinth.policy.registry_enrolled",
        Area::Policy,
        PROVISIONING,
        POLICY,
    ),
    event(
        "plinth.policy.registry_enrollment_failed",
        Area::Policy,
        PROVISIONING,
        POLICY,
    ),
    event(
        "plinth.policy.deprovisioned",
        Area::Policy,
        PROVISIONING,
        POLICY,
    ),
    event("plinth.run.started", Area::Policy, RUN, POLICY),
    event("plinth.run.waiting", Area::Policy, RUN, POLICY),
    event("plinth.run.resumed", Area::Policy, RUN, POLICY),
    event("plinth.run.ended", Area::Policy, RUN, POLICY),
    event("plinth.run.step_decided", Area::Policy, STEP, POLICY),
    event("plinth.run.step_ended", Area::Policy, STEP, POLICY),
    event("plinth.approval.requested", Area::Policy, APPROVAL, POLICY),
    event("plinth.approval.approved", Area::Policy, APPROVAL, POLICY),
    event("plinth.approval.rejected", Area::Policy, APPROVAL, POLICY),
    event("plinth.approval.expired", Area::Policy, APPROVAL, POLICY),
    event(
        "plinth.notification.created",
        Area::Policy,
        NOTIFICATION,
        POLICY,
    ),
    event(
        "plinth.metering.usage_recorded",
        Area::Metering,
        "plinth.metering.UsageRecorded",
        RUNTIME,
    ),
    event(
        crate::AUDIT_EVENT,
        Area::Audit,
        crate::AuditEvent::SCHEMA,
        "every service and the gateway",
    ),
    event(
        "plinth.audit.checkpoint_signed",
        Area::Audit,
        "plinth.audit.CheckpointSigned",
        AUDIT,
    ),
    event(
        "plinth.audit.store_provisioned",
        Area::Audit,
        PROVISIONING,
        AUDIT,
    ),
    event(
        "plinth.audit.deprovisioned",
        Area::Audit,
        PROVISIONING,
        AUDIT,
    ),
    event(SESSION_ENDED_TYPE, Area::Session, SESSION_ENDED, "gateway"),
];

/// The CloudEvents type of a session a person ended (logout).
pub const SESSION_ENDED_TYPE: &str = "plinth.session.ended";
/// Its payload's schema.
pub const SESSION_ENDED: &str = "plinth.session.SessionEnded";

/// The event type `ty`, if Plinth publishes it.
pub fn event_type(ty: &str) -> Option<&'static EventType> {
    EVENT_TYPES.iter().find(|e| e.ty == ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_is_listed_once_and_named_after_its_topic_family() {
        let mut seen = std::collections::HashSet::new();
        for e in EVENT_TYPES {
            assert!(seen.insert(e.ty), "{} is listed twice", e.ty);
            assert!(e.ty.starts_with("plinth."), "{}", e.ty);
            assert!(e.schema.starts_with("plinth."), "{}", e.schema);
        }
        assert_eq!(
            event_type("plinth.tenant.created").map(|e| e.area),
            Some(Area::Tenant)
        );
        assert!(event_type("plinth.tenant.nope").is_none());
    }
}

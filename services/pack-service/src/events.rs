//! What the pack service publishes and reads on the bus. It publishes on
//! `plinth.pack.v1` (key: the tenant id, or `platform` for Domain Packs and
//! playbooks) and audit events on `plinth.audit.v1`; it reads the tenant
//! registry's `plinth.tenant.v1` (tenants, and the lifecycle sagas' requests) and
//! the module catalog's `plinth.module.v1` (the decisions on releases, whose tools
//! packs may call), and follows its own topic to drop cached configurations.

use plinth_bus::lifecycle::ProvisioningResult;
use plinth_bus::{
    Area, Auditor, BusConfig, Event, PLATFORM_KEY, Schemas, TopicSpec, capped, limits, micros,
};
use plinth_core::{ApiError, Region, ReqCtx, TenantId};
use serde::Serialize;
use time::OffsetDateTime;

pub use plinth_bus::{Audited, Outcome};

use crate::format::Issue;

pub const PACK_IMPORTED: &str = "plinth.pack.imported";
pub const PACK_VALIDATION_FAILED: &str = "plinth.pack.validation_failed";
pub const PACK_ACTIVATED: &str = "plinth.pack.activated";
pub const PACK_DEPRECATED: &str = "plinth.pack.deprecated";
pub const PLAYBOOK_PUBLISHED: &str = "plinth.playbook.published";
pub const WORKFLOW_PUBLISHED: &str = "plinth.workflow.published";
pub const PLAYBOOK_LINKED: &str = "plinth.playbook.linked";
pub const PLAYBOOK_UNLINKED: &str = "plinth.playbook.unlinked";
pub const CONFIG_CHANGE_REQUESTED: &str = "plinth.config_change.requested";
pub const CONFIG_CHANGE_APPROVED: &str = "plinth.config_change.approved";
pub const CONFIG_CHANGE_REJECTED: &str = "plinth.config_change.rejected";
pub const DEFAULTS_ASSIGNED: &str = "plinth.pack.defaults_assigned";
pub const DEFAULTS_ASSIGNMENT_FAILED: &str = "plinth.pack.defaults_assignment_failed";
pub const DEPROVISIONED: &str = "plinth.pack.deprovisioned";
pub const DEPROVISIONING_FAILED: &str = "plinth.pack.deprovisioning_failed";

pub use plinth_bus::module::{MODULE_DECISIONS, ModuleDecided};
pub use plinth_bus::tenant::{
    TENANT_CREATED, TENANT_STATUS_CHANGED, TenantCreated, TenantStatusChanged, WORKSPACE_CREATED,
    WORKSPACE_DELETED, WORKSPACE_UPDATED, WorkspaceChanged,
};
pub const TENANT_ACTIVATED: &str = "plinth.tenant.activated";
pub const TENANT_SUSPENDED: &str = "plinth.tenant.suspended";
pub const TENANT_OFFBOARDED: &str = "plinth.tenant.offboarded";

/// The owner name the lifecycle checklists give this service's items.
pub const OWNER: &str = "pack-service";
const SERVICE: &str = "pack-service";

#[expect(
    clippy::expect_used,
    reason = "the service's Avro schemas are compiled in and parse"
)]
fn schemas() -> Schemas {
    Schemas::from_sources([
        include_str!("../../../schemas/avro/pack/pack_imported.avsc"),
        include_str!("../../../schemas/avro/pack/pack_validation_failed.avsc"),
        include_str!("../../../schemas/avro/pack/pack_activated.avsc"),
        include_str!("../../../schemas/avro/pack/pack_deprecated.avsc"),
        include_str!("../../../schemas/avro/pack/playbook_published.avsc"),
        include_str!("../../../schemas/avro/pack/workflow_published.avsc"),
        include_str!("../../../schemas/avro/pack/playbook_linked.avsc"),
        include_str!("../../../schemas/avro/pack/config_change.avsc"),
        include_str!("../../../schemas/avro/module/module_decided.avsc"),
        include_str!("../../../schemas/avro/tenant/tenant_created.avsc"),
        include_str!("../../../schemas/avro/tenant/tenant_status_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/workspace_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/onboarding_requested.avsc"),
        include_str!("../../../schemas/avro/tenant/offboarding_requested.avsc"),
        include_str!("../../../schemas/avro/provisioning/provisioning_result.avsc"),
        include_str!("../../../schemas/avro/audit/audit_event.avsc"),
    ])
    .expect("the service's Avro schemas parse")
}

#[derive(Serialize)]
struct PackImported<'a> {
    tenant_id: &'a str,
    kind: &'a str,
    pack_id: &'a str,
    domain: &'a str,
    version: &'a str,
    checksum: &'a str,
    imported_at: i64,
    imported_by: &'a str,
}

#[derive(Serialize)]
struct PackValidationFailed<'a> {
    tenant_id: &'a str,
    kind: &'a str,
    attempt_id: &'a str,
    domain: Option<&'a str>,
    version: Option<&'a str>,
    checksum: &'a str,
    dry_run: bool,
    errors: Vec<Issue>,
    failed_at: i64,
    failed_by: &'a str,
    errors_omitted: i32,
}

/// Problems listed in one `plinth.pack.validation_failed` event; the rest are
/// counted in its `errors_omitted` (the attempt itself keeps them all).
pub const EVENT_ISSUES: usize = 100;

/// The first [`EVENT_ISSUES`] problems, each field capped, and how many were left out.
fn issues_for_event(errors: &[Issue]) -> (Vec<Issue>, i32) {
    let listed = errors
        .iter()
        .take(EVENT_ISSUES)
        .map(|issue| Issue {
            pointer: capped(&issue.pointer, limits::DETAIL_VALUE),
            code: capped(&issue.code, limits::REASON),
            message: capped(&issue.message, limits::DETAIL_VALUE),
        })
        .collect();
    let omitted = errors.len().saturating_sub(EVENT_ISSUES);
    (listed, i32::try_from(omitted).unwrap_or(i32::MAX))
}

#[derive(Serialize)]
struct PackActivated<'a> {
    tenant_id: &'a str,
    activation_id: &'a str,
    domain: &'a str,
    domain_pack_version: &'a str,
    tenant_pack_version: Option<&'a str>,
    change_id: Option<&'a str>,
    reason: &'a str,
    activated_at: i64,
    activated_by: &'a str,
}

#[derive(Serialize)]
struct PackDeprecated<'a> {
    tenant_id: &'a str,
    kind: &'a str,
    pack_id: &'a str,
    domain: &'a str,
    version: &'a str,
    deprecated_at: i64,
    deprecated_by: &'a str,
}

#[derive(Serialize)]
struct PlaybookPublished<'a> {
    playbook: &'a str,
    playbook_version_id: &'a str,
    version: &'a str,
    domain: &'a str,
    checksum: &'a str,
    published_at: i64,
    published_by: &'a str,
}

#[derive(Serialize)]
struct WorkflowPublished<'a> {
    tenant_id: &'a str,
    workspace_id: &'a str,
    workflow: &'a str,
    workflow_version_id: &'a str,
    version: &'a str,
    domain: &'a str,
    checksum: &'a str,
    published_at: i64,
    published_by: &'a str,
}

#[derive(Serialize)]
struct PlaybookLinked<'a> {
    tenant_id: &'a str,
    playbook: &'a str,
    version: Option<&'a str>,
    domain: &'a str,
    domain_pack_version: &'a str,
    occurred_at: i64,
    occurred_by: &'a str,
}

#[derive(Serialize)]
struct ConfigChange<'a> {
    tenant_id: &'a str,
    change_id: &'a str,
    status: &'a str,
    domain: &'a str,
    domain_pack_version: &'a str,
    tenant_pack_version: Option<&'a str>,
    requested_by: &'a str,
    decided_by: Option<&'a str>,
    occurred_at: i64,
}

/// A pack version as events name it.
#[derive(Debug, Clone, Copy)]
pub struct PackRef<'a> {
    /// The tenant, for a Tenant Pack; `None` for a Domain Pack.
    pub tenant: Option<TenantId>,
    pub kind: &'static str,
    pub pack_id: &'a str,
    pub domain: &'a str,
    pub version: &'a str,
}

/// What an activation did, as events name it.
#[derive(Debug, Clone, Copy)]
pub struct ActivationRef<'a> {
    pub tenant: TenantId,
    pub activation_id: &'a str,
    pub domain: &'a str,
    pub domain_pack_version: &'a str,
    pub tenant_pack_version: Option<&'a str>,
    pub change_id: Option<&'a str>,
    pub reason: &'a str,
}

/// A config change request, as events name it.
#[derive(Debug, Clone, Copy)]
pub struct ChangeRef<'a> {
    pub tenant: TenantId,
    pub change_id: &'a str,
    pub status: &'a str,
    pub domain: &'a str,
    pub domain_pack_version: &'a str,
    pub tenant_pack_version: Option<&'a str>,
    pub requested_by: &'a str,
    pub decided_by: Option<&'a str>,
}

/// Builds and reads this service's events.
#[derive(Debug)]
pub struct Events {
    schemas: Schemas,
    pack_topic: String,
    tenant_topic: String,
    module_topic: String,
    audit_topic: String,
    source: String,
    auditor: Auditor,
}

fn key_of(tenant: Option<TenantId>) -> String {
    tenant.map_or_else(|| PLATFORM_KEY.to_owned(), |t| t.to_string())
}

impl Events {
    pub fn new(bus: &BusConfig, region: Region) -> Self {
        Events {
            schemas: schemas(),
            pack_topic: bus.topic(Area::Pack),
            tenant_topic: bus.topic(Area::Tenant),
            module_topic: bus.topic(Area::Module),
            audit_topic: bus.topic(Area::Audit),
            source: format!("/plinth/{region}/{SERVICE}"),
            auditor: Auditor::new(bus.topic(Area::Audit), region, SERVICE),
        }
    }

    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// The service's own topic.
    pub fn pack_topic(&self) -> &str {
        &self.pack_topic
    }

    /// The topics this service reads with its consumer.
    pub fn consumed_topics(&self) -> Vec<String> {
        vec![self.tenant_topic.clone(), self.module_topic.clone()]
    }

    /// The topics it writes to and reads, with their dead-letter topics.
    pub fn topics(&self, partitions: i32) -> Vec<TopicSpec> {
        [
            &self.pack_topic,
            &self.tenant_topic,
            &self.module_topic,
            &self.audit_topic,
        ]
        .into_iter()
        .flat_map(|t| {
            let spec = TopicSpec::new(t, partitions);
            [spec.dlq(), spec]
        })
        .collect()
    }

    fn event(&self, key: String, ty: &str, subject: String, payload: Vec<u8>) -> Event {
        Event::new(&self.pack_topic, key, ty, &self.source, payload).with_subject(subject)
    }

    fn encode<T: Serialize>(&self, schema: &str, value: &T) -> Result<Vec<u8>, ApiError> {
        self.schemas
            .encode(schema, value)
            .map_err(ApiError::internal)
    }

    pub fn pack_imported(
        &self,
        pack: PackRef<'_>,
        checksum: &str,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        let key = key_of(pack.tenant);
        let payload = self.encode(
            "plinth.pack.PackImported",
            &PackImported {
                tenant_id: &key,
                kind: pack.kind,
                pack_id: pack.pack_id,
                domain: pack.domain,
                version: pack.version,
                checksum,
                imported_at: micros(at),
                imported_by: by,
            },
        )?;
        Ok(self.event(key, PACK_IMPORTED, pack.pack_id.to_owned(), payload))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn validation_failed(
        &self,
        tenant: Option<TenantId>,
        kind: &str,
        attempt_id: &str,
        domain: Option<&str>,
        version: Option<&str>,
        checksum: &str,
        dry_run: bool,
        errors: &[Issue],
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        let key = key_of(tenant);
        let (errors, errors_omitted) = issues_for_event(errors);
        let payload = self.encode(
            "plinth.pack.PackValidationFailed",
            &PackValidationFailed {
                tenant_id: &key,
                kind,
                attempt_id,
                domain,
                version,
                checksum,
                dry_run,
                errors,
                failed_at: micros(at),
                failed_by: by,
                errors_omitted,
            },
        )?;
        Ok(self.event(key, PACK_VALIDATION_FAILED, attempt_id.to_owned(), payload))
    }

    pub fn pack_activated(
        &self,
        a: ActivationRef<'_>,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        let key = a.tenant.to_string();
        let payload = self.encode(
            "plinth.pack.PackActivated",
            &PackActivated {
                tenant_id: &key,
                activation_id: a.activation_id,
                domain: a.domain,
                domain_pack_version: a.domain_pack_version,
                tenant_pack_version: a.tenant_pack_version,
                change_id: a.change_id,
                reason: a.reason,
                activated_at: micros(at),
                activated_by: by,
            },
        )?;
        Ok(self.event(key.clone(), PACK_ACTIVATED, key, payload))
    }

    pub fn pack_deprecated(
        &self,
        pack: PackRef<'_>,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        let key = key_of(pack.tenant);
        let payload = self.encode(
            "plinth.pack.PackDeprecated",
            &PackDeprecated {
                tenant_id: &key,
                kind: pack.kind,
                pack_id: pack.pack_id,
                domain: pack.domain,
                version: pack.version,
                deprecated_at: micros(at),
                deprecated_by: by,
            },
        )?;
        Ok(self.event(key, PACK_DEPRECATED, pack.pack_id.to_owned(), payload))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn playbook_published(
        &self,
        playbook: &str,
        id: &str,
        version: &str,
        domain: &str,
        checksum: &str,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        let payload = self.encode(
            "plinth.pack.PlaybookPublished",
            &PlaybookPublished {
                playbook,
                playbook_version_id: id,
                version,
                domain,
                checksum,
                published_at: micros(at),
                published_by: by,
            },
        )?;
        Ok(self.event(
            PLATFORM_KEY.to_owned(),
            PLAYBOOK_PUBLISHED,
            id.to_owned(),
            payload,
        ))
    }

    /// A workflow version published into a workspace of its tenant.
    pub fn workflow_published(
        &self,
        row: &crate::store::workflows::WorkflowVersionRow,
    ) -> Result<Event, ApiError> {
        let payload = self.encode(
            "plinth.pack.WorkflowPublished",
            &WorkflowPublished {
                tenant_id: &row.tenant_id,
                workspace_id: &row.workspace_id,
                workflow: &row.workflow,
                workflow_version_id: &row.workflow_version_id,
                version: &row.version,
                domain: &row.domain,
                checksum: &row.checksum,
                published_at: micros(row.published_at),
                published_by: &row.published_by,
            },
        )?;
        Ok(self.event(
            row.tenant_id.clone(),
            WORKFLOW_PUBLISHED,
            row.workflow_version_id.clone(),
            payload,
        ))
    }

    /// A link made (`version` given) or removed.
    #[allow(clippy::too_many_arguments)]
    pub fn playbook_linked(
        &self,
        tenant: TenantId,
        playbook: &str,
        version: Option<&str>,
        domain: &str,
        domain_pack_version: &str,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        let key = tenant.to_string();
        let payload = self.encode(
            "plinth.pack.PlaybookLinked",
            &PlaybookLinked {
                tenant_id: &key,
                playbook,
                version,
                domain,
                domain_pack_version,
                occurred_at: micros(at),
                occurred_by: by,
            },
        )?;
        let ty = if version.is_some() {
            PLAYBOOK_LINKED
        } else {
            PLAYBOOK_UNLINKED
        };
        Ok(self.event(key.clone(), ty, format!("{key}/{playbook}"), payload))
    }

    pub fn config_change(
        &self,
        ty: &'static str,
        c: ChangeRef<'_>,
        at: OffsetDateTime,
    ) -> Result<Event, ApiError> {
        let key = c.tenant.to_string();
        let payload = self.encode(
            "plinth.pack.ConfigChange",
            &ConfigChange {
                tenant_id: &key,
                change_id: c.change_id,
                status: c.status,
                domain: c.domain,
                domain_pack_version: c.domain_pack_version,
                tenant_pack_version: c.tenant_pack_version,
                requested_by: c.requested_by,
                decided_by: c.decided_by,
                occurred_at: micros(at),
            },
        )?;
        Ok(self.event(key, ty, c.change_id.to_owned(), payload))
    }

    /// This service's answer for a lifecycle item.
    pub fn item_result(
        &self,
        ty: &'static str,
        tenant: &str,
        item: &str,
        reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Event, ApiError> {
        ProvisioningResult::event(
            &self.schemas,
            &self.pack_topic,
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

    /// The audit topic, for the consumer's own audit events.
    pub fn audit_topic(&self) -> &str {
        &self.audit_topic
    }
}

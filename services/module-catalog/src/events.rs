//! What the module catalog publishes on `plinth.module.v1`: with key `platform`,
//! every release imported with its review's outcome, every decision on one, every
//! change to the trusted signers, what runs in the region and its drift; with the
//! tenant's id as key, every change of a tenant's enablements; and an audit event on `plinth.audit.v1` for
//! every import, review, decision and signer change, allowed or refused.

use plinth_bus::{Area, Auditor, BusConfig, Event, PLATFORM_KEY, Schemas, TopicSpec, micros};
use plinth_core::{ApiError, Region, ReqCtx};
use serde::Serialize;
use time::OffsetDateTime;

use crate::deployments::DriftChange;
use crate::store::{DeploymentRow, ReleaseRow, SignerRow};
use crate::tenant_store::EnablementRow;

pub use plinth_bus::{Audited, Outcome};

const SERVICE: &str = "module-catalog";

#[expect(
    clippy::expect_used,
    reason = "the service's Avro schemas are compiled in and parse"
)]
fn schemas() -> Schemas {
    Schemas::from_sources([
        include_str!("../../../schemas/avro/module/module_imported.avsc"),
        include_str!("../../../schemas/avro/module/module_decided.avsc"),
        include_str!("../../../schemas/avro/module/signer_changed.avsc"),
        include_str!("../../../schemas/avro/module/deployment_reported.avsc"),
        include_str!("../../../schemas/avro/module/drift_changed.avsc"),
        include_str!("../../../schemas/avro/module/enablement_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/tenant_created.avsc"),
        include_str!("../../../schemas/avro/tenant/tenant_status_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/workspace_changed.avsc"),
        include_str!("../../../schemas/avro/policy/record_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/entitlement_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/onboarding_requested.avsc"),
        include_str!("../../../schemas/avro/tenant/offboarding_requested.avsc"),
        include_str!("../../../schemas/avro/provisioning/provisioning_result.avsc"),
        include_str!("../../../schemas/avro/audit/audit_event.avsc"),
    ])
    .expect("the service's Avro schemas parse")
}

pub const MODULE_IMPORTED: &str = "plinth.module.imported";

#[derive(Serialize)]
struct ModuleImported<'a> {
    module_id: &'a str,
    version: &'a str,
    version_id: &'a str,
    image_digest: &'a str,
    manifest_sha256: &'a str,
    review_passed: bool,
    signer_id: Option<&'a str>,
    imported_at: i64,
    imported_by: &'a str,
}

#[derive(Serialize)]
struct ModuleDecided<'a> {
    module_id: &'a str,
    version: &'a str,
    version_id: &'a str,
    status: &'a str,
    image_digest: &'a str,
    reason: &'a str,
    decided_at: i64,
    decided_by: &'a str,
    tools: Vec<ModuleTool<'a>>,
}

#[derive(Serialize)]
struct TrustedSignerChanged<'a> {
    signer_id: &'a str,
    identity: &'a str,
    key_id: &'a str,
    algorithm: &'a str,
    sources: &'a [String],
    not_before: i64,
    not_after: i64,
    revoked: bool,
    occurred_at: i64,
    occurred_by: &'a str,
}

#[derive(Serialize)]
struct DeployedImage<'a> {
    image: &'a str,
    image_digest: &'a str,
    version: Option<&'a str>,
    drift: bool,
}

#[derive(Serialize)]
struct ModuleDeploymentReported<'a> {
    module_id: &'a str,
    region: &'a str,
    images: Vec<DeployedImage<'a>>,
    reported_at: i64,
    reported_by: &'a str,
}

#[derive(Serialize)]
struct ModuleDriftChanged<'a> {
    module_id: &'a str,
    region: &'a str,
    image: &'a str,
    image_digest: &'a str,
    drift: bool,
    version: Option<&'a str>,
    approved_digests: &'a [&'a str],
    occurred_at: i64,
}

#[derive(Serialize)]
struct ModuleTool<'a> {
    id: &'a str,
    action_class: &'a str,
}

/// The tools a release's manifest provides (a stored manifest passed its schema).
fn manifest_tools(manifest: &serde_json::Value) -> Vec<ModuleTool<'_>> {
    manifest["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| ModuleTool {
            id: t["id"].as_str().unwrap_or_default(),
            action_class: t["action_class"].as_str().unwrap_or_default(),
        })
        .collect()
}

#[derive(Serialize)]
struct ModuleEnablementChanged<'a> {
    tenant_id: &'a str,
    enablement_id: &'a str,
    module_id: &'a str,
    workspace_id: Option<&'a str>,
    version: &'a str,
    previous_version: Option<&'a str>,
    status: &'a str,
    revoked: bool,
    tools: Vec<ModuleTool<'a>>,
    cleanup: Vec<&'a str>,
    occurred_at: i64,
    occurred_by: &'a str,
}

/// Builds this service's events.
#[derive(Debug)]
pub struct Events {
    schemas: Schemas,
    module_topic: String,
    tenant_topic: String,
    policy_topic: String,
    audit_topic: String,
    region: Region,
    source: String,
    auditor: Auditor,
}

impl Events {
    pub fn new(bus: &BusConfig, region: Region) -> Self {
        Events {
            schemas: schemas(),
            module_topic: bus.topic(Area::Module),
            tenant_topic: bus.topic(Area::Tenant),
            policy_topic: bus.topic(Area::Policy),
            audit_topic: bus.topic(Area::Audit),
            region,
            source: format!("/plinth/{region}/{SERVICE}"),
            auditor: Auditor::new(bus.topic(Area::Audit), region, SERVICE),
        }
    }

    /// The registry's topic, whose events it projects.
    pub fn consumed_topics(&self) -> Vec<String> {
        vec![self.tenant_topic.clone(), self.policy_topic.clone()]
    }

    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// The topics it writes to and reads, with their dead-letter topics.
    pub fn topics(&self, partitions: i32) -> Vec<TopicSpec> {
        [
            &self.module_topic,
            &self.tenant_topic,
            &self.policy_topic,
            &self.audit_topic,
        ]
        .into_iter()
        .flat_map(|t| {
            let spec = TopicSpec::new(t, partitions);
            [spec.dlq(), spec]
        })
        .collect()
    }

    fn event<T: Serialize>(
        &self,
        ty: &str,
        schema: &str,
        subject: &str,
        value: &T,
    ) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(schema, value)
            .map_err(ApiError::internal)?;
        Ok(
            Event::new(&self.module_topic, PLATFORM_KEY, ty, &self.source, payload)
                .with_subject(subject.to_owned()),
        )
    }

    /// `plinth.module.imported`.
    pub fn imported(&self, release: &ReleaseRow) -> Result<Event, ApiError> {
        self.event(
            MODULE_IMPORTED,
            "plinth.module.ModuleImported",
            &release.version_id,
            &ModuleImported {
                module_id: &release.module_id,
                version: &release.version,
                version_id: &release.version_id,
                image_digest: &release.image_digest,
                manifest_sha256: &release.manifest_sha256,
                review_passed: release.review_passed,
                signer_id: release.signer_id.as_deref(),
                imported_at: micros(release.imported_at),
                imported_by: &release.imported_by,
            },
        )
    }

    /// `plinth.module.approved`, `.rejected`, `.deprecated` or `.revoked`: the
    /// decision the release records.
    pub fn decided(&self, release: &ReleaseRow) -> Result<Event, ApiError> {
        let ty = format!("plinth.module.{}", release.status.to_ascii_lowercase());
        self.event(
            &ty,
            "plinth.module.ModuleDecided",
            &release.version_id,
            &ModuleDecided {
                module_id: &release.module_id,
                version: &release.version,
                version_id: &release.version_id,
                status: &release.status,
                image_digest: &release.image_digest,
                reason: release.decision_reason.as_deref().unwrap_or_default(),
                decided_at: micros(release.decided_at.unwrap_or(release.imported_at)),
                decided_by: release.decided_by.as_deref().unwrap_or_default(),
                tools: manifest_tools(&release.manifest),
            },
        )
    }

    /// `plinth.module.signer_<change>` (`added`, `expired`, `revoked`).
    pub fn signer_changed(
        &self,
        change: &str,
        signer: &SignerRow,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        self.event(
            &format!("plinth.module.signer_{change}"),
            "plinth.module.TrustedSignerChanged",
            &signer.signer_id,
            &TrustedSignerChanged {
                signer_id: &signer.signer_id,
                identity: &signer.identity,
                key_id: &signer.key_id,
                algorithm: &signer.algorithm,
                sources: &signer.sources,
                not_before: micros(signer.not_before),
                not_after: micros(signer.not_after),
                revoked: signer.revoked_at.is_some(),
                occurred_at: micros(at),
                occurred_by: by,
            },
        )
    }

    /// `plinth.module.deployment_reported`: what `module` runs here now.
    pub fn deployment_reported(
        &self,
        module: &str,
        rows: &[DeploymentRow],
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        let region = self.region.to_string();
        self.event(
            "plinth.module.deployment_reported",
            "plinth.module.ModuleDeploymentReported",
            module,
            &ModuleDeploymentReported {
                module_id: module,
                region: &region,
                images: rows
                    .iter()
                    .map(|r| DeployedImage {
                        image: &r.image,
                        image_digest: &r.image_digest,
                        version: r.version.as_deref(),
                        drift: r.drift,
                    })
                    .collect(),
                reported_at: micros(at),
                reported_by: by,
            },
        )
    }

    /// `plinth.module.drift_detected` or `plinth.module.drift_resolved`.
    pub fn drift_changed(
        &self,
        module: &str,
        change: &DriftChange,
        approved: &[&str],
        at: OffsetDateTime,
    ) -> Result<Event, ApiError> {
        let region = self.region.to_string();
        let ty = if change.drift {
            "plinth.module.drift_detected"
        } else {
            "plinth.module.drift_resolved"
        };
        self.event(
            ty,
            "plinth.module.ModuleDriftChanged",
            module,
            &ModuleDriftChanged {
                module_id: module,
                region: &region,
                image: &change.image,
                image_digest: &change.image_digest,
                drift: change.drift,
                version: change.version.as_deref(),
                approved_digests: approved,
                occurred_at: micros(at),
            },
        )
    }

    /// `plinth.module.<change>` (`enabled`, `upgraded`, `disabled`,
    /// `enablement_revoked`) of `row`, whose release's manifest is `manifest`.
    pub fn enablement_changed(
        &self,
        change: &str,
        row: &EnablementRow,
        manifest: &serde_json::Value,
        previous_version: Option<&str>,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        let cleanup: Vec<&str> = row
            .cleanup
            .as_ref()
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
            .map(|step| step["id"].as_str().unwrap_or_default())
            .collect();
        let payload = self
            .schemas
            .encode(
                "plinth.module.ModuleEnablementChanged",
                &ModuleEnablementChanged {
                    tenant_id: &row.tenant_id,
                    enablement_id: &row.enablement_id,
                    module_id: &row.module_id,
                    workspace_id: Some(row.workspace_id.as_str()).filter(|w| !w.is_empty()),
                    version: &row.version,
                    previous_version,
                    status: &row.status,
                    revoked: row.revoked_at.is_some(),
                    tools: manifest_tools(manifest),
                    cleanup,
                    occurred_at: micros(at),
                    occurred_by: by,
                },
            )
            .map_err(ApiError::internal)?;
        Ok(Event::new(
            &self.module_topic,
            &row.tenant_id,
            format!("plinth.module.{change}"),
            &self.source,
            payload,
        )
        .with_subject(row.enablement_id.clone()))
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
            &self.module_topic,
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

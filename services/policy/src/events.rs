//! What the policy service publishes on `plinth.policy.v1`: a record's version
//! published, a record retired — keyed by the tenant for a tenant's records,
//! `platform` otherwise — and an audit event on `plinth.audit.v1` for every
//! action, allowed or refused.

use plinth_bus::{Area, Auditor, BusConfig, Event, PLATFORM_KEY, Schemas, TopicSpec, micros};
use plinth_core::{ApiError, Region, ReqCtx};
use serde::Serialize;
use time::OffsetDateTime;

use crate::store::{RecordRow, VersionRow};

pub use plinth_bus::{Audited, Outcome};

const SERVICE: &str = "policy";
pub const RECORD_PUBLISHED: &str = "plinth.policy.record_published";
pub const RECORD_RETIRED: &str = "plinth.policy.record_retired";

#[expect(
    clippy::expect_used,
    reason = "the service's Avro schemas are compiled in and parse"
)]
fn schemas() -> Schemas {
    Schemas::from_sources([
        include_str!("../../../schemas/avro/policy/record_changed.avsc"),
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

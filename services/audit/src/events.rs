//! What the audit service reads and writes on the bus: it reads every service's
//! audit events (`plinth.audit.event`) and the lifecycle sagas' requests on
//! `plinth.tenant.v1`; it publishes its answers to those requests and every signed
//! checkpoint on `plinth.audit.v1`, key = the tenant id (or `platform`).

use plinth_auditlog::{Record, SignedCheckpoint, hash};
use plinth_bus::{Area, BusConfig, Event, Schemas, TopicSpec, micros};
use plinth_core::{ApiError, Region};
use serde::Serialize;
use time::OffsetDateTime;

pub use plinth_bus::AUDIT_EVENT;
pub use plinth_bus::lifecycle::{
    LifecycleRequest, OFFBOARDING_ITEM_RETRY, OFFBOARDING_REQUESTED, ONBOARDING_ITEM_RETRY,
    ONBOARDING_REQUESTED,
};
pub const STORE_PROVISIONED: &str = "plinth.audit.store_provisioned";
pub const DEPROVISIONED: &str = "plinth.audit.deprovisioned";
pub const CHECKPOINT_SIGNED: &str = "plinth.audit.checkpoint_signed";
/// The registry's announcement of a new tenant (`plinth.tenant.v1`).
pub const TENANT_CREATED: &str = "plinth.tenant.created";

/// What the audit service reads of a `plinth.tenant.created` event.
#[derive(Debug, serde::Deserialize)]
pub struct TenantCreated {
    pub tenant_id: String,
}

impl TenantCreated {
    pub const SCHEMA: &str = "plinth.tenant.TenantCreated";
}

/// The owner name the lifecycle checklists give this service's items.
pub const OWNER: &str = "audit";
const SERVICE: &str = "audit";

#[expect(
    clippy::expect_used,
    reason = "the service's Avro schemas are compiled in and parse"
)]
fn schemas() -> Schemas {
    Schemas::from_sources([
        include_str!("../../../schemas/avro/audit/audit_event.avsc"),
        include_str!("../../../schemas/avro/audit/checkpoint_signed.avsc"),
        include_str!("../../../schemas/avro/tenant/tenant_created.avsc"),
        include_str!("../../../schemas/avro/tenant/onboarding_requested.avsc"),
        include_str!("../../../schemas/avro/tenant/offboarding_requested.avsc"),
        include_str!("../../../schemas/avro/provisioning/provisioning_result.avsc"),
    ])
    .expect("the service's Avro schemas parse")
}

pub use plinth_bus::AuditEvent;

/// The record the log keeps of an audit event.
pub fn record_of(event: AuditEvent) -> Result<Record, String> {
    let occurred_at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(event.occurred_at) * 1000)
            .map_err(|e| format!("occurred_at: {e}"))?;
    Ok(Record {
        tenant_id: event.tenant_id,
        region: event.region,
        actor: event.actor,
        actor_display: event.actor_display,
        action: event.action,
        resource_type: event.resource_type,
        resource_id: event.resource_id,
        outcome: event.outcome,
        reason: event.reason,
        request_id: event.request_id,
        occurred_at,
        source_service: event.source_service,
        details: event.details,
    })
}

#[derive(Serialize)]
struct CheckpointSigned<'a> {
    log: &'a str,
    size: i64,
    root_hash: String,
    signed_at: i64,
    note: &'a str,
    sealed: bool,
}

/// Reads and builds this service's events.
#[derive(Debug)]
pub struct Events {
    schemas: Schemas,
    audit_topic: String,
    tenant_topic: String,
    source: String,
}

impl Events {
    pub fn new(bus: &BusConfig, region: Region) -> Self {
        Events {
            schemas: schemas(),
            audit_topic: bus.topic(Area::Audit),
            tenant_topic: bus.topic(Area::Tenant),
            source: format!("/plinth/{region}/{SERVICE}"),
        }
    }

    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// The topics this service reads.
    pub fn consumed_topics(&self) -> Vec<String> {
        vec![self.audit_topic.clone(), self.tenant_topic.clone()]
    }

    /// The topics it writes to and reads from, with their dead-letter topics.
    pub fn topics(&self, partitions: i32) -> Vec<TopicSpec> {
        [&self.audit_topic, &self.tenant_topic]
            .into_iter()
            .flat_map(|t| {
                let spec = TopicSpec::new(t, partitions);
                [spec.dlq(), spec]
            })
            .collect()
    }

    /// The answer for a lifecycle item (`ty`: provisioned or deprovisioned).
    pub fn item_done(
        &self,
        ty: &'static str,
        tenant: &str,
        item: &str,
        at: OffsetDateTime,
    ) -> Result<Event, ApiError> {
        plinth_bus::lifecycle::ProvisioningResult::event(
            &self.schemas,
            &self.audit_topic,
            &self.source,
            ty,
            SERVICE,
            tenant,
            item,
            None,
            at,
        )
        .map_err(ApiError::internal)
    }

    /// A signed checkpoint, held outside the database once published.
    pub fn checkpoint_signed(
        &self,
        checkpoint: &SignedCheckpoint,
        sealed: bool,
    ) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(
                "plinth.audit.CheckpointSigned",
                &CheckpointSigned {
                    log: &checkpoint.log,
                    size: checkpoint.size as i64,
                    root_hash: hash::to_hex(&checkpoint.root_hash),
                    signed_at: micros(checkpoint.time),
                    note: &checkpoint.note,
                    sealed,
                },
            )
            .map_err(ApiError::internal)?;
        Ok(Event::new(
            &self.audit_topic,
            checkpoint.log.as_str(),
            CHECKPOINT_SIGNED,
            &self.source,
            payload,
        )
        .with_subject(format!("{}/{}", checkpoint.log, checkpoint.size)))
    }
}

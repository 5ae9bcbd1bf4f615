//! What the module catalog publishes: for now, an audit event on
//! `plinth.audit.v1` for every import, review, decision and change to the
//! trusted signers, allowed or refused.

use plinth_bus::{Area, Auditor, BusConfig, Event, Schemas, TopicSpec};
use plinth_core::{ApiError, Region, ReqCtx};

pub use plinth_bus::{Audited, Outcome};

const SERVICE: &str = "module-catalog";

#[expect(
    clippy::expect_used,
    reason = "the service's Avro schemas are compiled in and parse"
)]
fn schemas() -> Schemas {
    Schemas::from_sources([include_str!("../../../schemas/avro/audit/audit_event.avsc")])
        .expect("the service's Avro schemas parse")
}

/// Builds this service's events.
#[derive(Debug)]
pub struct Events {
    schemas: Schemas,
    audit_topic: String,
    auditor: Auditor,
}

impl Events {
    pub fn new(bus: &BusConfig, region: Region) -> Self {
        Events {
            schemas: schemas(),
            audit_topic: bus.topic(Area::Audit),
            auditor: Auditor::new(bus.topic(Area::Audit), region, SERVICE),
        }
    }

    /// The topics it writes to, with their dead-letter topics.
    pub fn topics(&self, partitions: i32) -> Vec<TopicSpec> {
        let spec = TopicSpec::new(&self.audit_topic, partitions);
        vec![spec.dlq(), spec]
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

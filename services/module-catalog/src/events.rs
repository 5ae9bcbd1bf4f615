//! What the module catalog publishes on `plinth.module.v1` (key: `platform`):
//! every release imported with its review's outcome, every decision on one, every
//! change to the trusted signers; and an audit event on `plinth.audit.v1` for
//! every import, review, decision and signer change, allowed or refused.

use plinth_bus::{Area, Auditor, BusConfig, Event, PLATFORM_KEY, Schemas, TopicSpec, micros};
use plinth_core::{ApiError, Region, ReqCtx};
use serde::Serialize;
use time::OffsetDateTime;

use crate::store::{ReleaseRow, SignerRow};

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

/// Builds this service's events.
#[derive(Debug)]
pub struct Events {
    schemas: Schemas,
    module_topic: String,
    audit_topic: String,
    source: String,
    auditor: Auditor,
}

impl Events {
    pub fn new(bus: &BusConfig, region: Region) -> Self {
        Events {
            schemas: schemas(),
            module_topic: bus.topic(Area::Module),
            audit_topic: bus.topic(Area::Audit),
            source: format!("/plinth/{region}/{SERVICE}"),
            auditor: Auditor::new(bus.topic(Area::Audit), region, SERVICE),
        }
    }

    /// The topics it writes to, with their dead-letter topics.
    pub fn topics(&self, partitions: i32) -> Vec<TopicSpec> {
        [&self.module_topic, &self.audit_topic]
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

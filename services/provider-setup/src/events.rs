//! What provider setup publishes on `plinth.provider.v1`, keyed by the tenant (or
//! `platform` for a pooled connection's): connections created and their keys
//! activated, setup links minted, revoked and redeemed, keys validated, pooled
//! connections shared and withdrawn; and an audit event on `plinth.audit.v1` for
//! every action, allowed or refused. No event carries a key or a link's token.

use plinth_bus::{Area, Auditor, BusConfig, Event, PLATFORM_KEY, Schemas, TopicSpec, micros};
use plinth_core::{ApiError, Region, ReqCtx};
use serde::Serialize;
use time::OffsetDateTime;

use crate::store::{ConnectionRow, GrantRow, HealthRow, KeyVersionRow, LinkRow, ValidationRow};

pub use plinth_bus::{Audited, Outcome};

const SERVICE: &str = "provider-setup";

/// Who redeems a link: whoever holds it, not a principal.
pub const LINK_HOLDER: &str = "link-holder";

#[expect(
    clippy::expect_used,
    reason = "the service's Avro schemas are compiled in and parse"
)]
fn schemas() -> Schemas {
    Schemas::from_sources([
        include_str!("../../../schemas/avro/provider/connection_changed.avsc"),
        include_str!("../../../schemas/avro/provider/setup_link_changed.avsc"),
        include_str!("../../../schemas/avro/provider/key_validated.avsc"),
        include_str!("../../../schemas/avro/provider/pool_grant_changed.avsc"),
        include_str!("../../../schemas/avro/provider/key_destroyed.avsc"),
        include_str!("../../../schemas/avro/provider/health_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/tenant_created.avsc"),
        include_str!("../../../schemas/avro/tenant/tenant_status_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/workspace_changed.avsc"),
        include_str!("../../../schemas/avro/policy/record_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/onboarding_requested.avsc"),
        include_str!("../../../schemas/avro/tenant/offboarding_requested.avsc"),
        include_str!("../../../schemas/avro/provisioning/provisioning_result.avsc"),
        include_str!("../../../schemas/avro/audit/audit_event.avsc"),
    ])
    .expect("the service's Avro schemas parse")
}

#[derive(Serialize)]
struct ProviderConnectionChanged<'a> {
    tenant_id: Option<&'a str>,
    connection_id: &'a str,
    name: &'a str,
    kind: &'a str,
    default_model: &'a str,
    status: &'a str,
    active_version: Option<i32>,
    previous_version: Option<i32>,
    previous_usable_until: Option<i64>,
    occurred_at: i64,
    occurred_by: &'a str,
}

#[derive(Serialize)]
struct SetupLinkChanged<'a> {
    tenant_id: Option<&'a str>,
    connection_id: &'a str,
    request_id: &'a str,
    link_id: &'a str,
    purpose: &'a str,
    expires_at: i64,
    occurred_at: i64,
    occurred_by: &'a str,
}

#[derive(Serialize)]
struct KeyValidated<'a> {
    tenant_id: Option<&'a str>,
    connection_id: &'a str,
    link_id: &'a str,
    validation_id: &'a str,
    outcome: &'a str,
    http_status: Option<i32>,
    latency_ms: i32,
    models: i32,
    activated: bool,
    checked_at: i64,
}

#[derive(Serialize)]
struct PoolGrantChanged<'a> {
    tenant_id: &'a str,
    connection_id: &'a str,
    granted: bool,
    requests_per_minute: i32,
    tokens_per_month: i64,
    occurred_at: i64,
    occurred_by: &'a str,
}

#[derive(Serialize)]
struct ProviderHealthChanged<'a> {
    tenant_id: Option<&'a str>,
    connection_id: &'a str,
    status: &'a str,
    previous_status: Option<&'a str>,
    error_class: Option<&'a str>,
    latency_ms: i32,
    source: &'a str,
    recorded_by: &'a str,
    observed_at: i64,
}

#[derive(Serialize)]
struct KeyDestroyed<'a> {
    tenant_id: Option<&'a str>,
    connection_id: &'a str,
    version: i32,
    reason: &'a str,
    destroyed_at: i64,
}

/// A rotation's previous version, for `key_activated`.
#[derive(Debug, Clone, Copy)]
pub struct Previous {
    pub version: i32,
    pub usable_until: OffsetDateTime,
}

/// Builds this service's events.
#[derive(Debug)]
pub struct Events {
    schemas: Schemas,
    provider_topic: String,
    tenant_topic: String,
    policy_topic: String,
    audit_topic: String,
    source: String,
    auditor: Auditor,
}

impl Events {
    pub fn new(bus: &BusConfig, region: Region) -> Self {
        Events {
            schemas: schemas(),
            provider_topic: bus.topic(Area::Provider),
            tenant_topic: bus.topic(Area::Tenant),
            policy_topic: bus.topic(Area::Policy),
            audit_topic: bus.topic(Area::Audit),
            source: format!("/plinth/{region}/{SERVICE}"),
            auditor: Auditor::new(bus.topic(Area::Audit), region, SERVICE),
        }
    }

    /// The registry's topic, whose events it projects, and the policy
    /// service's records.
    pub fn consumed_topics(&self) -> Vec<String> {
        vec![self.tenant_topic.clone(), self.policy_topic.clone()]
    }

    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// The topics it writes to and reads, with their dead-letter topics.
    pub fn topics(&self, partitions: i32) -> Vec<TopicSpec> {
        [
            &self.provider_topic,
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
        tenant: Option<&str>,
        subject: &str,
        value: &T,
    ) -> Result<Event, ApiError> {
        let payload = self
            .schemas
            .encode(schema, value)
            .map_err(ApiError::internal)?;
        Ok(Event::new(
            &self.provider_topic,
            tenant.unwrap_or(PLATFORM_KEY),
            ty,
            &self.source,
            payload,
        )
        .with_subject(subject.to_owned()))
    }

    /// `plinth.provider.connection_created` or `plinth.provider.key_activated`.
    pub fn connection_changed(
        &self,
        ty: &str,
        row: &ConnectionRow,
        previous: Option<Previous>,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        self.event(
            ty,
            "plinth.provider.ProviderConnectionChanged",
            row.tenant_id.as_deref(),
            &row.connection_id,
            &ProviderConnectionChanged {
                tenant_id: row.tenant_id.as_deref(),
                connection_id: &row.connection_id,
                name: &row.name,
                kind: &row.kind,
                default_model: &row.default_model,
                status: &row.status,
                active_version: row.active_version,
                previous_version: previous.map(|p| p.version),
                previous_usable_until: previous.map(|p| micros(p.usable_until)),
                occurred_at: micros(at),
                occurred_by: by,
            },
        )
    }

    /// `plinth.provider.link_<change>` (`minted`, `revoked`, `redeemed`).
    pub fn link_changed(
        &self,
        change: &str,
        link: &LinkRow,
        purpose: &str,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        self.event(
            &format!("plinth.provider.link_{change}"),
            "plinth.provider.SetupLinkChanged",
            link.tenant_id.as_deref(),
            &link.link_id,
            &SetupLinkChanged {
                tenant_id: link.tenant_id.as_deref(),
                connection_id: &link.connection_id,
                request_id: &link.request_id,
                link_id: &link.link_id,
                purpose,
                expires_at: micros(link.expires_at),
                occurred_at: micros(at),
                occurred_by: by,
            },
        )
    }

    /// `plinth.provider.key_validated`.
    pub fn key_validated(&self, row: &ValidationRow) -> Result<Event, ApiError> {
        self.event(
            "plinth.provider.key_validated",
            "plinth.provider.KeyValidated",
            row.tenant_id.as_deref(),
            &row.connection_id,
            &KeyValidated {
                tenant_id: row.tenant_id.as_deref(),
                connection_id: &row.connection_id,
                link_id: &row.link_id,
                validation_id: &row.validation_id,
                outcome: &row.outcome,
                http_status: row.http_status,
                latency_ms: row.latency_ms,
                models: row.models,
                activated: row.activated,
                checked_at: micros(row.checked_at),
            },
        )
    }

    /// `plinth.provider.health_changed`: `row` made the connection's status
    /// other than `previous`.
    pub fn health_changed(
        &self,
        row: &HealthRow,
        previous: Option<&str>,
    ) -> Result<Event, ApiError> {
        self.event(
            "plinth.provider.health_changed",
            "plinth.provider.ProviderHealthChanged",
            row.tenant_id.as_deref(),
            &row.connection_id,
            &ProviderHealthChanged {
                tenant_id: row.tenant_id.as_deref(),
                connection_id: &row.connection_id,
                status: &row.status,
                previous_status: previous,
                error_class: row.error_class.as_deref(),
                latency_ms: row.latency_ms,
                source: &row.source,
                recorded_by: &row.recorded_by,
                observed_at: micros(row.observed_at),
            },
        )
    }

    /// `plinth.provider.key_destroyed`: `row` shredded for `reason` (`rotated`,
    /// `offboarded`).
    pub fn key_destroyed(&self, row: &KeyVersionRow, reason: &str) -> Result<Event, ApiError> {
        self.event(
            "plinth.provider.key_destroyed",
            "plinth.provider.KeyDestroyed",
            row.tenant_id.as_deref(),
            &row.connection_id,
            &KeyDestroyed {
                tenant_id: row.tenant_id.as_deref(),
                connection_id: &row.connection_id,
                version: row.version,
                reason,
                destroyed_at: micros(row.destroyed_at.unwrap_or(row.created_at)),
            },
        )
    }

    /// `plinth.provider.pool_granted` or `plinth.provider.pool_withdrawn`.
    pub fn pool_grant_changed(
        &self,
        grant: &GrantRow,
        granted: bool,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<Event, ApiError> {
        let ty = if granted {
            "plinth.provider.pool_granted"
        } else {
            "plinth.provider.pool_withdrawn"
        };
        self.event(
            ty,
            "plinth.provider.PoolGrantChanged",
            Some(&grant.tenant_id),
            &grant.connection_id,
            &PoolGrantChanged {
                tenant_id: &grant.tenant_id,
                connection_id: &grant.connection_id,
                granted,
                requests_per_minute: grant.requests_per_minute,
                tokens_per_month: grant.tokens_per_month,
                occurred_at: micros(at),
                occurred_by: by,
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
            &self.provider_topic,
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

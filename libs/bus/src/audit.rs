//! The audit event: what every service publishes on `plinth.audit.v1` for each
//! action, allowed or refused (schema `schemas/avro/audit/audit_event.avsc`; key:
//! the tenant id, or `platform`), and what the audit service records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The event type of an audit event.
pub const AUDIT_EVENT: &str = "plinth.audit.event";

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The tenant acted on, or `platform`.
    pub tenant_id: String,
    pub region: String,
    /// The principal's subject (`service:<name>` for a service's own actions).
    pub actor: String,
    pub actor_display: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// `ALLOWED`, `DENIED` or `FAILED`.
    pub outcome: String,
    /// Why it was denied or failed: a stable error code.
    pub reason: Option<String>,
    pub request_id: Option<String>,
    /// Microseconds since the epoch.
    pub occurred_at: i64,
    pub source_service: String,
    /// Metadata only, never content.
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

impl AuditEvent {
    /// The schema's full name.
    pub const SCHEMA: &'static str = "plinth.audit.AuditEvent";
}

/// `t` in microseconds since the epoch: how every event's `timestamp-micros` field
/// holds a time.
pub fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

//! The audit event: what every service publishes on `plinth.audit.v1` for each
//! action, allowed or refused (schema `schemas/avro/audit/audit_event.avsc`; key:
//! the tenant id, or `platform`), and what the audit service records.

use std::collections::BTreeMap;

use plinth_core::{ApiError, ErrorKind, Region, ReqCtx, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Event, Outbox, PLATFORM_KEY, Schemas};

/// The event type of an audit event.
pub const AUDIT_EVENT: &str = "plinth.audit.event";

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The tenant acted on, or `platform`.
    pub tenant_id: String,
    /// The region of the deployment that acted (`us`, `eu`).
    pub region: String,
    /// The principal's subject (`service:<name>` for a service's own actions).
    pub actor: String,
    /// The principal's display name, when the token had one.
    pub actor_display: Option<String>,
    /// What was done, e.g. `tenant.create`.
    pub action: String,
    /// The kind of thing acted on, e.g. `tenant`.
    pub resource_type: String,
    /// Which one, when it has an id.
    pub resource_id: Option<String>,
    /// `ALLOWED`, `DENIED` or `FAILED`.
    pub outcome: String,
    /// Why it was denied or failed: a stable error code.
    pub reason: Option<String>,
    /// The request that caused it.
    pub request_id: Option<String>,
    /// Microseconds since the epoch.
    pub occurred_at: i64,
    /// The service that acted.
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

/// The outcome recorded in an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// The action was allowed and done.
    Allowed,
    /// The action was refused (authorization, validation, state).
    Denied,
    /// The action was allowed but failed.
    Failed,
}

impl Outcome {
    /// As the audit record spells it: `ALLOWED`, `DENIED`, `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "ALLOWED",
            Outcome::Denied => "DENIED",
            Outcome::Failed => "FAILED",
        }
    }

    /// How a refusal is recorded: refused for who asked, or failed for what was asked.
    pub fn of(err: &ApiError) -> Self {
        match err.kind() {
            ErrorKind::Unauthenticated | ErrorKind::Forbidden => Outcome::Denied,
            _ => Outcome::Failed,
        }
    }
}

/// An audited action: what was attempted on which resource, and the resource's
/// state before and after as hashes (never the content itself).
#[derive(Debug, Clone)]
pub struct Audited {
    /// What is done, e.g. `workspace.create`.
    pub action: &'static str,
    /// The kind of thing acted on, e.g. `workspace`.
    pub resource_type: &'static str,
    /// Which one, once known.
    pub resource_id: Option<String>,
    /// The tenant whose log records it; `None`: the platform's.
    pub tenant: Option<TenantId>,
    /// Metadata about the action (versions, checksums), never content.
    pub details: BTreeMap<String, String>,
}

impl Audited {
    /// The action `action` on a `resource_type`, in the platform's log until placed in a tenant's.
    pub fn new(action: &'static str, resource_type: &'static str) -> Self {
        Audited {
            action,
            resource_type,
            resource_id: None,
            tenant: None,
            details: BTreeMap::new(),
        }
    }

    /// The action is on `tenant` itself.
    pub fn on_tenant(mut self, tenant: TenantId) -> Self {
        self.tenant = Some(tenant);
        self.resource_id = Some(tenant.to_string());
        self
    }

    /// The action is in `tenant`'s log, on a resource named later (or none).
    pub fn in_tenant(mut self, tenant: TenantId) -> Self {
        self.tenant = Some(tenant);
        self
    }

    /// The resource is one of the tenant's (a workspace, a binding), or the
    /// platform's.
    pub fn on_resource(mut self, id: impl ToString) -> Self {
        self.resource_id = Some(id.to_string());
        self
    }

    /// Records metadata about the action (a version, a checksum; never content).
    pub fn with_detail(mut self, key: &str, value: impl ToString) -> Self {
        self.details.insert(key.to_owned(), value.to_string());
        self
    }

    /// The same record for the platform's log, the tenant it named kept as the
    /// `named_tenant` detail: how a refusal is recorded when nobody vouched for
    /// that tenant (the caller does not reach it, or it does not exist), so that a
    /// caller cannot write into another tenant's trail or open a log for a made-up
    /// one.
    pub fn in_platform_log(mut self) -> Self {
        if let Some(tenant) = self.tenant.take() {
            if self.resource_id.as_deref() == Some(tenant.to_string().as_str()) {
                self.resource_id = None;
            }
            self.details
                .insert("named_tenant".to_owned(), tenant.to_string());
        }
        self
    }

    /// Records the SHA-256 of `state`'s JSON under `key` (`before` or `after`).
    #[expect(clippy::expect_used, reason = "states serialize")]
    pub fn with_hash(mut self, key: &str, state: &impl Serialize) -> Self {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(state).expect("states serialize");
        let hex: String = Sha256::digest(json)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.details.insert(format!("{key}_sha256"), hex);
        self
    }
}

/// The most an audit event carries of each free-text field, in bytes: enough for
/// any identifier, code or metadata value Plinth writes, small enough that no
/// request can make an event the broker refuses (a refused audit event would be
/// dead-lettered, not recorded).
pub mod limits {
    /// Resource ids, subjects, actors and their display names.
    pub const ID: usize = 256;
    /// A reason (an error code).
    pub const REASON: usize = 128;
    /// Detail keys.
    pub const DETAIL_KEY: usize = 64;
    /// Detail values.
    pub const DETAIL_VALUE: usize = 1024;
    /// Details per event; the rest are counted in `details_dropped`.
    pub const DETAILS: usize = 32;
}

/// `text` cut to at most `max` bytes at a character boundary; what was cut is said
/// at the end (`…[+N bytes]`), so a cut value never passes for a whole one.
pub fn capped(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let marker = format!("…[+{} bytes]", text.len());
    let mut end = max.saturating_sub(marker.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{marker}", &text[..end])
}

fn capped_details(details: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = details
        .iter()
        .take(limits::DETAILS)
        .map(|(k, v)| {
            (
                capped(k, limits::DETAIL_KEY),
                capped(v, limits::DETAIL_VALUE),
            )
        })
        .collect();
    if details.len() > limits::DETAILS {
        out.insert(
            "details_dropped".to_owned(),
            (details.len() - limits::DETAILS).to_string(),
        );
    }
    out
}

/// Builds one service's audit events for `plinth.audit.v1`.
#[derive(Debug, Clone)]
pub struct Auditor {
    topic: String,
    source: String,
    region: Region,
    service: &'static str,
}

impl Auditor {
    /// `topic`: the audit topic; `service`: the source service's name.
    pub fn new(topic: String, region: Region, service: &'static str) -> Self {
        Auditor {
            topic,
            source: format!("/plinth/{region}/{service}"),
            region,
            service,
        }
    }

    /// The audit event of `audited`, keyed by its tenant (or `platform`);
    /// `schemas` must hold [`AuditEvent::SCHEMA`].
    pub fn event(
        &self,
        schemas: &Schemas,
        ctx: &ReqCtx,
        audited: &Audited,
        outcome: Outcome,
        reason: Option<&str>,
    ) -> Result<Event, ApiError> {
        let key = audited
            .tenant
            .map_or_else(|| PLATFORM_KEY.to_owned(), |t| t.to_string());
        // Every free-text field is capped: a request's own input (a resource id
        // taken from its path or body) must never make the event too large to
        // publish.
        let resource_id = audited
            .resource_id
            .as_deref()
            .map(|id| capped(id, limits::ID));
        let payload = schemas
            .encode(
                AuditEvent::SCHEMA,
                &AuditEvent {
                    tenant_id: key.clone(),
                    region: self.region.as_str().to_owned(),
                    actor: capped(&ctx.principal.subject, limits::ID),
                    actor_display: ctx
                        .principal
                        .display
                        .as_deref()
                        .map(|d| capped(d, limits::ID)),
                    action: audited.action.to_owned(),
                    resource_type: audited.resource_type.to_owned(),
                    resource_id: resource_id.clone(),
                    outcome: outcome.as_str().to_owned(),
                    reason: reason.map(|r| capped(r, limits::REASON)),
                    request_id: Some(ctx.request_id.to_string()),
                    occurred_at: micros(OffsetDateTime::now_utc()),
                    source_service: self.service.to_owned(),
                    details: capped_details(&audited.details),
                },
            )
            .map_err(ApiError::internal)?;
        let event = Event::new(&self.topic, key, AUDIT_EVENT, &self.source, payload);
        Ok(match resource_id {
            Some(id) => event.with_subject(id),
            None => event,
        })
    }
}

/// Records a refused action's audit event (built by the caller) in a transaction
/// of its own on a connection from `pool`: the refused request's own transaction,
/// if it had one, was rolled back. A failure to record it is logged; the caller
/// still answers with the refusal.
pub async fn record_refusal(pool: &plinth_db::Pool, event: Result<Event, ApiError>, action: &str) {
    let result = async {
        let event = event?;
        let mut conn = plinth_db::checkout(pool).await?;
        Outbox::enqueue(&mut conn, &[event])
            .await
            .map_err(ApiError::internal)
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, action, "recording a refused action failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_text_keeps_what_fits_and_says_what_was_cut() {
        assert_eq!(capped("short", 10), "short");
        let cut = capped(&"é".repeat(1000), 64);
        assert!(cut.len() <= 64, "{} bytes", cut.len());
        assert!(cut.ends_with("…[+2000 bytes]"), "{cut}");
        assert!(cut.starts_with('é'));
    }

    #[test]
    fn an_oversized_request_makes_a_small_audit_event() {
        let schemas =
            Schemas::from_sources([include_str!("../../../schemas/avro/audit/audit_event.avsc")])
                .unwrap();
        let auditor = Auditor::new("plinth.audit.v1".into(), Region::Us, "test");
        let mut ctx = ReqCtx::for_service("test", Region::Us, None);
        ctx.principal.subject = "s".repeat(5_000);
        let huge = "x".repeat(1_200_000);
        let mut audited = Audited::new("playbook.link", "playbook_link").on_resource(&huge);
        for i in 0..1_000 {
            audited = audited.with_detail(&format!("{i:04}{huge:.100}"), &huge[..5_000]);
        }
        let event = auditor
            .event(&schemas, &ctx, &audited, Outcome::Denied, Some(&huge))
            .unwrap();
        assert!(
            event.payload.len() < 64 * 1024,
            "{} bytes",
            event.payload.len()
        );
        assert!(
            event
                .subject
                .as_ref()
                .is_some_and(|s| s.len() <= limits::ID)
        );
        let decoded: AuditEvent = schemas.decode(AuditEvent::SCHEMA, &event.payload).unwrap();
        assert!(decoded.resource_id.unwrap().ends_with("…[+1200000 bytes]"));
        assert_eq!(decoded.details.len(), limits::DETAILS + 1);
        assert_eq!(decoded.details["details_dropped"], "968");
        assert!(decoded.actor.len() <= limits::ID);
    }
}

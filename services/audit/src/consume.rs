//! The consumer: every service's audit events into their logs, and the lifecycle
//! sagas' requests into provisioning and sealing, each applied with exactly-once
//! effect (the inbox records the event in the same transaction; a log also holds
//! an event id at most once).

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use plinth_auditlog::Record;
use plinth_bus::{Handler, HandlerError, Outbox, Received};
use plinth_core::{Region, TenantId};
use plinth_db::{TenantScope, set_scope_on_conn};
use uuid::Uuid;

use crate::app::AppState;
use crate::app::lifecycle::{deprovision_on_conn, provision_on_conn};
use crate::app::log::{PLATFORM_LOG, append_on_conn};
use crate::events::{
    AUDIT_EVENT, AuditEvent, LifecycleRequest, OFFBOARDING_ITEM_RETRY, OFFBOARDING_REQUESTED,
    ONBOARDING_ITEM_RETRY, ONBOARDING_REQUESTED, TENANT_CREATED, TenantCreated, record_of,
};
use crate::store::known_tenants::{known_tenant_add_on_conn, known_tenants_among_on_conn};

/// Records audit events and answers lifecycle requests.
pub struct Recorder {
    app: Arc<AppState>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    pub fn new(app: Arc<AppState>) -> Self {
        Recorder { app }
    }

    /// The log an event belongs to: `platform`, or a tenant of this region.
    fn log_of(&self, tenant: &str) -> Result<String, HandlerError> {
        if tenant == PLATFORM_LOG {
            return Ok(tenant.to_owned());
        }
        let id = TenantId::parse(tenant)
            .map_err(|e| HandlerError::Permanent(format!("tenant id {tenant:?}: {e}")))?;
        check_region(id, self.app.region)?;
        Ok(id.to_string())
    }
}

fn check_region(tenant: TenantId, region: Region) -> Result<(), HandlerError> {
    if tenant.region() == region {
        Ok(())
    } else {
        Err(HandlerError::Permanent(format!(
            "{tenant} belongs to region {}; this deployment serves {region}",
            tenant.region()
        )))
    }
}

fn transient(e: plinth_core::ApiError) -> HandlerError {
    HandlerError::Transient(e.to_string())
}

impl Recorder {
    /// A lifecycle request: provisioning or sealing the tenant's log; the events to
    /// publish.
    async fn lifecycle(
        &self,
        conn: &mut AsyncPgConnection,
        received: &Received,
    ) -> Result<Vec<plinth_bus::Event>, HandlerError> {
        let app = &self.app;
        let onboarding = matches!(
            received.event.ty.as_str(),
            ONBOARDING_REQUESTED | ONBOARDING_ITEM_RETRY
        );
        let schema = if onboarding {
            LifecycleRequest::ONBOARDING
        } else {
            LifecycleRequest::OFFBOARDING
        };
        let request: LifecycleRequest = received.decode(app.events.schemas(), schema)?;
        let ours = request.owned_by(crate::events::OWNER);
        if ours.is_empty() {
            return Ok(Vec::new());
        }
        let log = self.log_of(&request.tenant_id)?;
        let events = if onboarding {
            provision_on_conn(app, conn, &log, &ours).await
        } else {
            deprovision_on_conn(app, conn, &log, &ours).await
        };
        events.map_err(transient)
    }
}

impl Handler for Recorder {
    fn wants(&self, ty: &str) -> bool {
        [
            AUDIT_EVENT,
            TENANT_CREATED,
            ONBOARDING_REQUESTED,
            ONBOARDING_ITEM_RETRY,
            OFFBOARDING_REQUESTED,
            OFFBOARDING_ITEM_RETRY,
        ]
        .contains(&ty)
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &Received,
    ) -> Result<(), HandlerError> {
        self.handle_batch(conn, &[event]).await
    }

    /// A batch's audit events go to their logs a log at a time (one append for all
    /// of a log's events: a few statements for hundreds of entries); the lifecycle
    /// requests after them, in order.
    async fn handle_batch(
        &self,
        conn: &mut AsyncPgConnection,
        events: &[&Received],
    ) -> Result<(), HandlerError> {
        // The consumer's work spans the tenants' logs and the platform log.
        set_scope_on_conn(conn, &TenantScope::All).await?;
        let app = &self.app;
        // The registry's new tenants first: a refusal in the same batch may name one.
        for received in events.iter().filter(|r| r.event.ty == TENANT_CREATED) {
            let created: TenantCreated =
                received.decode(app.events.schemas(), TenantCreated::SCHEMA)?;
            known_tenant_add_on_conn(conn, &created.tenant_id).await?;
        }
        let audits: Vec<(&Received, AuditEvent)> = events
            .iter()
            .filter(|r| r.event.ty == AUDIT_EVENT)
            .map(|r| Ok((*r, r.decode(app.events.schemas(), AuditEvent::SCHEMA)?)))
            .collect::<Result<_, HandlerError>>()?;
        let refused: Vec<&str> = audits
            .iter()
            .filter(|(_, a)| a.outcome != "ALLOWED" && a.tenant_id != PLATFORM_LOG)
            .map(|(_, a)| a.tenant_id.as_str())
            .collect();
        let mut known = known_tenants_among_on_conn(conn, &refused).await?;
        // An allowed action in the same batch vouches for its tenant too.
        known.extend(
            audits
                .iter()
                .filter(|(_, a)| a.outcome == "ALLOWED")
                .map(|(_, a)| a.tenant_id.clone()),
        );
        let mut groups: Vec<(String, Vec<(Uuid, Record)>)> = Vec::new();
        let requests: Vec<&Received> = events
            .iter()
            .filter(|r| ![AUDIT_EVENT, TENANT_CREATED].contains(&r.event.ty.as_str()))
            .copied()
            .collect();
        for (received, mut audit) in audits {
            // A refusal naming a tenant the registry has not announced goes to the
            // platform's log: no log is ever opened for a made-up tenant.
            if audit.outcome != "ALLOWED"
                && audit.tenant_id != PLATFORM_LOG
                && !known.contains(&audit.tenant_id)
            {
                let named = std::mem::replace(&mut audit.tenant_id, PLATFORM_LOG.to_owned());
                audit.details.insert("named_tenant".to_owned(), named);
            }
            let log = self.log_of(&audit.tenant_id)?;
            let record = record_of(audit).map_err(HandlerError::Permanent)?;
            match groups.iter_mut().find(|(l, _)| *l == log) {
                Some((_, records)) => records.push((received.event.id, record)),
                None => groups.push((log, vec![(received.event.id, record)])),
            }
        }
        let mut out = Vec::new();
        for (log, records) in groups {
            out.extend(
                append_on_conn(app, conn, &log, records)
                    .await
                    .map_err(transient)?
                    .events,
            );
        }
        for received in requests {
            out.extend(self.lifecycle(conn, received).await?);
        }
        Outbox::enqueue(conn, &out).await?;
        Ok(())
    }
}

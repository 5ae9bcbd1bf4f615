//! The consumer of the tenant registry's events: tenants, their status, data
//! mode, workspaces and entitled modules into the catalog's own tables — what a
//! release's readiness for a tenant is assessed from — and the lifecycle sagas'
//! requests into default modules enabled and every module disabled, each applied
//! once (the inbox records the event in the same transaction); and the policy
//! service's records in force, which the readiness check `policy` decides by.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use plinth_bus::lifecycle::LifecycleRequest;
use plinth_bus::policy::{PolicyRecordChanged, RECORD_PUBLISHED, RECORD_RETIRED};
use plinth_bus::tenant::{
    ENTITLEMENT_CHANGED, EntitlementChanged, TENANT_CREATED, TENANT_STATUS_CHANGED, TenantCreated,
    TenantStatusChanged, WORKSPACE_CREATED, WORKSPACE_DELETED, WORKSPACE_UPDATED, WorkspaceChanged,
    tenant_of_region,
};
use plinth_bus::{Handler, HandlerError, Outbox, Received};
use plinth_db::{TenantScope, set_scope_on_conn};

use crate::app::{AppState, now};
use crate::lifecycle::{OWNER, RequestedModules, deprovision_on_conn, provision_on_conn};
use crate::tenant_store::{
    PolicyRecordRow, TenantRow, WorkspaceRow, policy_record_delete_on_conn,
    policy_record_put_on_conn, tenant_modules_set_on_conn, tenant_status_set_on_conn,
    tenant_upsert_on_conn, workspace_delete_on_conn, workspace_upsert_on_conn,
};

/// Applies the registry's events.
pub struct Projector {
    app: Arc<AppState>,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector").finish_non_exhaustive()
    }
}

impl Projector {
    pub fn new(app: Arc<AppState>) -> Self {
        Projector { app }
    }
}

impl Handler for Projector {
    fn wants(&self, ty: &str) -> bool {
        [
            TENANT_CREATED,
            TENANT_STATUS_CHANGED,
            WORKSPACE_CREATED,
            WORKSPACE_UPDATED,
            WORKSPACE_DELETED,
            ENTITLEMENT_CHANGED,
            RECORD_PUBLISHED,
            RECORD_RETIRED,
        ]
        .contains(&ty)
            || LifecycleRequest::kind_of(ty).is_some()
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        received: &Received,
    ) -> Result<(), HandlerError> {
        set_scope_on_conn(conn, &TenantScope::All).await?;
        let app = &self.app;
        let schemas = app.events.schemas();
        let at = now();
        let ty = received.event.ty.as_str();
        if ty == RECORD_PUBLISHED || ty == RECORD_RETIRED {
            let event: PolicyRecordChanged =
                received.decode(schemas, PolicyRecordChanged::SCHEMA)?;
            if ty == RECORD_RETIRED {
                policy_record_delete_on_conn(conn, &event.record_id).await?;
            } else {
                let rules: serde_json::Value = serde_json::from_str(&event.rules)
                    .map_err(|e| HandlerError::Permanent(format!("the record's rules: {e}")))?;
                let row = PolicyRecordRow {
                    record_id: event.record_id,
                    level: event.level,
                    tenant_id: event.tenant_id,
                    module_id: event.module_id,
                    version: event.version,
                    rules,
                    updated_at: at,
                };
                policy_record_put_on_conn(conn, &row).await?;
            }
            return Ok(());
        }
        if let Some(onboarding) = LifecycleRequest::kind_of(ty) {
            let schema = if onboarding {
                LifecycleRequest::ONBOARDING
            } else {
                LifecycleRequest::OFFBOARDING
            };
            let request: LifecycleRequest = received.decode(schemas, schema)?;
            let ours = request.owned_by(OWNER);
            if ours.is_empty() {
                return Ok(());
            }
            let tenant = tenant_of_region(&request.tenant_id, app.region)?;
            let events = if onboarding {
                let requested: RequestedModules = received.decode(schemas, schema)?;
                provision_on_conn(app, conn, tenant, &ours, &requested.requested_modules).await
            } else {
                deprovision_on_conn(app, conn, tenant, &ours).await
            }
            .map_err(|e| HandlerError::Transient(e.to_string()))?;
            Outbox::enqueue(conn, &events).await?;
            return Ok(());
        }
        match ty {
            TENANT_CREATED => {
                let event: TenantCreated = received.decode(schemas, TenantCreated::SCHEMA)?;
                let tenant = tenant_of_region(&event.tenant_id, app.region)?;
                let row = TenantRow {
                    tenant_id: tenant.to_string(),
                    status: event.status,
                    data_mode: event.data_mode,
                    modules: Vec::new(),
                    updated_at: at,
                };
                tenant_upsert_on_conn(conn, &row).await?;
            }
            TENANT_STATUS_CHANGED => {
                let event: TenantStatusChanged =
                    received.decode(schemas, TenantStatusChanged::SCHEMA)?;
                let tenant = tenant_of_region(&event.tenant_id, app.region)?;
                tenant_status_set_on_conn(conn, &tenant.to_string(), &event.to_status, at).await?;
            }
            ENTITLEMENT_CHANGED => {
                let event: EntitlementChanged =
                    received.decode(schemas, EntitlementChanged::SCHEMA)?;
                let tenant = tenant_of_region(&event.tenant_id, app.region)?;
                tenant_modules_set_on_conn(conn, &tenant.to_string(), &event.modules, at).await?;
            }
            ty => {
                let event: WorkspaceChanged = received.decode(schemas, WorkspaceChanged::SCHEMA)?;
                let tenant = tenant_of_region(&event.tenant_id, app.region)?;
                if ty == WORKSPACE_DELETED {
                    workspace_delete_on_conn(conn, &event.workspace_id).await?;
                } else {
                    let row = WorkspaceRow {
                        workspace_id: event.workspace_id,
                        tenant_id: tenant.to_string(),
                        name: event.name,
                        data_mode: event.data_mode,
                        updated_at: at,
                    };
                    workspace_upsert_on_conn(conn, &row).await?;
                }
            }
        }
        Ok(())
    }
}

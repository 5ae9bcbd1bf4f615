//! The consumer of the tenant registry's events: which tenants exist here and
//! their status, and the lifecycle sagas' requests (`lifecycle`), each event
//! applied once (the inbox records it in the same transaction).

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use plinth_bus::lifecycle::LifecycleRequest;
use plinth_bus::policy::{PolicyRecordChanged, RECORD_PUBLISHED, RECORD_RETIRED};
use plinth_bus::tenant::{
    TENANT_CREATED, TENANT_STATUS_CHANGED, TenantCreated, TenantStatusChanged, WORKSPACE_CREATED,
    WORKSPACE_DELETED, WORKSPACE_UPDATED, WorkspaceChanged, tenant_of_region,
};
use plinth_bus::{Handler, HandlerError, Outbox, Received};
use plinth_core::ReqCtx;
use plinth_db::{TenantScope, set_scope_on_conn};

use crate::app::{AppState, now};
use crate::lifecycle;
use crate::store::{
    PolicyRecordRow, TenantRow, WorkspaceRow, connectors_of_tenant_on_conn,
    policy_record_delete_on_conn, policy_record_put_on_conn, tenant_status_set_on_conn,
    tenant_upsert_on_conn, workspace_upsert_on_conn,
};

/// Applies the registry's events and the policy service's records.
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
        ]
        .contains(&ty)
            || LifecycleRequest::kind_of(ty).is_some()
            || [RECORD_PUBLISHED, RECORD_RETIRED].contains(&ty)
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
            let ours = request.owned_by(lifecycle::OWNER);
            if ours.is_empty() {
                return Ok(());
            }
            let tenant = tenant_of_region(&request.tenant_id, app.region)?;
            let events = if onboarding {
                lifecycle::provision_on_conn(app, conn, tenant, &ours).await
            } else {
                lifecycle::deprovision_on_conn(app, conn, tenant, &ours).await
            }
            .map_err(|e| HandlerError::Transient(e.to_string()))?;
            Outbox::enqueue(conn, &events).await?;
            return Ok(());
        }
        if [WORKSPACE_CREATED, WORKSPACE_UPDATED, WORKSPACE_DELETED].contains(&ty) {
            let event: WorkspaceChanged = received.decode(schemas, WorkspaceChanged::SCHEMA)?;
            let tenant = tenant_of_region(&event.tenant_id, app.region)?;
            let deleted = ty == WORKSPACE_DELETED;
            let row = WorkspaceRow {
                workspace_id: event.workspace_id.clone(),
                tenant_id: tenant.to_string(),
                name: event.name,
                deleted_at: deleted.then_some(at),
                updated_at: at,
            };
            workspace_upsert_on_conn(conn, &row).await?;
            if deleted {
                // The connectors installed in it go with it: their
                // credentials are destroyed.
                let ctx = ReqCtx::for_service(lifecycle::OWNER, app.region, Some(tenant));
                let installed =
                    connectors_of_tenant_on_conn(conn, &row.tenant_id, Some(&row.workspace_id))
                        .await?;
                for (connector, _) in installed {
                    let events = lifecycle::destroy_on_conn(
                        app,
                        conn,
                        &ctx,
                        tenant,
                        &connector,
                        "workspace_deleted",
                    )
                    .await
                    .map_err(|e| HandlerError::Transient(e.to_string()))?;
                    Outbox::enqueue(conn, &events).await?;
                }
            }
        } else if ty == TENANT_CREATED {
            let event: TenantCreated = received.decode(schemas, TenantCreated::SCHEMA)?;
            let tenant = tenant_of_region(&event.tenant_id, app.region)?;
            let row = TenantRow {
                tenant_id: tenant.to_string(),
                status: event.status,
                updated_at: at,
            };
            tenant_upsert_on_conn(conn, &row).await?;
        } else {
            let event: TenantStatusChanged =
                received.decode(schemas, TenantStatusChanged::SCHEMA)?;
            let tenant = tenant_of_region(&event.tenant_id, app.region)?;
            tenant_status_set_on_conn(conn, &tenant.to_string(), &event.to_status, at).await?;
        }
        Ok(())
    }
}

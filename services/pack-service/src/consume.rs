//! The consumers of the tenant registry's and the module catalog's events: tenants
//! and their status into the service's own tables (the projector), their
//! workspaces too (a consumer of its own), the lifecycle sagas' requests
//! into default packs and withdrawn configurations, the decisions on module
//! releases into the tool catalog; each applied once (the inbox records the event
//! in the same transaction).

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use plinth_bus::lifecycle::LifecycleRequest;
use plinth_bus::{Handler, HandlerError, Outbox, Received};
use plinth_db::{TenantScope, set_scope_on_conn};

use crate::app::AppState;
use crate::app::lifecycle::{deprovision_on_conn, provision_on_conn};
use crate::app::tenants::{
    tenant_added_on_conn, tenant_created_on_conn, tenant_status_on_conn, workspace_changed_on_conn,
};
use crate::app::tools::module_decided_on_conn;
use crate::events::{
    MODULE_DECISIONS, ModuleDecided, OWNER, TENANT_CREATED, TENANT_STATUS_CHANGED, TenantCreated,
    TenantStatusChanged, WORKSPACE_CREATED, WORKSPACE_DELETED, WORKSPACE_UPDATED, WorkspaceChanged,
};

/// Applies the registry's events but its workspaces', and the module catalog's.
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

fn transient(e: plinth_core::ApiError) -> HandlerError {
    HandlerError::Transient(e.to_string())
}

impl Handler for Projector {
    fn wants(&self, ty: &str) -> bool {
        ty == TENANT_CREATED
            || ty == TENANT_STATUS_CHANGED
            || MODULE_DECISIONS.contains(&ty)
            || LifecycleRequest::kind_of(ty).is_some()
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        received: &Received,
    ) -> Result<(), HandlerError> {
        // Tenants are the service's own records across every tenant; tools are
        // the platform's.
        set_scope_on_conn(conn, &TenantScope::All).await?;
        let app = &self.app;
        let schemas = app.events.schemas();
        let ty = received.event.ty.as_str();
        if ty == TENANT_CREATED {
            let event: TenantCreated = received.decode(schemas, TenantCreated::SCHEMA)?;
            return tenant_created_on_conn(conn, event).await.map_err(transient);
        }
        if ty == TENANT_STATUS_CHANGED {
            let event: TenantStatusChanged =
                received.decode(schemas, TenantStatusChanged::SCHEMA)?;
            return tenant_status_on_conn(conn, event).await.map_err(transient);
        }
        if MODULE_DECISIONS.contains(&ty) {
            let event: ModuleDecided = received.decode(schemas, ModuleDecided::SCHEMA)?;
            return module_decided_on_conn(conn, event).await.map_err(transient);
        }
        let Some(onboarding) = LifecycleRequest::kind_of(ty) else {
            return Ok(());
        };
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
        let tenant = plinth_bus::tenant::tenant_of_region(&request.tenant_id, app.region)?;
        let events = if onboarding {
            provision_on_conn(app, conn, tenant, &ours).await
        } else {
            deprovision_on_conn(app, conn, tenant, &ours).await
        }
        .map_err(transient)?;
        Outbox::enqueue(conn, &events).await?;
        Ok(())
    }
}

/// Applies the registry's workspace events, for their workflows. A consumer group
/// of its own, so that it read the registry's topic from its start even where the
/// projector's group had passed the workspaces created before this service kept
/// them. A workspace's tenant may not be known here yet (the projector reads at
/// its own pace): its creation, which comes first on the same partition, adds it
/// if it is missing and never changes it otherwise.
pub struct Workspaces {
    app: Arc<AppState>,
}

impl std::fmt::Debug for Workspaces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspaces").finish_non_exhaustive()
    }
}

impl Workspaces {
    pub fn new(app: Arc<AppState>) -> Self {
        Workspaces { app }
    }
}

impl Handler for Workspaces {
    fn wants(&self, ty: &str) -> bool {
        [
            TENANT_CREATED,
            WORKSPACE_CREATED,
            WORKSPACE_UPDATED,
            WORKSPACE_DELETED,
        ]
        .contains(&ty)
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        received: &Received,
    ) -> Result<(), HandlerError> {
        set_scope_on_conn(conn, &TenantScope::All).await?;
        let app = &self.app;
        let schemas = app.events.schemas();
        let ty = received.event.ty.as_str();
        if ty == TENANT_CREATED {
            let event: TenantCreated = received.decode(schemas, TenantCreated::SCHEMA)?;
            plinth_bus::tenant::tenant_of_region(&event.tenant_id, app.region)?;
            return tenant_added_on_conn(conn, event).await.map_err(transient);
        }
        let event: WorkspaceChanged = received.decode(schemas, WorkspaceChanged::SCHEMA)?;
        plinth_bus::tenant::tenant_of_region(&event.tenant_id, app.region)?;
        workspace_changed_on_conn(conn, ty, event)
            .await
            .map_err(transient)
    }
}

//! The consumer of the tenant registry's events: which tenants exist here and
//! their status, each event applied once (the inbox records it in the same
//! transaction).

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use plinth_bus::tenant::{
    TENANT_CREATED, TENANT_STATUS_CHANGED, TenantCreated, TenantStatusChanged, tenant_of_region,
};
use plinth_bus::{Handler, HandlerError, Received};
use plinth_db::{TenantScope, set_scope_on_conn};

use crate::records::{AppState, now};
use crate::store::{TenantRow, tenant_status_set_on_conn, tenant_upsert_on_conn};

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
        [TENANT_CREATED, TENANT_STATUS_CHANGED].contains(&ty)
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
        if received.event.ty == TENANT_CREATED {
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

//! The consumers of the tenant registry's events: which tenants exist here and
//! their status (the projector), their workspaces' approval tiers and data modes
//! (a consumer of its own), each event applied once (the inbox records it in the
//! same transaction).

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use plinth_bus::lifecycle::LifecycleRequest;
use plinth_bus::tenant::{
    ENTITLEMENT_CHANGED, TENANT_CREATED, TENANT_STATUS_CHANGED, TenantCreated, TenantStatusChanged,
    WORKSPACE_CREATED, WORKSPACE_DELETED, WORKSPACE_UPDATED, WorkspaceChanged, tenant_of_region,
};
use plinth_bus::{Handler, HandlerError, Outbox, Received};
use plinth_db::{TenantScope, set_scope_on_conn};

use crate::lifecycle;
use crate::records::{AppState, now};
use serde::Deserialize;

use crate::store::runs::{WorkspaceRow, workspace_upsert_on_conn};
use crate::store::{
    TenantRow, UsageRow, budget_set_on_conn, tenant_add_missing_on_conn, tenant_get_on_conn,
    tenant_status_set_on_conn, tenant_upsert_on_conn, usage_add_on_conn,
};

/// What a runtime spent, as `plinth.metering.usage_recorded` has it.
pub const USAGE_RECORDED: &str = "plinth.metering.usage_recorded";

#[derive(Debug, Deserialize)]
struct UsageRecorded {
    tenant_id: String,
    workspace_id: Option<String>,
    module_id: Option<String>,
    provider_kind: Option<String>,
    model: Option<String>,
    tokens_in: i64,
    tokens_out: i64,
    connector: Option<String>,
    connector_operations: i32,
    occurred_at: i64,
}

/// The entitlement's token budget, as `plinth.entitlement.changed` has it.
#[derive(Debug, Deserialize)]
struct EntitlementBudget {
    tenant_id: String,
    monthly_token_budget: i64,
}

/// The first day of the month (UTC) of `micros` after the epoch.
fn month_of(micros: i64) -> Result<time::Date, HandlerError> {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map_err(|e| HandlerError::Permanent(format!("occurred_at: {e}")))?;
    at.date()
        .replace_day(1)
        .map_err(|e| HandlerError::Permanent(format!("occurred_at: {e}")))
}

/// Applies the registry's events but its workspaces'.
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
            ENTITLEMENT_CHANGED,
            USAGE_RECORDED,
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
        if ty == USAGE_RECORDED {
            let event: UsageRecorded = received.decode(schemas, "plinth.metering.UsageRecorded")?;
            let tenant = tenant_of_region(&event.tenant_id, app.region)?;
            if event.tokens_in < 0 || event.tokens_out < 0 || event.connector_operations < 0 {
                return Err(HandlerError::Permanent(
                    "usage is never negative".to_owned(),
                ));
            }
            // The registry's topic is another: its event may come later.
            if tenant_get_on_conn(conn, &tenant.to_string())
                .await?
                .is_none()
            {
                return Err(HandlerError::Transient(format!(
                    "usage of {tenant}, a tenant not known here yet"
                )));
            }
            let row = UsageRow {
                tenant_id: tenant.to_string(),
                month: month_of(event.occurred_at)?,
                workspace_id: event.workspace_id.unwrap_or_default(),
                module_id: event.module_id.unwrap_or_default(),
                provider_kind: event.provider_kind.unwrap_or_default(),
                model: event.model.unwrap_or_default(),
                connector: event.connector.unwrap_or_default(),
                tokens_in: event.tokens_in,
                tokens_out: event.tokens_out,
                connector_operations: i64::from(event.connector_operations),
                events: 1,
            };
            usage_add_on_conn(conn, &row).await?;
        } else if ty == ENTITLEMENT_CHANGED {
            let event: EntitlementBudget =
                received.decode(schemas, "plinth.tenant.EntitlementChanged")?;
            let tenant = tenant_of_region(&event.tenant_id, app.region)?;
            budget_set_on_conn(conn, &tenant.to_string(), event.monthly_token_budget, at).await?;
        } else if ty == TENANT_CREATED {
            let event: TenantCreated = received.decode(schemas, TenantCreated::SCHEMA)?;
            let tenant = tenant_of_region(&event.tenant_id, app.region)?;
            let row = TenantRow {
                tenant_id: tenant.to_string(),
                status: event.status,
                updated_at: at,
                monthly_token_budget: None,
                enrolled_at: None,
                withdrawn_at: None,
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

/// Applies the registry's workspace events: each workspace's approval tier, the
/// least gate its steps get, and its data mode, whether a step's decision support
/// is kept. A consumer group of its own, so that it read the registry's topic from
/// its start even where the projector's group had passed the workspaces created
/// before this service kept them. A workspace's tenant may not be known here yet
/// (the projector reads at its own pace): its creation, which comes first on the
/// same partition, adds it if it is missing and never changes it otherwise.
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
        let at = now();
        let ty = received.event.ty.as_str();
        if ty == TENANT_CREATED {
            let event: TenantCreated = received.decode(schemas, TenantCreated::SCHEMA)?;
            let tenant = tenant_of_region(&event.tenant_id, app.region)?;
            let row = TenantRow {
                tenant_id: tenant.to_string(),
                status: event.status,
                updated_at: at,
                monthly_token_budget: None,
                enrolled_at: None,
                withdrawn_at: None,
            };
            tenant_add_missing_on_conn(conn, &row).await?;
            return Ok(());
        }
        let event: WorkspaceChanged = received.decode(schemas, WorkspaceChanged::SCHEMA)?;
        let tenant = tenant_of_region(&event.tenant_id, app.region)?;
        let row = WorkspaceRow {
            workspace_id: event.workspace_id,
            tenant_id: tenant.to_string(),
            approval_tier: event.approval_tier,
            data_mode: event.data_mode,
            deleted_at: (ty == WORKSPACE_DELETED).then_some(at),
            updated_at: at,
        };
        workspace_upsert_on_conn(conn, &row).await?;
        Ok(())
    }
}

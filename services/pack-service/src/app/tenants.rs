//! What the pack service knows of tenants: their registration (slug, name, data
//! mode) and status, from the tenant registry's events. A pack request for a
//! tenant it has not heard of is answered like one for a tenant that does not
//! exist.

use diesel_async::AsyncPgConnection;
use plinth_core::{ApiError, TenantId};

use super::now;
use crate::events::{TenantCreated, TenantStatusChanged, WORKSPACE_DELETED, WorkspaceChanged};
use crate::store::tenants::{
    TenantRow, tenant_add_missing_on_conn, tenant_get_on_conn, tenant_status_set_on_conn,
    tenant_upsert_on_conn,
};
use crate::store::workflows::{WorkspaceRow, workspace_upsert_on_conn};

pub async fn tenant_created_on_conn(
    conn: &mut AsyncPgConnection,
    event: TenantCreated,
) -> Result<(), ApiError> {
    tenant_upsert_on_conn(conn, &tenant_row(event)?).await?;
    Ok(())
}

/// A tenant as it was created, added unless it is known already (then it is left
/// as it is): the workspaces' consumer may come to a tenant's workspace before
/// the projector has come to the tenant.
pub async fn tenant_added_on_conn(
    conn: &mut AsyncPgConnection,
    event: TenantCreated,
) -> Result<(), ApiError> {
    tenant_add_missing_on_conn(conn, &tenant_row(event)?).await?;
    Ok(())
}

fn tenant_row(event: TenantCreated) -> Result<TenantRow, ApiError> {
    let tenant = TenantId::parse(&event.tenant_id).map_err(ApiError::internal)?;
    Ok(TenantRow {
        tenant_id: tenant.to_string(),
        slug: event.slug,
        display_name: event.display_name,
        status: event.status,
        data_mode: event.data_mode,
        updated_at: now(),
    })
}

pub async fn tenant_status_on_conn(
    conn: &mut AsyncPgConnection,
    event: TenantStatusChanged,
) -> Result<(), ApiError> {
    let tenant = TenantId::parse(&event.tenant_id).map_err(ApiError::internal)?;
    tenant_status_set_on_conn(conn, tenant, &event.to_status, now()).await?;
    Ok(())
}

/// A workspace created, changed or deleted (`ty`): kept for its workflows, a
/// deleted one marked so. Its tenant's creation comes before it on the same
/// partition, so a tenant the service has not heard of is an error, not a
/// workspace to leave out.
pub async fn workspace_changed_on_conn(
    conn: &mut AsyncPgConnection,
    ty: &str,
    event: WorkspaceChanged,
) -> Result<(), ApiError> {
    let tenant = TenantId::parse(&event.tenant_id).map_err(ApiError::internal)?;
    if tenant_get_on_conn(conn, tenant).await?.is_none() {
        return Err(ApiError::internal(format!(
            "workspace {} of {tenant}, a tenant not known here",
            event.workspace_id
        )));
    }
    let at = now();
    workspace_upsert_on_conn(
        conn,
        &WorkspaceRow {
            workspace_id: event.workspace_id,
            tenant_id: tenant.to_string(),
            name: event.name,
            deleted_at: (ty == WORKSPACE_DELETED).then_some(at),
            updated_at: at,
        },
    )
    .await?;
    Ok(())
}

//! The `workspaces` table.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::{TenantId, WorkspaceId};
use time::OffsetDateTime;

use crate::schema::workspaces;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = workspaces)]
pub struct WorkspaceRow {
    pub workspace_id: String,
    pub tenant_id: String,
    pub name: String,
    pub data_mode: String,
    pub retention_days: i32,
    pub write_cap_per_day: Option<i32>,
    pub approval_tier: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
}

/// The settings an update replaces.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = workspaces, treat_none_as_null = true)]
pub struct WorkspaceSettings {
    pub name: String,
    pub data_mode: String,
    pub retention_days: i32,
    pub write_cap_per_day: Option<i32>,
    pub approval_tier: String,
    pub updated_at: OffsetDateTime,
}

pub async fn workspace_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &WorkspaceRow,
) -> QueryResult<()> {
    diesel::insert_into(workspaces::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The tenant's workspace, locked for the rest of the transaction when `for_update`.
pub async fn workspace_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: WorkspaceId,
    for_update: bool,
) -> QueryResult<Option<WorkspaceRow>> {
    let query = workspaces::table
        .filter(workspaces::tenant_id.eq(tenant.to_string()))
        .filter(workspaces::workspace_id.eq(id.to_string()))
        .select(WorkspaceRow::as_select());
    if for_update {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// Up to `limit` of the tenant's workspaces after `after`, in id order.
pub async fn workspace_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<WorkspaceRow>> {
    let mut query = workspaces::table
        .filter(workspaces::tenant_id.eq(tenant.to_string()))
        .order(workspaces::workspace_id.asc())
        .limit(limit)
        .select(WorkspaceRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(workspaces::workspace_id.gt(after.to_owned()));
    }
    query.load(conn).await
}

pub async fn workspace_update_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: WorkspaceId,
    settings: &WorkspaceSettings,
) -> QueryResult<WorkspaceRow> {
    diesel::update(
        workspaces::table
            .filter(workspaces::tenant_id.eq(tenant.to_string()))
            .filter(workspaces::workspace_id.eq(id.to_string())),
    )
    .set(settings)
    .returning(WorkspaceRow::as_returning())
    .get_result(conn)
    .await
}

pub async fn workspace_delete_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: WorkspaceId,
) -> QueryResult<usize> {
    diesel::delete(
        workspaces::table
            .filter(workspaces::tenant_id.eq(tenant.to_string()))
            .filter(workspaces::workspace_id.eq(id.to_string())),
    )
    .execute(conn)
    .await
}

//! The `entitlements` table.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::{entitlements, workspaces};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = entitlements)]
pub struct EntitlementRow {
    pub tenant_id: String,
    pub plan: String,
    pub modules: Vec<String>,
    pub api_rate_per_second: i32,
    pub max_workspaces: i32,
    pub max_provider_connections: i32,
    pub monthly_token_budget: i64,
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
}

pub async fn entitlement_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<Option<EntitlementRow>> {
    entitlements::table
        .filter(entitlements::tenant_id.eq(tenant.to_string()))
        .select(EntitlementRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Inserts or replaces the tenant's entitlements.
pub async fn entitlement_set_on_conn(
    conn: &mut AsyncPgConnection,
    row: &EntitlementRow,
) -> QueryResult<()> {
    diesel::insert_into(entitlements::table)
        .values(row)
        .on_conflict(entitlements::tenant_id)
        .do_update()
        .set(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn workspace_count_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<i64> {
    workspaces::table
        .filter(workspaces::tenant_id.eq(tenant.to_string()))
        .count()
        .get_result(conn)
        .await
}

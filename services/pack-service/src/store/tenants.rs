//! The `tenants` table: what the service knows of tenants from the registry's
//! events.

use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::tenants;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub tenant_id: String,
    pub slug: String,
    pub display_name: String,
    pub status: String,
    pub data_mode: String,
    pub updated_at: OffsetDateTime,
}

/// Records a tenant (again: the registry's event may arrive twice).
pub async fn tenant_upsert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &TenantRow,
) -> QueryResult<()> {
    diesel::insert_into(tenants::table)
        .values(row)
        .on_conflict(tenants::tenant_id)
        .do_update()
        .set((
            tenants::slug.eq(excluded(tenants::slug)),
            tenants::display_name.eq(excluded(tenants::display_name)),
            tenants::data_mode.eq(excluded(tenants::data_mode)),
            tenants::updated_at.eq(excluded(tenants::updated_at)),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Adds a tenant unless it is known already (then it is left as it is).
pub async fn tenant_add_missing_on_conn(
    conn: &mut AsyncPgConnection,
    row: &TenantRow,
) -> QueryResult<()> {
    diesel::insert_into(tenants::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

pub async fn tenant_status_set_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    status: &str,
    at: OffsetDateTime,
) -> QueryResult<usize> {
    diesel::update(tenants::table.find(tenant.to_string()))
        .set((tenants::status.eq(status), tenants::updated_at.eq(at)))
        .execute(conn)
        .await
}

pub async fn tenant_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<Option<TenantRow>> {
    tenants::table
        .find(tenant.to_string())
        .select(TenantRow::as_select())
        .first(conn)
        .await
        .optional()
}

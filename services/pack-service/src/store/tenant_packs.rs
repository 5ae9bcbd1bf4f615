//! The `tenant_packs` table: each tenant's Tenant Pack versions.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::tenant_packs;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenant_packs)]
pub struct TenantPackRow {
    pub pack_id: String,
    pub tenant_id: String,
    pub version: String,
    pub major: i64,
    pub minor: i64,
    pub patch: i64,
    pub domain: String,
    pub domain_versions: String,
    pub content_json: serde_json::Value,
    pub checksum: String,
    pub status: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

pub async fn tenant_pack_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &TenantPackRow,
) -> QueryResult<()> {
    diesel::insert_into(tenant_packs::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn tenant_pack_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    version: &str,
    for_update: bool,
) -> QueryResult<Option<TenantPackRow>> {
    let query = tenant_packs::table
        .filter(tenant_packs::tenant_id.eq(tenant.to_string()))
        .filter(tenant_packs::version.eq(version))
        .select(TenantPackRow::as_select());
    if for_update {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

pub async fn tenant_pack_by_id_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
) -> QueryResult<Option<TenantPackRow>> {
    tenant_packs::table
        .find(id)
        .select(TenantPackRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// A version without its content: what listings show.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = tenant_packs)]
pub struct TenantPackSummary {
    pub pack_id: String,
    pub tenant_id: String,
    pub version: String,
    pub domain: String,
    pub domain_versions: String,
    pub checksum: String,
    pub status: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// The tenant's versions, newest first, without content.
pub async fn tenant_pack_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<Vec<TenantPackSummary>> {
    tenant_packs::table
        .filter(tenant_packs::tenant_id.eq(tenant.to_string()))
        .order((
            tenant_packs::major.desc(),
            tenant_packs::minor.desc(),
            tenant_packs::patch.desc(),
        ))
        .select(TenantPackSummary::as_select())
        .load(conn)
        .await
}

pub async fn tenant_pack_status_set_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    status: &str,
) -> QueryResult<TenantPackRow> {
    diesel::update(tenant_packs::table.find(id))
        .set(tenant_packs::status.eq(status))
        .returning(TenantPackRow::as_returning())
        .get_result(conn)
        .await
}

//! The `tenants` table.

use diesel::prelude::*;
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
    pub region: String,
    pub status: String,
    pub deployment_model: String,
    pub data_mode: String,
    pub owner_name: String,
    pub owner_email: String,
    pub owner_phone: Option<String>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
}

pub async fn tenant_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &TenantRow,
) -> QueryResult<()> {
    diesel::insert_into(tenants::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The tenant, locked for the rest of the transaction when `for_update`.
pub async fn tenant_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: TenantId,
    for_update: bool,
) -> QueryResult<Option<TenantRow>> {
    let query = tenants::table
        .filter(tenants::tenant_id.eq(id.to_string()))
        .select(TenantRow::as_select());
    if for_update {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// Up to `limit` tenants after `after` in id order.
/// What a listing keeps: each set field must match (stored text).
#[derive(Debug, Default, Clone, Copy)]
pub struct TenantFilterRow<'a> {
    pub status: Option<&'a str>,
    pub deployment_model: Option<&'a str>,
    pub data_mode: Option<&'a str>,
}

pub async fn tenant_list_on_conn(
    conn: &mut AsyncPgConnection,
    after: Option<&str>,
    limit: i64,
    filter: TenantFilterRow<'_>,
) -> QueryResult<Vec<TenantRow>> {
    let mut query = tenants::table
        .order(tenants::tenant_id.asc())
        .limit(limit)
        .select(TenantRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(tenants::tenant_id.gt(after.to_owned()));
    }
    if let Some(status) = filter.status {
        query = query.filter(tenants::status.eq(status.to_owned()));
    }
    if let Some(model) = filter.deployment_model {
        query = query.filter(tenants::deployment_model.eq(model.to_owned()));
    }
    if let Some(mode) = filter.data_mode {
        query = query.filter(tenants::data_mode.eq(mode.to_owned()));
    }
    query.load(conn).await
}

pub async fn tenant_status_set_on_conn(
    conn: &mut AsyncPgConnection,
    id: TenantId,
    status: &str,
) -> QueryResult<TenantRow> {
    diesel::update(tenants::table.filter(tenants::tenant_id.eq(id.to_string())))
        .set((
            tenants::status.eq(status),
            tenants::updated_at.eq(diesel::dsl::now),
        ))
        .returning(TenantRow::as_returning())
        .get_result(conn)
        .await
}

/// What onboarding changes on the tenant: its status, deployment model and owner
/// contact.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = tenants, treat_none_as_null = true)]
pub struct TenantOnboardingChange {
    pub status: String,
    pub deployment_model: String,
    pub owner_name: String,
    pub owner_email: String,
    pub owner_phone: Option<String>,
    pub updated_at: OffsetDateTime,
}

pub async fn tenant_onboarding_set_on_conn(
    conn: &mut AsyncPgConnection,
    id: TenantId,
    change: &TenantOnboardingChange,
) -> QueryResult<TenantRow> {
    diesel::update(tenants::table.filter(tenants::tenant_id.eq(id.to_string())))
        .set(change)
        .returning(TenantRow::as_returning())
        .get_result(conn)
        .await
}

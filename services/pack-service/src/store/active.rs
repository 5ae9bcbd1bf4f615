//! What each tenant runs: `tenant_active_config` (one row a tenant),
//! `activations` (every activation, in order) and `tenant_pack_settings`.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::{activations, tenant_active_config, tenant_pack_settings};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenant_active_config)]
pub struct ActiveRow {
    pub tenant_id: String,
    pub domain_pack_id: String,
    pub tenant_pack_id: Option<String>,
    pub generation: i64,
    pub activated_at: OffsetDateTime,
    pub activated_by: String,
    pub change_request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = activations)]
pub struct ActivationRow {
    pub activation_id: String,
    pub tenant_id: String,
    pub domain_pack_id: String,
    pub tenant_pack_id: Option<String>,
    pub activated_at: OffsetDateTime,
    pub activated_by: String,
    pub change_request_id: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenant_pack_settings)]
pub struct SettingsRow {
    pub tenant_id: String,
    pub approval_required: bool,
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
    /// The change switched approval off.
    pub waived: bool,
}

/// The tenant's active configuration, locked for the transaction when
/// `for_update`.
pub async fn active_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    for_update: bool,
) -> QueryResult<Option<ActiveRow>> {
    let query = tenant_active_config::table
        .find(tenant.to_string())
        .select(ActiveRow::as_select());
    if for_update {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// Makes `row` the tenant's active configuration, a generation after the last.
pub async fn active_set_on_conn(
    conn: &mut AsyncPgConnection,
    row: &ActiveRow,
) -> QueryResult<ActiveRow> {
    diesel::insert_into(tenant_active_config::table)
        .values(row)
        .on_conflict(tenant_active_config::tenant_id)
        .do_update()
        .set((
            tenant_active_config::domain_pack_id.eq(&row.domain_pack_id),
            tenant_active_config::tenant_pack_id.eq(&row.tenant_pack_id),
            tenant_active_config::generation.eq(tenant_active_config::generation + 1),
            tenant_active_config::activated_at.eq(row.activated_at),
            tenant_active_config::activated_by.eq(&row.activated_by),
            tenant_active_config::change_request_id.eq(&row.change_request_id),
        ))
        .returning(ActiveRow::as_returning())
        .get_result(conn)
        .await
}

/// A new generation of the same configuration (a playbook linked or unlinked).
pub async fn active_touch_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<()> {
    diesel::update(tenant_active_config::table.find(tenant.to_string()))
        .set(tenant_active_config::generation.eq(tenant_active_config::generation + 1))
        .execute(conn)
        .await
        .map(drop)
}

/// Withdraws the tenant's configuration (offboarding); what it was.
pub async fn active_delete_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<Option<ActiveRow>> {
    diesel::delete(tenant_active_config::table.find(tenant.to_string()))
        .returning(ActiveRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn activation_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &ActivationRow,
) -> QueryResult<()> {
    diesel::insert_into(activations::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The tenant's activations, newest first.
pub async fn activation_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    limit: i64,
) -> QueryResult<Vec<ActivationRow>> {
    activations::table
        .filter(activations::tenant_id.eq(tenant.to_string()))
        .order(activations::activated_at.desc())
        .limit(limit)
        .select(ActivationRow::as_select())
        .load(conn)
        .await
}

pub async fn settings_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<Option<SettingsRow>> {
    tenant_pack_settings::table
        .find(tenant.to_string())
        .select(SettingsRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn settings_set_on_conn(
    conn: &mut AsyncPgConnection,
    row: &SettingsRow,
) -> QueryResult<()> {
    diesel::insert_into(tenant_pack_settings::table)
        .values(row)
        .on_conflict(tenant_pack_settings::tenant_id)
        .do_update()
        .set((
            tenant_pack_settings::approval_required.eq(row.approval_required),
            tenant_pack_settings::updated_at.eq(row.updated_at),
            tenant_pack_settings::updated_by.eq(&row.updated_by),
            tenant_pack_settings::waived.eq(row.waived),
        ))
        .execute(conn)
        .await
        .map(drop)
}

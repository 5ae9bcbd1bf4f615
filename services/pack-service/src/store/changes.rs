//! The `config_change_requests` table: activations waiting for an approver.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::config_change_requests;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = config_change_requests)]
pub struct ChangeRow {
    pub change_id: String,
    pub tenant_id: String,
    pub domain_pack_id: String,
    pub tenant_pack_id: Option<String>,
    pub status: String,
    pub reason: String,
    pub requested_at: OffsetDateTime,
    pub requested_by: String,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
}

pub async fn change_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &ChangeRow,
) -> QueryResult<()> {
    diesel::insert_into(config_change_requests::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn change_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: &str,
    for_update: bool,
) -> QueryResult<Option<ChangeRow>> {
    let query = config_change_requests::table
        .filter(config_change_requests::tenant_id.eq(tenant.to_string()))
        .filter(config_change_requests::change_id.eq(id))
        .select(ChangeRow::as_select());
    if for_update {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// The tenant's requests, newest first.
pub async fn change_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    limit: i64,
) -> QueryResult<Vec<ChangeRow>> {
    config_change_requests::table
        .filter(config_change_requests::tenant_id.eq(tenant.to_string()))
        .order(config_change_requests::requested_at.desc())
        .limit(limit)
        .select(ChangeRow::as_select())
        .load(conn)
        .await
}

pub async fn change_decide_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    status: &str,
    at: OffsetDateTime,
    by: &str,
    note: Option<&str>,
) -> QueryResult<ChangeRow> {
    diesel::update(config_change_requests::table.find(id))
        .set((
            config_change_requests::status.eq(status),
            config_change_requests::decided_at.eq(at),
            config_change_requests::decided_by.eq(by),
            config_change_requests::decision_note.eq(note),
        ))
        .returning(ChangeRow::as_returning())
        .get_result(conn)
        .await
}

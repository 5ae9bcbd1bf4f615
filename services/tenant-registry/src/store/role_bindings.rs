//! The `role_bindings` table: principals' and groups' roles in a tenant.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::role_bindings;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = role_bindings)]
pub struct RoleBindingRow {
    pub binding_id: String,
    pub tenant_id: String,
    pub workspace_id: Option<String>,
    pub principal_kind: String,
    pub principal: String,
    pub role: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

pub async fn role_binding_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &RoleBindingRow,
) -> QueryResult<()> {
    diesel::insert_into(role_bindings::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The tenant's bindings of one kind (`subject` or `group`), in id order.
pub async fn role_binding_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    kind: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<RoleBindingRow>> {
    let mut query = role_bindings::table
        .filter(role_bindings::tenant_id.eq(tenant.to_string()))
        .filter(role_bindings::principal_kind.eq(kind.to_owned()))
        .order(role_bindings::binding_id.asc())
        .limit(limit)
        .select(RoleBindingRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(role_bindings::binding_id.gt(after.to_owned()));
    }
    query.load(conn).await
}

/// Deletes one binding of the tenant; the deleted row, if there was one.
pub async fn role_binding_delete_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    kind: &str,
    id: &str,
) -> QueryResult<Option<RoleBindingRow>> {
    diesel::delete(
        role_bindings::table
            .filter(role_bindings::tenant_id.eq(tenant.to_string()))
            .filter(role_bindings::principal_kind.eq(kind.to_owned()))
            .filter(role_bindings::binding_id.eq(id.to_owned())),
    )
    .returning(RoleBindingRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

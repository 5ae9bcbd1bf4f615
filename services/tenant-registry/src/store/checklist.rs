//! The `checklist_items` table: the items of both lifecycle flows, by tenant and flow.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::domain::Flow;
use crate::schema::checklist_items;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = checklist_items)]
pub struct ChecklistItemRow {
    pub tenant_id: String,
    pub flow: String,
    pub item_key: String,
    pub owner: String,
    pub state: String,
    pub reason: Option<String>,
    pub updated_at: OffsetDateTime,
}

pub async fn checklist_insert_on_conn(
    conn: &mut AsyncPgConnection,
    items: &[ChecklistItemRow],
) -> QueryResult<()> {
    diesel::insert_into(checklist_items::table)
        .values(items)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn checklist_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    flow: Flow,
) -> QueryResult<Vec<ChecklistItemRow>> {
    checklist_items::table
        .filter(checklist_items::tenant_id.eq(tenant.to_string()))
        .filter(checklist_items::flow.eq(flow.as_str()))
        .select(ChecklistItemRow::as_select())
        .load(conn)
        .await
}

/// The item, locked for the rest of the transaction.
pub async fn checklist_item_lock_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    flow: Flow,
    key: &str,
) -> QueryResult<Option<ChecklistItemRow>> {
    checklist_items::table
        .filter(checklist_items::tenant_id.eq(tenant.to_string()))
        .filter(checklist_items::flow.eq(flow.as_str()))
        .filter(checklist_items::item_key.eq(key))
        .select(ChecklistItemRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Stores the item's state, reason and time.
pub async fn checklist_item_set_on_conn(
    conn: &mut AsyncPgConnection,
    item: &ChecklistItemRow,
) -> QueryResult<()> {
    diesel::update(
        checklist_items::table
            .filter(checklist_items::tenant_id.eq(&item.tenant_id))
            .filter(checklist_items::flow.eq(&item.flow))
            .filter(checklist_items::item_key.eq(&item.item_key)),
    )
    .set((
        checklist_items::state.eq(&item.state),
        checklist_items::reason.eq(&item.reason),
        checklist_items::updated_at.eq(item.updated_at),
    ))
    .execute(conn)
    .await
    .map(drop)
}

/// How many of the flow's items are not satisfied yet.
pub async fn checklist_open_items_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    flow: Flow,
) -> QueryResult<i64> {
    checklist_items::table
        .filter(checklist_items::tenant_id.eq(tenant.to_string()))
        .filter(checklist_items::flow.eq(flow.as_str()))
        .filter(checklist_items::state.ne("satisfied"))
        .count()
        .get_result(conn)
        .await
}

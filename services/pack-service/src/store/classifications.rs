//! The `classifications` table: tickets classified at the runtime.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::classifications;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = classifications)]
pub struct ClassificationRow {
    pub classification_id: String,
    pub tenant_id: String,
    pub ticket_ref: Option<String>,
    pub rule_id: Option<String>,
    pub rule_source: String,
    pub category: String,
    pub priority: String,
    pub queue: String,
    pub config_checksum: String,
    /// The ticket's fields, kept only for a tenant in content mode.
    pub content_json: Option<serde_json::Value>,
    pub classified_at: OffsetDateTime,
    pub classified_by: String,
}

pub async fn classification_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &ClassificationRow,
) -> QueryResult<()> {
    diesel::insert_into(classifications::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The tenant's newest classifications.
pub async fn classification_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    limit: i64,
) -> QueryResult<Vec<ClassificationRow>> {
    classifications::table
        .filter(classifications::tenant_id.eq(tenant.to_string()))
        .order(classifications::classified_at.desc())
        .limit(limit)
        .select(ClassificationRow::as_select())
        .load(conn)
        .await
}

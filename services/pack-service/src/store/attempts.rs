//! The `import_attempts` table: every import and dry run, with what validation
//! found.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::import_attempts;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_attempts)]
pub struct AttemptRow {
    pub attempt_id: String,
    pub tenant_id: Option<String>,
    pub kind: String,
    pub dry_run: bool,
    pub domain: Option<String>,
    pub version: Option<String>,
    pub checksum: String,
    pub outcome: String,
    pub pack_id: Option<String>,
    pub errors: serde_json::Value,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

pub async fn attempt_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &AttemptRow,
) -> QueryResult<()> {
    diesel::insert_into(import_attempts::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn attempt_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
) -> QueryResult<Option<AttemptRow>> {
    import_attempts::table
        .find(id)
        .select(AttemptRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The newest attempts: a tenant's (`Some`), or the platform's Domain Pack
/// attempts (`None`).
pub async fn attempt_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: Option<TenantId>,
    limit: i64,
) -> QueryResult<Vec<AttemptRow>> {
    let query = import_attempts::table
        .order(import_attempts::created_at.desc())
        .limit(limit)
        .select(AttemptRow::as_select())
        .into_boxed();
    match tenant {
        Some(t) => query.filter(import_attempts::tenant_id.eq(t.to_string())),
        None => query.filter(import_attempts::tenant_id.is_null()),
    }
    .load(conn)
    .await
}

//! The service's tables. Every query runs in the caller's row-level security
//! scope (`plinth_db::scoped_transaction`): a tenant's records in its scope,
//! the platform's and modules' (no tenant) written platform-wide only and read
//! by every scope.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::{record_versions, records, tenants};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub tenant_id: String,
    pub status: String,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = records)]
pub struct RecordRow {
    pub record_id: String,
    pub level: String,
    pub tenant_id: Option<String>,
    pub module_id: Option<String>,
    pub name: String,
    pub status: String,
    pub published_version: Option<i32>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
    pub retired_by: Option<String>,
    pub retired_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = record_versions)]
pub struct VersionRow {
    pub record_id: String,
    pub version: i32,
    pub tenant_id: Option<String>,
    pub status: String,
    pub document: serde_json::Value,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub published_at: Option<OffsetDateTime>,
    pub published_by: Option<String>,
    pub reason: Option<String>,
}

pub async fn tenant_upsert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &TenantRow,
) -> QueryResult<()> {
    diesel::insert_into(tenants::table)
        .values(row)
        .on_conflict(tenants::tenant_id)
        .do_update()
        .set((
            tenants::status.eq(&row.status),
            tenants::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn tenant_status_set_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    status: &str,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(tenants::table.find(tenant))
        .set((tenants::status.eq(status), tenants::updated_at.eq(at)))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn tenant_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
) -> QueryResult<Option<TenantRow>> {
    tenants::table
        .find(tenant)
        .select(TenantRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn record_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &RecordRow,
) -> QueryResult<()> {
    diesel::insert_into(records::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The record, locked for the rest of the transaction when `lock`.
pub async fn record_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    lock: bool,
) -> QueryResult<Option<RecordRow>> {
    let query = records::table.find(id).select(RecordRow::as_select());
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// The records at `level` (all levels when none), of `tenant` (the scope
/// decides what else is seen) and `module`, by name.
pub async fn record_list_on_conn(
    conn: &mut AsyncPgConnection,
    level: Option<&str>,
    tenant: Option<&str>,
    module: Option<&str>,
) -> QueryResult<Vec<RecordRow>> {
    let mut query = records::table
        .select(RecordRow::as_select())
        .order((records::level, records::name))
        .into_boxed();
    if let Some(level) = level {
        query = query.filter(records::level.eq(level.to_owned()));
    }
    if let Some(tenant) = tenant {
        query = query.filter(records::tenant_id.eq(tenant.to_owned()));
    }
    if let Some(module) = module {
        query = query.filter(records::module_id.eq(module.to_owned()));
    }
    query.load(conn).await
}

pub async fn record_update_on_conn(
    conn: &mut AsyncPgConnection,
    row: &RecordRow,
) -> QueryResult<()> {
    diesel::update(records::table.find(&row.record_id))
        .set((
            records::name.eq(&row.name),
            records::status.eq(&row.status),
            records::published_version.eq(row.published_version),
            records::updated_at.eq(row.updated_at),
            records::retired_at.eq(row.retired_at),
            records::retired_by.eq(&row.retired_by),
            records::retired_reason.eq(&row.retired_reason),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn version_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &VersionRow,
) -> QueryResult<()> {
    diesel::insert_into(record_versions::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The record's versions, newest first.
pub async fn versions_of_on_conn(
    conn: &mut AsyncPgConnection,
    record: &str,
) -> QueryResult<Vec<VersionRow>> {
    record_versions::table
        .filter(record_versions::record_id.eq(record))
        .order(record_versions::version.desc())
        .select(VersionRow::as_select())
        .load(conn)
        .await
}

/// Replaces the document of the record's draft.
pub async fn draft_set_on_conn(
    conn: &mut AsyncPgConnection,
    record: &str,
    version: i32,
    document: &serde_json::Value,
) -> QueryResult<()> {
    diesel::update(record_versions::table.find((record, version)))
        .set(record_versions::document.eq(document))
        .execute(conn)
        .await
        .map(drop)
}

/// Moves the version `from` status to `to`, recording who published it and
/// why when it is published.
pub async fn version_status_on_conn(
    conn: &mut AsyncPgConnection,
    record: &str,
    version: i32,
    to: &str,
    published: Option<(OffsetDateTime, &str, &str)>,
) -> QueryResult<()> {
    let target = record_versions::table.find((record, version));
    match published {
        Some((at, by, reason)) => {
            diesel::update(target)
                .set((
                    record_versions::status.eq(to),
                    record_versions::published_at.eq(Some(at)),
                    record_versions::published_by.eq(Some(by)),
                    record_versions::reason.eq(Some(reason)),
                ))
                .execute(conn)
                .await
        }
        None => {
            diesel::update(target)
                .set(record_versions::status.eq(to))
                .execute(conn)
                .await
        }
    }
    .map(drop)
}

/// The published versions in force for `tenant` and `module`: the
/// platform's, the tenant's, and — with a module — the module's and the
/// tenant's module's; without one, every module's and tenant/module's (for a
/// bundle). With their records' levels and modules.
pub async fn in_force_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
) -> QueryResult<Vec<(RecordRow, VersionRow)>> {
    records::table
        .inner_join(
            record_versions::table.on(record_versions::record_id.eq(records::record_id).and(
                record_versions::version
                    .nullable()
                    .eq(records::published_version),
            )),
        )
        .filter(records::status.eq("ACTIVE"))
        .filter(
            records::tenant_id
                .is_null()
                .or(records::tenant_id.eq(tenant)),
        )
        .order((records::level, records::record_id))
        .select((RecordRow::as_select(), VersionRow::as_select()))
        .load(conn)
        .await
}

/// Whether any platform record exists (the baseline is published once).
pub async fn platform_record_exists_on_conn(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        records::table.filter(records::level.eq("platform")),
    ))
    .get_result(conn)
    .await
}

/// Holds the baseline's lock for the rest of the transaction.
pub async fn baseline_lock_on_conn(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('plinth.policy.baseline'))")
        .execute(conn)
        .await
        .map(drop)
}

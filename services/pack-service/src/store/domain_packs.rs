//! The `domain_packs` table: the platform's Domain Pack versions.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::domain_packs;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = domain_packs)]
pub struct DomainPackRow {
    pub pack_id: String,
    pub domain: String,
    pub version: String,
    pub major: i64,
    pub minor: i64,
    pub patch: i64,
    pub name: String,
    pub content_json: serde_json::Value,
    pub checksum: String,
    pub active_tenants: i32,
    pub deprecated_at: Option<OffsetDateTime>,
    pub deprecated_by: Option<String>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

pub async fn domain_pack_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &DomainPackRow,
) -> QueryResult<()> {
    diesel::insert_into(domain_packs::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The version of `domain`, locked for the transaction when `for_update`.
pub async fn domain_pack_get_on_conn(
    conn: &mut AsyncPgConnection,
    domain: &str,
    version: &str,
    for_update: bool,
) -> QueryResult<Option<DomainPackRow>> {
    let query = domain_packs::table
        .filter(domain_packs::domain.eq(domain))
        .filter(domain_packs::version.eq(version))
        .select(DomainPackRow::as_select());
    if for_update {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

pub async fn domain_pack_by_id_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
) -> QueryResult<Option<DomainPackRow>> {
    domain_packs::table
        .find(id)
        .select(DomainPackRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// A version without its content: what listings show.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = domain_packs)]
pub struct DomainPackSummary {
    pub pack_id: String,
    pub domain: String,
    pub version: String,
    pub name: String,
    pub checksum: String,
    pub active_tenants: i32,
    pub deprecated_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// Every version of `domain` (or of every domain), newest first, without content.
pub async fn domain_pack_list_on_conn(
    conn: &mut AsyncPgConnection,
    domain: Option<&str>,
) -> QueryResult<Vec<DomainPackSummary>> {
    let mut query = domain_packs::table
        .order((
            domain_packs::domain.asc(),
            domain_packs::major.desc(),
            domain_packs::minor.desc(),
            domain_packs::patch.desc(),
        ))
        .select(DomainPackSummary::as_select())
        .into_boxed();
    if let Some(domain) = domain {
        query = query.filter(domain_packs::domain.eq(domain.to_owned()));
    }
    query.load(conn).await
}

/// Every version of `domain`, with content, newest first: what a Tenant Pack is
/// checked against.
pub async fn domain_pack_versions_on_conn(
    conn: &mut AsyncPgConnection,
    domain: &str,
) -> QueryResult<Vec<DomainPackRow>> {
    domain_packs::table
        .filter(domain_packs::domain.eq(domain))
        .order((
            domain_packs::major.desc(),
            domain_packs::minor.desc(),
            domain_packs::patch.desc(),
        ))
        .select(DomainPackRow::as_select())
        .load(conn)
        .await
}

/// One more (or one fewer, `delta` = -1) tenant runs the version.
pub async fn domain_pack_count_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    delta: i32,
) -> QueryResult<()> {
    diesel::update(domain_packs::table.find(id))
        .set(domain_packs::active_tenants.eq(domain_packs::active_tenants + delta))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn domain_pack_deprecate_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    at: OffsetDateTime,
    by: &str,
) -> QueryResult<DomainPackRow> {
    diesel::update(domain_packs::table.find(id))
        .set((
            domain_packs::deprecated_at.eq(at),
            domain_packs::deprecated_by.eq(by),
        ))
        .returning(DomainPackRow::as_returning())
        .get_result(conn)
        .await
}

//! Playbooks: `playbook_versions` (the platform's, immutable) and
//! `playbook_links` (which version each tenant runs).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::{playbook_links, playbook_versions};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = playbook_versions)]
pub struct PlaybookVersionRow {
    pub playbook_version_id: String,
    pub playbook: String,
    pub version: String,
    pub major: i64,
    pub minor: i64,
    pub patch: i64,
    pub domain: String,
    pub name: String,
    pub content_json: serde_json::Value,
    pub checksum: String,
    pub published_at: OffsetDateTime,
    pub published_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = playbook_links)]
pub struct LinkRow {
    pub tenant_id: String,
    pub playbook: String,
    pub playbook_version_id: String,
    pub domain_pack_id: String,
    pub linked_at: OffsetDateTime,
    pub linked_by: String,
}

pub async fn playbook_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &PlaybookVersionRow,
) -> QueryResult<()> {
    diesel::insert_into(playbook_versions::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn playbook_get_on_conn(
    conn: &mut AsyncPgConnection,
    playbook: &str,
    version: &str,
) -> QueryResult<Option<PlaybookVersionRow>> {
    playbook_versions::table
        .filter(playbook_versions::playbook.eq(playbook))
        .filter(playbook_versions::version.eq(version))
        .select(PlaybookVersionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Every published version of the playbooks named (of every playbook when
/// `None`), each playbook's newest first.
pub async fn playbook_versions_on_conn(
    conn: &mut AsyncPgConnection,
    playbooks: Option<&[String]>,
) -> QueryResult<Vec<PlaybookVersionRow>> {
    let mut query = playbook_versions::table
        .order((
            playbook_versions::playbook.asc(),
            playbook_versions::major.desc(),
            playbook_versions::minor.desc(),
            playbook_versions::patch.desc(),
        ))
        .select(PlaybookVersionRow::as_select())
        .into_boxed();
    if let Some(names) = playbooks {
        query = query.filter(playbook_versions::playbook.eq_any(names.to_vec()));
    }
    query.load(conn).await
}

/// The tenant's links with the versions they name.
pub async fn link_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<Vec<(LinkRow, PlaybookVersionRow)>> {
    playbook_links::table
        .inner_join(playbook_versions::table)
        .filter(playbook_links::tenant_id.eq(tenant.to_string()))
        .order(playbook_links::playbook.asc())
        .select((LinkRow::as_select(), PlaybookVersionRow::as_select()))
        .load(conn)
        .await
}

/// Links `row`'s version, replacing the tenant's link of the same playbook.
pub async fn link_set_on_conn(conn: &mut AsyncPgConnection, row: &LinkRow) -> QueryResult<()> {
    diesel::insert_into(playbook_links::table)
        .values(row)
        .on_conflict((playbook_links::tenant_id, playbook_links::playbook))
        .do_update()
        .set((
            playbook_links::playbook_version_id.eq(&row.playbook_version_id),
            playbook_links::domain_pack_id.eq(&row.domain_pack_id),
            playbook_links::linked_at.eq(row.linked_at),
            playbook_links::linked_by.eq(&row.linked_by),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn link_delete_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    playbook: &str,
) -> QueryResult<usize> {
    diesel::delete(
        playbook_links::table
            .filter(playbook_links::tenant_id.eq(tenant.to_string()))
            .filter(playbook_links::playbook.eq(playbook)),
    )
    .execute(conn)
    .await
}

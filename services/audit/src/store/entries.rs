//! The `entries` table: append and read, never change.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schema::entries;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = entries)]
pub struct EntryRow {
    pub log_id: String,
    pub idx: i64,
    pub event_id: Uuid,
    pub body: String,
    pub leaf_hash: Vec<u8>,
    pub recorded_at: OffsetDateTime,
    pub occurred_at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
}

pub async fn entries_insert_on_conn(
    conn: &mut AsyncPgConnection,
    rows: &[EntryRow],
) -> QueryResult<()> {
    // PostgreSQL takes at most 65,535 parameters a statement: 12 columns a row.
    for chunk in rows.chunks(5_000) {
        diesel::insert_into(entries::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Which of `events` the log already holds.
pub async fn entries_recorded_on_conn(
    conn: &mut AsyncPgConnection,
    log: &str,
    events: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    entries::table
        .filter(entries::log_id.eq(log))
        .filter(entries::event_id.eq_any(events))
        .select(entries::event_id)
        .load(conn)
        .await
}

/// Entries `from..to` of the log, in order.
pub async fn entries_range_on_conn(
    conn: &mut AsyncPgConnection,
    log: &str,
    from: i64,
    to: i64,
) -> QueryResult<Vec<EntryRow>> {
    entries::table
        .filter(entries::log_id.eq(log))
        .filter(entries::idx.ge(from))
        .filter(entries::idx.lt(to))
        .order(entries::idx)
        .select(EntryRow::as_select())
        .load(conn)
        .await
}

/// What an entry query asks for; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    /// `occurred_at >= from`.
    pub from: Option<OffsetDateTime>,
    /// `occurred_at < to`.
    pub to: Option<OffsetDateTime>,
}

/// Up to `limit` entries matching `filter` after index `after`, in log order.
pub async fn entries_page_on_conn(
    conn: &mut AsyncPgConnection,
    log: &str,
    filter: &EntryFilter,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<EntryRow>> {
    let mut query = entries::table
        .filter(entries::log_id.eq(log))
        .filter(entries::idx.gt(after.unwrap_or(-1)))
        .into_boxed();
    if let Some(actor) = &filter.actor {
        query = query.filter(entries::actor.eq(actor));
    }
    if let Some(action) = &filter.action {
        query = query.filter(entries::action.eq(action));
    }
    if let Some(resource_type) = &filter.resource_type {
        query = query.filter(entries::resource_type.eq(resource_type));
    }
    if let Some(resource_id) = &filter.resource_id {
        query = query.filter(entries::resource_id.eq(resource_id));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(entries::outcome.eq(outcome));
    }
    if let Some(from) = filter.from {
        query = query.filter(entries::occurred_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(entries::occurred_at.lt(to));
    }
    query
        .order(entries::idx)
        .limit(limit)
        .select(EntryRow::as_select())
        .load(conn)
        .await
}

//! The `checkpoints` table: every signed checkpoint of every log.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::checkpoints;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = checkpoints)]
pub struct CheckpointRow {
    pub log_id: String,
    pub size: i64,
    pub root_hash: Vec<u8>,
    pub signed_at: OffsetDateTime,
    pub note: String,
}

pub async fn checkpoint_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &CheckpointRow,
) -> QueryResult<()> {
    diesel::insert_into(checkpoints::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The log's latest checkpoint.
pub async fn checkpoint_latest_on_conn(
    conn: &mut AsyncPgConnection,
    log: &str,
) -> QueryResult<Option<CheckpointRow>> {
    checkpoints::table
        .filter(checkpoints::log_id.eq(log))
        .order(checkpoints::size.desc())
        .select(CheckpointRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn checkpoint_at_size_on_conn(
    conn: &mut AsyncPgConnection,
    log: &str,
    size: i64,
) -> QueryResult<Option<CheckpointRow>> {
    checkpoints::table
        .filter(checkpoints::log_id.eq(log))
        .filter(checkpoints::size.eq(size))
        .select(CheckpointRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The log's checkpoints covering at most `up_to` entries, oldest first.
pub async fn checkpoints_up_to_on_conn(
    conn: &mut AsyncPgConnection,
    log: &str,
    up_to: i64,
) -> QueryResult<Vec<CheckpointRow>> {
    checkpoints::table
        .filter(checkpoints::log_id.eq(log))
        .filter(checkpoints::size.le(up_to))
        .order(checkpoints::size)
        .select(CheckpointRow::as_select())
        .load(conn)
        .await
}

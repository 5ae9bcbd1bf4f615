//! The `logs` table: each log's head.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::logs;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = logs)]
pub struct LogRow {
    pub log_id: String,
    pub size: i64,
    pub head: Option<Vec<u8>>,
    pub checkpoint_size: i64,
    pub checkpoint_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub sealed_at: Option<OffsetDateTime>,
}

/// Creates the log if it does not exist yet (waiting for a concurrent creation to
/// commit), then locks it for the rest of the transaction.
pub async fn log_open_on_conn(
    conn: &mut AsyncPgConnection,
    log: &str,
    at: OffsetDateTime,
) -> QueryResult<LogRow> {
    diesel::insert_into(logs::table)
        .values(LogRow {
            log_id: log.to_owned(),
            size: 0,
            head: None,
            checkpoint_size: 0,
            checkpoint_at: None,
            created_at: at,
            sealed_at: None,
        })
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    logs::table
        .find(log)
        .select(LogRow::as_select())
        .for_update()
        .first(conn)
        .await
}

pub async fn log_get_on_conn(
    conn: &mut AsyncPgConnection,
    log: &str,
) -> QueryResult<Option<LogRow>> {
    logs::table
        .find(log)
        .select(LogRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stores the log's new head.
pub async fn log_update_on_conn(conn: &mut AsyncPgConnection, row: &LogRow) -> QueryResult<()> {
    diesel::update(logs::table.find(&row.log_id))
        .set((
            logs::size.eq(row.size),
            logs::head.eq(&row.head),
            logs::checkpoint_size.eq(row.checkpoint_size),
            logs::checkpoint_at.eq(row.checkpoint_at),
            logs::sealed_at.eq(row.sealed_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Logs with entries past their last checkpoint, and no checkpoint since `before`.
pub async fn logs_due_on_conn(
    conn: &mut AsyncPgConnection,
    before: OffsetDateTime,
) -> QueryResult<Vec<String>> {
    logs::table
        .filter(logs::size.gt(logs::checkpoint_size))
        .filter(
            logs::checkpoint_at
                .is_null()
                .or(logs::checkpoint_at.lt(before)),
        )
        .select(logs::log_id)
        .load(conn)
        .await
}

//! Exports: a log as JSON Lines (every entry in order, then every checkpoint),
//! streamed in batches so that a log of millions of entries never sits in memory.
//! The size is fixed when the export starts; the log only grows, so what follows
//! is the same whenever it is read.

use std::sync::Arc;

use actix_web::web::Bytes;
use futures_util::Stream;
use plinth_auditlog::ExportLine;
use plinth_core::ApiError;
use plinth_db::scoped_transaction;

use super::AppState;
use super::read::{CheckpointView, LogRef};
use crate::store::checkpoints::checkpoints_up_to_on_conn;
use crate::store::entries::entries_range_on_conn;
use crate::store::logs::log_get_on_conn;

/// Entries read from the database at a time.
const BATCH: i64 = 2_000;

enum Part {
    Entries { next: i64 },
    Checkpoints,
    Done,
}

/// The size of the log now: what an export started now covers.
pub async fn export_size(app: &AppState, log: &LogRef) -> Result<i64, ApiError> {
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, log.scope(), async |conn| {
        Ok(log_get_on_conn(conn, &log.id)
            .await?
            .ok_or_else(|| ApiError::not_found("audit log"))?
            .size)
    })
    .await
}

/// The JSON Lines of the first `size` entries and the checkpoints up to `size`.
pub fn export_lines(
    app: Arc<AppState>,
    log: LogRef,
    size: i64,
) -> impl Stream<Item = Result<Bytes, ApiError>> {
    futures_util::stream::try_unfold(Part::Entries { next: 0 }, move |part| {
        let (app, log) = (app.clone(), log.clone());
        async move {
            let mut conn = app.conn().await?;
            match part {
                Part::Done => Ok(None),
                Part::Entries { next } if next >= size => {
                    Ok(Some((Bytes::new(), Part::Checkpoints)))
                }
                Part::Entries { next } => {
                    let to = (next + BATCH).min(size);
                    let rows = scoped_transaction(&mut conn, log.scope(), async |conn| {
                        entries_range_on_conn(conn, &log.id, next, to).await
                    })
                    .await?;
                    let mut out = String::new();
                    for row in rows {
                        let fields: serde_json::Map<String, serde_json::Value> =
                            serde_json::from_str(&row.body).map_err(|e| {
                                ApiError::internal(format!("stored entry {}: {e}", row.idx))
                            })?;
                        out.push_str(&ExportLine::Entry(fields).to_json());
                        out.push('\n');
                    }
                    Ok(Some((Bytes::from(out), Part::Entries { next: to })))
                }
                Part::Checkpoints => {
                    let rows = scoped_transaction(&mut conn, log.scope(), async |conn| {
                        checkpoints_up_to_on_conn(conn, &log.id, size).await
                    })
                    .await?;
                    let mut out = String::new();
                    for row in rows {
                        let checkpoint = (&CheckpointView::from(row)).try_into()?;
                        out.push_str(&ExportLine::Checkpoint(checkpoint).to_json());
                        out.push('\n');
                    }
                    Ok(Some((Bytes::from(out), Part::Done)))
                }
            }
        }
    })
}

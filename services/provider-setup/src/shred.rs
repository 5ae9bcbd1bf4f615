//! Crypto-shredding of rotated-out keys: once a rotation's grace period ends,
//! the previous version's wrapped data key (and its ciphertext) are deleted, so
//! nothing — no backup, no copy of the database — can decrypt it again. Each
//! batch is one transaction with its events; replicas skip the rows another
//! one holds.

use plinth_bus::Outbox;
use plinth_core::ApiError;
use plinth_db::{TenantScope, scoped_transaction};
use plinth_service::ServiceState as _;

use crate::app::{AppState, now};
use crate::store::key_versions_shred_due_on_conn;

/// Versions destroyed per transaction.
const BATCH: i64 = 100;

/// Destroys every version past its grace period now: how many.
pub async fn shred_due(app: &AppState) -> Result<usize, ApiError> {
    let mut conn = app.conn().await?;
    let mut total = 0;
    loop {
        let at = now();
        let done = scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            let shredded = key_versions_shred_due_on_conn(conn, at, BATCH).await?;
            let events = shredded
                .iter()
                .map(|row| app.events.key_destroyed(row, "rotated"))
                .collect::<Result<Vec<_>, _>>()?;
            Outbox::enqueue(conn, &events).await?;
            Ok::<_, ApiError>(shredded.len())
        })
        .await?;
        total += done;
        if done < BATCH as usize {
            return Ok(total);
        }
    }
}

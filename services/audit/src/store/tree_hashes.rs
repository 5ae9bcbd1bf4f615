//! The `tree_hashes` table: the Merkle tree's stored hashes, by stored index.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_auditlog::Hash;

use crate::schema::tree_hashes;

pub async fn tree_hashes_insert_on_conn(
    conn: &mut AsyncPgConnection,
    log: &str,
    hashes: &[(u64, Hash)],
) -> QueryResult<()> {
    let rows: Vec<_> = hashes
        .iter()
        .map(|(idx, h)| {
            (
                tree_hashes::log_id.eq(log),
                tree_hashes::idx.eq(*idx as i64),
                tree_hashes::hash.eq(h.0.to_vec()),
            )
        })
        .collect();
    for chunk in rows.chunks(20_000) {
        diesel::insert_into(tree_hashes::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The stored hashes at `indexes` that exist.
pub async fn tree_hashes_get_on_conn(
    conn: &mut AsyncPgConnection,
    log: &str,
    indexes: &[u64],
) -> QueryResult<Vec<(u64, Hash)>> {
    let wanted: Vec<i64> = indexes.iter().map(|&i| i as i64).collect();
    let rows: Vec<(i64, Vec<u8>)> = tree_hashes::table
        .filter(tree_hashes::log_id.eq(log))
        .filter(tree_hashes::idx.eq_any(wanted))
        .select((tree_hashes::idx, tree_hashes::hash))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(idx, bytes)| Some((idx as u64, Hash(bytes.try_into().ok()?))))
        .collect())
}

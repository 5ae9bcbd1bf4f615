//! Writing the logs: appending records (each log's first entry is its genesis),
//! checkpointing, and sealing. Everything runs inside the caller's transaction,
//! with the log's head row locked, so entries, tree hashes, the head and any
//! checkpoint commit together or not at all.

use std::collections::{BTreeMap, HashSet};

use diesel_async::AsyncPgConnection;
use plinth_auditlog::entry::leaf_hash_of_canonical;
use plinth_auditlog::{Entry, Hash, HashCache, Lack, Record, SignedCheckpoint, first_stored_index};
use plinth_bus::Event;
use plinth_core::ApiError;
use time::OffsetDateTime;
use uuid::Uuid;

use super::AppState;
use crate::store::checkpoints::{CheckpointRow, checkpoint_insert_on_conn};
use crate::store::entries::{EntryRow, entries_insert_on_conn, entries_recorded_on_conn};
use crate::store::logs::{LogRow, log_open_on_conn, log_update_on_conn};
use crate::store::tree_hashes::{tree_hashes_get_on_conn, tree_hashes_insert_on_conn};

/// The platform's own log: platform-level events, and whatever arrives for a
/// tenant whose log was sealed.
pub const PLATFORM_LOG: &str = plinth_bus::PLATFORM_KEY;

/// A log's head, locked, with the tree hashes fetched so far.
struct OpenLog {
    row: LogRow,
    cache: HashCache,
}

fn hash_of(bytes: &[u8]) -> Result<Hash, ApiError> {
    bytes
        .try_into()
        .map(Hash)
        .map_err(|_| ApiError::internal("a stored hash is not 32 bytes"))
}

impl OpenLog {
    async fn open(
        conn: &mut AsyncPgConnection,
        log: &str,
        at: OffsetDateTime,
    ) -> Result<OpenLog, ApiError> {
        Ok(OpenLog {
            row: log_open_on_conn(conn, log, at).await?,
            cache: HashCache::new(),
        })
    }

    fn size(&self) -> u64 {
        self.row.size as u64
    }

    fn head(&self) -> Result<Option<Hash>, ApiError> {
        self.row.head.as_deref().map(hash_of).transpose()
    }

    /// Runs `f` over the tree, fetching the stored hashes it lacks.
    async fn compute<T>(
        &mut self,
        conn: &mut AsyncPgConnection,
        mut f: impl FnMut(&mut HashCache) -> Result<T, Lack>,
    ) -> Result<T, ApiError> {
        for _ in 0..4 {
            match f(&mut self.cache) {
                Ok(value) => return Ok(value),
                Err(Lack::Hashes(missing)) => {
                    let found = tree_hashes_get_on_conn(conn, &self.row.log_id, &missing).await?;
                    if found.len() != missing.len() {
                        return Err(ApiError::internal(format!(
                            "log {}: stored tree hashes are missing",
                            self.row.log_id
                        )));
                    }
                    self.cache.insert(found);
                }
                Err(Lack::Invalid(why)) => return Err(ApiError::internal(why)),
            }
        }
        Err(ApiError::internal("the tree hashes did not settle"))
    }
}

/// What appending produced: the entries written and the events to publish.
#[derive(Debug, Default)]
pub struct Appended {
    pub entries: Vec<Entry>,
    pub events: Vec<Event>,
}

/// The first entry of every log: its creation, by this service.
fn genesis(app: &AppState, log: &str, at: OffsetDateTime) -> Record {
    Record {
        tenant_id: log.to_owned(),
        region: app.region.as_str().to_owned(),
        actor: "service:audit".to_owned(),
        actor_display: None,
        action: "audit.log_created".to_owned(),
        resource_type: "audit_log".to_owned(),
        resource_id: Some(log.to_owned()),
        outcome: "ALLOWED".to_owned(),
        reason: None,
        request_id: None,
        occurred_at: at,
        source_service: "audit".to_owned(),
        details: BTreeMap::from([(
            "origin".to_owned(),
            format!("{}/{log}", app.signer.origin_prefix()),
        )]),
    }
}

/// Appends `records` (each with the id of the event it came from) to `log`,
/// skipping events the log already holds; a new log starts with its genesis entry.
/// A sealed tenant log takes nothing more: its records go to the platform log,
/// naming the sealed log. Checkpoints when enough entries have gathered.
pub async fn append_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    log: &str,
    records: Vec<(Uuid, Record)>,
) -> Result<Appended, ApiError> {
    let at = super::now();
    let mut open = OpenLog::open(conn, log, at).await?;
    if open.row.sealed_at.is_some() && log != PLATFORM_LOG {
        let redirected = records
            .into_iter()
            .map(|(id, mut record)| {
                record
                    .details
                    .insert("sealed_log".to_owned(), log.to_owned());
                (id, record)
            })
            .collect();
        return Box::pin(append_on_conn(app, conn, PLATFORM_LOG, redirected)).await;
    }
    let ids: Vec<Uuid> = records.iter().map(|(id, _)| *id).collect();
    let recorded: HashSet<Uuid> = entries_recorded_on_conn(conn, log, &ids)
        .await?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    let fresh: Vec<(Uuid, Record)> = records
        .into_iter()
        .filter(|(id, _)| !recorded.contains(id) && seen.insert(*id))
        .collect();
    let mut appended = Appended::default();
    if fresh.is_empty() && open.size() > 0 {
        return Ok(appended);
    }
    let (entries, checkpoints) = write_entries(app, conn, &mut open, fresh, at).await?;
    appended.entries = entries;
    for checkpoint in &checkpoints {
        appended
            .events
            .push(app.events.checkpoint_signed(checkpoint, false)?);
    }
    log_update_on_conn(conn, &open.row).await?;
    Ok(appended)
}

/// Writes `records` after the log's head (its genesis first if it is empty),
/// checkpointing at every multiple of the checkpoint interval, and moves the head;
/// the caller stores the head. Returns the entries and the checkpoints signed.
async fn write_entries(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    open: &mut OpenLog,
    mut records: Vec<(Uuid, Record)>,
    at: OffsetDateTime,
) -> Result<(Vec<Entry>, Vec<SignedCheckpoint>), ApiError> {
    let log = open.row.log_id.clone();
    let mut checkpoints = Vec::new();
    if open.size() == 0 {
        records.insert(0, (Uuid::new_v4(), genesis(app, &log, at)));
    }
    let mut prev = open.head()?;
    let mut rows = Vec::with_capacity(records.len());
    let mut entries = Vec::with_capacity(records.len());
    let mut new_hashes = Vec::new();
    for (event_id, record) in records {
        let index = open.size();
        let entry = Entry {
            log: log.clone(),
            index,
            prev,
            event_id,
            recorded_at: at,
            record,
        };
        let canonical = entry.canonical();
        let leaf = leaf_hash_of_canonical(&canonical);
        let stored = open
            .compute(conn, |cache| cache.append(index, leaf))
            .await?;
        let start = first_stored_index(index);
        new_hashes.extend(
            stored
                .into_iter()
                .enumerate()
                .map(|(i, h)| (start + i as u64, h)),
        );
        rows.push(EntryRow {
            log_id: log.clone(),
            idx: index as i64,
            event_id,
            body: String::from_utf8(canonical).map_err(ApiError::internal)?,
            leaf_hash: leaf.0.to_vec(),
            recorded_at: at,
            occurred_at: entry.record.occurred_at,
            actor: entry.record.actor.clone(),
            action: entry.record.action.clone(),
            resource_type: entry.record.resource_type.clone(),
            resource_id: entry.record.resource_id.clone(),
            outcome: entry.record.outcome.clone(),
        });
        prev = Some(leaf);
        open.row.size += 1;
        open.row.head = Some(leaf.0.to_vec());
        entries.push(entry);
        if open.size().is_multiple_of(app.checkpoint_every_entries) {
            // Every hash it needs is in the cache: signing reads nothing.
            checkpoints.push(checkpoint_open_log(app, conn, open, at).await?);
        }
    }
    entries_insert_on_conn(conn, &rows).await?;
    tree_hashes_insert_on_conn(conn, &log, &new_hashes).await?;
    Ok((entries, checkpoints))
}

/// Signs and stores a checkpoint at the log's current size.
async fn checkpoint_open_log(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    open: &mut OpenLog,
    at: OffsetDateTime,
) -> Result<SignedCheckpoint, ApiError> {
    let size = open.size();
    let root = open.compute(conn, |cache| cache.root(size)).await?;
    let checkpoint = app.signer.sign(&open.row.log_id, size, root, at);
    checkpoint_insert_on_conn(
        conn,
        &CheckpointRow {
            log_id: open.row.log_id.clone(),
            size: size as i64,
            root_hash: root.0.to_vec(),
            signed_at: checkpoint.time,
            note: checkpoint.note.clone(),
        },
    )
    .await?;
    open.row.checkpoint_size = size as i64;
    open.row.checkpoint_at = Some(checkpoint.time);
    Ok(checkpoint)
}

/// Checkpoints `log` if it has entries past its last checkpoint (the timer's
/// work, and what provisioning asks for); the event to publish, if any.
pub async fn checkpoint_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    log: &str,
) -> Result<Option<Event>, ApiError> {
    let at = super::now();
    let mut open = OpenLog::open(conn, log, at).await?;
    if open.size() == open.row.checkpoint_size as u64 {
        return Ok(None);
    }
    let checkpoint = checkpoint_open_log(app, conn, &mut open, at).await?;
    log_update_on_conn(conn, &open.row).await?;
    Ok(Some(app.events.checkpoint_signed(&checkpoint, false)?))
}

/// Seals a tenant's log: a last entry saying so, and a final checkpoint. Sealing a
/// sealed log changes nothing. Returns the events to publish.
pub async fn seal_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    log: &str,
    reason: &str,
) -> Result<Vec<Event>, ApiError> {
    let at = super::now();
    let mut open = OpenLog::open(conn, log, at).await?;
    if open.row.sealed_at.is_some() {
        return Ok(Vec::new());
    }
    let record = Record {
        action: "audit.log_sealed".to_owned(),
        details: BTreeMap::from([("reason".to_owned(), reason.to_owned())]),
        ..genesis(app, log, at)
    };
    let (_, mut checkpoints) =
        write_entries(app, conn, &mut open, vec![(Uuid::new_v4(), record)], at).await?;
    // The seal is the last checkpoint: the one just taken at its entry, or a new one.
    let checkpoint = match checkpoints.pop() {
        Some(last) if last.size == open.size() => last,
        _ => checkpoint_open_log(app, conn, &mut open, at).await?,
    };
    open.row.sealed_at = Some(at);
    log_update_on_conn(conn, &open.row).await?;
    Ok(vec![app.events.checkpoint_signed(&checkpoint, true)?])
}
